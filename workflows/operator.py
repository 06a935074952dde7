"""The operator desk of a run: steps waiting for a person, and the decisions that release them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.operator import AbortStep, ApprovalDecision, RetryStep, SkipStep
    from taskagent.results import StepError, StepResult, StepStatus
    from taskagent.schemas import schema_errors

Decision = RetryStep | SkipStep | AbortStep | ApprovalDecision


class OperatorDesk:
    """Holds the steps that wait (paused after a failure, or for an approval) and their answers.

    Records change status through the engine's `set_status`, so counts and details follow.
    """

    def __init__(self, set_status: Callable[[StepResult, StepStatus], None]) -> None:
        self._set_status = set_status
        self.paused: dict[str, StepResult] = {}
        self.approvals: dict[str, StepResult] = {}
        self.approval_schemas: dict[str, dict[str, Any] | None] = {}
        self.asked: dict[str, dict[str, Any]] = {}
        """What each step waiting for approval asks (its prompt and payload)."""
        self._decisions: dict[str, Decision] = {}

    async def wait_for_operator(self, record: StepResult, error: StepError) -> Decision:
        """Pause a failed step until an operator retries, skips or aborts it."""
        record.error = error
        record.reason = "waiting for operator: retry_step, skip_step or abort_step"
        self.paused[record.id] = record
        self._set_status(record, StepStatus.WAITING)
        workflow.logger.warning("step paused for operator", extra={"step": record.id})
        return await self._wait(record.id, self.paused)

    async def wait_for_approval(
        self,
        record: StepResult,
        timeout: float | None,
        schema: dict[str, Any] | None,
        asked: dict[str, Any] | None = None,
    ) -> ApprovalDecision | None:
        """Wait for an approval decision; None when the timeout passes first."""
        record.reason = "waiting for approval: decide_approval"
        self.approvals[record.id] = record
        self.approval_schemas[record.id] = schema
        self.asked[record.id] = asked or {}
        self._set_status(record, StepStatus.WAITING)
        try:
            decision = await self._wait(record.id, self.approvals, timeout)
        except TimeoutError:
            decision = None
        finally:
            self.asked.pop(record.id, None)
        record.reason = None
        self._set_status(record, StepStatus.RUNNING)
        return decision if isinstance(decision, ApprovalDecision) else None

    async def _wait(
        self, key: str, waiting: dict[str, StepResult], timeout: float | None = None
    ) -> Decision:
        try:
            await workflow.wait_condition(lambda: key in self._decisions, timeout=timeout)
        finally:
            waiting.pop(key, None)
        return self._decisions.pop(key)

    def decide(self, decision: Decision) -> None:
        """Record an accepted decision; the waiting step resumes."""
        self._decisions[decision.step] = decision


def check_payload(schema: dict[str, Any] | None, value: Any, what: str) -> None:
    """Raise ValueError (which rejects the update) when `value` does not fit `schema`."""
    if schema is None:
        return
    errors = [
        f"{path or what}: {message}" for path, message in schema_errors(schema, value, checked=True)
    ]
    if errors:
        raise ValueError(f"{what} does not match the step's schema: " + "; ".join(errors))
