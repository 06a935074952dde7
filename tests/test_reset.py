"""Re-running a finished run from a chosen step with `starter.py rerun --from` (a reset)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.client import WorkflowHandle

from taskagent import Pipeline, PipelineResult, Registry, StepStatus, code
from taskagent.operator import ApprovalDecision
from tests.support import (
    CALLS,
    example_registry,
    probes,
    running_worker,
    start,
    unique,
    wait_for_step,
)
from tests.test_cli import starter


async def test_rerun_from_a_step_runs_it_and_what_follows_again(env, task_queue):
    name = unique("rerun")
    pipeline = (
        Pipeline("rerunnable")
        .code("a", "flaky", input={"name": f"{name}-a", "failures": 0})
        .code("b", "flaky", depends_on=["a"], input={"name": f"{name}-b", "failures": 0})
        .code("c", "flaky", depends_on=["b"], input={"name": f"{name}-c", "failures": 0})
    )
    address = {"TEMPORAL_ADDRESS": env.client.service_client.config.target_host}
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, pipeline)
        first = await handle.result()
        done = await asyncio.to_thread(
            starter, "rerun", handle.id, "--from", "b", extra_env=address
        )
        assert done.returncode == 0, done.stderr
        assert "before step 'b'" in done.stdout
        latest = env.client.get_workflow_handle(handle.id, result_type=PipelineResult)
        second = await latest.result()
        unknown = await asyncio.to_thread(
            starter, "rerun", handle.id, "--from", "zzz", extra_env=address
        )
    assert second.run_id != first.run_id
    assert (CALLS[f"{name}-a"], CALLS[f"{name}-b"], CALLS[f"{name}-c"]) == (1, 2, 2)
    assert second.steps["a"].output == first.steps["a"].output
    # The step that completed before the reset keeps its true timing, not the reset's.
    assert first.finished_at is not None and second.steps["a"].finished_at is not None
    assert second.steps["a"].finished_at <= first.finished_at
    assert abs((second.steps["a"].duration_ms or 0) - (first.steps["a"].duration_ms or 0)) < 2000
    assert unknown.returncode == 2 and "no step 'zzz' started in this run" in unknown.stderr


def every_kind(name: str) -> Pipeline:
    """One step of each kind, in a chain (the approval waits for a person)."""
    return (
        Pipeline("every_kind", model="offline:default")
        .code("pick", "flaky", input={"name": name, "failures": 0})
        .switch("route", "steps.pick.output.attempt", {"1": "fan"}, depends_on=["pick"])
        .parallel(
            "fan", [code("x", "echo", input=1), code("y", "echo", input=2)], depends_on=["route"]
        )
        .pipeline(
            "child",
            Pipeline("inner").code("inner_step", "echo", input={"inner": True}),
            depends_on=["fan"],
            input={},
        )
        .router("ask", {"yes": "Agree.", "no": "Disagree."}, "Decide.", depends_on=["child"])
        .agent("write", "Write one line.", depends_on=["ask"])
        .approval("approve", "Publish it?", depends_on=["write"])
        .wait("pause", 1, depends_on=["approve"])
        .code("end", "echo", depends_on=["pause"], input="done")
    )


async def approve_when_asked(handle: WorkflowHandle[Any, Any]) -> None:
    await wait_for_step(handle, "approve", StepStatus.WAITING)
    decision = ApprovalDecision(step="approve", approved=True, by="tester", at=datetime.now(UTC))
    await handle.execute_update("decide_approval", decision)


@pytest.mark.parametrize(
    "step", ["route", "fan", "child", "ask", "write", "approve", "pause", "end"], ids=lambda s: s
)
async def test_rerun_works_from_a_step_of_every_kind(env, task_queue, step):
    registry = Registry()
    registry.include(example_registry())
    registry.include(probes)
    address = {"TEMPORAL_ADDRESS": env.client.service_client.config.target_host}
    async with running_worker(env.client, registry, task_queue):
        handle = await start(env.client, task_queue, every_kind(unique("kinds")))
        await approve_when_asked(handle)
        first = await handle.result()
        done = await asyncio.to_thread(
            starter, "rerun", handle.id, "--from", step, extra_env=address
        )
        assert done.returncode == 0, done.stderr
        latest = env.client.get_workflow_handle(handle.id, result_type=PipelineResult)
        if step in ("route", "fan", "child", "ask", "write", "approve"):
            await approve_when_asked(latest)  # the approval comes after the reset point
        second = await latest.result()
    assert second.run_id != first.run_id and second.output == "done"
    assert first.finished_at is not None
    reset_at = first.steps[step].start_event or 0
    # A reset runs again the workflow task that started the step: the steps that task started
    # too run again; those started in earlier tasks are kept.
    kept_keys = [k for k, r in first.steps.items() if (r.start_event or 0) < reset_at]
    rerun_keys = [k for k, r in first.steps.items() if (r.start_event or 0) >= reset_at]
    assert step in rerun_keys and "pick" in kept_keys
    for key in kept_keys:  # kept as they were, with their true timing
        kept, original = second.steps[key], first.steps[key]
        assert kept.finished_at is not None and kept.finished_at <= first.finished_at, key
        # (Workflow time inside the first task, which also ran the resolve local activity,
        # may read a little differently on replay; finished_at above is the strict check.)
        assert abs((kept.duration_ms or 0) - (original.duration_ms or 0)) < 2000, key
    for key in rerun_keys:  # ran again, after the first run had ended
        if second.steps[key].parent is None:
            started = second.steps[key].started_at
            assert started is not None and started > first.finished_at, key
