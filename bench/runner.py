"""Running shapes on the two sides: one run with its worker's CPU, and alternating rounds."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle

from bench.config import Config
from bench.procs import WorkerProcess
from bench.report import SIDES, Samples
from bench.shapes import Shape, Value
from bench.sides import Side

T = TypeVar("T")
INPUT: Value = {"value": 1}
RUN_TIMEOUT = timedelta(minutes=10)


@dataclass
class Bench:
    """What every scenario uses: the client, the sides and their long-lived workers."""

    config: Config
    client: Client
    target: str
    sides: dict[str, Side]
    workers: dict[str, WorkerProcess]
    logs: Path

    def queue(self, side: str) -> str:
        return f"bench-{side}"


@dataclass
class Run:
    wall: float
    cpu: float
    result: Any
    workflow_id: str


async def guarded(work: Awaitable[T], workers: list[WorkerProcess]) -> T:
    """`work`'s result, or the error of a worker process that died meanwhile."""
    task = asyncio.ensure_future(work)
    watchers = [asyncio.ensure_future(worker.exited()) for worker in workers]
    try:
        await asyncio.wait([task, *watchers], return_when=asyncio.FIRST_COMPLETED)
        for watcher in watchers:
            if watcher.done():
                watcher.result()  # raises: the worker exited
        return task.result()
    finally:
        for pending in (task, *watchers):
            pending.cancel()


async def start_run(
    bench: Bench, side: str, shape: Shape, value: Value, queue: str
) -> WorkflowHandle[Any, Any]:
    return await bench.client.start_workflow(
        bench.sides[side].workflow,
        bench.sides[side].request(shape, value),
        id=f"bench-{side}-{shape.name}-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
        execution_timeout=RUN_TIMEOUT,
    )


async def run_once(bench: Bench, side: str, shape: Shape, value: Value = INPUT) -> Run:
    """One run on the side's long-lived worker: wall time, and the worker's CPU meanwhile."""
    worker = bench.workers[side]
    cpu = await worker.cpu()
    started = time.perf_counter()
    handle = await start_run(bench, side, shape, value, bench.queue(side))
    result = await guarded(handle.result(), [worker])
    wall = time.perf_counter() - started
    return Run(wall, await worker.cpu() - cpu, result, handle.id)


async def alternate(
    reps: int, measure: Callable[[str], Awaitable[dict[str, float]]], warm_up: bool = True
) -> Samples:
    """`measure` on bare, then TaskAgent, `reps` times (after one discarded round)."""
    samples: Samples = {side: {} for side in SIDES}
    for round_ in range(reps + int(warm_up)):
        for side in SIDES:
            values = await measure(side)
            if warm_up and round_ == 0:
                continue
            for metric, value in values.items():
                samples[side].setdefault(metric, []).append(value)
    return samples
