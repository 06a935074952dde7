"""Saying so when a run waits on a task queue that no worker polls.

`starter.py run` and `taskagent.run_pipeline` start a run and wait for it; with no worker on
the queue, Temporal keeps the run waiting, silently. A few seconds in, they ask the server who
polls the queue and, if nobody does, say which queue and how to start a worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

CHECK_AFTER_SECONDS = 3.0


def no_worker(task_queue: str) -> str:
    """What to tell someone whose run waits on `task_queue` with no worker polling it."""
    return (
        f"no worker polls the task queue {task_queue!r}: the run waits until one does. Start "
        f"one with `TASKAGENT_TASK_QUEUE={task_queue} python worker.py` (or `make worker`)"
    )


async def pollers(client: Client, task_queue: str) -> int:
    """How many workers recently polled `task_queue` for workflow tasks."""
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len(response.pollers)


async def warn_when_unserved(
    client: Client, task_queue: str, say: Callable[[str], None], after: float | None = None
) -> None:
    """After `after` seconds (CHECK_AFTER_SECONDS), `say` so once if no worker polls
    `task_queue` (run it as a task beside the wait, cancelled when the run ends)."""
    await asyncio.sleep(CHECK_AFTER_SECONDS if after is None else after)
    if not await pollers(client, task_queue):
        say(no_worker(task_queue))
