"""The model-call activity: one call to one model, heartbeating while it waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deltas import DeltaStreams
from activities.heartbeat import with_heartbeats
from activities.notices import StepNotices
from activities.rate_limits import NOTICE_AFTER, RateLimiter
from taskagent import logging as logs
from taskagent.errors import ErrorType, non_retryable
from taskagent.llm.dry import dry_response
from taskagent.llm.factory import ProviderFactory, parse_model
from taskagent.llm.pricing import PriceTable
from taskagent.llm.prompts import with_output_section
from taskagent.llm.types import DeltaSink, ModelRequest, ModelResponse, ProviderError
from taskagent.names import DRY_LLM_CALL_ACTIVITY, LLM_CALL_ACTIVITY
from taskagent.redaction import Redactor
from taskagent.results import ModelCallRequest, ModelCallResult
from taskagent.telemetry import metrics
from taskagent.telemetry.names import Attr

if TYPE_CHECKING:  # the conversation store (SQLAlchemy) loads only where a worker has one
    from activities.conversations import StoredMessages

log = structlog.get_logger("taskagent.llm")
tracer = trace.get_tracer("taskagent.activities")
NO_STORE = (
    "this call refers to a stored conversation, and this worker has no conversation store "
    "(TASKAGENT_DATABASE_URL)"
)


class LlmActivities:
    """Calls models through the providers of a factory and prices every answer."""

    def __init__(
        self,
        factory: ProviderFactory,
        prices: PriceTable,
        heartbeat_every: float = 1.0,
        limiter: RateLimiter | None = None,
        notices: StepNotices | None = None,
        deltas: DeltaStreams | None = None,
        stored: StoredMessages | None = None,
        redact: Redactor | None = None,
    ) -> None:
        self._factory = factory
        self._prices = prices
        self._heartbeat_every = heartbeat_every
        self._limiter = limiter
        self._notices = notices
        self._deltas = deltas
        self._stored = stored
        self._redact = redact or Redactor()

    @activity.defn(name=LLM_CALL_ACTIVITY)
    async def call(self, request: ModelCallRequest) -> ModelCallResult:
        model_ref = request.request.model
        attributes: dict[str, str] = {Attr.OPERATION: "chat", Attr.REQUEST_MODEL: model_ref}
        with tracer.start_as_current_span(
            f"chat {model_ref}", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            if self._deltas is None:
                return await self._call(request, span, None)
            async with self._deltas.open(request.step_id, request.stream) as on_delta:
                return await self._call(request, span, on_delta)

    async def _call(
        self, request: ModelCallRequest, span: Span, on_delta: DeltaSink | None
    ) -> ModelCallResult:
        attempt = activity.info().attempt
        model_ref = request.request.model
        try:
            provider_name, model = parse_model(model_ref)
            provider = self._factory.get(provider_name, model)
        except ValueError as err:
            raise non_retryable(str(err), ErrorType.INVALID_MODEL, attempt) from None
        except ProviderError as err:
            raise provider_failure(err, attempt, redact=self._redact) from None
        span.set_attribute(Attr.PROVIDER, provider_name)
        breaker = self._factory.breaker(provider_name, model)
        request = await self._expanded(request, attempt)
        asked = with_output_section(request.request, last=request.context is not None)

        async def send() -> ModelResponse:
            return await breaker.guard(
                lambda: with_heartbeats(
                    provider.complete(asked, model, on_delta),
                    self._heartbeat_every,
                    f"waiting for {model_ref}",
                )
            )

        try:
            if self._limiter is None:
                response = await send()
            else:
                response = await self._limiter.call(
                    model_ref,
                    request.request,
                    send,
                    heartbeat_every=self._heartbeat_every,
                    notify=lambda waiting: self._notify(request.step_id, waiting),
                )
        except ProviderError as err:
            bill = self._bill(model_ref, err.billed, attempt, span) if err.billed else None
            log.warning(
                "model call failed",
                step=request.step_id,
                model=model_ref,
                kind=err.kind,
                status=err.status,
                attempt=attempt,
                cost_usd=bill.cost_usd if bill else None,
            )
            failure = provider_failure(err, attempt, bill, self._redact)
            delay = _next_attempt_in(failure)
            if delay is not None and delay >= NOTICE_AFTER:
                retried = f"{failure.message} (attempt {attempt}; next in {delay:.0f} s)"
                await self._notify(request.step_id, retried)
            raise failure from None
        result = self._bill(model_ref, response, attempt, span)
        usage = response.usage
        shown: dict[str, str | None] = {}
        if logs.content():  # switched on: what was asked and answered
            shown["prompt"] = logs.clipped(_last_asked(request.request))
            shown["answer"] = logs.clipped(response.content)
        log.info(
            "model call",
            **shown,
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

    @activity.defn(name=DRY_LLM_CALL_ACTIVITY)
    async def dry_call(self, request: ModelCallRequest) -> ModelCallResult:
        """A dry run's call: no provider, a placeholder answer (taskagent.llm.dry), an estimate
        priced as if real (not counted in the metrics of what was spent)."""
        attempt = activity.info().attempt
        model_ref = request.request.model
        attributes: dict[str, str | bool] = {
            Attr.OPERATION: "chat",
            Attr.REQUEST_MODEL: model_ref,
            Attr.DRY_RUN: True,
        }
        with tracer.start_as_current_span(
            f"chat {model_ref} (dry run)", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            try:
                parse_model(model_ref)
            except ValueError as err:
                raise non_retryable(str(err), ErrorType.INVALID_MODEL, attempt) from None
            request = await self._expanded(request, attempt)
            asked = with_output_section(request.request, last=request.context is not None)
            response = dry_response(asked, model_ref)
            usage = response.usage
            cost = self._prices.cost(model_ref, usage.input_tokens, usage.output_tokens)
            span.set_attribute(Attr.COST_USD, cost)
        log.info(
            "dry model call",
            step=request.step_id,
            model=model_ref,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=cost,
        )
        return ModelCallResult(
            response=response, attempt=attempt, cost_usd=cost, finished_at=datetime.now(UTC)
        )

    async def _expanded(self, request: ModelCallRequest, attempt: int) -> ModelCallRequest:
        """The request with the stored conversation messages it refers to put in."""
        if request.context is None:
            return request
        if self._stored is None:
            raise non_retryable(NO_STORE, ErrorType.INVALID_REQUEST, attempt)
        expanded = await self._stored.expand(request.request, request.context)
        return request.model_copy(update={"request": expanded})

    async def _notify(self, step: str, waiting: str) -> None:
        if self._notices is not None:
            await self._notices.send(step, waiting)

    def _bill(
        self, model_ref: str, response: ModelResponse, attempt: int, span: Span
    ) -> ModelCallResult:
        """The priced result of an answer the provider billed, whether or not it is used;
        counted in the metrics and on the call's span."""
        usage = response.usage
        cost = self._prices.cost(model_ref, usage.input_tokens, usage.output_tokens)
        metrics.model_call(model_ref, usage.input_tokens, usage.output_tokens, cost)
        span.set_attributes(
            {
                Attr.RESPONSE_MODEL: response.model or model_ref,
                Attr.INPUT_TOKENS: usage.input_tokens,
                Attr.OUTPUT_TOKENS: usage.output_tokens,
                Attr.COST_USD: cost,
                Attr.ATTEMPTS: attempt,
                Attr.FINISH_REASONS: [response.finish_reason or "unknown"],
            }
        )
        return ModelCallResult(
            response=response, attempt=attempt, cost_usd=cost, finished_at=datetime.now(UTC)
        )


def _last_asked(request: ModelRequest) -> str | None:
    """The latest user or tool message of a request: what this call asks about."""
    for message in reversed(request.messages):
        if message.role in ("user", "tool"):
            return message.content
    return None


def provider_failure(
    err: ProviderError,
    attempt: int,
    bill: ModelCallResult | None = None,
    redact: Redactor | None = None,
) -> ApplicationError:
    """The ApplicationError Temporal sees: retried (after Retry-After, within the step's retry
    policy) or not, as classified. Its details are the attempt and, for an answer the provider
    billed before refusing it, the priced result, which the workflow enters in the ledger."""
    status = f" (HTTP {err.status})" if err.status else ""
    message = (redact or Redactor())(f"{err.kind}{status}: {err}")  # a provider may echo the key
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


def _next_attempt_in(failure: ApplicationError) -> float | None:
    """Seconds until Temporal's next attempt after `failure`; None if there is none."""
    info = activity.info()
    policy = info.retry_policy
    if failure.non_retryable or policy is None:
        return None
    if 0 < policy.maximum_attempts <= info.attempt:
        return None
    if failure.next_retry_delay is not None:
        return failure.next_retry_delay.total_seconds()
    backoff = policy.initial_interval * policy.backoff_coefficient ** (info.attempt - 1)
    longest = policy.maximum_interval
    return (min(backoff, longest) if longest is not None else backoff).total_seconds()


def _retry_delay(seconds: float) -> tuple[timedelta, bool]:
    """The provider's Retry-After, capped by the retry policy's maximum interval: a day-long
    Retry-After must not park a step for a day; the bounded retries decide what comes next."""
    wanted = timedelta(seconds=seconds)
    policy = activity.info().retry_policy if activity.in_activity() else None
    longest = policy.maximum_interval if policy is not None else None
    if longest is not None and wanted > longest:
        return longest, True
    return wanted, False
