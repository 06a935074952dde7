"""ArchiveIdleConversations: what the `taskagent-archive-idle` schedule starts, once a day.

It archives the conversations with no message for the configured number of days (seed 8.4:
"auto-archive after 30 days of inactivity"). A new message brings one back.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from taskagent.conversation.contracts import ArchivedConversations, ArchiveIdle
    from taskagent.names import ARCHIVE_IDLE_ACTIVITY, ARCHIVE_IDLE_WORKFLOW

ARCHIVE_TIMEOUT = timedelta(minutes=5)
ARCHIVE_RETRY = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=1))


@workflow.defn(name=ARCHIVE_IDLE_WORKFLOW)
class ArchiveIdleConversations:
    """Archives idle conversations in the database; returns their ids."""

    @workflow.run
    async def run(self, request: ArchiveIdle) -> ArchivedConversations:
        archived: ArchivedConversations = await workflow.execute_activity(
            ARCHIVE_IDLE_ACTIVITY,
            request,
            start_to_close_timeout=ARCHIVE_TIMEOUT,
            retry_policy=ARCHIVE_RETRY,
            result_type=ArchivedConversations,
            summary=f"archive conversations idle for {request.idle_for.days} days",
        )
        workflow.logger.info("archived idle conversations", extra={"count": len(archived.ids)})
        return archived
