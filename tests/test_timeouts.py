"""Step and pipeline deadlines.

These run on the real dev server with one-second deadlines: the time-skipping test server does
not skip time while an activity is in flight (checked: a 20 s step deadline took 20 s there).
"""

from __future__ import annotations

import itertools

import pytest
from temporalio.client import WorkflowFailureError

from taskagent import Pipeline, PipelineResult, StepStatus
from tests.support import failed_result, probes, running_worker, start, unique


async def test_step_timeout_fails_the_step_and_the_rest_goes_on(env, task_queue):
    pipeline = (
        Pipeline("deadline", on_failure="continue")
        .code(
            "stuck",
            "wait_for_signal",
            input={"name": unique("never")},
            timeout=1,
            retry={"max_attempts": 1},
        )
        .code("after", "echo", depends_on=["stuck"])
        .code("other", "add", input={"a": 1, "b": 1})
    )
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, pipeline)
        result = await failed_result(handle)
    stuck = result.steps["stuck"]
    assert stuck.status is StepStatus.FAILED
    assert stuck.error.type == "StepTimeout"
    assert stuck.error.message == "step 'stuck' did not finish within 0:00:01"
    assert stuck.duration_ms >= 1000
    assert result.steps["after"].status is StepStatus.SKIPPED
    assert result.steps["other"].status is StepStatus.COMPLETED


async def test_pipeline_timeout_fails_the_run_with_its_steps(env, task_queue):
    pipeline = (
        Pipeline("slow_run", timeout=1)
        .code("quick", "echo", input=1)
        .code("stuck", "wait_for_signal", input={"name": unique("never")})
    )
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, pipeline)
        with pytest.raises(WorkflowFailureError) as caught:
            await handle.result()
    cause = caught.value.cause
    assert cause.type == "PipelineTimeout"
    assert cause.message == "pipeline 'slow_run' did not finish within 0:00:01"
    steps = PipelineResult.model_validate(cause.details[0]).steps
    assert steps["quick"].status is StepStatus.COMPLETED
    assert steps["stuck"].status is StepStatus.CANCELLED


async def test_max_concurrency_bounds_running_steps(env, task_queue):
    """With max_concurrency=1, `b` cannot start until `a` ends, so `a` must not wait for `b`."""
    name = unique("order")
    pipeline = (
        Pipeline("one_at_a_time", max_concurrency=1)
        .code("a", "send_signal", input={"name": name, "tag": f"{name}-a"})
        .code("b", "wait_for_signal", input={"name": name, "tag": f"{name}-b"})
        .code("c", "echo", input=3)
    )
    async with running_worker(env.client, probes, task_queue):
        result = await (await start(env.client, task_queue, pipeline)).result()
    steps = list(result.steps.values())
    for earlier, later in itertools.pairwise(steps):
        assert earlier.finished_at <= later.started_at, f"{earlier.id} overlapped {later.id}"
