"""Parallel steps: branches run concurrently through the choke point, then a declared merge."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.names import CODE_STEP_ACTIVITY
    from taskagent.results import CodeStepRequest, CodeStepResult, StepStatus
    from taskagent.spec import ParallelStep
    from workflows.failures import StepExecutionError
    from workflows.steps.base import StepOutcome
    from workflows.steps.code import DEFAULT_ATTEMPT_TIMEOUT

if TYPE_CHECKING:
    from workflows.engine import PipelineRun


async def run_parallel_step(
    run: PipelineRun, step: ParallelStep, key: str, value: Any
) -> StepOutcome:
    tasks = [
        asyncio.create_task(run.run_step(branch, f"{key}/{branch.id}", value, parent=key))
        for branch in step.branches
    ]
    try:
        records = await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await workflow.wait(tasks)
        raise
    failed = [r for r in records if r.status is StepStatus.FAILED]
    if failed:
        details = "; ".join(f"{r.id}: {r.error.message if r.error else '?'}" for r in failed)
        raise StepExecutionError("BranchFailed", f"{len(failed)} branch(es) failed: {details}")
    outputs = {
        branch.id: record.output
        for branch, record in zip(step.branches, records, strict=True)
        if record.status is StepStatus.COMPLETED
    }
    merged = await _merge(run, step, key, outputs)
    return StepOutcome(output=merged)


async def _merge(run: PipelineRun, step: ParallelStep, key: str, outputs: dict[str, Any]) -> Any:
    if step.merge == "object":
        return outputs
    if step.merge == "list":
        return list(outputs.values())
    if step.merge == "update":
        merged: dict[str, Any] = {}
        for branch_id, output in outputs.items():
            if not isinstance(output, dict):
                raise StepExecutionError(
                    "MergeError",
                    f"merge 'update' needs objects; branch {branch_id!r} gave "
                    f"{type(output).__name__}",
                )
            merged.update(output)
        return merged
    request = CodeStepRequest(function=step.merge, input=outputs, step_id=f"{key}/merge")
    result = await workflow.execute_local_activity(
        CODE_STEP_ACTIVITY,
        request,
        start_to_close_timeout=run.step_timeout(step) or DEFAULT_ATTEMPT_TIMEOUT,
        retry_policy=run.step_retry(step),
        summary=f"{key} · merge {step.merge}",
        result_type=CodeStepResult,
    )
    return result.output
