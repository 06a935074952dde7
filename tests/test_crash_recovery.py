"""Crash and restart recovery with real processes: workers killed, a dev server restarted.

Completed model and tool steps are never executed again: the fake LLM server and the tool count
every request and every execution.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from taskagent import Pipeline, PipelineResult, StepStatus
from tests.fake_llm import FakeLLM
from tests.support import (
    CALLS,
    binary,
    event,
    eventually,
    probes,
    running_worker,
    start,
    unique,
    wait_for_step,
    worker_process,
)


def crash_settings(env, queue: str, llm: FakeLLM, folder: Path) -> dict[str, str]:
    """A worker process serving tests/crash_module.py against the fake LLM."""
    return {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TASKAGENT_TASK_QUEUE": queue,
        "TASKAGENT_MODULES": "tests.crash_module",
        "TASKAGENT_PIPELINE_DIR": str(folder / "none"),
        "TASKAGENT_PAYLOAD_DIR": str(folder / "payloads"),
        "OPENAI_API_KEY": "crash-test-key",
        "OPENAI_BASE_URL": llm.openai_base_url,
        "CRASH_TEST_DIR": str(folder),
    }


def script(llm: FakeLLM) -> None:
    llm.openai.reply_text("thought")
    llm.openai.reply_tool_call("counted_add", {"a": 2, "b": 3}, call_id="add")
    llm.openai.reply_text("5")
    llm.openai.reply_text("concluded")


def runs(folder: Path, name: str) -> int:
    path = folder / f"{name}.runs"
    return len(path.read_text().splitlines()) if path.exists() else 0


async def test_sigkill_worker_mid_run_then_a_new_worker_finishes_it(env, tmp_path):
    queue = unique("crash")
    async with FakeLLM() as llm:
        script(llm)
        settings = crash_settings(env, queue, llm, tmp_path)
        with worker_process(settings) as first:
            handle = await start(env.client, queue, "crash_test", {})
            await wait_for_step(handle, "gate", StepStatus.RUNNING)
            first.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.wait, 10)
        assert len(llm.openai.requests) == 3 and runs(tmp_path, "tool") == 1
        (tmp_path / "open").touch()
        with worker_process(settings):
            result = await handle.result()  # the gate's activity is retried after its heartbeat
    assert result.status.value == "COMPLETED"
    assert result.steps["conclude"].output == "concluded"
    assert len(llm.openai.requests) == 4  # think, use_tool (2 calls) and conclude: none again
    assert runs(tmp_path, "tool") == 1
    assert runs(tmp_path, "gate") == 2  # the in-flight activity ran again: at least once
    assert result.steps["gate"].output == {"opened": "open"}
    # The ledger, rebuilt by the new worker's replay, counts every call once.
    ledger = result.cost
    assert ledger.total.calls == 4 and ledger.total.tokens == 4 * (11 + 7)
    calls = {step: usage.calls for step, usage in ledger.by_step.items()}
    assert calls == {"think": 1, "use_tool": 2, "conclude": 1}
    assert ledger.by_model["openai:gpt-crash"].calls == 4


async def test_sigterm_drains_the_in_flight_activity(env, tmp_path):
    queue = unique("drain")
    async with FakeLLM() as llm:
        script(llm)
        settings = crash_settings(env, queue, llm, tmp_path)
        with worker_process(settings) as worker:
            handle = await start(env.client, queue, "crash_test", {})
            await wait_for_step(handle, "gate", StepStatus.RUNNING)
            worker.send_signal(signal.SIGTERM)
            (tmp_path / "open").touch()  # the activity finishes during the drain
            output, _ = await asyncio.to_thread(worker.communicate, None, 40)
            assert worker.returncode == 0, output
            assert "shutting down: draining in-flight tasks" in output
        with worker_process(settings):
            result = await handle.result()
    assert result.status.value == "COMPLETED"
    assert runs(tmp_path, "gate") == 1  # drained, not retried
    assert len(llm.openai.requests) == 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def dev_server(database: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [
            binary("temporal"),
            "server",
            "start-dev",
            "--db-filename",
            str(database),
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--headless",
            "--log-level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


async def connect(port: int) -> Client:
    async def up() -> bool:
        try:
            await Client.connect(f"127.0.0.1:{port}", data_converter=pydantic_data_converter)
        except RuntimeError:
            return False
        return True

    await eventually(up, timeout=30)
    return await Client.connect(f"127.0.0.1:{port}", data_converter=pydantic_data_converter)


async def test_dev_server_killed_mid_run_and_restarted_on_its_database(tmp_path):
    port, database = free_port(), tmp_path / "temporal.db"
    name, queue = unique("server-crash"), unique("server")
    pipeline = (
        Pipeline("survives_server")
        .code("before", "flaky", input={"name": f"{name}-before", "failures": 0})
        .code("held", "wait_for_signal", depends_on=["before"], input={"name": name})
        .code("after", "flaky", depends_on=["held"], input={"name": f"{name}-after", "failures": 0})
    )
    with dev_server(database, port) as server:
        client = await connect(port)
        async with running_worker(client, probes, queue):
            handle = await start(client, queue, pipeline)
            await wait_for_step(handle, "held", StepStatus.RUNNING)
            server.send_signal(signal.SIGKILL)
            await asyncio.to_thread(server.wait, 10)
            with dev_server(database, port):
                client = await connect(port)
                event(name).set()  # the step finishes after the restart
                result = await client.get_workflow_handle(
                    handle.id, result_type=PipelineResult
                ).result()
    assert result.status.value == "COMPLETED"
    assert [s.status for s in result.steps.values()] == [StepStatus.COMPLETED] * 3
    assert CALLS[f"{name}-before"] == 1 and CALLS[f"{name}-after"] == 1
