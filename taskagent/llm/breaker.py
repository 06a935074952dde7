"""A circuit breaker per provider, in each worker process (AITaskAgent seed, section 9.4).

Closed: calls go through; failures of the provider itself (5xx, timeouts, dropped connections)
are counted, and any answer (even a 4xx: the server is up) resets the count. After
`failures` of them in a row the breaker opens: for `open_seconds`, calls fail at once with a
retryable `circuit_open` error whose Retry-After is the time left, and no request reaches the
provider. Then it is half-open: `trial_calls` calls go through; a success closes it, a failure
opens it again. Every change of state is logged.

A small state machine written here rather than a library's: the breakers of the ecosystem
(pybreaker, aiobreaker, purgatory) count exceptions of their own choosing and hide the state,
while this one counts only our classified provider failures and reports its state in errors.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

import structlog

from taskagent.errors import ErrorType
from taskagent.llm.types import ProviderError
from taskagent.telemetry import metrics

log = structlog.get_logger("taskagent.llm")
T = TypeVar("T")

COUNTED = {ErrorType.SERVER_ERROR, ErrorType.TIMEOUT, ErrorType.CONNECTION}
"""Failures that say the provider itself is unwell."""


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerSettings:
    failures: int = 5
    """Counted failures in a row that open the breaker."""
    open_seconds: float = 30.0
    """How long it stays open before trial calls are let through."""
    trial_calls: int = 1
    """Calls let through at once while half-open."""


class CircuitBreaker:
    """The breaker of one provider; see the module docstring."""

    def __init__(
        self,
        provider: str,
        settings: BreakerSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.settings = settings or BreakerSettings()
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trials = 0
        self._last_error = ""

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._remaining() <= 0:
            self._move(BreakerState.HALF_OPEN)
            self._trials = 0
        return self._state

    async def guard(self, call: Callable[[], Awaitable[T]]) -> T:
        """Make `call` through the breaker: refused at once while open; its outcome counted."""
        self.before_call()
        try:
            result = await call()
        except ProviderError as err:
            self.failed(err)
            raise
        except BaseException:  # cancelled: a trial call must not hold its slot forever
            self.abandoned()
            raise
        self.succeeded()
        return result

    def before_call(self) -> None:
        """Let the call through, or raise the retryable circuit_open error."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and self._trials < self.settings.trial_calls:
            self._trials += 1
            return
        wait = max(self._remaining(), 1.0)
        raise ProviderError(
            f"{self.provider} circuit breaker is {state.value} after {self._failures} failures "
            f"in a row (last: {self._last_error}); no request was sent; calls resume within "
            f"{wait:.0f} s",
            kind=ErrorType.CIRCUIT_OPEN,
            retryable=True,
            retry_after=wait,
        )

    def abandoned(self) -> None:
        """A call let through ended without an answer or a failure (it was cancelled)."""
        if self._state is BreakerState.HALF_OPEN and self._trials > 0:
            self._trials -= 1

    def succeeded(self) -> None:
        """A call was answered (whatever the answer): the provider is up."""
        self._failures = 0
        if self._state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED)

    def failed(self, err: ProviderError) -> None:
        """A call failed: counted if the provider itself failed; otherwise it answered."""
        if err.kind not in COUNTED:
            self.succeeded()
            return
        self._failures += 1
        self._last_error = str(err)[:200]
        half_open = self._state is BreakerState.HALF_OPEN
        if half_open or (
            self._state is BreakerState.CLOSED and self._failures >= self.settings.failures
        ):
            self._opened_at = self._clock()
            self._move(BreakerState.OPEN)

    def _remaining(self) -> float:
        return self._opened_at + self.settings.open_seconds - self._clock()

    def _move(self, state: BreakerState) -> None:
        before, self._state = self._state, state
        metrics.breaker_moved(self.provider, state.value)
        event = log.warning if state is BreakerState.OPEN else log.info
        event(
            f"circuit breaker {state.value}",
            provider=self.provider,
            was=before.value,
            failures=self._failures,
            open_seconds=self.settings.open_seconds if state is BreakerState.OPEN else None,
            last_error=self._last_error or None,
        )
