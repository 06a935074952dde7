"""The code-step activity: runs a registered function on validated input."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import with_heartbeats
from taskagent.errors import ErrorType, StepFailed, non_retryable
from taskagent.functions import StepContext
from taskagent.isolation import Stopped
from taskagent.llm.checking import validation_errors
from taskagent.names import CHECK_OUTPUT_ACTIVITY, CODE_STEP_ACTIVITY
from taskagent.registry import Registry
from taskagent.results import (
    CheckOutputRequest,
    CheckOutputResult,
    CodeStepRequest,
    CodeStepResult,
)

HEARTBEAT_EVERY = 1.0
STOP_MARGIN_SECONDS = 1.0
"""An isolated function is stopped this long before its attempt times out, so that the step's
error says what happened (FunctionStopped), not only that the attempt timed out."""


class CodeActivities:
    """Runs the functions of a registry; the attempt number travels with every outcome."""

    def __init__(self, registry: Registry, max_output_bytes: int | None = None) -> None:
        self._registry = registry
        self._max_output_bytes = max_output_bytes

    @activity.defn(name=CHECK_OUTPUT_ACTIVITY)
    async def check_output(self, request: CheckOutputRequest) -> CheckOutputResult:
        """Run a registered output model's validators (user code) on an answer."""
        model = self._registry.get_model(request.model)
        if model is None:
            raise non_retryable(
                f"output model {request.model!r} is not registered on this worker",
                ErrorType.UNKNOWN_FUNCTION,
                activity.info().attempt,
            )
        try:
            value = await asyncio.to_thread(model.model_validate, request.value)
        except ValidationError as err:
            return CheckOutputResult(errors=validation_errors(err), finished_at=_now())
        except Exception as err:  # a validator that crashes is a bug to fix, not to retry
            raise non_retryable(
                f"a validator of output model {request.model!r} raised {type(err).__name__}: {err}",
                ErrorType.VALIDATOR_ERROR,
                activity.info().attempt,
            ) from None
        return CheckOutputResult(output=value.model_dump(mode="json"), finished_at=_now())

    @activity.defn(name=CODE_STEP_ACTIVITY)
    async def run(self, request: CodeStepRequest) -> CodeStepResult:
        info = activity.info()
        function = self._registry.get_function(request.function)
        if function is None:
            raise non_retryable(
                f"function {request.function!r} is not registered on this worker",
                ErrorType.UNKNOWN_FUNCTION,
                info.attempt,
            )
        try:
            value = function.input_adapter.validate_python(request.input)
        except ValidationError as err:
            raise non_retryable(
                f"input of {request.function!r} is invalid: {_errors(err)}",
                ErrorType.INVALID_STEP_INPUT,
                info.attempt,
            ) from None
        context = StepContext(
            request.step_id,
            info.workflow_id or "",
            info.workflow_run_id or "",
            info.attempt,
            execution=request.execution,
        )
        try:
            output = await with_heartbeats(
                function.call(value, context, _seconds_left(info)),
                HEARTBEAT_EVERY,
                f"running {request.function}",
            )
        except Stopped as err:  # an isolated function that ran away: killed, not retried
            raise non_retryable(str(err), ErrorType.FUNCTION_STOPPED, info.attempt) from None
        except StepFailed as err:
            raise ApplicationError(
                str(err), info.attempt, type=err.type, non_retryable=not err.retryable
            ) from None
        except ApplicationError:
            raise
        except Exception as err:
            raise ApplicationError(
                f"function {request.function!r} raised {type(err).__name__}: {err}",
                info.attempt,
                type=type(err).__name__,
            ) from err
        try:
            checked = function.output_adapter.validate_python(output)
        except ValidationError as err:
            raise non_retryable(
                f"output of {request.function!r} is invalid: {_errors(err)}",
                ErrorType.INVALID_STEP_OUTPUT,
                info.attempt,
            ) from None
        output_data = function.output_adapter.dump_python(checked, mode="json")
        if self._max_output_bytes is not None:
            size = len(json.dumps(output_data))
            if size > self._max_output_bytes:
                raise non_retryable(
                    f"the output of {request.function!r} is {size / 1e6:.1f} MB, over what a "
                    "Temporal payload may carry; set TASKAGENT_PAYLOAD_DIR so that large outputs "
                    "are stored outside the history, or return a reference (a path, a URL)",
                    ErrorType.PAYLOAD_TOO_LARGE,
                    info.attempt,
                )
        return CodeStepResult(output=output_data, attempt=info.attempt, finished_at=_now())


def _seconds_left(info: activity.Info) -> float | None:
    """Time for an isolated function: the attempt's timeout, less a margin to report in."""
    timeout = info.start_to_close_timeout
    if timeout is None:
        return None
    return max(timeout.total_seconds() - STOP_MARGIN_SECONDS, 1.0)


def _now() -> datetime:
    return datetime.now(UTC)


def _errors(err: ValidationError) -> str:
    return "; ".join(validation_errors(err))
