"""Executor of `pipeline` steps: another pipeline run as a child PipelineWorkflow."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.errors import ErrorType
    from taskagent.kinds.context import StepContext, StepFailure, StepOutcome
    from taskagent.kinds.subpipeline import SubPipelineStep
    from taskagent.results import PipelineRunRequest


async def execute(ctx: StepContext, step: SubPipelineStep, value: Any) -> StepOutcome:
    if value is not None and not isinstance(value, dict):
        raise StepFailure(
            ErrorType.INVALID_STEP_INPUT,
            f"a sub-pipeline's input must be an object, not {type(value).__name__}",
        )
    if isinstance(step.pipeline, str):
        target: str | dict[str, Any] = step.pipeline
        name = step.pipeline
    else:
        target = step.pipeline.model_dump(mode="json", exclude_defaults=True)
        name = step.pipeline.name
    request = PipelineRunRequest(pipeline=target, input=value or {}, budget=ctx.remaining_budget())
    result = await ctx.child_pipeline(request, name)
    return StepOutcome(output=result.output)
