"""The `wait` kind: a durable pause (a Temporal timer) that passes its input on unchanged."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from taskagent.kinds.base import STRICT, Duration, StepBase, StepKind


class WaitStep(StepBase):
    """Waits for `duration` (surviving worker restarts), then passes its input on."""

    kind: Literal["wait"]
    duration: Duration = Field(description="How long to wait: seconds or ISO 8601 (`PT10M`).")


def wait(step_id: str, duration: Any, **fields: Any) -> WaitStep:
    """A step that waits for `duration`, then outputs its input."""
    data = {"kind": "wait", "id": step_id, "duration": duration, **fields}
    return WaitStep.model_validate(data, context=STRICT)


KIND = StepKind(name="wait", spec=WaitStep, executor="workflows.kinds.wait", builder=wait)
