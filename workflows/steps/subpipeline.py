"""Sub-pipeline steps: another pipeline run as a child PipelineWorkflow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from taskagent.errors import PIPELINE_FAILED
    from taskagent.names import PIPELINE_WORKFLOW
    from taskagent.results import PipelineResult, PipelineRunRequest
    from taskagent.spec import SubPipelineStep
    from workflows.failures import StepExecutionError
    from workflows.steps.base import StepOutcome

if TYPE_CHECKING:
    from workflows.engine import PipelineRun


async def run_subpipeline_step(
    run: PipelineRun, step: SubPipelineStep, key: str, value: Any
) -> StepOutcome:
    if value is not None and not isinstance(value, dict):
        raise StepExecutionError(
            "InvalidStepInput",
            f"a sub-pipeline's input must be an object, not {type(value).__name__}",
        )
    if isinstance(step.pipeline, str):
        target: str | dict[str, Any] = step.pipeline
        name = step.pipeline
    else:
        target = step.pipeline.model_dump(mode="json", exclude_defaults=True)
        name = step.pipeline.name
    info = workflow.info()
    request = PipelineRunRequest(pipeline=target, input=value or {}, budget=run.remaining_budget())
    try:
        # The step's deadline cancels the child (through the choke point); no execution timeout
        # here, or the server would terminate the child and leave its activities running.
        result = await workflow.execute_child_workflow(
            PIPELINE_WORKFLOW,
            request,
            id=f"{info.workflow_id}/{key}",
            task_queue=info.task_queue,
            result_type=PipelineResult,
            static_summary=f"sub-pipeline {name} (step {key} of {run.spec.name})",
        )
    except ChildWorkflowError as err:
        child = _failed_result(err)
        if child is not None:
            run.add_cost(key, child.cost)
        raise
    run.add_cost(key, result.cost)
    return StepOutcome(output=result.output)


def _failed_result(err: ChildWorkflowError) -> PipelineResult | None:
    """The PipelineResult a failed child carries in its PipelineFailed error, if any."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type == PIPELINE_FAILED and cause.details:
        return PipelineResult.model_validate(cause.details[0])
    return None
