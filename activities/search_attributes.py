"""Whether the worker's Temporal namespace has TaskAgent's search attributes registered.

Asked once per worker, by the resolve activity: the answer is recorded in the run's resolved
pipeline, so the run sets its search attributes (or not) the same way on every replay. A server
that lacks them would fail every workflow task that sets them: such a worker warns, once, with
the command that registers them, and its runs go unindexed.
"""

from __future__ import annotations

import asyncio

import structlog
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError

from taskagent.search import KEYS, REGISTER_COMMAND

log = structlog.get_logger("taskagent.worker")


class SearchAttributeCheck:
    def __init__(self, client: Client) -> None:
        self._client = client
        self._answer: bool | None = None
        self._lock = asyncio.Lock()

    async def registered(self) -> bool:
        async with self._lock:
            if self._answer is None:
                self._answer = await self._ask()
            return self._answer

    async def _ask(self) -> bool:
        try:
            listed = await self._client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=self._client.namespace)
            )
        except RPCError as err:
            log.warning("cannot list search attributes: runs are not indexed", error=str(err))
            return False
        missing = [key.name for key in KEYS if key.name not in listed.custom_attributes]
        if missing:
            log.warning(
                "search attributes not registered: runs are not indexed",
                missing=missing,
                register=REGISTER_COMMAND,
            )
        return not missing
