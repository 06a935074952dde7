"""Dry runs (seed ADR-006: structural checks always, semantic ones only for real): the whole
pipeline runs as a normal, visible, labelled workflow, with no model call, no tool, no semantic
validator, no side-effecting code, message, approval, wait or memory write; agent steps answer
with schema-valid placeholders, and the ledger holds estimates from the prompts' sizes and the
price table."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, field_validator
from temporalio.testing import WorkflowEnvironment

from taskagent import Pipeline, Registry, StepStatus, search
from taskagent.llm.dry import DEFAULT_ANSWER_TOKENS, PLACEHOLDER_TEXT, dry_response
from taskagent.llm.pricing import DEFAULT_PRICES
from taskagent.llm.tokens import count_tokens
from taskagent.llm.types import Message, ModelRequest, ToolSpec
from taskagent.memory import database_scope
from taskagent.names import CODE_STEP_ACTIVITY, DRY_LLM_CALL_ACTIVITY
from taskagent.runs import DRY_LABEL, start_run
from taskagent.schemas import schema_errors
from taskagent.store import ConversationStore, Database, migrate
from tests.support import llm_harness, running_worker, start
from tests.test_memory import counter, memory_functions

shop = Registry()
calls: Counter[str] = Counter()


@shop.model()
class Ticket(BaseModel):
    priority: Literal["high", "low"]
    summary: str

    @field_validator("summary")
    @classmethod
    def _counted(cls, value: str) -> str:
        calls["Ticket validator"] += 1
        return value


class Customer(BaseModel):
    name: str


@shop.tools.tool()
def lookup(args: Customer) -> str:
    """The customer's account."""
    calls["lookup"] += 1
    return f"{args.name}: gold"


@shop.function()
def check_ticket(ticket: dict[str, Any]) -> list[str]:
    calls["check_ticket"] += 1
    return []


@shop.function()
def summarise(ticket: dict[str, Any]) -> str:
    calls["summarise"] += 1
    return f"{ticket['priority']}: {ticket['summary']}"


class Receipt(BaseModel):
    charged: float


@shop.function(side_effects=True)
def charge(ticket: dict[str, Any]) -> Receipt:
    calls["charge"] += 1
    return Receipt(charged=10.0)


def support_flow() -> Pipeline:
    priority = "steps.classify.output.priority"
    return (
        Pipeline("support_flow", model="openai:gpt-4o")
        .agent(
            "classify",
            "Classify the customer's ticket.",
            tools=["lookup"],
            output_schema="Ticket",
            validators=["check_ticket"],
        )
        .code("urgent", "summarise", depends_on=["classify"], condition=f"{priority} == 'high'")
        .code("routine", "summarise", depends_on=["classify"], condition=f"{priority} == 'low'")
        .code("charge", "charge", depends_on=["classify"])
        .send("notify", to="billing-desk-not-running", depends_on=["charge"])
        .approval("sign_off", "Refund the customer?", depends_on=["charge"])
        .wait("cool_down", "PT1H", depends_on=["sign_off"])
        .agent(
            "reply",
            "Write the reply to the customer.",
            model="gemini:gemini-2.5-flash",
            depends_on=["cool_down"],
            max_output_tokens=300,
        )
    )


async def test_a_dry_run_runs_every_step_with_placeholders_and_estimates_and_no_effects(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    calls.clear()
    async with llm_harness(env, task_queue, shop) as harness:
        handle = await start_run(
            env.client,
            task_queue,
            shop,
            support_flow().build(),
            {"ticket": "My order arrived broken; I want a refund."},
            dry_run=True,
        )
        result = await handle.result()  # the hour-long wait did not happen
        description = await handle.describe()
        history = await handle.fetch_history()
    assert not harness.llm.openai.requests and not harness.llm.gemini.requests
    assert calls == {"summarise": 1}  # pure code ran; no tool, validator or side effect did
    # Its model calls are an activity of their own, which a worker deployed before dry runs
    # existed does not have: it could not take one and call the model for real.
    scheduled = Counter(
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    )
    assert scheduled == {DRY_LLM_CALL_ACTIVITY: 2, CODE_STEP_ACTIVITY: 1}
    assert result.dry_run and handle.id.startswith("dry-support_flow-")
    summary = await description.static_summary()
    assert summary and summary.startswith(DRY_LABEL)
    assert await description.memo_value("dry_run") is True
    attributes = description.typed_search_attributes
    assert attributes.get(search.COST_USD) == 0.0 and attributes.get(search.TOKENS) == 0

    steps = result.steps
    # The placeholder satisfies the output model's schema, and conditions are evaluated on it.
    ticket = steps["classify"].output
    assert not schema_errors(Ticket.model_json_schema(), ticket)
    ran, skipped = ("urgent", "routine") if ticket["priority"] == "high" else ("routine", "urgent")
    assert steps[ran].status is StepStatus.COMPLETED and steps[ran].reason is None
    assert steps[skipped].status is StepStatus.SKIPPED
    assert steps["classify"].reason == (
        "dry run: placeholder answer, cost estimated; tools not called: lookup; "
        "validators not run: Ticket, check_ticket"
    )
    reasons = {key: steps[key].reason for key in ("charge", "notify", "sign_off", "cool_down")}
    assert reasons == {
        "charge": "dry run: not run: 'charge' has side effects",
        "notify": "dry run: not sent to billing-desk-not-running",
        "sign_off": "dry run: no approval asked for: approved",
        "cool_down": "dry run: did not wait 1:00:00",
    }
    assert Receipt.model_validate(steps["charge"].output)  # a placeholder of its output type
    assert steps["sign_off"].output["approved"] is True
    assert {s.status for k, s in steps.items() if k != skipped} == {StepStatus.COMPLETED}

    # Estimates, priced by the table: the answer is the step's max_output_tokens when set.
    for key, model in (("classify", "openai:gpt-4o"), ("reply", "gemini:gemini-2.5-flash")):
        usage = steps[key].usage
        assert usage is not None and usage.calls == usage.estimated_calls == 1
        price = DEFAULT_PRICES[model]
        assert usage.cost_usd == price.cost(usage.input_tokens, usage.output_tokens)
        assert usage.input_tokens > 20
    assert steps["reply"].usage and steps["reply"].usage.output_tokens == 300
    assert steps["classify"].usage and steps["classify"].usage.output_tokens >= 256
    assert result.cost.total.cost_usd > 0 and result.cost.total.estimated_calls == 2


def test_the_dry_model_counts_the_prompt_as_sent_and_answers_with_a_placeholder() -> None:
    long_text = "the customer writes about a broken order " * 50
    request = ModelRequest(
        model="gemini:gemini-2.5-flash", messages=[Message(role="user", content=long_text)]
    )
    free_text = dry_response(request, request.model)
    assert free_text.content == PLACEHOLDER_TEXT and free_text.usage.estimated
    assert free_text.usage.input_tokens == count_tokens(request.model, long_text).tokens
    assert free_text.usage.output_tokens == DEFAULT_ANSWER_TOKENS
    # Tools offered are part of the prompt; an output schema gets an instance of it.
    tool = ToolSpec(name="lookup", description="x" * 400, parameters=Customer.model_json_schema())
    structured = request.model_copy(
        update={
            "tools": [tool],
            "output_schema": Ticket.model_json_schema(),
            "max_output_tokens": 50,
        }
    )
    answer = dry_response(structured, request.model)
    assert answer.usage.input_tokens > free_text.usage.input_tokens + 100
    assert answer.usage.output_tokens == 50
    assert not schema_errors(
        Ticket.model_json_schema(), Ticket.model_validate_json(answer.content or "").model_dump()
    )


async def test_a_dry_run_writes_no_memory_and_its_children_are_dry_too(
    env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> None:
    calls.clear()
    database = Database(f"sqlite:///{tmp_path}/taskagent.db")
    migrate(database)
    store = ConversationStore(database)
    registry = Registry()
    registry.include(memory_functions)
    registry.include(shop)
    parent = Pipeline("parent").pipeline("child", Pipeline("billing").code("charge", "charge"))
    try:
        async with running_worker(env.client, registry, task_queue, store=store):
            handle = await start(env.client, task_queue, counter(), dry_run=True)
            dry = await handle.result()
            nested = await (await start(env.client, task_queue, parent, dry_run=True)).result()
            real = await (await start(env.client, task_queue, counter())).result()
    finally:
        database.close()
    # The dry run's later steps saw what it remembered; the database never did.
    assert dry.steps["greet"].output == "visit 1, after nobody"
    assert real.steps["greet"].output == "visit 1, after nobody"
    assert store.recall(database_scope("counter", "shared")) == {"visits": 1}  # the real run's
    # The child run inherited the dry run: its side-effecting step did not run.
    assert nested.dry_run and calls["charge"] == 0
