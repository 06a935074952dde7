"""The model-call activity: one call to one model, heartbeating while it waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import with_heartbeats
from taskagent.errors import ErrorType, non_retryable
from taskagent.llm.factory import ProviderFactory, parse_model
from taskagent.llm.pricing import PriceTable
from taskagent.llm.prompts import with_output_section
from taskagent.llm.types import ProviderError
from taskagent.names import LLM_CALL_ACTIVITY
from taskagent.results import ModelCallRequest, ModelCallResult

log = structlog.get_logger("taskagent.llm")


class LlmActivities:
    """Calls models through the providers of a factory and prices every answer."""

    def __init__(
        self, factory: ProviderFactory, prices: PriceTable, heartbeat_every: float = 1.0
    ) -> None:
        self._factory = factory
        self._prices = prices
        self._heartbeat_every = heartbeat_every

    @activity.defn(name=LLM_CALL_ACTIVITY)
    async def call(self, request: ModelCallRequest) -> ModelCallResult:
        attempt = activity.info().attempt
        model_ref = request.request.model
        try:
            provider_name, model = parse_model(model_ref)
            provider = self._factory.get(provider_name)
        except ValueError as err:
            raise non_retryable(str(err), ErrorType.INVALID_MODEL, attempt) from None
        except ProviderError as err:
            raise provider_failure(err, attempt) from None
        try:
            response = await with_heartbeats(
                provider.complete(with_output_section(request.request), model),
                self._heartbeat_every,
                f"waiting for {model_ref}",
            )
        except ProviderError as err:
            log.warning(
                "model call failed",
                step=request.step_id,
                model=model_ref,
                kind=err.kind,
                status=err.status,
                attempt=attempt,
            )
            raise provider_failure(err, attempt) from None
        usage = response.usage
        cost = self._prices.cost(model_ref, usage.input_tokens, usage.output_tokens)
        log.info(
            "model call",
            step=request.step_id,
            model=model_ref,
            answered_by=response.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=cost,
            latency_ms=round(response.latency_ms, 1),
            tool_calls=len(response.tool_calls),
            attempt=attempt,
        )
        return ModelCallResult(
            response=response, attempt=attempt, cost_usd=cost, finished_at=datetime.now(UTC)
        )


def provider_failure(err: ProviderError, attempt: int) -> ApplicationError:
    """The ApplicationError Temporal sees: retried (after Retry-After) or not, as classified."""
    delay = timedelta(seconds=err.retry_after) if err.retry_after else None
    status = f" (HTTP {err.status})" if err.status else ""
    return ApplicationError(
        f"{err.kind}{status}: {err}",
        attempt,
        type=err.kind,
        non_retryable=not err.retryable,
        next_retry_delay=delay,
    )
