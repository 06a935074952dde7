"""Encrypted payloads: every payload TaskAgent writes to Temporal (inputs, outputs, prompts,
conversations, signals, claim-checked payloads too) as AES-GCM ciphertext, readable only where
the keys are.

Keys come from the worker's and the starter's environment: `TASKAGENT_ENCRYPTION_KEYS` (or the
file `TASKAGENT_ENCRYPTION_KEY_FILE` names) holds `id:base64key` entries separated by commas or
lines. The first key encrypts; all of them decrypt, so a new key goes first and the old ones stay
listed while runs they wrote may still be read. Each payload records the id of its key.
`python starter.py encryption-key` prints a new entry.

The Web UI and the `temporal` CLI see ciphertext unless they ask a codec server
(`python starter.py codec-server`, taskagent/codec_server.py), which decrypts for them.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
CIPHER = "encryption-cipher"
NONCE_BYTES = 12
KEY_BYTES = 32


class EncryptionError(ValueError):
    """Keys that cannot be used, or a payload that cannot be decrypted (the message says why)."""


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads (metadata included), with the key's id in the clear."""

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise EncryptionError(f"the current key {current!r} is not among the keys")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current = current

    def __repr__(self) -> str:
        return f"EncryptionCodec(current={self.current!r}, keys={sorted(self._ciphers)})"

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self.current]
        encoded = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            data = cipher.encrypt(nonce, payload.SerializeToString(), self.current.encode())
            metadata = {"encoding": ENCODING, KEY_ID: self.current.encode(), CIPHER: b"AES-GCM"}
            encoded.append(Payload(metadata=metadata, data=nonce + data))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decode(payload) for payload in payloads]

    def _decode(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was on: readable as it is
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise EncryptionError(
                f"a payload was encrypted with key {key_id!r}, which is not configured: keep it "
                "in TASKAGENT_ENCRYPTION_KEYS (after the current key) while its runs are read"
            )
        nonce, data = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, data, key_id.encode())
        except InvalidTag:
            raise EncryptionError(
                f"a payload encrypted with key {key_id!r} does not decrypt: it was altered, or the "
                "key of that id is not the one it was written with"
            ) from None
        decoded = Payload()
        decoded.ParseFromString(plain)
        return decoded


def parse_keys(text: str) -> tuple[dict[str, bytes], str]:
    """Keys from `id:base64key` entries (commas or lines; `#` comments), and the first one's id."""
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for raw in text.replace(",", "\n").splitlines():
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id:
            raise EncryptionError(
                "each key is written id:base64key (see starter.py encryption-key)"
            )
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise EncryptionError(f"key {key_id!r} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise EncryptionError(f"key {key_id!r} has {len(key)} bytes; AES-256 needs {KEY_BYTES}")
        if key_id in keys:
            raise EncryptionError(f"key id {key_id!r} is listed twice")
        keys[key_id] = key
        order.append(key_id)
    if not order:
        raise EncryptionError("no encryption key is given")
    return keys, order[0]


def codec_from(keys_text: str | None, key_file: Path | None) -> EncryptionCodec | None:
    """The codec the configuration asks for (None: payloads are not encrypted)."""
    if key_file is not None:
        try:
            keys_text = key_file.read_text()
        except OSError as err:
            raise EncryptionError(f"cannot read the key file {key_file}: {err}") from None
    if not keys_text:
        return None
    keys, current = parse_keys(keys_text)
    return EncryptionCodec(keys, current)


def new_key_entry() -> str:
    """A fresh key as an `id:base64key` entry, its id dated."""
    key_id = f"k{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}"
    return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"
