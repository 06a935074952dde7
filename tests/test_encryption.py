"""Encrypted payloads: AES-GCM over every payload (claim-checked ones too), key rotation, and the
codec server that lets the `temporal` CLI and the Web UI read them: on a real dev server, the
history holds no plaintext; through the codec endpoint it reads back."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from pathlib import Path

import aiohttp
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from taskagent import Pipeline
from taskagent.codec_server import codec_app
from taskagent.encryption import EncryptionCodec, EncryptionError, codec_from, parse_keys
from taskagent.storage import data_converter
from tests.support import binary, history_text, probes, running_worker, serving_app, start, unique

KEY_1 = base64.b64encode(bytes(range(32))).decode()
KEY_2 = base64.b64encode(bytes(range(32, 64))).decode()
CANARY = "PLAINTEXT-CANARY-4242"


def codec(text: str) -> EncryptionCodec:
    found = codec_from(text, None)
    assert found is not None
    return found


async def test_payloads_round_trip_and_old_keys_still_decrypt() -> None:
    old, new = codec(f"k1:{KEY_1}"), codec(f"k2:{KEY_2}, k1:{KEY_1}")
    payload = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(CANARY).encode())
    [sealed] = await old.encode([payload])
    assert CANARY.encode() not in sealed.SerializeToString()
    assert sealed.metadata["encryption-key-id"] == b"k1"
    assert await new.decode([sealed]) == [payload]  # rotated: the old key still reads
    assert (await new.encode([payload]))[0].metadata["encryption-key-id"] == b"k2"
    with pytest.raises(EncryptionError, match="key 'k2', which is not configured"):
        await old.decode(await new.encode([payload]))
    tampered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + b"x")
    with pytest.raises(EncryptionError, match="does not decrypt"):
        await old.decode([tampered])
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b"1")
    assert await old.decode([plain]) == [plain]  # written before encryption was turned on


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no encryption key"),
        ("nokey", "id:base64key"),
        ("k1:not base64!", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "AES-256 needs 32"),
        (f"k1:{KEY_1},k1:{KEY_2}", "listed twice"),
    ],
)
def test_bad_keys_are_refused_clearly(text: str, problem: str) -> None:
    with pytest.raises(EncryptionError, match=problem):
        parse_keys(text)


async def test_histories_hold_ciphertext_and_the_codec_server_reads_them(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    keys = f"k1:{KEY_1}"
    payload_dir = tmp_path / "payloads"
    converter = data_converter(payload_dir, threshold=1024, codec=codec(keys))
    config = env.client.config()
    config["data_converter"] = converter
    client = Client(**config)
    queue = unique("sealed")
    # The large output goes over the threshold: stored outside the history, encrypted too.
    pipeline = Pipeline("sealed").code("echo", "echo").code("big", "big", input=4000)
    async with running_worker(client, probes, queue):
        handle = await start(client, queue, pipeline, {"secret": CANARY})
        result = await handle.result()
    assert result.steps["echo"].output == {"secret": CANARY}
    assert result.steps["big"].output == "x" * 4000
    raw = await env.client.get_workflow_handle(handle.id).fetch_history()
    assert CANARY not in history_text(raw)  # no plaintext on the server
    stored = [path.read_bytes() for path in payload_dir.iterdir()]
    assert stored and not any(CANARY.encode() in data or b"xxxx" in data for data in stored)
    address = env.client.service_client.config.target_host
    show = [binary("temporal"), "workflow", "show", "--address", address, "-w", handle.id]
    async with serving_app(codec_app(codec(keys), ["http://localhost:8233"], "t0ken")) as url:
        plain = await asyncio.to_thread(
            subprocess.run,
            [*show, "--codec-endpoint", url, "--codec-auth", "Bearer t0ken", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        refused = await asyncio.to_thread(
            subprocess.run,
            [*show, "--codec-endpoint", url, "-o", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        async with aiohttp.ClientSession() as session:  # the Web UI's preflight
            preflight = await session.options(
                f"{url}/decode",
                headers={
                    "Origin": "http://localhost:8233",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,x-namespace",
                },
            )
    assert plain.returncode == 0, plain.stderr
    shown = history_text(WorkflowHistory.from_json(handle.id, plain.stdout))
    assert CANARY in shown  # decrypted through the codec endpoint
    assert CANARY not in refused.stdout + refused.stderr  # no token: the codec server refuses
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:8233"
