"""PipelineWorkflow on a real dev server: scheduling, concurrency, results, the progress query."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from taskagent import Pipeline, PipelineResult, StepStatus
from tests.support import (
    INTERVALS,
    event,
    failed_result,
    probes,
    progress,
    running_worker,
    start,
    unique,
    wait_for_step,
)


async def test_independent_steps_overlap(env, task_queue):
    gate = unique("gate")
    pipeline = (
        Pipeline("overlap")
        .code("a", "meet", input={"name": gate, "parties": 2, "tag": f"{gate}-a"})
        .code("b", "meet", input={"name": gate, "parties": 2, "tag": f"{gate}-b"})
        .code("c", "add", depends_on=["a", "b"], input={"a": 1, "b": 2})
    )
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, pipeline)
        result = await handle.result()
    # `meet` only returns once both steps are inside it at once: they ran concurrently.
    a, b = INTERVALS[f"{gate}-a"], INTERVALS[f"{gate}-b"]
    assert a[0] < b[1] and b[0] < a[1], "a and b did not overlap"
    assert result.output == 3
    assert [s.status for s in result.steps.values()] == [StepStatus.COMPLETED] * 3


async def test_ready_step_never_waits_for_a_slow_branch(env, task_queue):
    """`slow` only finishes after `fast2` ran; scheduling in waves would deadlock here."""
    name = unique("released")
    pipeline = (
        Pipeline("no_waves")
        .code("slow", "wait_for_signal", input={"name": name, "tag": f"{name}-slow"})
        .code("fast1", "echo", input={"n": 1})
        .code(
            "fast2",
            "send_signal",
            depends_on=["fast1"],
            input={"name": name, "tag": f"{name}-fast2"},
        )
        .code("join", "echo", depends_on=["slow", "fast2"])
    )
    async with running_worker(env.client, probes, task_queue):
        result = await (await start(env.client, task_queue, pipeline)).result()
    slow, fast2 = INTERVALS[f"{name}-slow"], INTERVALS[f"{name}-fast2"]
    assert slow[0] < fast2[0] < slow[1]
    assert result.output == {"slow": {"waited_for": name}, "fast2": {"sent": name}}
    steps = result.steps
    assert steps["fast2"].started_at < steps["slow"].finished_at


async def test_result_records_every_step_with_timing_and_mapping(env, task_queue):
    pipeline = (
        Pipeline("mapping", output={"sum": "$steps.sum.output", "raw": "$input.x"})
        .code("first", "echo", input={"value": "$input.x", "literal": "$$input"})
        .code("sum", "add", depends_on=["first"], input={"a": "$steps.first.output.value", "b": 10})
    )
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, pipeline, {"x": 5})
        result = await handle.result()
    assert result.steps["first"].output == {"value": 5, "literal": "$input"}
    assert result.output == {"sum": 15, "raw": 5}
    for step in result.steps.values():
        assert step.status is StepStatus.COMPLETED
        assert step.attempts == 1
        assert step.started_at <= step.finished_at
        assert step.duration_ms is not None
    assert result.workflow_id == handle.id


async def test_transient_failures_are_retried_and_counted(env, task_queue):
    name = unique("flaky")
    pipeline = Pipeline("flaky").code(
        "f",
        "flaky",
        input={"name": name, "failures": 2},
        retry={"max_attempts": 3, "initial_interval": 0.05},
    )
    async with running_worker(env.client, probes, task_queue):
        result = await (await start(env.client, task_queue, pipeline)).result()
    assert result.steps["f"].attempts == 3
    assert result.output == {"attempt": 3}


async def test_progress_query_shows_live_status(env, task_queue):
    name = unique("hold")
    pipeline = (
        Pipeline("progress")
        .code("first", "echo", input={})
        .code("held", "wait_for_signal", depends_on=["first"], input={"name": name})
        .code("after", "echo", depends_on=["held"])
    )
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, pipeline)

        await wait_for_step(handle, "held", StepStatus.RUNNING)
        live = await progress(handle)
        assert live.status.value == "RUNNING"
        assert live.steps["first"].status is StepStatus.COMPLETED
        assert live.steps["after"].status is StepStatus.PENDING
        assert live.steps["first"].duration_ms is not None and live.steps["first"].attempts == 1
        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        assert "- ▶ **held** RUNNING" in metadata.current_details
        assert "- ✔ **first** COMPLETED ·" in metadata.current_details
        event(name).set()
        result = await handle.result()
    assert result.status.value == "COMPLETED"


async def test_fail_fast_cancels_in_flight_and_skips_the_rest(env, task_queue):
    name = unique("never")
    pipeline = (
        Pipeline("fail_fast", on_failure="fail_fast")
        .code("blocked", "wait_for_signal", input={"name": name})
        .code("broken", "fail", input="x")
        .code("after_broken", "echo", depends_on=["broken"])
        .code("after_blocked", "echo", depends_on=["blocked"])
    )
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, pipeline)
        with pytest.raises(WorkflowFailureError) as caught:
            await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "PipelineFailed"
    assert "broken: Refused: refused 'x'" in cause.message
    result = PipelineResult.model_validate(cause.details[0])
    steps = result.steps
    assert steps["broken"].status is StepStatus.FAILED
    assert steps["broken"].error.type == "Refused" and steps["broken"].error.attempts == 1
    assert steps["blocked"].status is StepStatus.CANCELLED
    assert steps["after_broken"].status is StepStatus.SKIPPED
    assert steps["after_blocked"].status is StepStatus.SKIPPED


async def test_continue_policy_skips_only_dependents_of_the_failure(env, task_queue):
    pipeline = (
        Pipeline("continue", on_failure="continue")
        .code("broken", "fail", input="x")
        .code("dependent", "echo", depends_on=["broken"])
        .code("independent", "add", input={"a": 1, "b": 1})
        .code("downstream", "echo", depends_on=["independent"])
        .code(
            "report",
            "echo",
            depends_on=["dependent", "downstream"],
            trigger="all_settled",
            input={"dependent": "$steps.dependent.status", "down": "$steps.downstream.output"},
        )
    )
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, pipeline)
        result = await failed_result(handle)
    status = {key: step.status for key, step in result.steps.items()}
    assert status == {
        "broken": StepStatus.FAILED,
        "dependent": StepStatus.SKIPPED,
        "independent": StepStatus.COMPLETED,
        "downstream": StepStatus.COMPLETED,
        "report": StepStatus.COMPLETED,
    }
    assert result.steps["dependent"].reason == "dependency broken is FAILED"
    assert result.steps["report"].output == {"dependent": "SKIPPED", "down": 2.0}


async def test_functions_registered_cheap_run_as_local_activities(env, task_queue):
    pipeline = (
        Pipeline("locality")
        .code("cheap", "add", input={"a": 1, "b": 2})  # registered local=True
        .code("remote", "echo", input=1)
        .code("forced", "echo", input=2, local=True)
    )
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, pipeline)
        await handle.result()
        history = await handle.fetch_history()
    scheduled = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    markers = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert len(scheduled) == 1  # only `remote`
    assert len(markers) == 3  # resolve, `cheap` and `forced` ran as local activities
