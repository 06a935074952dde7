"""The worker's side of fleet-wide rate limits: ask the model's limiter for a slot, wait for it.

See taskagent.ratelimit for the rule and workflows/rate_limit.py for the limiter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import structlog
from temporalio import activity
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from activities.heartbeat import with_heartbeats
from taskagent.errors import ErrorType
from taskagent.llm.types import ModelRequest, ModelResponse, ProviderError
from taskagent.llm.usage import estimate_usage
from taskagent.names import RATE_LIMIT_WORKFLOW, RELEASE_SIGNAL, RESERVE_UPDATE, SETTLE_SIGNAL
from taskagent.ratelimit import Grant, LimiterState, RateLimits, Settlement, SlotRequest

log = structlog.get_logger("taskagent.llm")

MAX_WAIT_SHARE = 0.5
"""How much of an attempt's start-to-close timeout it may spend waiting for its turn."""
LATE_TOLERANCE = 0.1
"""Seconds after its slot's moment that a grant may arrive and still be used."""
MAX_ASKS = 3
NOTICE_AFTER = 1.0
"""Waits this long or longer are shown on the step in the run's progress."""
OUTPUT_RESERVE = 1_000
"""Tokens reserved for an answer whose request sets no max_output_tokens, until settled."""


def rate_limit_id(task_queue: str, model_ref: str) -> str:
    """The limiter's workflow id: one per task queue (deployment) and model."""
    return f"taskagent-rate-limit/{task_queue}/{model_ref}"


class RateLimiter:
    """Slots from each limited model's RateLimitWorkflow; models without limits are not asked."""

    def __init__(self, client: Client, task_queue: str, limits: Mapping[str, RateLimits]) -> None:
        self._client = client
        self._task_queue = task_queue
        self._limits = {ref: lim for ref, lim in limits.items() if lim.active}

    def __repr__(self) -> str:
        return f"RateLimiter(task_queue={self._task_queue!r}, models={sorted(self._limits)})"

    def limits(self, model_ref: str) -> RateLimits | None:
        return self._limits.get(model_ref)

    async def call(
        self,
        model_ref: str,
        request: ModelRequest,
        send: Callable[[], Awaitable[ModelResponse]],
        *,
        heartbeat_every: float,
        notify: Callable[[str], Awaitable[None]] | None = None,
    ) -> ModelResponse:
        """`send()` once this attempt's slot comes: it waits, heartbeating, for up to half the
        attempt's start-to-close timeout (the other half is the call's); a turn further off
        gives the slot back and fails the attempt as rate_limited, retried when the turn comes."""
        limits = self._limits.get(model_ref)
        if limits is None:
            return await send()
        info = activity.info()
        attempt_key = f"{info.workflow_id}/{info.activity_id}/{info.attempt}"
        tokens = reserved_tokens(request) if limits.tokens else 0
        key = await self._take_turn(model_ref, attempt_key, tokens, heartbeat_every, notify)
        try:
            response = await send()
        except ProviderError as err:
            if err.kind == ErrorType.CIRCUIT_OPEN:  # nothing was sent
                await self.release(model_ref, key)
            elif limits.tokens:
                used = err.billed.usage.total_tokens if err.billed else 0
                await self.settle(model_ref, key, used)
            raise
        if limits.tokens:
            await self.settle(model_ref, key, response.usage.total_tokens)
        return response

    async def turn(
        self,
        name: str,
        *,
        heartbeat_every: float,
        notify: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """Wait for this attempt's slot of `name` (a rate-limited tool: no tokens counted)."""
        if name not in self._limits:
            return
        info = activity.info()
        attempt_key = f"{info.workflow_id}/{info.activity_id}/{info.attempt}"
        await self._take_turn(name, attempt_key, 0, heartbeat_every, notify)

    async def _take_turn(
        self,
        model_ref: str,
        attempt_key: str,
        tokens: int,
        every: float,
        notify: Callable[[str], Awaitable[None]] | None,
    ) -> str:
        """Reserve a slot and wait for it; the key of the slot taken.

        A slot's moment is the limiter's clock when it granted it. If the grant arrives well
        after that moment (a limiter's first answer can take a while), later slots were counted
        from a moment this request has missed: it gives the slot back and asks again.
        """
        for ask in range(MAX_ASKS):
            key = attempt_key if ask == 0 else f"{attempt_key}/{ask}"
            asking = f"asking the rate limiter of {model_ref} for a slot"
            grant = await with_heartbeats(self.reserve(model_ref, key, tokens), every, asking)
            if time.time() - grant.at <= LATE_TOLERANCE or ask == MAX_ASKS - 1:
                break
            await self.release(model_ref, key)
        wait = grant.at - time.time()
        if wait > 0:
            await self._wait(model_ref, key, wait, grant.queued, every, notify)
        return key

    async def _wait(
        self,
        model_ref: str,
        key: str,
        wait: float,
        queued: int,
        every: float,
        notify: Callable[[str], Awaitable[None]] | None,
    ) -> None:
        timeout = activity.info().start_to_close_timeout or timedelta(0)
        can_wait = timeout.total_seconds() * MAX_WAIT_SHARE
        if wait > can_wait:
            await self.release(model_ref, key)
            raise ProviderError(
                f"{model_ref} is at its rate limit: this request's turn is {wait:.1f} s away, "
                f"longer than an attempt may wait ({can_wait:.0f} s, half its start-to-close "
                "timeout); it asks again then",
                kind=ErrorType.RATE_LIMITED,
                retryable=True,
                retry_after=wait,
            )
        log.info(
            "waiting for the rate limit",
            model=model_ref,
            wait_s=round(wait, 2),
            queued_ahead=queued,
        )
        detail = f"rate limit of {model_ref}: its turn in {wait:.1f} s ({queued} ahead)"
        if notify is not None and wait >= NOTICE_AFTER:
            await notify(detail)
        await with_heartbeats(asyncio.sleep(wait), every, detail)

    async def reserve(self, model_ref: str, key: str, tokens: int) -> Grant:
        """A slot for one request of `model_ref`; the same `key` gets the same slot."""
        limits = self._limits[model_ref]
        start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
            RATE_LIMIT_WORKFLOW,
            LimiterState(),
            id=rate_limit_id(self._task_queue, model_ref),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"rate limits of {model_ref}",
        )
        request = SlotRequest(key=key, tokens=tokens, limits=limits)
        grant: Grant = await self._client.execute_update_with_start_workflow(
            RESERVE_UPDATE, request, start_workflow_operation=start, result_type=Grant
        )
        return grant

    async def settle(self, model_ref: str, key: str, tokens: int) -> None:
        """Replace the slot's token estimate with what the call really used."""
        await self._limiter(model_ref).signal(SETTLE_SIGNAL, Settlement(key=key, tokens=tokens))

    async def release(self, model_ref: str, key: str) -> None:
        """Give the slot back: its request will not be sent."""
        await self._limiter(model_ref).signal(RELEASE_SIGNAL, key)

    def _limiter(self, model_ref: str) -> WorkflowHandle[Any, Any]:
        return self._client.get_workflow_handle(rate_limit_id(self._task_queue, model_ref))


def reserved_tokens(request: ModelRequest) -> int:
    """What a request may use: its prompt and the longest answer it allows (as OpenAI counts)."""
    prompt = estimate_usage(request, None).input_tokens
    return prompt + (request.max_output_tokens or OUTPUT_RESERVE)
