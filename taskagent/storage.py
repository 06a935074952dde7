"""TaskAgent's data converter: compact pydantic JSON, and large payloads kept out of the history.

Contracts are written without the fields that hold their default value (pydantic's
`exclude_defaults`): the history holds what a run did, not every default of every model. Readers
fill the defaults back in, so any pydantic converter reads these payloads; the defaults of stored
contracts therefore never change.

Large payloads use the claim-check pattern: Temporal's data converter stores every payload above
a size threshold through a storage driver
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
from typing import Any

from pydantic_core import SchemaSerializer
from pydantic_core.core_schema import any_schema
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    ExternalStorage,
    JSONPlainPayloadConverter,
    PayloadCodec,
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


class CompactJSONPayloadConverter(PydanticJSONPlainPayloadConverter):
    """The SDK's pydantic JSON, without the fields that hold their default value."""

    _compact = SchemaSerializer(any_schema())

    def to_payload(self, value: Any) -> Payload | None:
        data = self._compact.to_json(value, exclude_defaults=True)
        return Payload(metadata={"encoding": self.encoding.encode()}, data=data)


# One instance of each: Temporal builds a payload converter for every workflow activation, and for
# every payload it stores outside the history. Sharing the encodings keeps that cheap and keeps the
# JSON converter's cache of pydantic type adapters warm across payloads.
_ENCODINGS = tuple(
    CompactJSONPayloadConverter() if isinstance(converter, JSONPlainPayloadConverter) else converter
    for converter in DefaultPayloadConverter.default_encoding_payload_converters
)


class CompactPayloadConverter(CompositePayloadConverter):
    """Temporal's default payload converters, with compact pydantic JSON for JSON."""

    def __init__(self) -> None:
        super().__init__(*_ENCODINGS)


COMPACT_CONVERTER = DataConverter(payload_converter_class=CompactPayloadConverter)
"""TaskAgent's data converter without external storage (tests, replays, tools)."""


def data_converter(
    payload_dir: Path | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    driver: StorageDriver | None = None,
    codec: PayloadCodec | None = None,
) -> DataConverter:
    """TaskAgent's data converter, storing payloads over `threshold` bytes outside the history
    when a folder (or another driver) is given, and encoding every payload with `codec` (the
    encryption codec, taskagent/encryption.py) first: stored payloads are encoded too."""
    converter = COMPACT_CONVERTER
    if codec is not None:
        converter = dataclasses.replace(converter, payload_codec=codec)
    if driver is None and payload_dir is None:
        return converter
    storage = ExternalStorage(
        drivers=[driver or LocalFileStore(payload_dir)],  # type: ignore[arg-type]
        payload_size_threshold=threshold,
    )
    return dataclasses.replace(converter, external_storage=storage)
