"""The provider boundary end to end, on a real Temporal server: what no run may let through,
and bills that tell the truth. Every provider answer comes from a fake server on the wire."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from taskagent import Pipeline, Registry
from taskagent.llm.factory import ProviderFactory, ProviderSettings
from tests.support import failed_result, llm_harness, patches, running_worker, start

FAST_RETRY = {"max_attempts": 3, "initial_interval": 0.05, "max_interval": 0.2}


class Verdict(BaseModel):
    label: str
    score: int


boundary = Registry()
boundary.add_model(Verdict)


@boundary.function()
def echo(value: object) -> object:
    return value


def judge(**fields: Any) -> Pipeline:
    return Pipeline("boundary", model="openai:gpt-test").agent(
        "judge", "Judge the input.", retry=FAST_RETRY, **fields
    )


async def test_a_truncated_answer_is_a_failed_attempt_with_a_correction(env, task_queue):
    async with llm_harness(env, task_queue, boundary) as h:
        # json-repair would close this cut answer into a valid Verdict: it must not move on.
        h.llm.openai.reply_text('{"label": "good", "score": 7', finish_reason="length")
        h.llm.openai.reply_json({"label": "good", "score": 8})
        handle = await h.run(judge(output_schema="Verdict", max_output_tokens=12))
        result = await handle.result()
        history = await handle.fetch_history()
    step = result.steps["judge"]
    assert step.output == {"label": "good", "score": 8}
    assert step.attempts == 2 and step.cognitive_retries == 1
    assert "cut off at max_output_tokens=12" in step.validation_failures[0].errors[0]
    assert "cut off" in h.llm.openai.requests[1]["messages"][-1]["content"]
    assert result.cost.total.calls == 2  # the cut answer was billed: it is in the ledger
    assert [p for p in patches(history) if "truncated" in p] == [
        '{"id":"taskagent-truncated-answers","deprecated":false}'
    ]


async def test_a_truncated_text_answer_is_never_an_output(env, task_queue):
    async with llm_harness(env, task_queue, boundary) as h:
        h.llm.openai.reply_text("The verdict is good because the argument", finish_reason="length")
        result = await failed_result(await h.run(judge(max_attempts=1)))
    step = result.steps["judge"]
    assert step.output is None
    assert step.error.type == "ValidationFailed" and "cut off" in step.error.message


async def test_a_refusal_fails_once_with_its_text_and_is_billed(env, task_queue):
    async with llm_harness(env, task_queue, boundary) as h:
        h.llm.openai.reply_refusal("I can't assist with that.", usage=(50, 6))
        result = await failed_result(await h.run(judge(output_schema="Verdict")))
    step = result.steps["judge"]
    assert len(h.llm.openai.requests) == 1
    assert (step.error.type, step.error.non_retryable) == ("refused", True)
    assert "I can't assist with that." in step.error.message
    assert result.cost.total.calls == 1 and result.cost.total.input_tokens == 50
    assert step.usage is not None and step.usage.output_tokens == 6
    assert step.attempts == 1


async def test_an_unreadable_answer_fails_once_and_is_billed(env, task_queue):
    async with llm_harness(env, task_queue, boundary) as h:
        h.llm.openai.reply_message({"role": "assistant", "content": 42}, usage=(20, 3))
        result = await failed_result(await h.run(judge()))
    error = result.steps["judge"].error
    assert len(h.llm.openai.requests) == 1
    assert error.type == "invalid_response" and "choices[0].message.content" in error.message
    assert result.cost.total.calls == 1 and result.cost.total.output_tokens == 3


async def test_a_step_whose_model_call_ran_out_of_retries_says_so_consistently(env, task_queue):
    async with llm_harness(env, task_queue, boundary) as h:
        for _ in range(3):
            h.llm.openai.fail(503, "overloaded")
        result = await failed_result(await h.run(judge()))
    step = result.steps["judge"]
    assert step.error.type == "server_error" and step.error.attempts == 3
    assert step.attempts == 1  # the first answer was asked for, three times
    assert step.transient_retries == 2
    assert result.cost.total.calls == 0  # nothing was answered, nothing billed


async def test_insufficient_quota_fails_at_once_with_the_providers_message(env, task_queue):
    message = "You exceeded your current quota, please check your plan and billing details."
    body = {
        "error": {"message": message, "type": "insufficient_quota", "code": "insufficient_quota"}
    }
    async with llm_harness(env, task_queue, boundary) as h:
        h.llm.openai.fail(429, body=body, headers={"Retry-After": "1"})
        result = await failed_result(await h.run(judge()))
    error = result.steps["judge"].error
    assert len(h.llm.openai.requests) == 1
    assert (error.type, error.non_retryable) == ("insufficient_quota", True)
    assert message in error.message


async def test_a_day_long_retry_after_is_capped_by_the_retry_policy(env, task_queue):
    async with llm_harness(env, task_queue, boundary) as h:
        h.llm.openai.fail(429, "slow down", headers={"Retry-After": "86400"})
        h.llm.openai.reply_text("Fine.")
        result = await (await h.run(judge())).result()
    first, second = h.llm.openai.times
    assert result.steps["judge"].output == "Fine."
    assert second - first < 10  # 0.2 s (retry.max_interval) and a worker's poll, not a day
    assert result.steps["judge"].transient_retries == 1


async def test_a_missing_usage_is_estimated_and_marked_in_the_ledger(env, task_queue):
    async with llm_harness(env, task_queue, boundary) as h:
        h.llm.openai.reply_text("x" * 400, usage=None)
        result = await (await h.run(judge())).result()
    total = result.cost.total
    assert total.calls == 1 and total.estimated_calls == 1
    assert total.output_tokens == 100 and total.input_tokens > 0
    assert result.steps["judge"].usage.estimated_calls == 1


async def test_a_worker_with_no_model_configured_refuses_agent_steps_saying_how(env, task_queue):
    providers = ProviderFactory(ProviderSettings())  # a clean environment: no default model
    pipeline = Pipeline("unconfigured").agent("judge", "Judge.").code("after", "echo")
    async with running_worker(env.client, boundary, task_queue, providers=providers):
        handle = await start(env.client, task_queue, pipeline)
        with pytest.raises(WorkflowFailureError) as caught:
            await handle.result()
    error = caught.value.cause
    assert isinstance(error, ApplicationError) and error.type == "InvalidPipeline"
    assert "steps 'judge' call a model and name none" in error.message
    assert "TASKAGENT_DEFAULT_MODEL=offline:default" in error.message


async def test_the_offline_model_is_opt_in_and_costs_nothing(env, task_queue):
    providers = ProviderFactory(ProviderSettings())
    pipeline = Pipeline("offline", model="offline:default").agent("judge", "Judge.")
    async with running_worker(env.client, boundary, task_queue, providers=providers):
        result = await (await start(env.client, task_queue, pipeline)).result()
    assert result.cost.total.calls == 1 and result.cost.total.tokens > 0
    assert result.cost.by_model["offline:default"].cost_usd == 0
