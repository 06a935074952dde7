"""What operators and approvers send to a running pipeline (workflow updates), and the replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RETRY_STEP = "retry_step"
SKIP_STEP = "skip_step"
ABORT_STEP = "abort_step"
DECIDE_APPROVAL = "decide_approval"


class _Update(BaseModel):
    model_config = ConfigDict(extra="ignore")  # stored in histories: tolerate new fields

    step: str = Field(description="Id of the waiting step (`parallel/branch` for a branch).")
    comment: str = ""
    by: str = Field("", description="Who acts, for the record.")
    at: datetime | None = Field(
        None,
        description="When the person decided (their clock; starter.py sets it). The step's "
        "record ends then, even if a reset later delivers the decision again.",
    )


class RetryStep(_Update):
    """Run a paused step again, optionally with another input or model."""

    input: Any = Field(None, description="Replaces the step's input when given.")
    model: str | None = Field(None, description="`provider:model` for agent and router steps.")


class SkipStep(_Update):
    """Complete a paused step with an output supplied by the operator."""

    output: Any = Field(description="Checked against the step's output schema when it has one.")


class AbortStep(_Update):
    """Fail a paused step and stop the run."""


class ApprovalDecision(_Update):
    """Approve or reject a waiting approval step."""

    approved: bool
    payload: Any = Field(None, description="An edited payload; checked against the step's schema.")


class OperatorReply(BaseModel):
    """What an accepted update did."""

    step: str
    action: Literal["retry", "skip", "abort", "approve", "reject"]
    message: str
