"""A run's budget, held under concurrency: every model call reserves an estimate first.

Without reservations, each of N concurrent agent steps could pass the budget check and make its
call, overspending by up to N calls. Here a call starts at once when nothing else is in flight
and the budget is not spent (one call may overshoot by its own estimate's error: what a first
answer costs is not known in advance); while other calls are in flight, it starts only if the
spend, the reservations in flight and its own estimate fit in the budget, and otherwise waits
for them to settle, then looks again. So no call starts once the remaining budget cannot cover
it, and the spend exceeds the budget by at most one call's estimate error.

An estimate: the request's characters over four, plus the step's `max_output_tokens` or the
run's average answer from that model so far (or 256 tokens); its price at the run's observed
rate for the model (no usd limit applies to a model with no answer priced yet, beyond the
one-call-in-flight rule).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.errors import ErrorType
    from taskagent.kinds.context import StepFailure
    from taskagent.llm.types import ModelRequest
    from taskagent.results import CostLedger
    from taskagent.spec import Budget

RESERVATION_PATCH = "taskagent-budget-reservations"
"""Runs recorded before checked the spend alone, so concurrent calls all started."""
CHARS_PER_TOKEN = 4
DEFAULT_ANSWER_TOKENS = 256


@dataclass(frozen=True)
class Reservation:
    tokens: int = 0
    usd: float = 0.0
    held: bool = False
    priced: bool = True
    """Whether `usd` comes from a rate observed in the run (else it is 0, unknown)."""


NO_RESERVATION = Reservation()


class BudgetGate:
    """Admits a run's model calls against its budget (see the module)."""

    def __init__(self, ledger: CostLedger) -> None:
        self._ledger = ledger
        self._tokens = 0
        self._usd = 0.0
        self._in_flight = 0
        self._settled = 0

    async def reserve(self, budget: Budget | None, request: ModelRequest, key: str) -> Reservation:
        """Wait until the call fits; StepFailure(BudgetExceeded) once it never will."""
        if budget is None:
            return NO_RESERVATION
        if not workflow.patched(RESERVATION_PATCH):
            self._refuse_if_spent(budget, key)
            return NO_RESERVATION
        estimate = self._estimate(request)
        while self._in_flight and not self._fits(budget, estimate):
            await workflow.wait_condition(self._settled_since(self._settled))
        self._refuse_if_spent(budget, key)
        self._tokens += estimate.tokens
        self._usd += estimate.usd
        self._in_flight += 1
        return Reservation(estimate.tokens, estimate.usd, held=True)

    def settle(self, reservation: Reservation) -> None:
        """The call is over (its real usage is in the ledger, if it was billed)."""
        if not reservation.held:
            return
        self._tokens -= reservation.tokens
        self._usd -= reservation.usd
        self._in_flight -= 1
        self._settled += 1

    def remaining(self, budget: Budget | None) -> Budget | None:
        """What is left once the spend and the reservations in flight are counted."""
        if budget is None:
            return None
        total = self._ledger.total
        return Budget(
            usd=None if budget.usd is None else max(budget.usd - total.cost_usd - self._usd, 0.0),
            tokens=None
            if budget.tokens is None
            else max(budget.tokens - total.tokens - self._tokens, 0),
        )

    def _settled_since(self, seen: int) -> Callable[[], bool]:
        return lambda: self._settled != seen

    def _fits(self, budget: Budget, estimate: Reservation) -> bool:
        total = self._ledger.total
        tokens = total.tokens + self._tokens + estimate.tokens
        if budget.tokens is not None and tokens > budget.tokens:
            return False
        if budget.usd is None:
            return True
        if not estimate.priced:  # the model's price is not known yet: one call at a time
            return False
        return total.cost_usd + self._usd + estimate.usd <= budget.usd

    def _refuse_if_spent(self, budget: Budget, key: str) -> None:
        total = self._ledger.total
        spent = []
        if budget.usd is not None and total.cost_usd >= budget.usd:
            spent.append(f"${total.cost_usd:.6f} of ${budget.usd}")
        if budget.tokens is not None and total.tokens >= budget.tokens:
            spent.append(f"{total.tokens} of {budget.tokens} tokens")
        if spent:
            raise StepFailure(
                ErrorType.BUDGET_EXCEEDED,
                f"the run's budget is spent ({', '.join(spent)} used by {total.calls} model "
                f"calls); step {key!r} made no further model call",
            )

    def _estimate(self, request: ModelRequest) -> Reservation:
        chars = sum(len(m.content or "") + len(str(m.tool_calls or "")) for m in request.messages)
        usage = self._ledger.by_model.get(request.model)
        answer = request.max_output_tokens
        if answer is None:
            answered = usage is not None and usage.calls > 0
            answer = (
                usage.output_tokens // usage.calls if usage and answered else DEFAULT_ANSWER_TOKENS
            )
        tokens = chars // CHARS_PER_TOKEN + answer
        if usage is None or not usage.tokens:
            return Reservation(tokens=tokens, priced=False)
        return Reservation(tokens=tokens, usd=tokens * usage.cost_usd / usage.tokens)
