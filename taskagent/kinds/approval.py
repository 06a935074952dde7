"""The `approval` kind: a person approves or rejects the step's input, optionally editing it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from taskagent.kinds.base import (
    STRICT,
    Catalog,
    CheckContext,
    Duration,
    SchemaOf,
    StepBase,
    StepKind,
)

OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {name: {} for name in ("approved", "comment", "payload", "by", "timed_out")},
}


class ApprovalStep(StepBase):
    """Waits for a person to approve or reject its input, optionally editing it."""

    kind: Literal["approval"]
    prompt: str = Field("", description="What the approver is asked.")
    payload_schema: dict[str, Any] | None = Field(
        None, description="JSON Schema an edited payload must satisfy."
    )
    wait: Duration | None = Field(None, description="How long to wait for a decision.")
    on_timeout: Literal["approve", "reject"] = Field(
        "reject", description="The decision taken when `wait` passes without one."
    )


def approval(step_id: str, prompt: str = "", **fields: Any) -> ApprovalStep:
    """A step that waits for a person's decision on its input."""
    data = {"kind": "approval", "id": step_id, "prompt": prompt, **fields}
    return ApprovalStep.model_validate(data, context=STRICT)


def _check(step: ApprovalStep, ctx: CheckContext, where: str) -> None:
    if step.payload_schema is not None:
        ctx.json_schema(step.payload_schema, f"{where}.payload_schema")


def _output_schema(step: ApprovalStep, catalog: Catalog | None, _: SchemaOf) -> dict[str, Any]:
    return OUTPUT_SCHEMA


KIND = StepKind(
    name="approval",
    spec=ApprovalStep,
    executor="workflows.kinds.approval",
    builder=approval,
    check=_check,
    output_schema=_output_schema,
)
