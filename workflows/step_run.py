"""The StepContext of one running step: the engine's side of the kinds' interface.

Every activity a step runs goes through `activity()`, which always applies a bounded retry policy,
a timeout and the Web UI label; every report (usage, tool calls, rejected answers) lands in the
step's record and the run's ledger here, in engine code.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ChildWorkflowError

from workflows.budget import Reservation

with workflow.unsafe.imports_passed_through():
    from taskagent.conversation.context import ConversationContext
    from taskagent.events import DeltaTag, EventKind
    from taskagent.kinds.context import StepOutcome
    from taskagent.llm.types import ModelRequest
    from taskagent.messages import PipelineMessage
    from taskagent.names import PIPELINE_WORKFLOW
    from taskagent.operator import ApprovalDecision, RetryStep
    from taskagent.results import (
        AttemptFailure,
        Identity,
        ModelCallRequest,
        ModelCallResult,
        PipelineResult,
        PipelineRunRequest,
        ResolvedPipeline,
        RunContext,
        StepResult,
        ToolCallRecord,
        carried_result,
    )
    from taskagent.schemas.instances import schema_instance
    from taskagent.spec import Budget, PipelineSpec, StepBase

if TYPE_CHECKING:
    from workflows.engine import PipelineRun

T = TypeVar("T")

DEFAULT_ATTEMPT_TIMEOUT = timedelta(minutes=5)
HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""Activities heartbeat every second; a dead worker's activity is retried after this long."""


class StepRun:
    """One step's execution, as its executor sees it (implements StepContext)."""

    def __init__(self, run: PipelineRun, step: StepBase, record: StepResult) -> None:
        self._run = run
        self.step = step
        self.record = record
        self.finished_at: datetime | None = None
        """When the step's last activity or child finished, by its own report."""
        self._new_inputs = 0
        self._calls = 0  # activities and children this step has run
        self._call: DeltaTag | None = None  # the model call under way

    # -- what the step sees ----------------------------------------------------------------
    @property
    def key(self) -> str:
        return self.record.id

    @property
    def spec(self) -> PipelineSpec:
        return self._run.spec

    @property
    def resolved(self) -> ResolvedPipeline:
        return self._run.resolved

    @property
    def deadline(self) -> timedelta | None:
        return self._run.step_deadline(self.step)

    @property
    def retry_policy(self) -> RetryPolicy:
        return (self.step.retry or self.spec.defaults.retry).policy()

    @property
    def execution(self) -> int:
        return self._new_inputs

    @property
    def identity(self) -> Identity:
        return self._run.identity

    @property
    def conversation(self) -> ConversationContext | None:
        return self._run.conversation

    @property
    def dry_run(self) -> bool:
        return self._run.dry_run

    def stand_in(self, reason: str, output: Any = None) -> StepOutcome:
        if output is None:
            schema = self.resolved.output_schema(self.key)
            output = schema_instance(schema, seed=self.key) if schema is not None else None
        return StepOutcome(output=output, note=f"dry run: {reason}")

    def scope(self) -> Mapping[str, Any]:
        return self._run.scope()

    # -- what the step does ----------------------------------------------------------------
    async def activity(
        self,
        name: str,
        arg: Any,
        *,
        result_type: type[T],
        summary: str,
        local: bool = False,
        timeout: timedelta | None = None,
        retry: RetryPolicy | None = None,
        heartbeat: bool = True,
    ) -> T:
        attempt_timeout = timeout or self.deadline or DEFAULT_ATTEMPT_TIMEOUT
        options: dict[str, Any] = {
            "start_to_close_timeout": attempt_timeout,
            "schedule_to_close_timeout": self.deadline,
            "retry_policy": retry or self.retry_policy,
            "summary": f"{self.key} · {summary}",
            "result_type": result_type,
        }
        if local:  # recorded by the worker: no event the server would buffer
            result = await workflow.execute_local_activity(name, arg, **options)
        else:
            if heartbeat:
                options["heartbeat_timeout"] = HEARTBEAT_TIMEOUT
            async with self._run.window.slot() as waited:
                self._slot_taken(waited)
                try:
                    result = await workflow.execute_activity(name, arg, **options)
                finally:
                    self.record.waiting = None  # whatever its attempts waited for is over
        self._note_finish(getattr(result, "finished_at", None))
        return result  # type: ignore[no-any-return]

    async def child_pipeline(self, request: PipelineRunRequest, name: str) -> PipelineResult:
        info = workflow.info()
        scope = self._run.telemetry.scope.for_step(self.key)
        context = RunContext(correlation_id=scope.correlation_id, path=scope.path)
        update: dict[str, Any] = {
            "context": context,
            "stream": self._run.events.deltas,
            "identity": self._run.identity,  # a child acts for whoever started its parent
            "dry_run": self._run.dry_run,
        }
        if request.conversation is None:  # a chat turn's sub-pipeline reads the conversation too
            update["conversation"] = self._run.conversation
        request = request.model_copy(update=update)
        try:
            # The step's deadline cancels the child (through the choke point); no execution
            # timeout here, or the server would terminate the child and leave its activities.
            async with self._run.window.slot() as waited:
                self._slot_taken(waited)
                result: PipelineResult = await workflow.execute_child_workflow(
                    PIPELINE_WORKFLOW,
                    request,
                    id=f"{info.workflow_id}/{self.key}",
                    task_queue=info.task_queue,
                    result_type=PipelineResult,
                    static_summary=f"sub-pipeline {name} (step {self.key} of {self.spec.name})",
                )
        except ChildWorkflowError as err:
            child = carried_result(err.cause)
            if child is not None:
                self._add_child_cost(child)
            raise
        self._add_child_cost(result)
        self._note_finish(result.finished_at)
        return result

    async def wait_for_approval(
        self,
        timeout: timedelta | None,
        schema: dict[str, Any] | None,
        asked: dict[str, Any] | None = None,
    ) -> ApprovalDecision | None:
        seconds = timeout.total_seconds() if timeout is not None else None
        decision = await self._run.desk.wait_for_approval(self.record, seconds, schema, asked)
        self._note_finish(decision.at if decision is not None else None)
        return decision

    async def wait_for_message(self, topic: str | None) -> PipelineMessage:
        self.record.waiting = f"a message on topic {topic}" if topic else "a message"
        self._run.board.changed()
        try:
            message = await self._run.inbox.take(topic)
        finally:
            self.record.waiting = None
        self._note_finish(workflow.now())
        return message

    async def run_nested(self, step: StepBase, value: Any) -> StepResult:
        record = await self._run.run_step(step, f"{self.key}/{step.id}", value, parent=self.key)
        self._note_finish(record.finished_at)
        return record

    # -- what the step reports -------------------------------------------------------------
    async def reserve_budget(self, request: ModelRequest) -> Reservation:
        return await self._run.budget.reserve(self.spec.budget, request, self.key)

    def settle_budget(self, reservation: Reservation) -> None:
        self._run.budget.settle(reservation)

    def remaining_budget(self) -> Budget | None:
        return self._run.budget.remaining(self.spec.budget)

    def record_finish(self, at: datetime) -> None:
        self._note_finish(at)

    def record_attempt(self, attempt: int) -> None:
        self.record.attempts = attempt
        self._run.board.changed()

    def model_call(self, request: ModelRequest, attempt: int, call: int) -> ModelCallRequest:
        self._call = DeltaTag(attempt=attempt, call=call)
        events = self._run.events
        fields = {"step": self.key, "attempt": attempt, "call": call}
        events.publish(EventKind.MODEL_REQUEST, model=request.model, **fields)
        return ModelCallRequest(
            request=request, step_id=self.key, stream=self._call if events.deltas else None
        )

    def record_model_call(self, model: str, result: ModelCallResult) -> None:
        response = result.response
        self._run.events.publish(
            EventKind.MODEL_RESPONSE,
            step=self.key,
            attempt=self._call.attempt if self._call else None,
            call=self._call.call if self._call else None,
            try_=result.attempt,
            model=model,
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
            cost_usd=result.cost_usd,
            latency_ms=response.latency_ms,
            finish_reason=response.finish_reason,
        )
        usage = result.response.usage
        ledger = self._run.result.cost
        ledger.record(
            self.key,
            model,
            usage.input_tokens,
            usage.output_tokens,
            result.cost_usd,
            usage.estimated,
        )
        self.record.usage = ledger.by_step[self.key]
        self.record.transient_retries += result.attempt - 1
        self._run.board.changed()

    def record_tool_call(self, call: ToolCallRecord, attempt: int = 1) -> None:
        self._run.events.publish(
            EventKind.TOOL_COMPLETED,
            step=self.key,
            tool=call.tool,
            outcome=call.outcome,
            duration_ms=call.duration_ms,
            error=call.error,
            try_=attempt,
        )
        self.record.tool_calls.append(call)
        self.record.transient_retries += attempt - 1
        self._run.board.changed()

    def record_rejected_answer(self, failure: AttemptFailure, cognitive_retries: int) -> None:
        self._run.events.publish(
            EventKind.VALIDATION_FAILED,
            step=self.key,
            attempt=failure.attempt,
            errors=failure.errors,
        )
        self.record.validation_failures.append(failure)
        self.record.cognitive_retries = cognitive_retries
        self._run.board.changed()

    # -- for the engine --------------------------------------------------------------------
    def retried(self, decision: RetryStep, override: Any) -> Any:
        """Apply an operator's retry: maybe another model; the input override to use."""
        if decision.model is not None:
            self.step = self.step.model_copy(update={"model": decision.model})
        self.finished_at = None
        if decision.input is None:
            return override
        self._new_inputs += 1  # a new execution: side effects get a new idempotency key
        return decision.input

    def note_decision(self, at: datetime | None) -> None:
        """A person's decision ended the step (an operator's skip): its time, if known."""
        self.finished_at = None
        self._note_finish(at)

    def _slot_taken(self, waited: bool) -> None:
        """A step whose first call waited for the run's in-flight window starts when it got
        a slot: its record's start and duration are those of its work, not of the queue."""
        if waited and not self._calls:
            self.record.started_at = workflow.now()
        self._calls += 1

    def _note_finish(self, when: datetime | None) -> None:
        if when is not None and (self.finished_at is None or when > self.finished_at):
            self.finished_at = when

    def _add_child_cost(self, child: PipelineResult) -> None:
        ledger = self._run.result.cost
        ledger.merge(self.key, child.cost)
        self.record.usage = ledger.by_step.get(self.key)
        self._run.board.changed()
