"""How many activities and child pipelines one run has in flight at once.

While a workflow task runs, the Temporal server buffers the events that arrive for the run; past
100 of them (`history.maximumBufferedEventsBatch`) it force-fails the task
(WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND), and the worker replays the whole history to
redo it, which makes the next task slower still. Each activity or child that finishes adds two
events, so a run with at most 50 in flight cannot trip the limit. Measured on 2 cores: 2,000
independent code steps took 16 to 47 s, with up to 21 force-failed workflow tasks, unbounded;
8.9 s and none with 50 in flight. Bare Temporal fails the same way from 2,000.

A run recorded before the window existed replays without it: the first time the window is full,
`workflow.patched` tells a new run (which records the marker) from an old one (which has none).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from temporalio import workflow

DEFAULT_IN_FLIGHT = 50
WINDOW_PATCH = "taskagent-in-flight-window"


class InFlightWindow:
    """At most `size` calls at once, in the order they asked; the others wait for a slot."""

    def __init__(self, size: int) -> None:
        self._slots = asyncio.Semaphore(size)
        self._enforced: bool | None = None  # decided the first time the window is full

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[bool]:
        """Hold a slot for one call; True if the call had to wait for it."""
        full = self._slots.locked()
        if self._enforced is None and full:
            self._enforced = workflow.patched(WINDOW_PATCH)
        if self._enforced is False:  # a run from before the window: replay it as it ran
            yield False
            return
        async with self._slots:
            yield full
