"""Step notices: an activity tells its run what the step waits for, while it waits.

A rate limit's queue, an open circuit breaker or a provider's error before Temporal's next attempt
happen inside the worker, where the run's progress query cannot see them. A notice is a signal to
the activity's own run, which shows it on the step (`waiting`) until the step's activity
completes or fails. Notices are best effort: one that cannot be delivered is logged, never
raised, and the activity goes on.
"""

from __future__ import annotations

import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError

from taskagent.names import STEP_NOTICE_SIGNAL
from taskagent.results import StepNotice

log = structlog.get_logger("taskagent.notices")

MAX_NOTICE_CHARS = 500


class StepNotices:
    """Sends notices to the run of the current activity."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def __repr__(self) -> str:
        return "StepNotices()"

    async def send(self, step: str, waiting: str) -> None:
        info = activity.info() if activity.in_activity() else None
        if info is None or info.workflow_id is None:
            return
        handle = self._client.get_workflow_handle(info.workflow_id, run_id=info.workflow_run_id)
        notice = StepNotice(step=step, waiting=waiting[:MAX_NOTICE_CHARS])
        try:
            await handle.signal(STEP_NOTICE_SIGNAL, notice)
        except RPCError as err:  # the run may have ended meanwhile
            log.info("step notice not delivered", step=step, error=str(err))
