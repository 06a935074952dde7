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
from taskagent.llm.types import ModelResponse, ProviderError
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
            response = await self._factory.breaker(provider_name).guard(
                lambda: with_heartbeats(
                    provider.complete(with_output_section(request.request), model),
                    self._heartbeat_every,
                    f"waiting for {model_ref}",
                )
            )
        except ProviderError as err:
            bill = self._bill(model_ref, err.billed, attempt) if err.billed else None
            log.warning(
                "model call failed",
                step=request.step_id,
                model=model_ref,
                kind=err.kind,
                status=err.status,
                attempt=attempt,
                cost_usd=bill.cost_usd if bill else None,
            )
            raise provider_failure(err, attempt, bill) from None
        result = self._bill(model_ref, response, attempt)
        usage = response.usage
        log.info(
            "model call",
            step=request.step_id,
            model=model_ref,
            answered_by=response.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            usage_estimated=usage.estimated,
            cost_usd=result.cost_usd,
            latency_ms=round(response.latency_ms, 1),
            tool_calls=len(response.tool_calls),
            finish_reason=response.finish_reason,
            attempt=attempt,
        )
        return result

    def _bill(self, model_ref: str, response: ModelResponse, attempt: int) -> ModelCallResult:
        """The priced result of an answer the provider billed, whether or not it is used."""
        usage = response.usage
        cost = self._prices.cost(model_ref, usage.input_tokens, usage.output_tokens)
        return ModelCallResult(
            response=response, attempt=attempt, cost_usd=cost, finished_at=datetime.now(UTC)
        )


def provider_failure(
    err: ProviderError, attempt: int, bill: ModelCallResult | None = None
) -> ApplicationError:
    """The ApplicationError Temporal sees: retried (after Retry-After, within the step's retry
    policy) or not, as classified. Its details are the attempt and, for an answer the provider
    billed before refusing it, the priced result, which the workflow enters in the ledger."""
    status = f" (HTTP {err.status})" if err.status else ""
    message = f"{err.kind}{status}: {err}"
    delay = None
    if err.retryable and err.retry_after:
        delay, capped = _retry_delay(err.retry_after)
        if capped:
            message += (
                f" (the provider asked to wait {err.retry_after:g} s; waiting "
                f"{delay.total_seconds():g} s, the step's retry.max_interval)"
            )
    details: tuple[object, ...] = (attempt,) if bill is None else (attempt, bill)
    return ApplicationError(
        message,
        *details,
        type=err.kind,
        non_retryable=not err.retryable,
        next_retry_delay=delay,
    )


def _retry_delay(seconds: float) -> tuple[timedelta, bool]:
    """The provider's Retry-After, capped by the retry policy's maximum interval: a day-long
    Retry-After must not park a step for a day; the bounded retries decide what comes next."""
    wanted = timedelta(seconds=seconds)
    policy = activity.info().retry_policy if activity.in_activity() else None
    longest = policy.maximum_interval if policy is not None else None
    if longest is not None and wanted > longest:
        return longest, True
    return wanted, False
