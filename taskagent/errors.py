"""Error classification, in one place: what is retried and what fails at once."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.exceptions import ApplicationError

INVALID_PIPELINE = "InvalidPipeline"
INVALID_STEP_INPUT = "InvalidStepInput"
INVALID_STEP_OUTPUT = "InvalidStepOutput"
UNKNOWN_FUNCTION = "UnknownFunction"
PIPELINE_FAILED = "PipelineFailed"
STEP_TIMEOUT = "StepTimeout"
NO_ROUTE = "NoRoute"
CONDITION_ERROR = "ConditionError"
PAYLOAD_TOO_LARGE = "PayloadTooLarge"


class StepFailed(Exception):
    """Raise from a registered function to fail its step; `retryable=False` skips retries."""

    def __init__(self, message: str, *, retryable: bool = True, type: str | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.type = type or "StepFailed"


def non_retryable(message: str, error_type: str, *details: object) -> ApplicationError:
    """An ApplicationError that Temporal never retries."""
    return ApplicationError(message, *details, type=error_type, non_retryable=True)


def invalid_pipeline(message: str, problems: Sequence[str]) -> ApplicationError:
    """The error that fails a run whose definition or input is invalid."""
    return non_retryable(message, INVALID_PIPELINE, list(problems))
