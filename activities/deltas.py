"""Token deltas: the model-call activity publishes an answer's text, as it arrives, on its run's
event stream (Workflow Streams, `taskagent.events`).

The text is coalesced: one stream item per interval (and one at the end) holds whatever arrived
meanwhile, so that a long answer costs a few signals, not one per token. Each item is tagged
with the step, its answer attempt, the model call and the activity's try, so that a subscriber
can drop the text of an attempt that failed. Publishing is best effort: text that cannot be
delivered is logged, never raised, and the model call goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.service import RPCError

from taskagent.events import DELTAS_TOPIC, DeltaTag, EventKind, RunEvent
from taskagent.llm.types import DeltaSink

log = structlog.get_logger("taskagent.deltas")

DELTA_INTERVAL = 0.25
"""Seconds between two published pieces of an answer's text."""
_MANUAL = timedelta(days=1)
"""The stream client's own batching is not used: this module flushes."""


class DeltaStreams:
    """Opens a delta publisher for each streamed model call of this worker's activities."""

    def __init__(self, client: Client, interval: float = DELTA_INTERVAL) -> None:
        self._client = client
        self._interval = interval

    def __repr__(self) -> str:
        return f"DeltaStreams(interval={self._interval})"

    @contextlib.asynccontextmanager
    async def open(self, step: str, tag: DeltaTag | None) -> AsyncIterator[DeltaSink | None]:
        """A sink for the call's text while the block runs, or None if the run does not stream
        (or this is not a workflow's activity); the text left over is published at the end."""
        info = activity.info() if activity.in_activity() else None
        if tag is None or info is None or info.workflow_id is None:
            yield None
            return
        template = RunEvent(
            kind=EventKind.DELTA, step=step, attempt=tag.attempt, call=tag.call, try_=info.attempt
        )
        publisher = _Publisher(
            WorkflowStreamClient.create(self._client, info.workflow_id, batch_interval=_MANUAL),
            template,
        )
        flusher = asyncio.create_task(publisher.every(self._interval))
        try:
            yield publisher.add
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await publisher.flush()


class _Publisher:
    def __init__(self, stream: WorkflowStreamClient, template: RunEvent) -> None:
        self._stream = stream
        self._topic = stream.topic(DELTAS_TOPIC, type=RunEvent)
        self._template = template
        self._pieces: list[str] = []
        self._lost = False

    def add(self, text: str) -> None:
        self._pieces.append(text)

    async def every(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.flush()

    async def flush(self) -> None:
        if self._pieces:
            text, self._pieces = "".join(self._pieces), []
            update = {"text": text, "at": datetime.now(UTC)}
            self._topic.publish(self._template.model_copy(update=update).payload())
        try:
            await self._stream.flush()
        except (RPCError, TimeoutError) as err:  # the run may have ended meanwhile
            if not self._lost:
                self._lost = True
                log.info("answer text not delivered to the run's stream", error=str(err)[:200])
