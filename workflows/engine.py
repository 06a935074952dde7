"""The DAG scheduler and the one choke point through which every step runs.

Deterministic orchestration only: no I/O, no clocks but `workflow.now()`, no randomness. A step
starts as soon as its own dependencies have settled; nothing waits for a "wave". Work per step is
constant: dependencies are counted down as steps settle, the data scope and the status board are
kept up to date as records change, and the Web UI details are rendered once per burst of changes.

The engine is the only writer of step records and of the cost ledger; the kinds' executors
report through their StepContext (workflows/step_run.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow

from workflows.board import Board
from workflows.budget import BudgetGate
from workflows.events import RunEvents
from workflows.executors import executor
from workflows.failures import KNOWN_FAILURES, classify, is_cancellation, is_final
from workflows.inbox import Inbox
from workflows.memory import RunMemory
from workflows.operator import OperatorDesk
from workflows.readiness import Readiness
from workflows.step_run import StepRun
from workflows.telemetry import RunTelemetry
from workflows.window import DEFAULT_IN_FLIGHT, InFlightWindow

with workflow.unsafe.imports_passed_through():
    from taskagent.conversation.context import ConversationContext
    from taskagent.errors import ErrorType
    from taskagent.expressions import ExpressionError, parse_condition, resolve_mapping
    from taskagent.graph import effective_dependencies, sinks
    from taskagent.kinds.context import StepFailure, StepOutcome
    from taskagent.operator import RetryStep, SkipStep
    from taskagent.results import (
        Identity,
        PipelineResult,
        ResolvedPipeline,
        ResumeState,
        StepError,
        StepResult,
        StepStatus,
    )
    from taskagent.spec import FailurePolicy, OnError, StepBase, Trigger


class PipelineRun:
    """Runs one pipeline's steps inside PipelineWorkflow and keeps their records."""

    def __init__(
        self,
        resolved: ResolvedPipeline,
        pipeline_input: dict[str, Any],
        result: PipelineResult,
        publish: Callable[[str], None],
        telemetry: RunTelemetry,
        events: RunEvents,
        deselected: dict[str, str] | None = None,
        conversation: ConversationContext | None = None,
        identity: Identity | None = None,
        dry_run: bool = False,
    ) -> None:
        self.resolved = resolved
        self.dry_run = dry_run
        """No model, tool, side effect or wait really happens (see StepContext.dry_run)."""
        self.identity = identity or Identity()
        """Who started the run: tools that require a role check it."""
        self.conversation = conversation
        """The conversation whose turn this run is, if any (chat steps read it)."""
        self.telemetry = telemetry
        self.events = events
        spec = self.spec = resolved.spec
        self.input = pipeline_input
        self.result = result
        self._deps = effective_dependencies(spec.steps)
        self._deselected: dict[str, str] = dict(deselected or {})
        self._failing_fast = False
        self._cancel_reason: str | None = None
        self.stop_reason = "the run was cancelled"
        """Why the remaining steps are skipped if the run is stopped from outside."""
        self.aborted = False
        """An operator aborted a step: the run stops as if failing fast."""
        self.continue_as_new = False
        """Set when the history grew long: the run stops starting steps and continues as new."""
        for step in spec.steps:  # a continued run already has the records of the settled steps
            result.steps.setdefault(step.id, StepResult(id=step.id, kind=step.kind))
        self.desk = OperatorDesk(self._set_status)
        self.board = Board(result, publish, self.desk.asked)
        self._scope_steps: dict[str, dict[str, Any]] = {
            key: {"output": record.output, "status": record.status.value}
            for key, record in result.steps.items()
            if record.parent is None
        }
        self.memory = RunMemory(spec.name, spec.memory, write=not dry_run)
        self.inbox = Inbox(result)
        self.budget = BudgetGate(result.cost)
        """Model calls reserve the run's budget here (workflows/budget.py)."""
        self._scope = {
            "input": pipeline_input,
            "steps": self._scope_steps,
            "memory": self.memory.values,
        }
        records = result.steps
        self._readiness = Readiness(
            spec.steps,
            self._deps,
            pending=lambda step_id: records[step_id].status is StepStatus.PENDING,
            settled=lambda step_id: records[step_id].status.settled,
        )
        self.window = InFlightWindow(spec.max_in_flight or DEFAULT_IN_FLIGHT)
        """Every activity and child of the run takes a slot of it (workflows/window.py)."""
        self._started: dict[str, int] = {}  # the order steps started in
        self._finished: list[str] = []
        self._wake: asyncio.Future[None] | None = None

    # -- scheduling ------------------------------------------------------------------------
    async def execute(self) -> None:
        """Run every step; returns when all have settled (or the run continues as new)."""
        await self.memory.load()
        running: dict[str, asyncio.Task[StepResult]] = {}
        try:
            while True:
                if not self.continue_as_new and workflow.info().is_continue_as_new_suggested():
                    self.continue_as_new = True
                    workflow.logger.info("history is long: draining steps to continue as new")
                if not self.continue_as_new:
                    self._start_ready(running)
                if not running:
                    break
                await self._completions()
                finished, self._finished = self._finished, []
                finished.sort(key=self._started.__getitem__)  # as asyncio.wait reported them
                records = [running.pop(step_id).result() for step_id in finished]
                failed = [r.id for r in records if r.status is StepStatus.FAILED]
                if failed and self._fails_fast():
                    await self._cancel(running, f"step {failed[0]!r} failed (fail_fast)")
        except asyncio.CancelledError:
            await self._cancel(running, self.stop_reason)
            raise

    def has_pending_steps(self) -> bool:
        """Whether steps are left to run (a continuation then has work to do)."""
        return self._readiness.has_pending()

    def _start_ready(self, running: dict[str, asyncio.Task[StepResult]]) -> None:
        """Start (or skip) every ready step, in declaration order."""
        limit = self.spec.max_concurrency

        def full() -> bool:
            return bool(limit) and len(running) >= (limit or 0)

        def start(step: StepBase) -> None:
            skip_reason = self._skip_reason(step)
            if skip_reason is not None:
                self._settle(self.result.steps[step.id], StepStatus.SKIPPED, reason=skip_reason)
                return
            self._started[step.id] = len(self._started)
            running[step.id] = asyncio.create_task(self._run_top(step, self._default_input(step)))

        self._readiness.offer(full, start)

    async def _run_top(self, step: StepBase, value: Any) -> StepResult:
        try:
            record = await self.run_step(step, step.id, value)
        except GeneratorExit:  # the run was evicted from the worker's cache: nothing to tell
            raise
        except BaseException:
            self._step_finished(step.id)
            raise
        self._step_finished(step.id)
        return record

    def _step_finished(self, step_id: str) -> None:
        # The scheduler wakes once per burst of finished steps, as asyncio.wait would.
        self._finished.append(step_id)
        asyncio.get_running_loop().call_soon(self._notify)

    def _notify(self) -> None:
        if self._finished and self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _completions(self) -> None:
        if self._finished:
            return
        self._wake = asyncio.get_running_loop().create_future()
        try:
            await self._wake
        finally:
            self._wake = None

    def _skip_reason(self, step: StepBase) -> str | None:
        if step.id in self._deselected:
            return self._deselected[step.id]
        deps = self._deps[step.id]
        if not deps or step.trigger is Trigger.ALL_SETTLED:
            return None
        statuses = {dep: self.result.steps[dep].status for dep in deps}
        if step.trigger is Trigger.ANY_COMPLETED:
            completed = any(s is StepStatus.COMPLETED for s in statuses.values())
            return None if completed else "no dependency completed"
        blocking = [
            f"{d} is {s.value}" for d, s in statuses.items() if s is not StepStatus.COMPLETED
        ]
        return f"dependency {blocking[0]}" if blocking else None

    def _fails_fast(self) -> bool:
        fail_fast = self.spec.on_failure is FailurePolicy.FAIL_FAST or self.aborted
        return fail_fast and not self._failing_fast

    async def _cancel(self, running: dict[str, asyncio.Task[StepResult]], reason: str) -> None:
        self._failing_fast = True
        self._cancel_reason = reason
        for task in running.values():
            task.cancel()
        if running:
            await workflow.wait(list(running.values()))
        running.clear()
        self._finished.clear()
        for step in self._readiness.drain():
            self._settle(self.result.steps[step.id], StepStatus.SKIPPED, reason=reason)

    # -- data ------------------------------------------------------------------------------
    def scope(self) -> dict[str, Any]:
        """What references and conditions read: the pipeline input and the top-level steps."""
        return self._scope

    def _default_input(self, step: StepBase) -> Any:
        deps = step.depends_on
        if not deps:
            return self.input
        if len(deps) == 1:
            return self.result.steps[deps[0]].output
        return {dep: self.result.steps[dep].output for dep in deps}

    def _done_scope(self, step: StepBase, outcome: StepOutcome) -> dict[str, Any]:
        """The scope once `step` has completed with `outcome` (what `remember` reads)."""
        done = {"output": outcome.output, "status": StepStatus.COMPLETED.value}
        return {**self._scope, "steps": {**self._scope_steps, step.id: done}}

    def final_output(self) -> Any:
        """The pipeline's declared output, or the output of its sink steps."""
        if self.spec.output is not None:
            return resolve_mapping(self.spec.output, self._scope)
        ends = sinks(self._deps)
        if len(ends) == 1:
            return self.result.steps[ends[0]].output
        return {step_id: self.result.steps[step_id].output for step_id in ends}

    def resume_state(self) -> ResumeState:
        """The state a continued run carries: settled steps, ledger and routing decisions."""
        return ResumeState(
            resolved=self.resolved, result=self.result, deselected=dict(self._deselected)
        )

    def deselect(self, skipped: dict[str, str]) -> None:
        """Mark steps that a routing decision left out; they settle as SKIPPED."""
        self._deselected.update(skipped)

    # -- the choke point -------------------------------------------------------------------
    async def run_step(
        self, step: StepBase, key: str, default_input: Any, parent: str | None = None
    ) -> StepResult:
        """Run one step with its full lifecycle recorded, its span and its metrics. Nothing runs
        around this method."""
        with self.telemetry.step(key, step.kind) as span:
            record = await self._lifecycle(step, key, default_input, parent)
            self.telemetry.settled(span, record)
        return record

    async def _lifecycle(
        self, step: StepBase, key: str, default_input: Any, parent: str | None
    ) -> StepResult:
        record = self.result.steps.get(key)
        if record is None:
            record = self.result.steps[key] = StepResult(id=key, kind=step.kind, parent=parent)
            self.board.added(record)
        stepper = StepRun(self, step, record)
        record.started_at = workflow.now()
        record.start_event = workflow.info().get_current_history_length()
        self._set_status(record, StepStatus.RUNNING)
        workflow.logger.debug("step started", extra={"step": key, "kind": step.kind})
        override: Any = _UNSET
        while True:
            try:
                outcome = await self._execute(stepper, default_input, override)
                if outcome is not None and step.remember and parent is None:
                    await self.memory.remember(step, self._done_scope(step, outcome), key)
            except asyncio.CancelledError:
                return self._cancelled(record)
            except KNOWN_FAILURES as err:
                if is_cancellation(err) and self._failing_fast:
                    self._settle(record, StepStatus.CANCELLED, reason=self._cancel_reason)
                    return record
                error = classify(err)
                if not self._pauses(stepper.step, err):
                    return self._fail(record, error)
                try:
                    decision = await self.desk.wait_for_operator(record, error)
                except asyncio.CancelledError:
                    return self._cancelled(record)
                if isinstance(decision, RetryStep):
                    override = stepper.retried(decision, override)
                    self._resume(record, f"retried by operator {decision.by}".strip())
                    continue
                if isinstance(decision, SkipStep):
                    outcome = StepOutcome(output=decision.output)
                    record.error = None
                    record.reason = f"output supplied by operator {decision.by}: {decision.comment}"
                    stepper.note_decision(decision.at)
                    break
                self.aborted = True
                return self._fail(
                    record,
                    StepError(
                        type=ErrorType.ABORTED,
                        message=f"aborted by operator {decision.by}: "
                        f"{decision.comment or 'no reason given'}",
                        non_retryable=True,
                    ),
                )
            break
        if outcome is None:
            return record
        record.output = outcome.output
        record.attempts = outcome.attempts
        if outcome.conversation is not None:
            record.conversation = outcome.conversation
        if outcome.note is not None:
            record.reason = outcome.note
        self.deselect(outcome.skip)
        self._settle(record, StepStatus.COMPLETED, reason=record.reason, stepper=stepper)
        workflow.logger.debug("step completed", extra={"step": key, "attempts": outcome.attempts})
        return record

    async def _execute(
        self, stepper: StepRun, default_input: Any, override: Any
    ) -> StepOutcome | None:
        step, record = stepper.step, stepper.record
        condition = step.condition
        if condition is not None and not _truthy(
            parse_condition(condition).evaluate(self._scope), condition
        ):
            self._settle(record, StepStatus.SKIPPED, reason=f"condition is false: {condition}")
            return None
        if override is not _UNSET:
            value = override
        elif step.input is None:
            value = default_input
        else:
            value = resolve_mapping(step.input, self._scope)
        call = executor(step.kind)(stepper, step, value)
        timeout = stepper.deadline
        if timeout is None:
            return await call
        deadline = workflow.now() + timeout
        try:
            return await asyncio.wait_for(call, timeout.total_seconds())
        except Exception as err:
            # At the deadline, what the step awaited is cancelled; it may surface as a
            # TimeoutError or as the cancelled activity's or child's own error.
            if isinstance(err, TimeoutError) or workflow.now() >= deadline:
                raise StepFailure(
                    ErrorType.STEP_TIMEOUT, f"step {record.id!r} did not finish within {timeout}"
                ) from None
            raise

    def _cancelled(self, record: StepResult) -> StepResult:
        """Record a cancelled step; the cancellation goes on unless the engine itself asked."""
        self._settle(record, StepStatus.CANCELLED, reason=self._cancel_reason)
        if not self._failing_fast:
            raise asyncio.CancelledError
        return record

    def _pauses(self, step: StepBase, err: BaseException) -> bool:
        policy = step.on_error or self.spec.on_error
        return policy is OnError.PAUSE and not self._failing_fast and not is_final(err)

    def _resume(self, record: StepResult, reason: str) -> None:
        record.error = None
        record.reason = reason
        self._set_status(record, StepStatus.RUNNING)

    def _fail(self, record: StepResult, error: StepError) -> StepResult:
        # The record agrees with its error: the failing activity's attempts, its retries.
        record.attempts = record.attempts or error.attempts
        record.transient_retries += max(error.attempts - 1, 0)
        self._settle(record, StepStatus.FAILED, error=error)
        workflow.logger.warning(
            "step failed", extra={"step": record.id, "error": error.type, "detail": error.message}
        )
        return record

    # -- records ---------------------------------------------------------------------------
    def _set_status(self, record: StepResult, status: StepStatus) -> None:
        before = record.status
        record.status = status
        scoped = self._scope_steps.get(record.id)
        if scoped is not None and record.parent is None:
            scoped["status"] = status.value
            scoped["output"] = record.output
        self.board.moved(record, before)
        self.events.step_moved(record, before, self.desk.asked.get(record.id))
        if status.settled and not before.settled and record.parent is None:
            self._readiness.settled(record.id)

    def _settle(
        self,
        record: StepResult,
        status: StepStatus,
        *,
        reason: str | None = None,
        error: StepError | None = None,
        stepper: StepRun | None = None,
    ) -> None:
        record.reason = reason
        record.error = error
        stamp_finish(record, stepper.finished_at if stepper else None)
        if status is StepStatus.SKIPPED:
            workflow.logger.debug("step skipped", extra={"step": record.id, "reason": reason})
        self._set_status(record, status)

    def step_deadline(self, step: StepBase) -> timedelta | None:
        return step.timeout or self.spec.defaults.timeout


_UNSET: Any = object()


def stamp_finish(record: StepResult | PipelineResult, evidence: Any = None) -> None:
    """Set the finish time, and the duration since the start, of a step's or a run's record.

    `evidence` is when the step's last activity or child reported finishing: after a reset the
    workflow task that processes a completion may run long after it, and the record keeps the
    true time.
    """
    now = workflow.now()
    finished = now
    if evidence is not None and record.started_at is not None:
        finished = max(record.started_at, min(now, evidence))
    record.finished_at = finished
    if record.started_at is not None:
        record.duration_ms = round((finished - record.started_at).total_seconds() * 1000, 3)


def _truthy(value: Any, text: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None or isinstance(value, int | float | str | list | dict):
        return bool(value)
    raise ExpressionError(f"condition {text!r} gave {type(value).__name__}, not a boolean")
