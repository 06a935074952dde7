"""Record the reference histories under tests/histories/ that the suite replays.

    .venv/bin/python scripts/record_histories.py [--force] [NAME ...]

Run it after adding a scenario, then commit the new JSON files (and any new files under
tests/histories/payloads/). Existing files are kept: they guard today's code against breaking
runs recorded by yesterday's. Never re-record a history (with --force) to make a replay failure
go away: that failure means the change breaks running workflows. Names given on the command line
restrict the run to those scenarios.

Scenarios run on one of three servers, each started only if a scenario that is due needs it:
the dev server; a dev server that suggests continue-as-new after 40 events (a run that continued
as new is recorded as `<name>_first.json` and `<name>_last.json`, one history per run); and the
time-skipping test server, for durable timers of hours. A claim-check scenario runs its client
and worker with the storage-aware data converter, which writes its large payloads to
tests/histories/payloads/ and only references into the history.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from activities.rate_limits import RateLimiter, rate_limit_id
from scripts.conversation_histories import NAMES as CONVERSATIONS
from scripts.conversation_histories import due as due_conversations
from scripts.conversation_histories import record_conversations
from taskagent import Pipeline, Registry, StepStatus, code, search
from taskagent.events import TOPICS
from taskagent.llm.types import ModelResponse, Usage
from taskagent.operator import AbortStep, ApprovalDecision, RetryStep, SkipStep
from taskagent.ratelimit import RateLimits
from taskagent.storage import data_converter
from taskagent.testing import Responder, ScriptedAnswer, ScriptedProvider
from tests.support import (
    ROOT,
    binary,
    example_registry,
    probes,
    running_worker,
    start,
    wait_for_step,
)
from tests.test_operator import approval_pipeline, wait_until_waiting
from tests.test_replay import CLAIM_CHECK_OUTPUT, CLAIM_CHECK_THRESHOLD, PAYLOADS
from tests.test_reset import approve_when_asked, every_kind

OUT = ROOT / "tests" / "histories"
RATE_LIMITER = "rate_limiter"
"""Not a pipeline scenario: the history of a RateLimitWorkflow."""
TASK_QUEUE = "record-histories"
CLAIM_CHECK_QUEUE = "record-histories-claim-check"  # only workers with the storage converter
SUGGEST_CONTINUE_AS_NEW_AFTER = 40  # history events; Temporal's default is 4 Ki
VERDICT = {
    "type": "object",
    "properties": {"label": {"enum": ["good", "bad"]}, "score": {"type": "integer"}},
    "required": ["label", "score"],
}

Server = Literal["dev", "short_history", "time_skipping"]
Interaction = Callable[[WorkflowHandle[Any, Any]], Awaitable[None]]


@dataclass
class Scenario:
    pipeline: Any
    data: dict[str, Any]
    interact: Interaction | None = None
    """What an operator (or a client) does while the run is open."""
    server: Server = "dev"
    claim_check: bool = False
    """Client and worker store payloads over CLAIM_CHECK_THRESHOLD bytes in PAYLOADS."""
    continues_as_new: bool = False
    """The run continues as new: its first and last runs are recorded as two files."""
    execution_timeout: timedelta = timedelta(seconds=60)
    scripted: dict[str, list[ScriptedAnswer | Responder]] = field(default_factory=dict)
    """What `scripted:<name>` answers, in order."""
    stream: bool = False
    """The run publishes its models' answers as they come (token deltas, by signal)."""
    dry_run: bool = False
    """A dry run: placeholders and estimates, no model, tool or side effect."""

    def files(self, name: str) -> list[Path]:
        if self.continues_as_new:
            return [OUT / f"{name}_first.json", OUT / f"{name}_last.json"]
        return [OUT / f"{name}.json"]


# -- what happens while a run is open ----------------------------------------------------------
async def subscribe(handle: WorkflowHandle[Any, Any]) -> None:
    """Follow the run's event stream to its end, as `starter.py run` does (polls by update)."""
    stream = WorkflowStreamClient.create(handle._client, handle.id)
    async for _ in stream.subscribe(TOPICS, poll_cooldown=timedelta(milliseconds=50)):
        pass


async def retry_when_paused(handle: WorkflowHandle[Any, Any]) -> None:
    await wait_until_waiting(handle, "fragile")
    await handle.execute_update("retry_step", RetryStep(step="fragile", by="recorder"))


async def approve_edited(handle: WorkflowHandle[Any, Any]) -> None:
    await wait_until_waiting(handle, "approve")
    decision = ApprovalDecision(step="approve", approved=True, payload={"amount": 1}, by="rec")
    await handle.execute_update("decide_approval", decision)


async def cancel_while_held(handle: WorkflowHandle[Any, Any]) -> None:
    await wait_for_step(handle, "held", StepStatus.RUNNING)
    await wait_for_step(handle, "done", StepStatus.COMPLETED)
    await handle.cancel()


async def skip_when_paused(handle: WorkflowHandle[Any, Any]) -> None:
    await wait_until_waiting(handle, "broken")
    skip = SkipStep(step="broken", output={"total": 7}, comment="computed by hand", by="recorder")
    await handle.execute_update("skip_step", skip)


async def abort_when_paused(handle: WorkflowHandle[Any, Any]) -> None:
    await wait_until_waiting(handle, "broken")
    abort = AbortStep(step="broken", comment="bad data upstream", by="recorder")
    await handle.execute_update("abort_step", abort)


# -- the scenarios -----------------------------------------------------------------------------
def paused_on(name: str) -> Pipeline:
    """`broken` fails at once (non-retryable) and pauses; `use` consumes its output."""
    return (
        Pipeline(name, on_error="pause")
        .code("first", "echo", input={"n": 1})
        .code("broken", "fail", depends_on=["first"], input="x")
        .code("use", "echo", depends_on=["broken"], input={"total": "$steps.broken.output.total"})
    )


def ledger_chain(length: int = 6) -> Pipeline:
    """An agent step on the offline model (a cost ledger), a switch, then a chain of activities.

    The chain's links are (non-local) activities, so every link takes a workflow task and the
    server's suggestion to continue as new arrives in the middle of the chain. With a 600 s
    deadline, the continued run carries the ledger, the switch's decision, the settled steps and
    the deadline of the first run, and runs the rest of the chain.
    """
    pipeline = (
        Pipeline("ledger_chain", timeout=600)
        .agent("brief", "Summarise what Acme Robotics does.", model="offline:default")
        .code("pick", "echo", depends_on=["brief"], input={"route": "a"})
        .switch(
            "route", "steps.pick.output.route", {"a": "end_a", "b": "end_b"}, depends_on=["pick"]
        )
        .code("s0", "echo", depends_on=["pick"], input={"n": 0})
    )
    for n in range(1, length):
        previous = f"s{n - 1}"
        link = {"n": n, "after": f"$steps.{previous}.output.n"}
        pipeline.code(f"s{n}", "echo", depends_on=[previous], input=link)
    last = f"s{length - 1}"
    return (
        pipeline.code("end_a", "echo", depends_on=[last], input={"links": f"$steps.{last}.output"})
        .code("end_b", "echo", depends_on=[last])
        .output({"chain": "$steps.end_a.output.links", "brief": "$steps.brief.output"})
    )


def scenarios() -> dict[str, Scenario]:
    fanout = Pipeline("fanout").parallel(
        "fan",
        [code("one", "add", input={"a": 1, "b": 1}), code("two", "echo", input=2)],
        merge="object",
    )
    return {
        "dag_company_research": Scenario("company_facts", {"company": "Acme"}),
        "switch_ticket_triage": Scenario(
            "ticket_triage", {"text": "urgent: the app shows an error!"}
        ),
        "parallel_child_contact_enrichment": Scenario(
            "contact_enrichment",
            {"email": "ada@example.org", "company": "Analytical Engines"},
        ),
        "parallel_builtin_merge": Scenario(fanout, {}),
        "fail_fast_failure": Scenario(
            Pipeline("fails")
            .code("bad", "fail", input="x")
            .code("after", "echo", depends_on=["bad"]),
            {},
        ),
        "continue_failure": Scenario(
            Pipeline("continues", on_failure="continue")
            .code("bad", "fail", input="x")
            .code("ok", "add", input={"a": 1, "b": 2}),
            {},
        ),
        "invalid_spec": Scenario({"name": "invalid", "steps": [{"id": "a", "kind": "nope"}]}, {}),
        "agents_tools_company_research": Scenario("company_research", {"company": "Acme"}),
        "router_document_assistant": Scenario(
            "document_assistant",
            {"request": "Summarise this", "document": "Text."},
        ),
        "streamed_validation_retry": Scenario(
            Pipeline("streamed").agent(
                "judge", "Judge the text.", output_schema=VERDICT, model="scripted:judge"
            ),
            {},
            subscribe,
            stream=True,
            scripted={
                "judge": [
                    ScriptedAnswer(content={"label": "great", "score": 3}),
                    ScriptedAnswer(content={"label": "good", "score": 4}),
                ]
            },
        ),
        "dry_run": Scenario(
            every_kind("recorded-dry-run")
            .code("charge", "echo", input=1, side_effects=True, depends_on=["end"])
            .send("notify", to="nobody-listens", depends_on=["end"]),
            {},
            dry_run=True,
        ),
        "budget_reservations": Scenario(
            Pipeline("budget_reservations", model="scripted:fan", budget={"tokens": 700})
            .agent("a", "Answer in a few words.")
            .agent("b", "Answer in a few words.")
            .agent("c", "Answer in a few words.")
            .agent("d", "Answer in a few words."),
            {},
            scripted={"fan": [ScriptedAnswer(content="word " * 80) for _ in range(4)]},
        ),
        "chat_step": Scenario(
            Pipeline("chat_step", model="scripted:chat").chat(
                "greet", system_prompt="Answer in French.", output_schema=VERDICT
            ),
            {"message": "Is this good?"},
            scripted={
                "chat": [
                    ScriptedAnswer(content="Oui"),
                    ScriptedAnswer(content={"label": "good", "score": 9}),
                ]
            },
        ),
        "agent_validation_retry": Scenario(
            Pipeline("validation_retry").agent(
                "judge", "Judge the text.", output_schema=VERDICT, model="scripted:judge"
            ),
            {},
            scripted={
                "judge": [
                    ScriptedAnswer(content={"label": "great", "score": 3}),
                    ScriptedAnswer(content={"label": "good", "score": 4}),
                ]
            },
        ),
        "operator_pause_retry": Scenario(
            Pipeline("pausing", on_error="pause")
            .code(
                "fragile",
                "flaky",
                input={"name": "recorded-pause", "failures": 1},
                retry={"max_attempts": 1},
            )
            .code("after", "echo", depends_on=["fragile"]),
            {},
            interact=retry_when_paused,
        ),
        "approval_edited": Scenario(approval_pipeline(), {"amount": 50}, interact=approve_edited),
        "agent_budget_exceeded": Scenario(
            Pipeline("budget", budget={"tokens": 10})
            .agent("first", "One.")
            .agent("second", "Two.", depends_on=["first"]),
            {},
        ),
        # -- durability: continue-as-new, cancellation, deadlines, operators, large payloads --
        "streamed_continue_as_new": Scenario(
            ledger_chain(),
            {},
            subscribe,
            server="short_history",
            continues_as_new=True,
            stream=True,
        ),
        "continue_as_new": Scenario(
            ledger_chain(), {}, server="short_history", continues_as_new=True
        ),
        "cancelled_status": Scenario(  # the record says CANCELLED and the run is indexed so
            Pipeline("cancellable")
            .code("done", "echo", input=1)
            .code("held", "wait_for_signal", input={"name": "recorded-never-held"})
            .code("after", "echo", depends_on=["held"]),
            {},
            interact=cancel_while_held,
        ),
        "cancelled_run": Scenario(
            Pipeline("cancellable")
            .code("done", "echo", input=1)
            .code("held", "wait_for_signal", input={"name": "recorded-never-held"})
            .code("after", "echo", depends_on=["held"])
            .code("later", "echo", depends_on=["after"], input=2),
            {},
            interact=cancel_while_held,
        ),
        "step_timeout": Scenario(
            Pipeline("step_deadline", on_failure="continue")
            .code(
                "stuck",
                "wait_for_signal",
                input={"name": "recorded-never-stuck"},
                timeout=1,
                retry={"max_attempts": 1},
            )
            .code("after", "echo", depends_on=["stuck"])
            .code("other", "add", input={"a": 1, "b": 1}),
            {},
        ),
        "pipeline_timeout": Scenario(
            Pipeline("slow_run", timeout=1)
            .code("quick", "echo", input=1)
            .code("stuck", "wait_for_signal", input={"name": "recorded-never-slow"})
            .code("after", "echo", depends_on=["stuck"]),
            {},
        ),
        "approval_timeout": Scenario(
            approval_pipeline(wait="PT1H", on_timeout="approve"),
            {"amount": 3},
            server="time_skipping",
            execution_timeout=timedelta(days=1),
        ),
        "approval_timeout_reject": Scenario(
            approval_pipeline(wait="PT1H"),  # on_timeout: reject (the default)
            {"amount": 4},
            server="time_skipping",
            execution_timeout=timedelta(days=1),
        ),
        "operator_skip": Scenario(paused_on("operator_skip"), {}, interact=skip_when_paused),
        "operator_abort": Scenario(paused_on("operator_abort"), {}, interact=abort_when_paused),
        "claim_check_payload": Scenario(
            Pipeline("large_output")
            .code("produce", "big", input=CLAIM_CHECK_OUTPUT)
            .code("measure", "length", depends_on=["produce"]),
            {},
            claim_check=True,
        ),
        # -- recorded by engine v2: its new paths ---------------------------------------------
        "v2_every_kind": Scenario(every_kind_with_a_wait(), {}, interact=approve_every_kind),
        "v2_no_empty_continuation": Scenario(
            fan_out(15), {}, server="short_history", continues_as_new=False
        ),
        "v2_wide_fan_out": Scenario(fan_out(60), {}),
        # -- recorded with the first answer parser (before taskagent-parser-v2) ----------------
        "parser_v1_example_first": Scenario(
            Pipeline("example_first").agent(
                "judge", "Judge the text.", output_schema=VERDICT, model="scripted:judge"
            ),
            {},
            scripted={
                "judge": [
                    # The first parser reads the example (then a correction); the second, the
                    # answer: replaying this run with the second parser would diverge.
                    ScriptedAnswer(
                        content='For example {"label": "bad", "score": "low"}. '
                        'My answer: {"label": "good", "score": 8}'
                    ),
                    ScriptedAnswer(content={"label": "good", "score": 8}),
                ]
            },
        ),
        # -- recorded with the truncation guard (taskagent-truncated-answers) ------------------
        "truncated_answer_retry": Scenario(
            Pipeline("truncated").agent(
                "judge", "Judge the text.", output_schema=VERDICT, model="scripted:judge"
            ),
            {},
            scripted={"judge": [cut_answer, ScriptedAnswer(content={"label": "good", "score": 8})]},
        ),
        # -- recorded with search attributes registered: the run indexes itself, and its child
        # pipeline carries the run tree's context ---------------------------------------------
        "indexed_child_contact_enrichment": Scenario(
            "contact_enrichment", {"email": "ada@example.org", "company": "Analytical Engines"}
        ),
    }


def cut_answer(request: Any) -> ModelResponse:
    """An answer the provider cut at its token limit: a failed attempt, never an output."""
    return ModelResponse(
        content='{"label": "go',
        usage=Usage(input_tokens=40, output_tokens=4),
        model="scripted-1",
        finish_reason="length",
    )


def every_kind_with_a_wait() -> Pipeline:
    """One step of every kind (the approval waits for a person; the wait is one second)."""
    return every_kind("recorded-every-kind")


def fan_out(width: int) -> Pipeline:
    """Steps that all start at once: when Temporal suggests continuing as new, none is left;
    more of them than a run may have in flight, and all were scheduled at once before it had a
    window (v2_wide_fan_out)."""
    pipeline = Pipeline("fan_out")
    for n in range(width):
        pipeline.code(f"s{n}", "echo", input=n)
    return pipeline


async def approve_every_kind(handle: WorkflowHandle[Any, Any]) -> None:
    await approve_when_asked(handle)


# -- recording ---------------------------------------------------------------------------------
async def run_histories(client: Client, handle: WorkflowHandle[Any, Any]) -> list[WorkflowHistory]:
    """The history of every run of the workflow, from the first run along its continuations."""
    histories = []
    run_id: str | None = handle.first_execution_run_id or handle.result_run_id
    while run_id is not None:
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        continued = last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        attributes = last.workflow_execution_continued_as_new_event_attributes
        run_id = attributes.new_execution_run_id if continued else None
    return histories


async def record(
    client: Client, task_queue: str, name: str, scenario: Scenario, scripted: ScriptedProvider
) -> None:
    for model, answers in scenario.scripted.items():
        scripted.enqueue(model, *answers)
    handle = await start(
        client,
        task_queue,
        scenario.pipeline,
        scenario.data,
        workflow_id=name,
        execution_timeout=scenario.execution_timeout,
        stream=scenario.stream,
        dry_run=scenario.dry_run,
    )
    if scenario.interact is not None:
        await scenario.interact(handle)
    with contextlib.suppress(WorkflowFailureError):  # failures are recorded scenarios too
        await handle.result()
    histories = await run_histories(client, handle)
    if scenario.continues_as_new:
        if len(histories) < 2:
            raise RuntimeError(f"{name}: the run did not continue as new")
        print(f"{name}: {len(histories)} runs; recording the first and the last")
        histories = [histories[0], histories[-1]]
    elif len(histories) != 1:
        raise RuntimeError(f"{name}: the run continued as new {len(histories) - 1} times")
    for path, history in zip(scenario.files(name), histories, strict=True):
        path.write_text(history.to_json() + "\n")
        print(f"recorded {path.name}: {len(history.events)} events")


@contextlib.asynccontextmanager
async def environment(server: Server) -> AsyncIterator[WorkflowEnvironment]:
    if server == "time_skipping":
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter,
            test_server_existing_path=binary("temporal-test-server"),
        )
    else:
        extra = []
        if server == "short_history":
            extra = [
                "--dynamic-config-value",
                f"limit.historyCount.suggestContinueAsNew={SUGGEST_CONTINUE_AS_NEW_AFTER}",
            ]
        env = await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            dev_server_existing_path=binary("temporal"),
            dev_server_extra_args=extra,
            search_attributes=search.KEYS,
        )
    try:
        yield env
    finally:
        await env.shutdown()


async def storage_client(env: WorkflowEnvironment) -> Client:
    """A client of the same server whose converter keeps large payloads in PAYLOADS."""
    config = env.client.service_client.config
    return await Client.connect(
        config.target_host,
        namespace=env.client.namespace,
        data_converter=data_converter(PAYLOADS, threshold=CLAIM_CHECK_THRESHOLD),
    )


async def record_on(server: Server, due: dict[str, Scenario], registry: Registry) -> None:
    async with environment(server) as env:
        plain = [(name, s) for name, s in due.items() if not s.claim_check]
        stored = [(name, s) for name, s in due.items() if s.claim_check]
        scripted = ScriptedProvider()
        if plain:
            async with running_worker(env.client, registry, TASK_QUEUE, scripted=scripted):
                for name, scenario in plain:
                    await record(env.client, TASK_QUEUE, name, scenario, scripted)
        if stored:
            client = await storage_client(env)
            async with running_worker(client, registry, CLAIM_CHECK_QUEUE, scripted=scripted):
                for name, scenario in stored:
                    await record(client, CLAIM_CHECK_QUEUE, name, scenario, scripted)


async def record_rate_limiter(path: Path, registry: Registry) -> None:
    """A limiter that granted, queued, settled and released slots (it is still running, as a
    limiter is: replaying an open history checks every event recorded so far)."""
    model = "openai:gpt-recorded"
    async with environment("dev") as env, running_worker(env.client, registry, TASK_QUEUE):
        limits = {model: RateLimits(requests=2, tokens=3000, window_seconds=60)}
        limiter = RateLimiter(env.client, TASK_QUEUE, limits)
        for n in range(4):
            await limiter.reserve(model, f"recorded/{n}", 1000)
        await limiter.reserve(model, "recorded/0", 1000)  # asked again: the same slot
        await limiter.settle(model, "recorded/0", 120)
        await limiter.release(model, "recorded/3")
        await limiter.reserve(model, "recorded/4", 500)
        handle = env.client.get_workflow_handle(rate_limit_id(TASK_QUEUE, model))
        history = await handle.fetch_history()
        await handle.terminate("recorded")
    path.write_text(history.to_json() + "\n")
    print(f"recorded {path.name}: {len(history.events)} events")


async def main(args: list[str]) -> None:
    force = "--force" in args
    wanted = {arg for arg in args if not arg.startswith("--")}
    every = scenarios()
    if unknown := wanted - every.keys() - {RATE_LIMITER, *CONVERSATIONS}:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    due: dict[Server, dict[str, Scenario]] = {}
    for name, scenario in every.items():
        if wanted and name not in wanted:
            continue
        if all(path.exists() for path in scenario.files(name)) and not force:
            print(f"kept {name} (recorded earlier; --force re-records)")
            continue
        due.setdefault(scenario.server, {})[name] = scenario
    registry = Registry()
    registry.include(example_registry())
    registry.include(probes)
    for server, group in due.items():
        await record_on(server, group, registry)
    conversations = due_conversations(OUT, force, wanted)
    if conversations:
        async with environment("dev") as env:
            await record_conversations(env.client, TASK_QUEUE, registry, OUT, conversations)
    limiter_path = OUT / f"{RATE_LIMITER}.json"
    if (not wanted or RATE_LIMITER in wanted) and (force or not limiter_path.exists()):
        await record_rate_limiter(limiter_path, registry)
    await asyncio.sleep(0.2)  # let the native runtime settle before interpreter exit


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
