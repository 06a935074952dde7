"""The DAG scheduler and the one choke point through which every step runs.

Deterministic orchestration only: no I/O, no clocks but `workflow.now()`, no randomness. A step
starts as soon as its own dependencies have settled; nothing waits for a "wave".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from taskagent.expressions import ExpressionError, parse_condition, resolve_mapping
    from taskagent.graph import effective_dependencies, sinks
    from taskagent.operator import RetryStep, SkipStep
    from taskagent.results import (
        CostLedger,
        PipelineResult,
        ResolvedPipeline,
        ResumeState,
        StepError,
        StepResult,
        StepStatus,
    )
    from taskagent.spec import Budget, FailurePolicy, OnError, StepBase, Trigger
    from workflows.failures import StepExecutionError, classify, is_cancellation
    from workflows.operator import OperatorDesk
    from workflows.steps import EXECUTORS, StepOutcome
    from workflows.steps.approval import REJECTED
    from workflows.steps.code import retry_policy

PENDING = StepStatus.PENDING


class PipelineRun:
    """Runs one pipeline's steps inside PipelineWorkflow and keeps their records."""

    def __init__(
        self,
        resolved: ResolvedPipeline,
        pipeline_input: dict[str, Any],
        result: PipelineResult,
        on_change: Callable[[], None],
        deselected: dict[str, str] | None = None,
    ) -> None:
        self.resolved = resolved
        spec = self.spec = resolved.spec
        self.input = pipeline_input
        self.result = result
        self._on_change = on_change
        self._deps = effective_dependencies(spec.steps)
        self._deselected: dict[str, str] = dict(deselected or {})
        self._failing_fast = False
        self._cancel_reason: str | None = None
        self.stop_reason = "the run was cancelled"
        """Why the remaining steps are skipped if the run is stopped from outside."""
        self.aborted = False
        """An operator aborted a step: the run stops as if failing fast."""
        self.desk = OperatorDesk(on_change)
        for step in spec.steps:  # a continued run already has the records of the settled steps
            result.steps.setdefault(step.id, StepResult(id=step.id, kind=step.kind))
        self.continue_as_new = False
        """Set when the history grew long: the run stops starting steps and continues as new."""

    # -- scheduling ------------------------------------------------------------------------
    async def execute(self) -> None:
        """Run every step; returns when all have settled."""
        pending = [s.id for s in self.spec.steps if self.result.steps[s.id].status is PENDING]
        running: dict[str, asyncio.Task[StepResult]] = {}
        try:
            while True:
                if not self.continue_as_new and workflow.info().is_continue_as_new_suggested():
                    self.continue_as_new = True
                    workflow.logger.info("history is long: draining steps to continue as new")
                if not self.continue_as_new:
                    self._start_ready(pending, running)
                if not running:
                    break
                done, _ = await workflow.wait(
                    list(running.values()), return_when=asyncio.FIRST_COMPLETED
                )
                finished = [sid for sid, task in running.items() if task in done]
                records = [running.pop(step_id).result() for step_id in finished]
                failed = [r.id for r in records if r.status is StepStatus.FAILED]
                if failed and self._fails_fast():
                    await self._cancel(running, pending, f"step {failed[0]!r} failed (fail_fast)")
        except asyncio.CancelledError:
            await self._cancel(running, pending, self.stop_reason)
            raise

    def _start_ready(
        self, pending: list[str], running: dict[str, asyncio.Task[StepResult]]
    ) -> None:
        progressed = True
        while progressed:
            progressed = False
            for step_id in list(pending):
                statuses = [self.result.steps[d].status for d in self._deps[step_id]]
                if not all(status.settled for status in statuses):
                    continue
                if self.spec.max_concurrency and len(running) >= self.spec.max_concurrency:
                    return
                pending.remove(step_id)
                skip_reason = self._skip_reason(step_id)
                if skip_reason is not None:
                    self._settle(self.result.steps[step_id], StepStatus.SKIPPED, reason=skip_reason)
                    progressed = True
                    continue
                step = self.spec.step(step_id)
                running[step_id] = asyncio.create_task(
                    self.run_step(step, step_id, self._default_input(step))
                )

    def _skip_reason(self, step_id: str) -> str | None:
        if step_id in self._deselected:
            return self._deselected[step_id]
        deps = self._deps[step_id]
        if not deps:
            return None
        statuses = {dep: self.result.steps[dep].status for dep in deps}
        completed = [d for d, s in statuses.items() if s is StepStatus.COMPLETED]
        trigger = self.spec.step(step_id).trigger
        if trigger is Trigger.ALL_SETTLED:
            return None
        if trigger is Trigger.ANY_COMPLETED:
            return None if completed else "no dependency completed"
        blocking = [
            f"{d} is {s.value}" for d, s in statuses.items() if s is not StepStatus.COMPLETED
        ]
        return f"dependency {blocking[0]}" if blocking else None

    def _fails_fast(self) -> bool:
        fail_fast = self.spec.on_failure is FailurePolicy.FAIL_FAST or self.aborted
        return fail_fast and not self._failing_fast

    async def _cancel(
        self, running: dict[str, asyncio.Task[StepResult]], pending: list[str], reason: str
    ) -> None:
        self._failing_fast = True
        self._cancel_reason = reason
        for task in running.values():
            task.cancel()
        if running:
            await workflow.wait(list(running.values()))
        running.clear()
        for step_id in pending:
            self._settle(self.result.steps[step_id], StepStatus.SKIPPED, reason=reason)
        pending.clear()

    # -- data ------------------------------------------------------------------------------
    def scope(self) -> dict[str, Any]:
        """What references and conditions read: the pipeline input and the settled steps."""
        steps = {
            step_id: {"output": record.output, "status": record.status.value}
            for step_id, record in self.result.steps.items()
            if record.parent is None
        }
        return {"input": self.input, "steps": steps}

    def _default_input(self, step: StepBase) -> Any:
        deps = step.depends_on
        if not deps:
            return self.input
        if len(deps) == 1:
            return self.result.steps[deps[0]].output
        return {dep: self.result.steps[dep].output for dep in deps}

    def final_output(self) -> Any:
        """The pipeline's declared output, or the output of its sink steps."""
        if self.spec.output is not None:
            return resolve_mapping(self.spec.output, self.scope())
        ends = sinks(self._deps)
        if len(ends) == 1:
            return self.result.steps[ends[0]].output
        return {step_id: self.result.steps[step_id].output for step_id in ends}

    def resume_state(self) -> ResumeState:
        """The state a continued run carries: settled steps, ledger and routing decisions."""
        return ResumeState(
            resolved=self.resolved, result=self.result, deselected=dict(self._deselected)
        )

    def changed(self) -> None:
        """Publish the run's state (query and Web UI details) after an executor updated it."""
        self._on_change()

    def check_budget(self, step_id: str) -> None:
        """Refuse a model call once the run's budget is spent."""
        budget = self.spec.budget
        if budget is None:
            return
        total = self.result.cost.total
        spent = []
        if budget.usd is not None and total.cost_usd >= budget.usd:
            spent.append(f"${total.cost_usd:.6f} of ${budget.usd}")
        if budget.tokens is not None and total.tokens >= budget.tokens:
            spent.append(f"{total.tokens} of {budget.tokens} tokens")
        if spent:
            raise StepExecutionError(
                "BudgetExceeded",
                f"the run's budget is spent ({', '.join(spent)} used by {total.calls} model "
                f"calls); step {step_id!r} made no further model call",
            )

    def add_cost(self, step_id: str, ledger: CostLedger) -> None:
        """Add a child pipeline's ledger to this run's, under the step that ran it."""
        self.result.cost.merge(step_id, ledger)
        self.result.steps[step_id].usage = self.result.cost.by_step.get(step_id)
        self._on_change()

    def remaining_budget(self) -> Budget | None:
        """What is left of this run's budget, for a child pipeline."""
        budget = self.spec.budget
        if budget is None:
            return None
        total = self.result.cost.total
        return Budget(
            usd=None if budget.usd is None else max(budget.usd - total.cost_usd, 0.0),
            tokens=None if budget.tokens is None else max(budget.tokens - total.tokens, 0),
        )

    def deselect(self, skipped: dict[str, str]) -> None:
        """Mark steps that a routing decision left out; they settle as SKIPPED."""
        self._deselected.update(skipped)

    # -- the choke point -------------------------------------------------------------------
    async def run_step(
        self, step: StepBase, key: str, default_input: Any, parent: str | None = None
    ) -> StepResult:
        """Run one step with its full lifecycle recorded. Nothing runs around this method."""
        record = self.result.steps.get(key)
        if record is None:
            record = self.result.steps[key] = StepResult(id=key, kind=step.kind, parent=parent)
        record.status = StepStatus.RUNNING
        record.started_at = workflow.now()
        self._on_change()
        workflow.logger.info("step started", extra={"step": key, "kind": step.kind})
        override: Any = _UNSET
        while True:
            try:
                outcome = await self._execute(step, key, default_input, record, override)
            except asyncio.CancelledError:
                return self._cancelled(record)
            except Exception as err:  # every failure becomes a value; none may escape the workflow
                if is_cancellation(err) and self._failing_fast:
                    self._settle(record, StepStatus.CANCELLED, reason=self._cancel_reason)
                    return record
                error = classify(err)
                if not self._pauses(step, error):
                    return self._fail(record, error)
                try:
                    decision = await self.desk.wait_for_operator(record, error)
                except asyncio.CancelledError:
                    return self._cancelled(record)
                if isinstance(decision, RetryStep):
                    step, override = _retried(step, decision, override)
                    self._resume(record, f"retried by operator {decision.by}".strip())
                    continue
                if isinstance(decision, SkipStep):
                    outcome = StepOutcome(output=decision.output)
                    record.error = None
                    record.reason = f"output supplied by operator {decision.by}: {decision.comment}"
                    break
                self.aborted = True
                return self._fail(
                    record,
                    StepError(
                        type="Aborted",
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
        self.deselect(outcome.skip)
        self._settle(record, StepStatus.COMPLETED, reason=record.reason)
        workflow.logger.info("step completed", extra={"step": key, "attempts": outcome.attempts})
        return record

    def _cancelled(self, record: StepResult) -> StepResult:
        """Record a cancelled step; the cancellation goes on unless the engine itself asked."""
        self._settle(record, StepStatus.CANCELLED, reason=self._cancel_reason)
        if not self._failing_fast:
            raise asyncio.CancelledError
        return record

    def _pauses(self, step: StepBase, error: StepError) -> bool:
        policy = step.on_error or self.spec.on_error
        decided = error.type == REJECTED  # a person's rejection is final, not an error to fix
        return policy is OnError.PAUSE and not self._failing_fast and not decided

    def _resume(self, record: StepResult, reason: str) -> None:
        record.status = StepStatus.RUNNING
        record.error = None
        record.reason = reason
        self._on_change()

    def _fail(self, record: StepResult, error: StepError) -> StepResult:
        self._settle(record, StepStatus.FAILED, error=error)
        workflow.logger.warning(
            "step failed", extra={"step": record.id, "error": error.type, "detail": error.message}
        )
        return record

    async def _execute(
        self, step: StepBase, key: str, default_input: Any, record: StepResult, override: Any
    ) -> StepOutcome | None:
        scope = self.scope()
        condition = step.condition
        if condition is not None and not _truthy(
            parse_condition(condition).evaluate(scope), condition
        ):
            self._settle(record, StepStatus.SKIPPED, reason=f"condition is false: {condition}")
            return None
        if override is not _UNSET:
            value = override
        elif step.input is None:
            value = default_input
        else:
            value = resolve_mapping(step.input, scope)
        executor = EXECUTORS[step.kind]  # type: ignore[attr-defined]
        timeout = self.step_timeout(step)
        call = executor(self, step, key, value)
        if timeout is None:
            return await call
        deadline = workflow.now() + timeout
        try:
            return await asyncio.wait_for(call, timeout.total_seconds())
        except Exception as err:
            # At the deadline, what the step awaited is cancelled; it may surface as a
            # TimeoutError or as the cancelled activity's or child's own error.
            if isinstance(err, TimeoutError) or workflow.now() >= deadline:
                raise StepExecutionError(
                    "StepTimeout", f"step {key!r} did not finish within {timeout}"
                ) from None
            raise

    def step_timeout(self, step: StepBase) -> timedelta | None:
        return step.timeout or self.spec.defaults.timeout

    def step_retry(self, step: StepBase) -> RetryPolicy:
        """Temporal's retry policy for the step's activities: its own, or the pipeline default."""
        return retry_policy(step.retry or self.spec.defaults.retry)

    def _settle(
        self,
        record: StepResult,
        status: StepStatus,
        *,
        reason: str | None = None,
        error: Any = None,
    ) -> None:
        record.status = status
        record.reason = reason
        record.error = error
        stamp_finish(record)
        if status is StepStatus.SKIPPED:
            workflow.logger.info("step skipped", extra={"step": record.id, "reason": reason})
        self._on_change()


_UNSET: Any = object()


def stamp_finish(record: StepResult | PipelineResult) -> None:
    """Set the finish time, and the duration since the start, of a step's or a run's record."""
    record.finished_at = workflow.now()
    if record.started_at is not None:
        delta = record.finished_at - record.started_at
        record.duration_ms = round(delta.total_seconds() * 1000, 3)


def _retried(step: StepBase, decision: RetryStep, override: Any) -> tuple[StepBase, Any]:
    """The step and input override for a retry the operator asked for."""
    if decision.model is not None:
        step = step.model_copy(update={"model": decision.model})
    return step, override if decision.input is None else decision.input


def _truthy(value: Any, text: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None or isinstance(value, int | float | str | list | dict):
        return bool(value)
    raise ExpressionError(f"condition {text!r} gave {type(value).__name__}, not a boolean")
