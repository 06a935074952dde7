"""Executor of `parallel` steps: branches run concurrently through the engine, then a merge."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.errors import ErrorType
    from taskagent.kinds.context import StepContext, StepFailure, StepOutcome
    from taskagent.kinds.parallel import ParallelStep
    from taskagent.names import CODE_STEP_ACTIVITY
    from taskagent.results import CodeStepRequest, CodeStepResult, StepStatus


async def execute(ctx: StepContext, step: ParallelStep, value: Any) -> StepOutcome:
    tasks = [asyncio.create_task(ctx.run_nested(branch, value)) for branch in step.branches]
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
        raise StepFailure(ErrorType.BRANCH_FAILED, f"{len(failed)} branch(es) failed: {details}")
    outputs = {
        branch.id: record.output
        for branch, record in zip(step.branches, records, strict=True)
        if record.status is StepStatus.COMPLETED
    }
    return StepOutcome(output=await _merge(ctx, step, outputs))


async def _merge(ctx: StepContext, step: ParallelStep, outputs: dict[str, Any]) -> Any:
    if step.merge == "object":
        return outputs
    if step.merge == "list":
        return list(outputs.values())
    if step.merge == "update":
        merged: dict[str, Any] = {}
        for branch_id, output in outputs.items():
            if not isinstance(output, dict):
                raise StepFailure(
                    ErrorType.MERGE_ERROR,
                    f"merge 'update' needs objects; branch {branch_id!r} gave "
                    f"{type(output).__name__}",
                )
            merged.update(output)
        return merged
    request = CodeStepRequest(function=step.merge, input=outputs, step_id=f"{ctx.key}/merge")
    result = await ctx.activity(
        CODE_STEP_ACTIVITY,
        request,
        result_type=CodeStepResult,
        summary=f"merge {step.merge}",
        local=True,
    )
    return result.output
