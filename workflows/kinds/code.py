"""Executor of `code` steps: a registered function, as an activity (or a local one when cheap)."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.kinds.code import CodeStep
    from taskagent.kinds.context import StepContext, StepOutcome
    from taskagent.names import CODE_STEP_ACTIVITY
    from taskagent.results import CodeStepRequest, CodeStepResult


async def execute(ctx: StepContext, step: CodeStep, value: Any) -> StepOutcome:
    if ctx.dry_run and _has_side_effects(ctx, step):
        return ctx.stand_in(f"not run: {step.function!r} has side effects")
    request = CodeStepRequest(
        function=step.function, input=value, step_id=ctx.key, execution=ctx.execution
    )
    local = step.local if step.local is not None else step.function in ctx.resolved.local_functions
    result = await ctx.activity(
        CODE_STEP_ACTIVITY,
        request,
        result_type=CodeStepResult,
        summary=step.function,
        local=local,
    )
    return StepOutcome(output=result.output, attempts=result.attempt)


def _has_side_effects(ctx: StepContext, step: CodeStep) -> bool:
    """As the step says, or else as the function was registered."""
    if step.side_effects is not None:
        return step.side_effects
    return step.function in ctx.resolved.side_effect_functions
