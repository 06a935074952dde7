"""Cancelling a run cancels its in-flight activities promptly and records every step."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import CancelledError

from taskagent import Pipeline, StepStatus
from tests.support import (
    CANCELLED,
    eventually,
    probes,
    progress,
    running_worker,
    start,
    unique,
    wait_for_step,
)
from tests.test_operator import wait_until_waiting


async def test_cancelling_a_run_cancels_in_flight_steps(env, task_queue):
    name = unique("held")
    pipeline = (
        Pipeline("cancellable")
        .code("done", "echo", input=1)
        .code("held", "wait_for_signal", input={"name": name})
        .code("after", "echo", depends_on=["held"])
    )
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, pipeline)

        await wait_for_step(handle, "held", StepStatus.RUNNING)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as caught:
            await handle.result()
        assert isinstance(caught.value.cause, CancelledError)

        async def activity_cancelled() -> bool:
            return name in CANCELLED

        await eventually(activity_cancelled, timeout=5)  # delivered through a heartbeat
        final = await progress(handle)
    assert final.steps["done"].status is StepStatus.COMPLETED
    assert final.steps["held"].status is StepStatus.CANCELLED
    assert final.steps["after"].status is StepStatus.SKIPPED
    assert final.steps["after"].reason == "the run was cancelled"


async def test_cancelling_a_paused_run(env, task_queue):
    pipeline = Pipeline("paused", on_error="pause").code("broken", "fail", input=1)
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, pipeline)
        await wait_until_waiting(handle, "broken")
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        final = await progress(handle)
    assert final.steps["broken"].status is StepStatus.CANCELLED
