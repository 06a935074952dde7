"""Pausing failed steps for an operator, and approval steps, on real Temporal servers."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from taskagent import Pipeline, PipelineResult, StepStatus
from taskagent.operator import AbortStep, ApprovalDecision, OperatorReply, RetryStep, SkipStep
from tests.support import (
    CALLS,
    failed_result,
    probes,
    running_worker,
    start,
    unique,
    wait_for_step,
)
from tests.test_cli import starter, temporal_cli
from workflows import PipelineWorkflow

DAY = timedelta(days=1)


async def wait_until_waiting(handle: WorkflowHandle, step: str) -> PipelineResult:
    return await wait_for_step(handle, step, StepStatus.WAITING)


def paused_pipeline(name: str) -> Pipeline:
    return (
        Pipeline("pausing", on_error="pause")
        .code("first", "flaky", input={"name": f"{name}-first", "failures": 0})
        .code(
            "fragile",
            "flaky",
            depends_on=["first"],
            input={"name": name, "failures": 2},
            retry={"max_attempts": 1},
        )
        .code("after", "echo", depends_on=["fragile"])
    )


async def test_failed_step_pauses_and_an_operator_retry_completes_the_run(env, task_queue):
    name = unique("pause")
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, paused_pipeline(name))
        progress = await wait_until_waiting(handle, "fragile")
        fragile = progress.steps["fragile"]
        assert fragile.error.message == "function 'flaky' raised RuntimeError: transient failure 1"
        assert "waiting for operator" in fragile.reason
        metadata = await handle.query("__temporal_workflow_metadata")
        assert "⏸ **fragile** — waiting for operator" in metadata.current_details

        # Not paused: rejected by the validator, nothing changes.
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update("retry_step", RetryStep(step="first"))
        reply = await handle.execute_update(
            "retry_step", RetryStep(step="fragile", by="ops"), result_type=OperatorReply
        )
        assert reply.action == "retry"
        await wait_until_waiting(handle, "fragile")  # attempt 2 fails as well
        await handle.execute_update("retry_step", RetryStep(step="fragile"))
        result = await handle.result()
    assert result.steps["fragile"].status is StepStatus.COMPLETED
    assert result.steps["fragile"].output == {"attempt": 1}
    assert result.steps["after"].status is StepStatus.COMPLETED
    assert CALLS[name] == 3
    assert CALLS[f"{name}-first"] == 1  # completed steps never run again


async def test_skip_with_a_supplied_output_is_checked_against_the_schema(env, task_queue):
    # `broken` has no typed output (any output is accepted); `sum` must return a number.
    pipeline = (
        Pipeline("skipping", on_error="pause")
        .code("broken", "fail", input=1)
        .code("sum", "add", depends_on=["broken"], trigger="all_settled", input={"a": "x", "b": 1})
        .code("use", "echo", depends_on=["sum"], input={"total": "$steps.sum.output"})
    )
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, pipeline)
        await wait_until_waiting(handle, "broken")
        await handle.execute_update("skip_step", SkipStep(step="broken", output="anything"))
        await wait_until_waiting(handle, "sum")  # invalid input for `add`: non-retryable
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await handle.execute_update("skip_step", SkipStep(step="sum", output="seven"))
        assert "does not match the step's schema" in str(rejected.value.cause)
        await handle.execute_update(
            "skip_step", SkipStep(step="sum", output=7.0, comment="computed by hand", by="ana")
        )
        result = await handle.result()
    assert result.steps["sum"].status is StepStatus.COMPLETED
    assert result.steps["sum"].reason == "output supplied by operator ana: computed by hand"
    assert result.steps["use"].output == {"total": 7.0}


async def test_abort_fails_the_run_and_skips_the_rest(env, task_queue):
    name = unique("abort")
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, paused_pipeline(name))
        await wait_until_waiting(handle, "fragile")
        await handle.execute_update(
            "abort_step", AbortStep(step="fragile", comment="bad data upstream")
        )
        result = await failed_result(handle)
    assert result.steps["fragile"].error.type == "Aborted"
    assert "bad data upstream" in result.steps["fragile"].error.message
    assert result.steps["after"].status is StepStatus.SKIPPED


async def test_operator_acts_through_the_temporal_cli(env, task_queue):
    name = unique("cli-pause")
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, paused_pipeline(name))
        await wait_until_waiting(handle, "fragile")
        done = await asyncio.to_thread(  # the worker shares this event loop: don't block it
            temporal_cli,
            env,
            "workflow",
            "update",
            "execute",
            "--workflow-id",
            handle.id,
            "--name",
            "skip_step",
            "--input",
            json.dumps({"step": "fragile", "output": {"attempt": 9}}),
        )
        assert done.returncode == 0, done.stderr
        assert "the output was accepted" in done.stdout
        result = await handle.result()
    assert result.steps["after"].output == {"attempt": 9}


def approval_pipeline(**fields) -> Pipeline:
    schema = {
        "type": "object",
        "required": ["amount"],
        "properties": {"amount": {"type": "number"}},
    }
    return (
        Pipeline("refund")
        .code("draft", "echo", input={"amount": "$input.amount"})
        .add(
            {
                "kind": "approval",
                "id": "approve",
                "depends_on": ["draft"],
                "prompt": "Refund this?",
                "payload_schema": schema,
                **fields,
            }
        )
        .code("pay", "echo", depends_on=["approve"], input="$steps.approve.output.payload")
    )


async def test_approval_with_an_edited_payload(env, task_queue):
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, approval_pipeline(), {"amount": 120})
        await wait_until_waiting(handle, "approve")
        # The approver sees in the Web UI's details what is asked, and how to answer.
        metadata = await handle.query("__temporal_workflow_metadata")
        details = metadata.current_details
        assert "⏸ **approve** — waiting for approval" in details
        assert "> Refund this?" in details and 'payload: `{"amount": 120}`' in details
        assert f"python starter.py approve {handle.id} approve" in details
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(
                "decide_approval",
                ApprovalDecision(step="approve", approved=True, payload={"amount": "lots"}),
            )
        await handle.execute_update(
            "decide_approval",
            ApprovalDecision(
                step="approve", approved=True, payload={"amount": 100}, by="lee", comment="capped"
            ),
        )
        result = await handle.result()
    approval = result.steps["approve"].output
    assert approval == {
        "approved": True,
        "comment": "capped",
        "payload": {"amount": 100},
        "by": "lee",
        "timed_out": False,
    }
    assert result.steps["pay"].output == {"amount": 100}


async def test_rejection_fails_the_step_without_pausing(env, task_queue):
    async with running_worker(env.client, probes, task_queue):
        pipeline = approval_pipeline(on_error="pause")  # a decision: not paused even so
        handle = await start(env.client, task_queue, pipeline, {"amount": 5})
        await wait_until_waiting(handle, "approve")
        await handle.execute_update(
            "decide_approval", ApprovalDecision(step="approve", approved=False, comment="no")
        )
        result = await failed_result(handle)
    assert result.steps["approve"].error.type == "Rejected"
    assert result.steps["approve"].status is StepStatus.FAILED
    assert result.steps["pay"].status is StepStatus.SKIPPED


async def test_approval_timeout_takes_the_declared_default(skipping_env, task_queue):
    pipeline = approval_pipeline(wait="PT48H", on_timeout="approve")
    async with running_worker(skipping_env.client, probes, task_queue):
        handle = await start(
            skipping_env.client, task_queue, pipeline, {"amount": 3}, execution_timeout=DAY * 7
        )
        result = await handle.result()  # the test server skips the 48 hours
    approval = result.steps["approve"]
    assert approval.output["timed_out"] is True and approval.output["approved"] is True
    assert approval.output["by"] == "timeout"
    assert approval.duration_ms >= timedelta(hours=48).total_seconds() * 1000


async def test_starter_approves_and_records_a_replayable_history(env, task_queue, tmp_path):
    address = {"TEMPORAL_ADDRESS": env.client.service_client.config.target_host}
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, approval_pipeline(), {"amount": 10})
        await wait_until_waiting(handle, "approve")
        refused = await asyncio.to_thread(
            starter,
            "approve",
            handle.id,
            "approve",
            "--payload",
            '{"amount": "x"}',
            extra_env=address,
        )
        assert refused.returncode == 2 and "does not match the step's schema" in refused.stderr
        approved = await asyncio.to_thread(
            starter,
            "approve",
            handle.id,
            "approve",
            "--comment",
            "ok",
            "--by",
            "sam",
            extra_env=address,
        )
        assert approved.returncode == 0, approved.stderr
        assert "approve: approve" in approved.stdout
        result = await handle.result()
        out = tmp_path / "approval.json"
        recorded = await asyncio.to_thread(
            starter, "record", handle.id, "--out", str(out), extra_env=address
        )
        assert recorded.returncode == 0, recorded.stderr
    assert result.steps["approve"].output["by"] == "sam"
    replayer = Replayer(workflows=[PipelineWorkflow], data_converter=pydantic_data_converter)
    history = WorkflowHistory.from_json(handle.id, out.read_text())
    assert (await replayer.replay_workflow(history)).replay_failure is None


async def test_retry_with_a_changed_input(env, task_queue):
    pipeline = Pipeline("fix_input", on_error="pause").code("sum", "add", input={"a": "x", "b": 1})
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, pipeline)
        paused = await wait_until_waiting(handle, "sum")
        assert paused.steps["sum"].error.type == "InvalidStepInput"
        await handle.execute_update("retry_step", RetryStep(step="sum", input={"a": 2, "b": 3}))
        result = await handle.result()
    assert result.steps["sum"].output == 5.0


async def approved_after_a_worker_restart(
    client: Client, task_queue: str
) -> tuple[WorkflowHandle[Any, PipelineResult], PipelineResult]:
    """A refund run that waits for approval on one worker, then is approved and finished by
    another, which picks the run up from its history (replaying what the first one did)."""
    async with running_worker(client, probes, task_queue):
        handle = await start(client, task_queue, approval_pipeline(), {"amount": 8})
        await wait_until_waiting(handle, "approve")
    async with running_worker(client, probes, task_queue):
        await handle.execute_update(
            "decide_approval", ApprovalDecision(step="approve", approved=True, by="night shift")
        )
        return handle, await handle.result()


async def test_approval_survives_a_worker_restart(env, task_queue):
    _, result = await approved_after_a_worker_restart(env.client, task_queue)
    assert result.steps["approve"].output["by"] == "night shift"
    assert result.steps["pay"].output == {"amount": 8}
