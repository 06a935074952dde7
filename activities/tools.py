"""The tool-call activity: runs one tool of the catalog on the arguments a model sent.

Failures the model can act on (an unknown tool, bad arguments, a ToolError) come back as a result
with ok=False, so the agent reads the message and may try again; anything else is raised for
Temporal to retry under the tool's retry policy.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import structlog
from opentelemetry import trace
from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import with_heartbeats
from activities.rate_limits import RateLimiter
from taskagent import logging as logs
from taskagent.errors import ErrorType, non_retryable
from taskagent.llm.types import ProviderError
from taskagent.names import TOOL_CALL_ACTIVITY
from taskagent.redaction import Redactor
from taskagent.results import ToolCallRequest, ToolCallResult
from taskagent.telemetry import metrics
from taskagent.telemetry.names import Attr
from taskagent.tools.registry import (
    INVALID_ARGUMENTS,
    INVALID_TOOL_OUTPUT,
    TOOL_ERROR,
    UNKNOWN_TOOL,
    ToolCatalog,
    ToolError,
    rate_key,
)

MAX_LISTED_ERRORS = 10
HEARTBEAT_EVERY = 1.0
"""Seconds between heartbeats while a tool runs: a crash is noticed, a cancellation arrives."""


tracer = trace.get_tracer("taskagent.activities")
log = structlog.get_logger("taskagent.tools")


class ToolActivities:
    """Runs the tools of a catalog; every outcome carries the attempt number."""

    def __init__(
        self,
        catalog: ToolCatalog,
        redact: Redactor | None = None,
        heartbeat_every: float = HEARTBEAT_EVERY,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._catalog = catalog
        self._redact = redact or Redactor()
        self._heartbeat_every = heartbeat_every
        self._limiter = limiter
        """Holds the tools' declared rate limits across every worker of the task queue."""

    @activity.defn(name=TOOL_CALL_ACTIVITY)
    async def run(self, request: ToolCallRequest) -> ToolCallResult:
        attributes: dict[str, str] = {Attr.OPERATION: "execute_tool", Attr.TOOL: request.tool}
        with tracer.start_as_current_span(
            f"execute_tool {request.tool}", attributes=attributes
        ) as span:
            outcome = "failed"
            try:
                result = await self._run(request)
                outcome = "ok" if result.ok else result.error_type or "error"
                shown: dict[str, str | None] = {}
                if logs.content():  # switched on: what the model sent, what it got back
                    shown = {"arguments": logs.clipped(request.arguments)}
                    shown["result"] = logs.clipped(result.content)
                log.info(
                    "tool call",
                    tool=request.tool,
                    outcome=outcome,
                    duration_ms=round(result.duration_ms, 1),
                    result_chars=result.result_size,
                    attempt=result.attempt,
                    **shown,
                )
                return result
            finally:
                span.set_attribute(Attr.STATUS, outcome)
                metrics.tool_call(request.tool, outcome)

    async def _run(self, request: ToolCallRequest) -> ToolCallResult:
        attempt = activity.info().attempt
        started = time.perf_counter()

        def result(content: str, error_type: str | None = None) -> ToolCallResult:
            # An error may quote a credential; a result keeps its text, but no secret's value.
            redact = self._redact if error_type else self._redact.values_only
            content = redact(content)
            return ToolCallResult(
                call_id=request.call_id,
                tool=request.tool,
                ok=error_type is None,
                content=content,
                error_type=error_type,
                duration_ms=(time.perf_counter() - started) * 1000,
                result_size=len(content),
                attempt=attempt,
                finished_at=datetime.now(UTC),
            )

        if request.allowed is None or request.tool not in request.allowed:
            allowed = ", ".join(request.allowed or []) or "none"
            return result(
                f"the tool {request.tool!r} is not allowed to step {request.step_id!r} "
                f"(allowed: {allowed})",
                UNKNOWN_TOOL,
            )
        tool = self._catalog.get(request.tool)
        if tool is None:
            # The names of the other tools are not listed: the step may not be allowed them.
            return result(f"there is no tool named {request.tool!r}", UNKNOWN_TOOL)
        if not tool.permits(request.roles):
            needed = " or ".join(tool.roles)
            return result(f"the tool {tool.name!r} requires the role {needed}", UNKNOWN_TOOL)
        try:
            args = tool.parse_arguments(request.arguments)
        except ValidationError as err:
            return result(f"invalid arguments for {tool.name}: {_errors(err)}", INVALID_ARGUMENTS)
        if self._limiter is not None and tool.rate_limit is not None:
            await self._wait_for_turn(tool.name, attempt)
        try:
            # The tool's own timeout bounds each attempt, whatever the workflow scheduled.
            async with asyncio.timeout(tool.timeout.total_seconds()):
                output = await with_heartbeats(
                    tool.call(args), self._heartbeat_every, f"running tool {tool.name}"
                )
        except ToolError as err:
            return result(str(err) or type(err).__name__, TOOL_ERROR)
        except ApplicationError:
            raise
        except Exception as err:
            raise ApplicationError(
                self._redact(f"tool {tool.name!r} failed: {type(err).__name__}: {err}"),
                attempt,
                type=type(err).__name__,
            ) from None
        try:
            content = tool.render(output)
        except ValidationError as err:
            raise non_retryable(
                f"tool {tool.name!r} returned output that does not match its annotation: "
                f"{_errors(err)}",
                INVALID_TOOL_OUTPUT,
                attempt,
            ) from None
        return result(content)

    async def _wait_for_turn(self, name: str, attempt: int) -> None:
        """This call's turn under the tool's rate limit; too far off, a retryable failure that
        asks again when the turn comes (the limiter's answer)."""
        if self._limiter is None:
            return
        try:
            await self._limiter.turn(rate_key(name), heartbeat_every=self._heartbeat_every)
        except ProviderError as err:
            delay = timedelta(seconds=err.retry_after) if err.retry_after else None
            raise ApplicationError(
                f"tool {name!r} is at its rate limit: {err}",
                attempt,
                type=ErrorType.RATE_LIMITED,
                next_retry_delay=delay,
            ) from None


def _errors(err: ValidationError) -> str:
    """One `field: message` per error, the first few only: the model reads this."""
    errors = err.errors(include_url=False, include_input=False)
    parts = [
        f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
        for e in errors[:MAX_LISTED_ERRORS]
    ]
    if len(errors) > MAX_LISTED_ERRORS:
        parts.append(f"and {len(errors) - MAX_LISTED_ERRORS} more")
    return "; ".join(parts)
