"""Fleet-wide rate limits: the scheduling rule, and two workers that share one limit."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel
from temporalio.api.enums.v1 import DescribeTaskQueueMode, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from activities.rate_limits import rate_limit_id, reserved_tokens
from taskagent import Pipeline, Registry, StepStatus
from taskagent.llm.factory import ProviderFactory, ProviderSettings
from taskagent.llm.models_file import ModelsFile, ModelsFileError
from taskagent.llm.types import Message, ModelRequest
from taskagent.names import RATE_LIMIT_WORKFLOW
from taskagent.ratelimit import (
    LimiterState,
    RateLimits,
    Settlement,
    SlotRequest,
    release,
    reserve,
    settle,
)
from taskagent.testing import ScriptedAnswer, ScriptedCall, ScriptedProvider
from taskagent.tools.registry import parse_rate
from tests.fake_llm import FakeLLM
from tests.support import (
    eventually,
    llm_harness,
    progress,
    running_worker,
    start,
    worker_process,
)

MODEL = "openai:gpt-test"


def ask(state: LimiterState, key: str, now: float, size: int = 0, **limits: float) -> float:
    """When `key` (of `size` tokens) may go, as seconds from `now`."""
    request = SlotRequest(key=key, tokens=size, limits=RateLimits(**limits))
    return reserve(state, request, now).wait_seconds


# -- the rule ----------------------------------------------------------------------------------
def test_requests_beyond_the_limit_wait_for_the_oldest_to_leave_the_window():
    state = LimiterState()
    waits = [ask(state, f"k{n}", 100.0, requests=3, window_seconds=10) for n in range(7)]
    assert waits == [0, 0, 0, 10, 10, 10, 20]
    # Later, the window has moved on: the next request goes once the queue ahead has gone.
    assert ask(state, "late", 115.0, requests=3, window_seconds=10) == 5.0


def test_tokens_are_limited_by_their_sum_and_a_request_larger_than_the_limit_goes_alone():
    state = LimiterState()
    limits = {"tokens": 1000, "window_seconds": 60}
    assert ask(state, "a", 0.0, size=600, **limits) == 0
    assert ask(state, "b", 0.0, size=400, **limits) == 0
    assert ask(state, "c", 1.0, size=1, **limits) == 59  # a and b leave the window at 60
    assert ask(state, "huge", 1.0, size=5000, **limits) == 119  # alone: once c has left
    # First come, first served: a small request does not overtake the queue, and waits until
    # the huge one, which filled its window, has left it.
    assert ask(state, "small", 2.0, size=1, **limits) == 178


def test_the_same_key_gets_the_same_slot_and_settling_frees_tokens():
    state = LimiterState()
    limits = {"tokens": 1000, "window_seconds": 60}
    assert ask(state, "a", 0.0, size=900, **limits) == 0
    assert ask(state, "a", 5.0, size=900, **limits) == 0  # the same attempt asking again
    assert len(state.slots) == 1
    settle(state, Settlement(key="a", tokens=100))  # it used far less than it reserved
    assert ask(state, "b", 5.0, size=900, **limits) == 0
    release(state, "b")
    assert [s.key for s in state.slots] == ["a"]


def test_slots_out_of_every_window_are_forgotten():
    state = LimiterState()
    for n in range(50):
        ask(state, f"k{n}", float(n), requests=100, window_seconds=10)
    assert len(state.slots) == 10  # only the last window's


def test_reserved_tokens_are_the_prompt_and_the_longest_answer_allowed():
    request = ModelRequest(model=MODEL, messages=[Message(role="user", content="x" * 400)])
    assert reserved_tokens(request) == 100 + 1_000
    capped = request.model_copy(update={"max_output_tokens": 50})
    assert reserved_tokens(capped) == 150


def test_the_models_file_states_limits_and_refuses_unknown_keys(tmp_path: Path):
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump({"models": {MODEL: {"rate_limit": {"requests": 60}}}}))
    assert ModelsFile.load(path).rate_limits() == {MODEL: RateLimits(requests=60)}
    path.write_text(yaml.safe_dump({"models": {MODEL: {"rate_limit": {"request": 60}}}}))
    with pytest.raises(ModelsFileError, match=r"rate_limit\.request: Extra inputs"):
        ModelsFile.load(path)
    path.write_text(yaml.safe_dump({"models": {MODEL: {"rate_limit": {"requests": 0}}}}))
    with pytest.raises(ModelsFileError, match=r"rate_limit\.requests: Input should be greater"):
        ModelsFile.load(path)


# -- two workers, one limit --------------------------------------------------------------------
@asynccontextmanager
async def two_workers(env, task_queue: str, llm: FakeLLM, models: Path) -> AsyncIterator[None]:
    """Two worker processes on one task queue, this one and worker.py, each with its own key
    (to tell their calls apart); yields once both poll for activities."""
    factory = ProviderFactory(
        ProviderSettings(
            OPENAI_API_KEY="key-a",
            OPENAI_BASE_URL=llm.openai_base_url,
            TASKAGENT_MODELS=str(models),
        )
    )
    other = {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TASKAGENT_TASK_QUEUE": task_queue,
        "TASKAGENT_PIPELINE_DIR": str(models.parent / "none"),
        "OPENAI_API_KEY": "key-b",
        "OPENAI_BASE_URL": llm.openai_base_url,
        "TASKAGENT_MODELS": str(models),
    }
    try:
        # At most half the calls here: the worker process must take the others.
        async with running_worker(
            env.client, Registry(), task_queue, providers=factory, max_concurrent_activities=4
        ):
            with worker_process(other) as process:

                async def both_poll() -> bool:
                    if process.poll() is not None:
                        output = process.stdout.read() if process.stdout else ""
                        raise AssertionError(f"worker.py exited:\n{output}")
                    return await activity_pollers(env.client, task_queue, 2)

                await eventually(both_poll, 30)
                yield
    finally:
        await factory.aclose()


async def activity_pollers(client: Client, task_queue: str, count: int) -> bool:
    """Whether `count` workers poll `task_queue` for activities (on any of its partitions)."""
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            api_mode=DescribeTaskQueueMode.DESCRIBE_TASK_QUEUE_MODE_ENHANCED,
            task_queue_types=[TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY],
            report_pollers=True,
        )
    )
    identities = {
        poller.identity
        for version in described.versions_info.values()
        for info in version.types_info.values()
        for poller in info.pollers
    }
    return len(identities) >= count


def most_in_any_window(times: list[float], window: float) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


async def test_two_workers_share_one_limit_and_limited_calls_wait(env, task_queue, tmp_path):
    window, limit, steps = 2.0, 3, 8
    models = tmp_path / "models.yaml"
    models.write_text(
        yaml.safe_dump(
            {"models": {MODEL: {"rate_limit": {"requests": limit, "window_seconds": window}}}}
        )
    )
    pipeline = Pipeline("limited", model=MODEL)
    for n in range(steps):
        pipeline.agent(f"ask{n}", f"Say hello {n}.")
    async with FakeLLM() as llm, two_workers(env, task_queue, llm, models):
        for _ in range(steps):
            llm.openai.reply_text("Hello.")
        handle = await start(env.client, task_queue, pipeline)

        async def a_step_shows_its_wait() -> bool:
            steps = (await progress(handle)).steps.values()
            return any("rate limit of openai:gpt-test" in (s.waiting or "") for s in steps)

        await eventually(a_step_shows_its_wait)
        result = await handle.result()
        limiter = env.client.get_workflow_handle(rate_limit_id(task_queue, MODEL))
        described = await limiter.describe()

    assert all(
        r.status == StepStatus.COMPLETED and r.waiting is None for r in result.steps.values()
    )
    times = sorted(llm.openai.times)
    assert len(times) == steps
    # No window held more than the limit (less a little for the time from grant to send) ...
    assert most_in_any_window(times, window - 0.25) <= limit
    # ... and the calls were spread over the windows they needed: 3, 3 and 2.
    assert times[-1] - times[0] >= 2 * window - 0.25
    keys = {h["Authorization"] for h in llm.openai.headers}
    assert keys == {"Bearer key-a", "Bearer key-b"}, "both workers called the model"
    assert described.workflow_type == RATE_LIMIT_WORKFLOW


async def test_without_a_limit_the_same_calls_go_at_once(env, task_queue, tmp_path):
    """The control: what the limit changes (and that the test above could fail)."""
    models = tmp_path / "models.yaml"
    models.write_text(yaml.safe_dump({"models": {MODEL: {"price": [0, 0]}}}))
    pipeline = Pipeline("unlimited", model=MODEL)
    for n in range(6):
        pipeline.agent(f"ask{n}", f"Say hello {n}.")
    async with llm_harness(env, task_queue, Registry(), TASKAGENT_MODELS=str(models)) as harness:
        for _ in range(6):
            harness.llm.openai.reply_text("Hello.")
        await (await harness.run(pipeline)).result()
    assert most_in_any_window(sorted(harness.llm.openai.times), 1.75) > 3


stamped = Registry()
STAMPS: list[float] = []


class Stamp(BaseModel):
    label: str


@stamped.tools.tool(rate_limit="2/second")
def stamp(args: Stamp) -> str:
    """Record when it ran."""
    STAMPS.append(time.monotonic())
    return args.label


def test_a_tool_rate_limit_is_written_calls_per_period() -> None:
    assert parse_rate("10/minute") == RateLimits(requests=10, window_seconds=60)
    assert parse_rate("2/seconds") == RateLimits(requests=2, window_seconds=1)
    with pytest.raises(ValueError, match=r"<calls>/<second\|minute\|hour>"):
        parse_rate("10 per minute")


async def test_a_rate_limited_tool_is_called_at_its_pace_across_concurrent_steps(env, task_queue):
    """The seed's "10 queries/minute", at a test's pace: 2 calls a second, 6 concurrent steps."""
    STAMPS.clear()
    steps = 6
    call = ScriptedAnswer(tool_calls=[ScriptedCall(name="stamp", arguments={"label": "x"})])
    scripted = ScriptedProvider().enqueue("clerk", *[call] * steps)
    pipeline = Pipeline("stamping", model="scripted:clerk")
    for n in range(steps):
        pipeline = pipeline.agent(f"s{n}", "Stamp.", tools=["stamp"], max_tool_rounds=1)
    async with running_worker(env.client, stamped, task_queue, scripted=scripted):
        await (await start(env.client, task_queue, pipeline)).result()
    times = sorted(STAMPS)
    assert len(times) == steps
    assert most_in_any_window(times, 1.0 - 0.25) <= 2
    assert times[-1] - times[0] >= 2 * 1.0 - 0.25  # three windows for six calls
