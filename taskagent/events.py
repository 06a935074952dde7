"""The run's event stream: what a pipeline run publishes for its subscribers (a contract).

Every run keeps an offset-addressed log of events through Temporal's Workflow Streams
(`temporalio.contrib.workflow_streams`): the workflow publishes its own events (steps, model
calls, tools, validation) for free, in memory, replayed like everything else; the model-call
activity publishes the answer's text as it arrives (token deltas, batched into one item per
interval) by signal, when the run asks for it (`PipelineRunRequest.stream`). Subscribers poll
with an update while the run is open and read the retained log with a query after it closed;
the log is carried through continue-as-new.

Events are one flat model, so that a subscriber of an older release reads a newer one's events
(unknown kinds and fields are tolerated) and the JSON stays small (unset fields are left out).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payload

EVENTS_TOPIC = "events"
"""What the workflow publishes: runs, steps, model calls, tools, validation."""
DELTAS_TOPIC = "deltas"
"""What the model-call activity publishes: the answer's text as it arrives."""
TOPICS = [EVENTS_TOPIC, DELTAS_TOPIC]


class EventKind(StrEnum):
    RUN_STARTED = "run_started"
    RUN_CONTINUED = "run_continued"
    """The run continued as new; the stream goes on in the next run."""
    RUN_COMPLETED = "run_completed"
    RUN_FAILED = "run_failed"
    RUN_CANCELLED = "run_cancelled"
    STEP_STARTED = "step_started"
    STEP_RESUMED = "step_resumed"
    """A paused or waiting step runs again (an operator's retry, an approver's decision)."""
    STEP_WAITING = "step_waiting"
    """Paused for an operator (`waiting_for: operator`) or an approver (`approval`)."""
    STEP_NOTICE = "step_notice"
    """What a running step's activity waits for (a rate limit, a provider's Retry-After)."""
    STEP_COMPLETED = "step_completed"
    STEP_FAILED = "step_failed"
    STEP_SKIPPED = "step_skipped"
    STEP_CANCELLED = "step_cancelled"
    MODEL_REQUEST = "model_request"
    MODEL_RESPONSE = "model_response"
    TOOL_COMPLETED = "tool_completed"
    VALIDATION_FAILED = "validation_failed"
    """An answer was rejected; `errors` are what goes back to the model."""
    DELTA = "delta"
    """Text of a model's answer as it arrives, tagged with its step, attempt, call and try."""
    MESSAGE_RECEIVED = "message_received"
    """A message from another run arrived (`data`: id, sender, topic)."""
    TURN_STARTED = "turn_started"
    """A conversation's turn began (`data`: turn, message_id, seq)."""
    TURN_COMPLETED = "turn_completed"
    """A conversation's turn ended with a reply (`text`; `data`: turn, message_id, seq)."""
    TURN_FAILED = "turn_failed"
    SUMMARY_SAVED = "summary_saved"
    """A summary bookmark now stands for a conversation's older messages (`data`: upto)."""


class RunEvent(BaseModel):
    """One event of a run. `kind` says which fields are set; the others are left out."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    kind: str = Field(description="An EventKind; unknown kinds come from newer releases.")
    at: datetime | None = Field(None, description="Workflow time, or the worker's for deltas.")
    pipeline: str | None = None
    step: str | None = Field(None, description="The step's record key (`parent/child` nested).")
    step_kind: str | None = None
    status: str | None = None
    reason: str | None = None
    error: str | None = Field(None, description="`<type>: <message>` of a failure.")
    waiting_for: str | None = Field(None, description="`operator` or `approval`.")
    attempt: int | None = Field(None, description="The step's answer attempt (validation).")
    call: int | None = Field(None, description="The model call's number within the step.")
    try_: int | None = Field(
        None, alias="try", description="The activity attempt (transient retries)."
    )
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    duration_ms: float | None = None
    finish_reason: str | None = None
    tool: str | None = None
    outcome: str | None = None
    errors: list[str] | None = None
    text: str | None = None
    data: dict[str, object] | None = Field(
        None, description="What a step waits for an approver to decide on, and similar."
    )

    def to_json(self) -> str:
        """The event as JSON, unset fields left out: as published, streamed and printed."""
        return self.model_dump_json(exclude_none=True, by_alias=True)

    def payload(self) -> Payload:
        """The event as a JSON payload (published as is)."""
        return Payload(metadata={"encoding": b"json/plain"}, data=self.to_json().encode())


class DeltaTag(BaseModel):
    """What the model-call activity tags its deltas with (set when the run streams)."""

    model_config = ConfigDict(extra="ignore")

    attempt: int
    call: int
