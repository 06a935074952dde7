"""The run's event stream, workflow side: what the choke point publishes (see taskagent/events.py).

Publishing costs no command and no history event: the stream's log lives in the workflow's
memory, is rebuilt the same on replay, and is read by subscribers through the stream's update
and query. Step events come from the engine's one status setter, model, tool and validation
events from the step context's reports, so no step can run without them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.contrib.workflow_streams import WorkflowStream, WorkflowStreamState

with workflow.unsafe.imports_passed_through():
    from taskagent.events import EVENTS_TOPIC, EventKind, RunEvent
    from taskagent.results import PipelineResult, RunStatus, StepResult, StepStatus

CARRIED_EVENTS = 5_000
"""At most this many of the latest events go into a continuation (its input stays small)."""
PUBLISHER_TTL = timedelta(minutes=15)

_SETTLED = {
    StepStatus.COMPLETED: EventKind.STEP_COMPLETED,
    StepStatus.FAILED: EventKind.STEP_FAILED,
    StepStatus.SKIPPED: EventKind.STEP_SKIPPED,
    StepStatus.CANCELLED: EventKind.STEP_CANCELLED,
}

_RUN_SETTLED = {
    RunStatus.COMPLETED: EventKind.RUN_COMPLETED,
    RunStatus.CANCELLED: EventKind.RUN_CANCELLED,
}


class RunEvents:
    """Publishes one run's events on its Workflow Stream."""

    def __init__(
        self, stream: WorkflowStream, *, deltas: bool = False, carried: int = CARRIED_EVENTS
    ) -> None:
        self.stream = stream
        self._carried = carried
        self.deltas = deltas
        """Whether the run's model calls publish their text as it arrives."""
        self._topic = stream.topic(EVENTS_TOPIC, type=RunEvent)

    def publish(self, kind: EventKind, **fields: Any) -> None:
        event = RunEvent(kind=kind, at=workflow.now(), **fields)
        self._topic.publish(event.payload())

    def step_moved(
        self, record: StepResult, before: StepStatus, asked: dict[str, Any] | None = None
    ) -> None:
        """A status change of a step's record, as the engine made it; `asked` is what a step
        that waits for an approver asks."""
        status = record.status
        if status is before:
            return
        error = record.error
        fields: dict[str, Any] = {
            "step": record.id,
            "step_kind": record.kind,
            "reason": record.reason,
            "error": f"{error.type}: {error.message}" if error else None,
        }
        if status is StepStatus.RUNNING:
            started = before is StepStatus.PENDING
            self.publish(EventKind.STEP_STARTED if started else EventKind.STEP_RESUMED, **fields)
        elif status is StepStatus.WAITING:
            waiting_for = "approval" if asked is not None else "operator"
            self.publish(EventKind.STEP_WAITING, waiting_for=waiting_for, data=asked, **fields)
        elif status in _SETTLED:
            self.publish(
                _SETTLED[status],
                status=status.value,
                attempt=record.attempts or None,
                duration_ms=record.duration_ms,
                cost_usd=record.usage.cost_usd if record.usage else None,
                **fields,
            )

    def run_settled(self, result: PipelineResult) -> None:
        total = result.cost.total
        self.publish(
            _RUN_SETTLED.get(result.status, EventKind.RUN_FAILED),
            pipeline=result.pipeline,
            status=result.status.value,
            duration_ms=result.duration_ms,
            input_tokens=total.input_tokens,
            output_tokens=total.output_tokens,
            cost_usd=total.cost_usd,
        )

    def state(self) -> WorkflowStreamState:
        """What a continuation carries: the latest events and the publishers' dedup state."""
        state = self.stream.get_state(publisher_ttl=PUBLISHER_TTL)
        dropped = len(state.log) - self._carried
        if dropped > 0:
            state.log = state.log[dropped:]
            state.base_offset += dropped
        return state

    async def close(self) -> None:
        """Release the subscribers' polls before the run closes (they then read by query)."""
        self.stream.detach_pollers()
        await workflow.wait_condition(workflow.all_handlers_finished)
