"""The Temporal schedule that archives idle conversations (seed 8.4), created by the worker."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from taskagent.conversation.contracts import ArchiveIdle
from taskagent.names import ARCHIVE_IDLE_WORKFLOW

SCHEDULE_ID = "taskagent-archive-idle"
EVERY = timedelta(days=1)


def archive_schedule(task_queue: str, idle_days: int, schedule_id: str = SCHEDULE_ID) -> Schedule:
    """The schedule; its runs' workflow ids are the schedule's id and the time (so that two
    schedules never start runs under the same id)."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ARCHIVE_IDLE_WORKFLOW,
            ArchiveIdle(idle_for=timedelta(days=idle_days)),
            id=schedule_id,
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=EVERY)]),
    )


async def ensure_archive_schedule(
    client: Client, task_queue: str, idle_days: int, schedule_id: str = SCHEDULE_ID
) -> None:
    """Create the schedule, or bring an existing one up to date with `idle_days`."""
    schedule = archive_schedule(task_queue, idle_days, schedule_id)
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def updated(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(updated)
