"""The `pipeline` kind: another pipeline run as a child workflow; its output is the step's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from taskagent.kinds.base import STRICT, CheckContext, StepBase, StepKind

if TYPE_CHECKING:
    from taskagent.spec import PipelineSpec


class SubPipelineStep(StepBase):
    """Runs another pipeline as a child workflow; its final output is this step's output."""

    kind: Literal["pipeline"]
    pipeline: Annotated[
        Annotated[str, Tag("registered")] | Annotated[PipelineSpec, Tag("inline")],
        Discriminator(lambda v: "registered" if isinstance(v, str) else "inline"),
    ] = Field(description="A registered pipeline name or an inline spec.")


def subpipeline(step_id: str, pipeline: Any, **fields: Any) -> SubPipelineStep:
    """A step that runs another pipeline (a name, a spec or a `Pipeline` builder) as a child."""
    target = pipeline.build() if hasattr(pipeline, "build") else pipeline
    data = {"kind": "pipeline", "id": step_id, "pipeline": target, **fields}
    return SubPipelineStep.model_validate(data, context=STRICT)


def _check(step: SubPipelineStep, ctx: CheckContext, where: str) -> None:
    ctx.pipeline(step.pipeline, f"{where}.pipeline")


KIND = StepKind(
    name="pipeline",
    spec=SubPipelineStep,
    executor="workflows.kinds.subpipeline",
    builder=subpipeline,
    check=_check,
)
