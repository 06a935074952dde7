"""Sub-pipeline steps: another pipeline run as a child PipelineWorkflow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
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
    timeout = run.step_timeout(step)
    result = await workflow.execute_child_workflow(
        PIPELINE_WORKFLOW,
        PipelineRunRequest(pipeline=target, input=value or {}),
        id=f"{info.workflow_id}/{key}",
        task_queue=info.task_queue,
        execution_timeout=timeout,
        result_type=PipelineResult,
        static_summary=f"sub-pipeline {name} (step {key} of {run.spec.name})",
    )
    return StepOutcome(output=result.output)
