"""Which exceptions are a step's failure, and the StepError value each one becomes.

Known failures (Temporal's: activities, children, application errors, timeouts; ours:
StepFailure, a condition that cannot be evaluated) become the step's error. Anything else is a
bug in workflow code: it is not caught, so it fails the workflow task and Temporal retries the
task until a fixed deploy resumes the run where it stopped.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    FailureError,
    TerminatedError,
    TimeoutError,
)

with workflow.unsafe.imports_passed_through():
    from taskagent.errors import ErrorType
    from taskagent.expressions import ExpressionError
    from taskagent.kinds.context import StepFailure
    from taskagent.results import StepError

KNOWN_FAILURES = (FailureError, StepFailure, ExpressionError)
"""What a step may fail with; everything else fails the workflow task (a bug to fix)."""


def is_cancellation(err: BaseException) -> bool:
    """An activity or child workflow that ended because we (or the user) cancelled it."""
    return isinstance(err, ActivityError | ChildWorkflowError) and isinstance(
        err.cause, CancelledError
    )


def is_final(err: BaseException) -> bool:
    """A decision (a person's rejection), not a fault: the step never pauses for an operator."""
    return isinstance(err, StepFailure) and err.final


def classify(err: BaseException) -> StepError:
    """The StepError value of a known failure."""
    if isinstance(err, StepFailure):
        return StepError(type=err.type, message=str(err), non_retryable=True, details=err.details)
    if isinstance(err, ExpressionError):
        return StepError(type=ErrorType.CONDITION_ERROR, message=str(err), non_retryable=True)
    if isinstance(err, ActivityError | ChildWorkflowError):
        return _from_cause(err)
    if isinstance(err, ApplicationError):
        return StepError(
            type=err.type or ErrorType.TEMPORAL_FAILURE,
            message=err.message,
            non_retryable=err.non_retryable,
        )
    if isinstance(err, FailureError):
        return _temporal(err)
    raise TypeError(f"not a known step failure: {err!r}")  # pragma: no cover


def _from_cause(err: ActivityError | ChildWorkflowError) -> StepError:
    cause = err.cause
    while isinstance(cause, ActivityError | ChildWorkflowError):
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        attempt = cause.details[0] if cause.details and isinstance(cause.details[0], int) else 1
        return StepError(
            type=cause.type or ErrorType.TEMPORAL_FAILURE,
            message=cause.message,
            attempts=attempt,
            non_retryable=cause.non_retryable,
        )
    if isinstance(cause, FailureError):
        return _temporal(cause)
    return StepError(type=ErrorType.TEMPORAL_FAILURE, message=err.message)


def _temporal(err: FailureError) -> StepError:
    if isinstance(err, TimeoutError):
        kind = err.type.name if err.type is not None else "UNKNOWN"
        return StepError(type=ErrorType.ACTIVITY_TIMEOUT, message=f"timed out ({kind})")
    if isinstance(err, TerminatedError):
        return StepError(type=ErrorType.TERMINATED, message=err.message, non_retryable=True)
    return StepError(
        type=ErrorType.TEMPORAL_FAILURE, message=f"{type(err).__name__}: {err.message}"
    )
