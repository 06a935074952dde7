"""Large payloads kept out of Temporal's history (the claim-check pattern).

Temporal's data converter stores every payload above a size threshold through a storage driver
and puts only a small reference in the history. TaskAgent ships a local-folder driver; any other
`temporalio.converter.StorageDriver` (object storage, say) plugs in the same way. Every process
that reads runs (workers, starter.py, replay tests) must use the same converter and store.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    ExternalStorage,
    StorageDriver,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverStoreContext,
)

DEFAULT_THRESHOLD = 256 * 1024


class LocalFileStore(StorageDriver):
    """Payloads as content-addressed files in one folder (shared by every worker of a queue)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def name(self) -> str:
        return "taskagent-local-files"

    async def store(
        self, context: StorageDriverStoreContext, payloads: Sequence[Payload]
    ) -> list[StorageDriverClaim]:
        return await asyncio.to_thread(self._store_all, payloads)

    async def retrieve(
        self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]
    ) -> list[Payload]:
        return await asyncio.to_thread(self._retrieve_all, claims)

    def _store_all(self, payloads: Sequence[Payload]) -> list[StorageDriverClaim]:
        self.folder.mkdir(parents=True, exist_ok=True)
        claims = []
        for payload in payloads:
            data = payload.SerializeToString(deterministic=True)
            key = hashlib.sha256(data).hexdigest()
            path = self.folder / f"{key}.payload"
            if not path.exists():
                partial = path.with_suffix(f".{os.getpid()}.partial")
                partial.write_bytes(data)
                partial.replace(path)  # atomic: readers never see half a payload
            claims.append(StorageDriverClaim(claim_data={"sha256": key}))
        return claims

    def _retrieve_all(self, claims: Sequence[StorageDriverClaim]) -> list[Payload]:
        payloads = []
        for claim in claims:
            key = claim.claim_data["sha256"]
            path = self.folder / f"{key}.payload"
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise FileNotFoundError(
                    f"stored payload {key} is missing from {self.folder}: every worker and client "
                    "must share TASKAGENT_PAYLOAD_DIR (or use an object-storage driver)"
                ) from None
            payload = Payload()
            payload.ParseFromString(data)
            payloads.append(payload)
        return payloads


def data_converter(
    payload_dir: Path | None,
    threshold: int = DEFAULT_THRESHOLD,
    driver: StorageDriver | None = None,
) -> DataConverter:
    """The pydantic data converter, storing payloads over `threshold` bytes outside the history."""
    if driver is None and payload_dir is None:
        return pydantic_data_converter
    storage = ExternalStorage(
        drivers=[driver or LocalFileStore(payload_dir)],  # type: ignore[arg-type]
        payload_size_threshold=threshold,
    )
    return dataclasses.replace(pydantic_data_converter, external_storage=storage)
