"""Cancelling a run cancels its in-flight activities promptly and records every step."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowFailureError
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.exceptions import CancelledError

from taskagent import Pipeline, StepStatus
from taskagent.events import EventKind, RunEvent
from taskagent.results import RunStatus
from tests.support import (
    CANCELLED,
    ROOT,
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
        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        stream = WorkflowStreamClient.create(env.client, handle.id)
        events = [item.data async for item in stream.subscribe(result_type=RunEvent)]
        # What a person asks for: `starter.py status` shows the steps of the cancelled run.
        status = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "starter.py", "status", handle.id],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={
                **os.environ,
                "COLUMNS": "200",
                "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            },
        )
    assert final.status is RunStatus.CANCELLED
    assert metadata.current_details.startswith("**cancellable** — CANCELLED")
    assert events[-1].kind == EventKind.RUN_CANCELLED
    assert status.returncode == 1, status.stderr
    assert f"{handle.id}: CANCELED" in status.stderr
    assert "cancellable — CANCELLED" in status.stdout and "⊘ CANCELLED" in status.stdout
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
