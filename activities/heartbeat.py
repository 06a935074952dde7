"""Heartbeating while an activity awaits something slow.

A heartbeat tells Temporal the worker is alive: if the worker dies, the activity is retried once
its heartbeat timeout passes instead of its (much longer) start-to-close timeout. Heartbeat
responses also carry cancellation, so a cancelled run stops its activities promptly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from temporalio import activity

T = TypeVar("T")


async def with_heartbeats(work: Awaitable[T], every: float, detail: str) -> T:
    """Await `work`, heartbeating every `every` seconds (local activities need none)."""
    task = asyncio.ensure_future(work)
    if activity.info().is_local:
        return await task
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=every)
            if not task.done():
                activity.heartbeat(detail)
        return task.result()
    finally:
        task.cancel()
