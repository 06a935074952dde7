"""Agent and router steps end to end: real provider clients against a fake LLM server."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, model_validator

from taskagent import Pipeline, PipelineResult, Registry, StepStatus
from taskagent.llm.factory import ProviderFactory, ProviderSettings
from taskagent.operator import RetryStep
from tests.fake_llm import FakeLLM
from tests.support import (
    example_registry,
    failed_result,
    llm_harness,
    running_worker,
    start,
    wait_for_step,
)

FAST_RETRY = {"max_attempts": 3, "initial_interval": 0.05}


class Verdict(BaseModel):
    label: str = Field(pattern="^(good|bad)$")
    score: int = Field(ge=0, le=10)

    @model_validator(mode="after")
    def _bad_scores_low(self) -> Verdict:
        if self.label == "bad" and self.score > 5:
            raise ValueError("a bad verdict cannot score above 5")
        return self


agents = Registry()
agents.add_model(Verdict)
TOOL_RUNS: list[str] = []


class Numbers(BaseModel):
    a: int
    b: int


@agents.tools.tool(description="Add two integers.")
def add_numbers(args: Numbers) -> str:
    TOOL_RUNS.append(f"add {args.a} {args.b}")
    return str(args.a + args.b)


@agents.tools.tool(description="Delete everything. Never allowed for any step.")
def drop_tables(args: Numbers) -> str:
    TOOL_RUNS.append("drop_tables")
    return "dropped"


@agents.function()
def score_is_even(verdict: Verdict) -> list[str]:
    return [] if verdict.score % 2 == 0 else [f"score {verdict.score} must be even"]


def harness(env, task_queue: str, registry: Registry = agents):
    """A worker on `task_queue` whose providers talk to a fake LLM server."""
    return llm_harness(env, task_queue, registry)


def one_agent(**fields) -> Pipeline:
    return Pipeline("one_agent", model="openai:gpt-test").agent(
        "judge", "Judge the input.", input={"text": "$input.text"}, retry=FAST_RETRY, **fields
    )


async def test_plain_text_answer(env, task_queue):
    async with harness(env, task_queue) as h:
        h.llm.openai.reply_text("A plain answer.", usage=(30, 5))
        result = await (await h.run(one_agent(), {"text": "hello"})).result()
    judge = result.steps["judge"]
    assert judge.output == "A plain answer."
    assert judge.usage.input_tokens == 30 and judge.usage.output_tokens == 5
    assert result.cost.total.calls == 1
    request = h.llm.openai.last
    assert request["messages"][0]["role"] == "system"
    assert '"text": "hello"' in request["messages"][1]["content"]
    assert "Judge the input." in request["messages"][1]["content"]


async def test_structured_output_in_both_wire_formats(env, task_queue):
    async with harness(env, task_queue) as h:
        h.llm.openai.reply_json({"label": "good", "score": 8})
        h.llm.gemini.reply_text('```json\n{"label": "bad", "score": 2,} // trailing comma\n```')
        pipeline = (
            Pipeline("both", model="openai:gpt-test")
            .agent("openai_judge", "Judge.", output_schema="Verdict")
            .agent("gemini_judge", "Judge.", output_schema="Verdict", model="gemini:gemini-test")
        )
        result = await (await h.run(pipeline)).result()
    assert result.steps["openai_judge"].output == {"label": "good", "score": 8}
    assert result.steps["gemini_judge"].output == {"label": "bad", "score": 2}
    assert h.llm.openai.last["response_format"]["json_schema"]["name"] == "Verdict"
    assert h.llm.gemini.paths == ["/v1beta/models/gemini-test:generateContent"]
    assert set(result.cost.by_model) == {"openai:gpt-test", "gemini:gemini-test"}


async def test_invalid_answer_is_corrected_and_dropped_from_the_kept_conversation(env, task_queue):
    async with harness(env, task_queue) as h:
        h.llm.openai.reply_json({"label": "great", "score": 8})  # fails the JSON Schema
        h.llm.openai.reply_json({"label": "bad", "score": 9})  # fails the model validator
        h.llm.openai.reply_json({"label": "good", "score": 7})  # fails the semantic validator
        h.llm.openai.reply_json({"label": "good", "score": 6})
        pipeline = one_agent(
            output_schema="Verdict",
            validators=["score_is_even"],
            max_attempts=4,
            keep_conversation=True,
        )
        result = await (await h.run(pipeline, {"text": "x"})).result()
    judge = result.steps["judge"]
    assert judge.output == {"label": "good", "score": 6}
    assert judge.cognitive_retries == 3 and judge.transient_retries == 0
    assert [f.attempt for f in judge.validation_failures] == [1, 2, 3]
    assert judge.validation_failures[0].errors == ["label: 'great' does not match '^(good|bad)$'"]
    assert "a bad verdict cannot score above 5" in judge.validation_failures[1].errors[0]
    assert judge.validation_failures[2].errors == ["score_is_even: score 7 must be even"]
    corrections = [r["messages"][-1]["content"] for r in h.llm.openai.requests[1:]]
    assert all(c.startswith("PREVIOUS ATTEMPT FAILED VALIDATION") for c in corrections)
    assert "'great' does not match" in corrections[0]
    assert "a bad verdict cannot score above 5" in corrections[1]
    assert "score_is_even: score 7 must be even" in corrections[2]
    kept = [m.content or "" for m in judge.conversation]
    assert len(kept) == 3 and '"score": 6' in kept[-1]
    assert not any("great" in text or "PREVIOUS ATTEMPT" in text for text in kept)
    assert judge.usage.calls == 4 and result.cost.total.calls == 4


async def test_validation_exhausted_fails_with_every_attempts_errors(env, task_queue):
    async with harness(env, task_queue) as h:
        h.llm.openai.reply_text("not json at all")
        h.llm.openai.reply_json({"label": "good"})
        result = await failed_result(
            await h.run(one_agent(output_schema="Verdict", max_attempts=2))
        )
    error = result.steps["judge"].error
    assert error.type == "ValidationFailed"
    assert error.details[0].startswith("attempt 1: the answer contains no JSON")
    assert error.details[1] == "attempt 2: output: 'score' is a required property"
    assert result.steps["judge"].cognitive_retries == 1
    assert result.cost.total.calls == 2  # failed attempts are counted too
    assert result.steps["judge"].conversation == []  # kept only when the step asks for it


async def test_tool_round_trip_in_both_wire_formats(env, task_queue):
    TOOL_RUNS.clear()
    async with harness(env, task_queue) as h:
        h.llm.openai.reply_tool_call("add_numbers", {"a": 2, "b": 3}, call_id="call_a")
        h.llm.openai.reply_text("The sum is 5.")
        h.llm.gemini.reply_tool_call("add_numbers", {"a": 4, "b": 4})
        h.llm.gemini.reply_text("The sum is 8.")
        pipeline = (
            Pipeline("tools", model="openai:gpt-test")
            .agent("openai_sum", "Add.", tools=["add_numbers"])
            .agent("gemini_sum", "Add.", tools=["add_numbers"], model="gemini:gemini-test")
        )
        result = await (await h.run(pipeline)).result()
    assert sorted(TOOL_RUNS) == ["add 2 3", "add 4 4"]
    assert result.steps["openai_sum"].output == "The sum is 5."
    follow_up = h.llm.openai.requests[1]["messages"]
    assert follow_up[-1] == {"role": "tool", "tool_call_id": "call_a", "content": "5"}
    assert h.llm.openai.requests[0]["tools"][0]["function"]["name"] == "add_numbers"
    gemini_turn = h.llm.gemini.requests[1]["contents"][-1]["parts"][0]["functionResponse"]
    assert gemini_turn["name"] == "add_numbers" and gemini_turn["response"] == {"result": "8"}
    record = result.steps["openai_sum"].tool_calls[0]
    assert (record.tool, record.outcome, record.result_size) == ("add_numbers", "ok", 1)


async def test_tool_outside_the_allow_list_is_refused_and_never_runs(env, task_queue):
    TOOL_RUNS.clear()
    async with harness(env, task_queue) as h:
        h.llm.openai.reply_tool_call("drop_tables", {"a": 1, "b": 1}, call_id="bad")
        h.llm.openai.reply_tool_call("add_numbers", {"a": "x", "b": 1}, call_id="typo")
        h.llm.openai.reply_text("I could not do it.")
        result = await (await h.run(one_agent(tools=["add_numbers"]), {"text": "x"})).result()
    assert TOOL_RUNS == []  # neither the refused call nor the invalid one executed
    calls = result.steps["judge"].tool_calls
    assert [(c.tool, c.outcome) for c in calls] == [
        ("drop_tables", "refused"),
        ("add_numbers", "invalid_arguments"),
    ]
    refusal = h.llm.openai.requests[1]["messages"][-1]["content"]
    assert "'drop_tables' is not allowed here (allowed: add_numbers)" in refusal
    assert "a" in h.llm.openai.requests[2]["messages"][-1]["content"]


async def test_tool_rounds_are_bounded(env, task_queue):
    async with harness(env, task_queue) as h:
        for n in range(3):
            h.llm.openai.reply_tool_call("add_numbers", {"a": n, "b": n}, call_id=f"c{n}")
        result = await failed_result(
            await h.run(one_agent(tools=["add_numbers"], max_tool_rounds=2), {"text": "x"})
        )
    error = result.steps["judge"].error
    assert error.type == "ToolRoundsExceeded"
    assert "after 2 rounds" in error.message
    assert len(h.llm.openai.requests) == 3


async def test_rate_limit_waits_for_retry_after_and_counts_the_attempt(env, task_queue):
    async with harness(env, task_queue) as h:
        h.llm.openai.fail(429, "slow down", headers={"Retry-After": "1"})
        h.llm.openai.reply_text("ok")
        result = await (await h.run(one_agent(), {"text": "x"})).result()
    times = h.llm.openai.times
    assert times[1] - times[0] >= 1.0, "Retry-After was not honoured"
    assert result.steps["judge"].transient_retries == 1
    assert result.steps["judge"].cognitive_retries == 0


async def test_server_error_is_retried(env, task_queue):
    async with harness(env, task_queue) as h:
        h.llm.openai.fail(500, "boom")
        h.llm.openai.reply_text("recovered")
        result = await (await h.run(one_agent(), {"text": "x"})).result()
    assert result.steps["judge"].output == "recovered"
    assert result.steps["judge"].transient_retries == 1
    assert len(h.llm.openai.requests) == 2


async def test_unauthorized_is_not_retried(env, task_queue):
    async with harness(env, task_queue) as h:
        h.llm.openai.fail(401, "Incorrect API key provided")
        result = await failed_result(await h.run(one_agent(), {"text": "x"}))
    error = result.steps["judge"].error
    assert error.type == "unauthorized" and error.non_retryable
    assert "Incorrect API key provided" in error.message
    assert len(h.llm.openai.requests) == 1


async def test_spent_budget_stops_further_model_calls(env, task_queue):
    async with harness(env, task_queue) as h:
        h.llm.openai.reply_text("first", usage=(900, 200))
        pipeline = (
            Pipeline("budgeted", model="openai:gpt-test", budget={"tokens": 1000})
            .agent("first", "One.")
            .agent("second", "Two.", depends_on=["first"])
        )
        result = await failed_result(await h.run(pipeline))
    assert len(h.llm.openai.requests) == 1  # no request for the second step reached the server
    error = result.steps["second"].error
    assert error.type == "BudgetExceeded" and error.non_retryable
    assert "1100 of 1000 tokens" in error.message
    assert result.cost.total.tokens == 1100 and result.cost.by_step["first"].calls == 1


async def test_missing_key_names_the_variable(env, task_queue):
    async with FakeLLM() as llm:
        factory = ProviderFactory(ProviderSettings(OPENAI_BASE_URL=llm.openai_base_url))
        async with running_worker(env.client, agents, task_queue, providers=factory):
            result = await failed_result(
                await start(env.client, task_queue, one_agent(), {"text": "x"})
            )
        await factory.aclose()
    error = result.steps["judge"].error
    assert "OPENAI_API_KEY" in error.message and error.non_retryable
    assert llm.openai.requests == []


async def test_router_routes_the_intention_to_its_action(env, task_queue):
    async with harness(env, task_queue, example_registry()) as h:
        h.llm.openai.reply_json({"choice": "extract", "reasoning": "The user asks for facts."})
        h.llm.openai.reply_json({"facts": {"ceo": "Ada"}})
        handle = await h.run(
            "document_assistant", {"request": "Who is the CEO?", "document": "Ada runs it."}
        )
        result = await handle.result()
    intent = result.steps["intent"]
    assert intent.output == {"choice": "extract", "reasoning": "The user asks for facts."}
    assert result.steps["summarize"].status is StepStatus.SKIPPED
    assert result.steps["extract"].output == {"facts": {"ceo": "Ada"}}
    assert result.output == {
        "intent": {"choice": "extract", "reasoning": "The user asks for facts."},
        "action": "extract",
        "answer": {"facts": {"ceo": "Ada"}},
    }
    router_request = h.llm.openai.requests[0]
    assert router_request["temperature"] == pytest.approx(0.2)
    prompt = router_request["messages"][1]["content"]
    assert '"extract": The user wants specific information extracted' in prompt


async def test_company_research_runs_on_the_offline_model(env, task_queue):
    async with running_worker(env.client, example_registry(), task_queue):
        handle = await start(env.client, task_queue, "company_research", {"company": "Acme"})
        result: PipelineResult = await handle.result()
    assert [s.status for s in result.steps.values()] == [StepStatus.COMPLETED] * 4
    search = result.steps["search"]
    assert search.tool_calls[0].tool == "current_time" and search.tool_calls[0].outcome == "ok"
    assert set(result.output) == {"executive_summary", "strengths", "risks", "recommendation"}
    assert set(result.cost.by_step) == {"search", "reputation", "social", "report"}
    assert result.cost.total.cost_usd == 0 and result.cost.total.tokens > 0  # offline: free
    assert result.cost.total.calls == 5  # the search step called its tool, then answered


async def test_child_pipeline_costs_count_against_the_parent_budget(env, task_queue):
    child = Pipeline("child_agent").agent("think", "Think.")
    pipeline = (
        Pipeline("parent_budget", budget={"tokens": 1})
        .pipeline("child", child)
        .agent("after", "After.", depends_on=["child"])
    )
    async with running_worker(env.client, agents, task_queue):
        result = await failed_result(await start(env.client, task_queue, pipeline))
    assert result.steps["child"].status is StepStatus.COMPLETED
    assert result.cost.by_step["child"].calls == 1
    assert result.cost.by_model["offline:default"].calls == 1
    assert result.steps["child"].usage.calls == 1
    assert result.steps["after"].error.type == "BudgetExceeded"


async def test_operator_retries_a_paused_agent_with_another_model(env, task_queue):
    async with harness(env, task_queue) as h:
        h.llm.openai.fail(401, "Incorrect API key provided")
        pipeline = Pipeline("switch_model", model="openai:gpt-test", on_error="pause").agent(
            "judge", "Judge.", retry=FAST_RETRY
        )
        handle = await h.run(pipeline)
        paused = await wait_for_step(handle, "judge", StepStatus.WAITING)
        assert paused.steps["judge"].error.type == "unauthorized"
        await handle.execute_update(
            "retry_step", RetryStep(step="judge", model="offline:default", by="ops")
        )
        result = await handle.result()
    assert result.steps["judge"].status is StepStatus.COMPLETED
    assert set(result.cost.by_model) == {"offline:default"}  # the 401 answer cost nothing
    assert len(h.llm.openai.requests) == 1
