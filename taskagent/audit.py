"""The audit trail of a run: who started it, and every tool call its agents asked for, refusals
included (a tool outside the step's allow-list, or one whose role the run's starter lacks).
Read with the `audit` query (`python starter.py audit <workflow-id>`), while the run goes on and
after it ended. A pure contract module."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from taskagent.results import Identity, PipelineResult, ToolCallRecord


class ToolAudit(ToolCallRecord):
    """One tool call, with the step that asked for it."""

    step: str


class AuditTrail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    workflow_id: str
    pipeline: str
    started_by: Identity | None = None
    calls: list[ToolAudit] = Field(default_factory=list)

    @classmethod
    def of(cls, result: PipelineResult) -> AuditTrail:
        calls = [
            ToolAudit(step=key, **call.model_dump())
            for key, record in result.steps.items()
            for call in record.tool_calls
        ]
        return cls(
            workflow_id=result.workflow_id,
            pipeline=result.pipeline,
            started_by=result.started_by,
            calls=calls,
        )
