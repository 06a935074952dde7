"""Code steps: a registered function run as an activity (or a local activity when cheap)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from taskagent.names import CODE_STEP_ACTIVITY
    from taskagent.results import CodeStepRequest, CodeStepResult
    from taskagent.spec import CodeStep, RetrySpec
    from workflows.steps.base import StepOutcome

if TYPE_CHECKING:
    from workflows.engine import PipelineRun

DEFAULT_ATTEMPT_TIMEOUT = timedelta(minutes=5)
HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""Activities heartbeat every second; a dead worker's activity is retried after this long."""


def retry_policy(spec: RetrySpec) -> RetryPolicy:
    """Temporal's retry policy for a step's RetrySpec."""
    return RetryPolicy(
        maximum_attempts=spec.max_attempts,
        initial_interval=spec.initial_interval,
        backoff_coefficient=spec.backoff,
        maximum_interval=spec.max_interval,
        non_retryable_error_types=spec.non_retryable_errors or None,
    )


async def run_code_step(run: PipelineRun, step: CodeStep, key: str, value: Any) -> StepOutcome:
    request = CodeStepRequest(function=step.function, input=value, step_id=key)
    timeout = run.step_timeout(step)
    options: dict[str, Any] = {
        "start_to_close_timeout": timeout or DEFAULT_ATTEMPT_TIMEOUT,
        "schedule_to_close_timeout": timeout,
        "retry_policy": run.step_retry(step),
        "summary": f"{key} · {step.function}",
        "result_type": CodeStepResult,
    }
    local = step.local if step.local is not None else step.function in run.resolved.local_functions
    if local:
        result = await workflow.execute_local_activity(CODE_STEP_ACTIVITY, request, **options)
    else:
        result = await workflow.execute_activity(
            CODE_STEP_ACTIVITY, request, heartbeat_timeout=HEARTBEAT_TIMEOUT, **options
        )
    return StepOutcome(output=result.output, attempts=result.attempt)
