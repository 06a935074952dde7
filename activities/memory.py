"""Pipeline memory's database side (see taskagent.memory): read a run's scopes, write a step's
values (an upsert by scope and key, so a retried write changes nothing more)."""

from __future__ import annotations

import asyncio

from temporalio import activity

from taskagent.memory import MemoryRead, MemoryValues, MemoryWrite
from taskagent.names import READ_MEMORY_ACTIVITY, WRITE_MEMORY_ACTIVITY
from taskagent.store import ConversationStore


class MemoryActivities:
    def __init__(self, store: ConversationStore) -> None:
        self._store = store

    @activity.defn(name=READ_MEMORY_ACTIVITY)
    async def read(self, request: MemoryRead) -> MemoryValues:
        def read_all() -> MemoryValues:
            return MemoryValues(
                values={owner: self._store.recall(scope) for owner, scope in request.scopes.items()}
            )

        return await asyncio.to_thread(read_all)

    @activity.defn(name=WRITE_MEMORY_ACTIVITY)
    async def write(self, request: MemoryWrite) -> None:
        def write_all() -> None:
            for key, value in request.values.items():
                self._store.remember(request.scope, key, value, request.by, request.at)

        await asyncio.to_thread(write_all)
