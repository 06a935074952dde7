"""Run-time contracts that cross the durable boundary: requests, step results, run results."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from taskagent.spec import PipelineSpec


class StepStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"

    @property
    def settled(self) -> bool:
        return self not in (StepStatus.PENDING, StepStatus.RUNNING)


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class StepError(BaseModel):
    """Why a step failed: an error as a value."""

    type: str
    message: str
    attempts: int = 1
    non_retryable: bool = False


class StepResult(BaseModel):
    """The lifecycle record of one step (or one branch of a parallel step)."""

    id: str
    kind: str
    status: StepStatus = StepStatus.PENDING
    output: Any = None
    error: StepError | None = None
    reason: str | None = Field(None, description="Why the step was skipped or cancelled.")
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    parent: str | None = None


class PipelineResult(BaseModel):
    """Every step with status, output, error and timing, plus the final output.

    The query `progress` returns the same model while the run is in flight.
    """

    pipeline: str
    workflow_id: str
    run_id: str
    status: RunStatus = RunStatus.RUNNING
    steps: dict[str, StepResult] = Field(default_factory=dict)
    output: Any = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None

    def counts(self) -> dict[StepStatus, int]:
        counts = dict.fromkeys(StepStatus, 0)
        for step in self.steps.values():
            counts[step.status] += 1
        return counts

    def failed_steps(self) -> list[StepResult]:
        return [s for s in self.steps.values() if s.status is StepStatus.FAILED]


class PipelineRunRequest(BaseModel):
    """Input of PipelineWorkflow: `{"pipeline": "<name or inline spec>", "input": {...}}`."""

    model_config = ConfigDict(extra="forbid")

    pipeline: str | dict[str, Any] = Field(description="A registered pipeline name or a spec.")
    input: dict[str, Any] = Field(default_factory=dict)


class ResolveRequest(BaseModel):
    """Input of the resolve activity: what the run was asked to do."""

    pipeline: str | dict[str, Any]
    input: dict[str, Any] = Field(default_factory=dict)


class ResolvedPipeline(BaseModel):
    """The validated spec a run executes, recorded once in its history."""

    spec: PipelineSpec


class CodeStepRequest(BaseModel):
    """Input of the code-step activity."""

    function: str
    input: Any = None
    step_id: str


class CodeStepResult(BaseModel):
    """Output of the code-step activity, with the attempt that produced it."""

    output: Any = None
    attempt: int = 1
