"""Every error type TaskAgent emits, in one place, and the helpers that raise them.

A step's error, a failed run's error and every activity failure carry one of these `type`s, so
this enum is the list to pick from when writing `retry.non_retryable_errors` or matching on a
failure. Values never change once released: histories and user specs hold them. Errors raised by
user functions keep their own type (the exception's class name, or `StepFailed(type=...)`).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from temporalio.exceptions import ApplicationError


class ErrorType(StrEnum):
    """The `type` of every failure TaskAgent itself classifies."""

    # -- a run's request and definition (the run fails at once) --------------------------------
    INVALID_REQUEST = "InvalidRequest"
    """The start request is not `{"pipeline": ..., "input": {...}}`, or carries forged state."""
    INVALID_PIPELINE = "InvalidPipeline"
    """The pipeline definition or the run's input is invalid; details list every problem."""
    UNKNOWN_WORKFLOW_TYPE = "UnknownWorkflowType"
    """A workflow type this worker does not serve was started on its task queue."""
    # -- the run -----------------------------------------------------------------------------------
    PIPELINE_FAILED = "PipelineFailed"
    """A step failed; the error's details hold the whole PipelineResult."""
    PIPELINE_TIMEOUT = "PipelineTimeout"
    TURN_FAILED = "TurnFailed"
    """A conversation's turn found no valid reply; the conversation goes on."""
    CONVERSATION_ARCHIVED = "ConversationArchived"
    # -- a step ------------------------------------------------------------------------------------
    STEP_TIMEOUT = "StepTimeout"
    ACTIVITY_TIMEOUT = "ActivityTimeout"
    CONDITION_ERROR = "ConditionError"
    NO_ROUTE = "NoRoute"
    BRANCH_FAILED = "BranchFailed"
    MERGE_ERROR = "MergeError"
    ABORTED = "Aborted"
    REJECTED = "Rejected"
    BUDGET_EXCEEDED = "BudgetExceeded"
    VALIDATION_FAILED = "ValidationFailed"
    TOOL_ROUNDS_EXCEEDED = "ToolRoundsExceeded"
    PAYLOAD_TOO_LARGE = "PayloadTooLarge"
    TERMINATED = "Terminated"
    """A child pipeline was terminated from outside."""
    TEMPORAL_FAILURE = "TemporalFailure"
    """Any other failure that Temporal itself reported."""
    # -- functions, output models and models on the worker -----------------------------------------
    UNKNOWN_FUNCTION = "UnknownFunction"
    INVALID_STEP_INPUT = "InvalidStepInput"
    INVALID_STEP_OUTPUT = "InvalidStepOutput"
    NO_RECEIVER = "NoReceiver"
    """A message was sent to a workflow id that no running workflow has."""
    INVALID_MEMORY_VALUE = "InvalidMemoryValue"
    """A value a step remembers does not satisfy its key's declared type."""
    STEP_FAILED = "StepFailed"
    """The default type of `StepFailed` raised by a registered function."""
    FUNCTION_STOPPED = "FunctionStopped"
    """An isolated function ran past its deadline or over its CPU or memory limit: stopped."""
    VALIDATOR_ERROR = "ValidatorError"
    """An output model's validator raised something other than a validation error."""
    INVALID_MODEL = "InvalidModel"
    # -- tools (these reach the model as tool results, not as step errors) ------------------------
    UNKNOWN_TOOL = "UnknownTool"
    INVALID_ARGUMENTS = "InvalidArguments"
    TOOL_ERROR = "ToolError"
    INVALID_TOOL_OUTPUT = "InvalidToolOutput"
    # -- model providers (retryable: rate_limited, server_error, timeout, connection, conflict,
    #    unknown; the others fail the call at once) -----------------------------------------------
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    CONFLICT = "conflict"
    INVALID_RESPONSE = "invalid_response"
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONTEXT_LENGTH = "context_length"
    CONTENT_FILTER = "content_filter"
    REFUSED = "refused"
    """The model declined to answer (an OpenAI structured-output `refusal`)."""
    INSUFFICIENT_QUOTA = "insufficient_quota"
    """The account is out of credit or quota: a billing problem no retry fixes."""
    MISSING_CREDENTIALS = "missing_credentials"
    UNKNOWN = "unknown"
    CIRCUIT_OPEN = "circuit_open"
    """The provider's circuit breaker is open: no request was sent; retried once it may close."""


class StepFailed(Exception):
    """Raise from a registered function to fail its step; `retryable=False` skips retries."""

    def __init__(self, message: str, *, retryable: bool = True, type: str | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.type = type or ErrorType.STEP_FAILED


def non_retryable(message: str, error_type: ErrorType, *details: object) -> ApplicationError:
    """An ApplicationError that Temporal never retries."""
    return ApplicationError(message, *details, type=error_type, non_retryable=True)


def invalid_pipeline(message: str, problems: Sequence[str]) -> ApplicationError:
    """The error that fails a run whose definition or input is invalid."""
    return non_retryable(message, ErrorType.INVALID_PIPELINE, list(problems))


def invalid_request(message: str) -> ApplicationError:
    """The error that fails a run whose start request cannot be understood."""
    return non_retryable(message, ErrorType.INVALID_REQUEST)
