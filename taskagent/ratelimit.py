"""Fleet-wide rate limits: the contract and the scheduling rule, pure (used in workflow code).

Each limited model has one `RateLimitWorkflow` per task queue. Before every request, the model-
call activity (on whichever worker) asks it for a slot with an update; the limiter answers with
the moment the request may go, and the activity waits until then. One workflow decides for the
whole deployment, so the limit holds across every worker process; its history makes it durable.

The rule is a sliding window with reservations, first come first served: a request gets the
earliest moment, no earlier than the last reservation, at which the window ending then holds at
most `requests` requests and `tokens` tokens. A token reservation is an estimate (the prompt plus
the most the answer may use, as OpenAI counts it); the activity settles it with the real usage.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

WINDOW_SECONDS = 60.0


class RateLimits(BaseModel):
    """The limits of one model, as the worker's model configuration states them."""

    requests: int | None = Field(None, ge=1, description="Requests per window.")
    tokens: int | None = Field(None, ge=1, description="Tokens (input and output) per window.")
    window_seconds: float = Field(WINDOW_SECONDS, gt=0, le=3600)

    @property
    def active(self) -> bool:
        return self.requests is not None or self.tokens is not None


class SlotRequest(BaseModel):
    """One request for a slot. `key` names the attempt: asking twice gets the same slot."""

    key: str = Field(min_length=1, max_length=500)
    tokens: int = Field(0, ge=0)
    limits: RateLimits


class Slot(BaseModel):
    """A reservation: the request may go at `at` (seconds since the epoch)."""

    key: str
    at: float
    tokens: int = 0


class Grant(BaseModel):
    """The limiter's answer: when the request may go, and how long that is from now."""

    at: float
    wait_seconds: float = 0.0
    queued: int = Field(0, description="Reservations still ahead of this one.")


class Settlement(BaseModel):
    """After the call: the tokens it really used (0 when the provider billed nothing)."""

    key: str
    tokens: int = Field(ge=0)


class LimiterState(BaseModel):
    """What a limiter carries across continue-as-new: the reservations still in a window."""

    slots: list[Slot] = Field(default_factory=list)
    window_seconds: float = WINDOW_SECONDS
    granted: int = Field(0, description="Slots granted by this run (not carried over).")


def reserve(state: LimiterState, request: SlotRequest, now: float) -> Grant:
    """Reserve the earliest slot the limits allow for `request`, first come first served."""
    limits = request.limits
    state.window_seconds = limits.window_seconds
    prune(state, now)
    existing = next((s for s in state.slots if s.key == request.key), None)
    if existing is None:
        at = _earliest(state.slots, request, now)
        existing = Slot(key=request.key, at=at, tokens=request.tokens)
        state.slots.append(existing)
        state.granted += 1
    ahead = sum(1 for s in state.slots if s.at > now and s.at < existing.at)
    return Grant(at=existing.at, wait_seconds=max(existing.at - now, 0.0), queued=ahead)


def settle(state: LimiterState, settlement: Settlement) -> None:
    """Replace a reservation's estimate with the tokens really used."""
    for slot in state.slots:
        if slot.key == settlement.key:
            slot.tokens = settlement.tokens
            return


def release(state: LimiterState, key: str) -> None:
    """Give a reservation back (its request was never sent)."""
    state.slots = [s for s in state.slots if s.key != key]


def prune(state: LimiterState, now: float) -> None:
    """Forget reservations that no window ending now or later can hold."""
    state.slots = [s for s in state.slots if s.at > now - state.window_seconds]


def _earliest(slots: list[Slot], request: SlotRequest, now: float) -> float:
    limits = request.limits
    window = limits.window_seconds
    # A request larger than the whole token limit goes alone, when the window is empty.
    tokens = min(request.tokens, limits.tokens) if limits.tokens is not None else 0
    at = max([now, *(s.at for s in slots)])
    while True:
        held = [s for s in slots if s.at > at - window]
        fits_requests = limits.requests is None or len(held) + 1 <= limits.requests
        fits_tokens = limits.tokens is None or sum(s.tokens for s in held) + tokens <= limits.tokens
        if fits_requests and fits_tokens:
            return at
        at = min(s.at for s in held) + window  # wait until the oldest one leaves the window
