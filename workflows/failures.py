"""Turning whatever a step raised into a StepError value (type, message, attempts)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    FailureError,
    TimeoutError,
)

with workflow.unsafe.imports_passed_through():
    from taskagent.results import StepError


class StepExecutionError(Exception):
    """A failure decided by the engine itself, such as a switch value with no route."""

    def __init__(self, error_type: str, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.type = error_type
        self.details = details or []


def is_cancellation(err: BaseException) -> bool:
    """An activity or child workflow that ended because we (or the user) cancelled it."""
    return isinstance(err, ActivityError | ChildWorkflowError) and isinstance(
        err.cause, CancelledError
    )


def classify(err: BaseException) -> StepError:
    """The StepError value for an exception raised while running a step."""
    if isinstance(err, StepExecutionError):
        return StepError(type=err.type, message=str(err), non_retryable=True, details=err.details)
    if isinstance(err, ActivityError | ChildWorkflowError):
        return _from_cause(err)
    if isinstance(err, ApplicationError):
        return StepError(
            type=err.type or "ApplicationError",
            message=err.message,
            non_retryable=err.non_retryable,
        )
    return StepError(type=type(err).__name__, message=str(err), non_retryable=True)


def _from_cause(err: ActivityError | ChildWorkflowError) -> StepError:
    cause = err.cause
    while isinstance(cause, ActivityError | ChildWorkflowError):
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        attempt = cause.details[0] if cause.details and isinstance(cause.details[0], int) else 1
        return StepError(
            type=cause.type or "ApplicationError",
            message=cause.message,
            attempts=attempt,
            non_retryable=cause.non_retryable,
        )
    if isinstance(cause, TimeoutError):
        kind = cause.type.name if cause.type is not None else "UNKNOWN"
        return StepError(type="ActivityTimeout", message=f"timed out ({kind})", non_retryable=False)
    if isinstance(cause, FailureError):
        return StepError(type=type(cause).__name__, message=cause.message)
    return StepError(type=type(err).__name__, message=err.message)
