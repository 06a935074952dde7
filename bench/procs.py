"""The processes the harness starts: the Temporal dev server and one worker process per side.

Each is started in a session of its own (Ctrl-C reaches only the harness) and stopped by its pid
in a `finally` block.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from bench.shapes import Shape, shapes_to_json

ROOT = Path(__file__).resolve().parent.parent
STOP_WAIT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def stop_process(process: asyncio.subprocess.Process, gently: bool = True) -> None:
    """Ask the process to stop (SIGTERM, or the end of its stdin), then kill it by pid."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, BrokenPipeError, ConnectionResetError):
        if gently and process.stdin is not None:
            process.stdin.close()
        else:
            os.kill(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), STOP_WAIT)
    except TimeoutError:
        _kill(process)
        await process.wait()
    except asyncio.CancelledError:
        _kill(process)
        raise


def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGKILL)


def _log_tail(log: Path, lines: int = 30) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


class WorkerProcess:
    """bench/worker_main.py for one side: READY once polling, and its CPU time on request."""

    def __init__(self, side: str, process: asyncio.subprocess.Process, log: Path) -> None:
        self.side = side
        self.process = process
        self.log = log
        self._lock = asyncio.Lock()

    @classmethod
    async def spawn(
        cls, side: str, target: str, task_queue: str, shapes: list[Shape], log: Path
    ) -> WorkerProcess:
        """Start the process; it is not polling yet (see `ready`)."""
        with log.open("ab") as sink:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.worker_main",
                side,
                target,
                task_queue,
                shapes_to_json(shapes),
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=sink,
                start_new_session=True,
            )
        return cls(side, process, log)

    async def _line(self, prefix: str) -> str:
        assert self.process.stdout is not None
        line = (await self.process.stdout.readline()).decode()
        if not line.startswith(prefix):
            raise RuntimeError(
                f"{self.side} worker (pid {self.process.pid}) said {line!r}, not {prefix}...; "
                f"its log ({self.log}) ends:\n{_log_tail(self.log)}"
            )
        return line[len(prefix) :].strip()

    async def ready(self) -> None:
        await self._line("READY")

    async def cpu(self) -> float:
        """CPU seconds (user + system, all threads) the process has used so far."""
        assert self.process.stdin is not None
        async with self._lock:
            self.process.stdin.write(b"cpu\n")
            await self.process.stdin.drain()
            return float(await self._line("CPU "))

    async def exited(self) -> None:
        """Returns only if the process ends, with an error naming it."""
        code = await self.process.wait()
        raise RuntimeError(
            f"{self.side} worker (pid {self.process.pid}) exited with {code}; "
            f"its log ({self.log}) ends:\n{_log_tail(self.log)}"
        )

    async def stop(self) -> None:
        await stop_process(self.process)


@contextlib.asynccontextmanager
async def worker_process(
    side: str, target: str, task_queue: str, shapes: list[Shape], log: Path
) -> AsyncIterator[WorkerProcess]:
    """A polling worker process, stopped at the end."""
    worker = await WorkerProcess.spawn(side, target, task_queue, shapes, log)
    try:
        await worker.ready()
        yield worker
    finally:
        await worker.stop()


@contextlib.asynccontextmanager
async def dev_server(binary: Path, folder: Path) -> AsyncIterator[str]:
    """`temporal server start-dev` on free ports with SQLite in `folder`; yields host:port."""
    port = free_port()
    log = folder / "server.log"
    with log.open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            str(binary),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--ui-port",
            str(free_port()),
            "--db-filename",
            str(folder / "temporal.db"),
            "--log-level",
            "warn",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=sink,
            start_new_session=True,
        )
    drain: asyncio.Task[None] | None = None
    try:
        assert process.stdout is not None
        await asyncio.wait_for(_banner(process.stdout, log), 60)
        drain = asyncio.create_task(_copy(process.stdout, log))
        yield f"127.0.0.1:{port}"
    finally:
        if drain is not None:
            drain.cancel()
        await stop_process(process, gently=False)


async def _banner(stream: asyncio.StreamReader, log: Path) -> None:
    """Wait for the line the server prints once it serves (`Temporal Server: host:port`)."""
    with log.open("a") as sink:
        while line := (await stream.readline()).decode():
            sink.write(line)
            if line.startswith("Temporal Server:"):
                return
    raise RuntimeError(f"the dev server stopped; its log ({log}) ends:\n{_log_tail(log)}")


async def _copy(stream: asyncio.StreamReader, log: Path) -> None:
    """Keep reading the server's stdout so that a full pipe never blocks it."""
    with log.open("ab") as sink:
        while chunk := await stream.read(65536):
            sink.write(chunk)
