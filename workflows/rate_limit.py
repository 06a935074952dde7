"""RateLimitWorkflow: the one place that decides when a limited model's requests may go.

Its id names the task queue and the model (`rate_limit_id`), so every worker of a deployment asks
the same one, with an update-with-start that starts it on first use. It holds only the
reservations still in a window, and continues as new with them when Temporal suggests it or
after MAX_GRANTS_PER_RUN slots, so that its history stays short however long it lives.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.names import RATE_LIMIT_WORKFLOW, RELEASE_SIGNAL, RESERVE_UPDATE, SETTLE_SIGNAL
    from taskagent.ratelimit import (
        Grant,
        LimiterState,
        Settlement,
        SlotRequest,
        prune,
        release,
        reserve,
        settle,
    )

MAX_GRANTS_PER_RUN = 500


@workflow.defn(name=RATE_LIMIT_WORKFLOW)
class RateLimitWorkflow:
    @workflow.init
    def __init__(self, state: LimiterState) -> None:
        self._state = state.model_copy(update={"granted": 0})

    @workflow.run
    async def run(self, state: LimiterState) -> None:
        await workflow.wait_condition(self._should_continue)
        await workflow.wait_condition(workflow.all_handlers_finished)
        prune(self._state, workflow.now().timestamp())
        workflow.continue_as_new(self._state)  # the next run counts its own grants

    def _should_continue(self) -> bool:
        return (
            self._state.granted >= MAX_GRANTS_PER_RUN
            or workflow.info().is_continue_as_new_suggested()
        )

    @workflow.update(name=RESERVE_UPDATE)
    def reserve(self, request: SlotRequest) -> Grant:
        return reserve(self._state, request, workflow.now().timestamp())

    @workflow.signal(name=SETTLE_SIGNAL)
    def settle(self, settlement: Settlement) -> None:
        settle(self._state, settlement)

    @workflow.signal(name=RELEASE_SIGNAL)
    def release(self, key: str) -> None:
        release(self._state, key)
