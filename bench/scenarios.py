"""The figures: each scenario runs on both sides, alternately, and returns its figures."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import pydantic_core
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from bench.procs import WorkerProcess
from bench.report import SIDES, Figure, Samples, figure, plus, within, within_plus
from bench.runner import INPUT, Bench, alternate, guarded, run_once, start_run
from bench.shapes import Shape, Value

QUESTION: Value = {"question": "What is the capital of France?"}


# -- 1 and 2: sequential chains --------------------------------------------------------------
async def chain(bench: Bench, function: str, reps: int) -> list[Figure]:
    n = bench.config.chain_steps
    shape = Shape(function, n)

    async def measure(side: str) -> dict[str, float]:
        run = await run_once(bench, side, shape)
        return {"wall": run.wall * 1000 / n, "cpu": run.cpu * 1000 / n}

    samples = await alternate(reps, measure)
    what = f"chain of {n} {'no-op' if function == 'noop' else '50 ms'} steps"
    return [
        figure(f"{function}_chain.wall", f"{what}: wall per step", "ms", samples, "wall"),
        figure(
            f"{function}_chain.cpu",
            f"{what}: worker CPU per step",
            "ms",
            samples,
            "cpu",
            within(1.2),
        ),
    ]


async def chain_noop(bench: Bench) -> list[Figure]:
    return await chain(bench, "noop", bench.config.reps)


async def chain_sleep(bench: Bench) -> list[Figure]:
    return await chain(bench, "sleep50", bench.config.slow_reps)


# -- 3: fan-out ------------------------------------------------------------------------------
async def fanout(bench: Bench) -> list[Figure]:
    figures: list[Figure] = []
    for k in bench.config.fanouts:
        shape = Shape("noop", k, parallel=True)

        async def measure(side: str, shape: Shape = shape, k: int = k) -> dict[str, float]:
            run = await run_once(bench, side, shape)
            return {"wall": run.wall * 1000, "cpu": run.cpu * 1000 / k}

        samples = await alternate(bench.config.reps, measure)
        what = f"fan-out of {k} no-op steps"
        figures += [
            figure(f"fan_{k}.wall", f"{what}: wall", "ms", samples, "wall", within(1.05)),
            figure(
                f"fan_{k}.cpu",
                f"{what}: worker CPU per step",
                "ms",
                samples,
                "cpu",
                within(1.2),
            ),
        ]
    return figures


# -- 4: throughput ---------------------------------------------------------------------------
async def throughput(bench: Bench) -> list[Figure]:
    runs, shape = bench.config.runs, Shape("noop", 3)

    async def measure(side: str, runs: int = runs) -> dict[str, float]:
        async def one() -> float:
            started = time.perf_counter()
            handle = await start_run(bench, side, shape, INPUT, bench.queue(side))
            await handle.result()
            return time.perf_counter() - started

        worker = bench.workers[side]
        cpu = await worker.cpu()
        started = time.perf_counter()
        latencies = await guarded(asyncio.gather(*(one() for _ in range(runs))), [worker])
        wall = time.perf_counter() - started
        p95 = statistics.quantiles(latencies, n=20, method="inclusive")[-1]
        used = await worker.cpu() - cpu
        return {"wall": wall, "p95": p95 * 1000, "cpu": used * 1000 / (runs * shape.steps)}

    for side in SIDES:  # a lighter warm-up than a whole round
        await measure(side, runs=max(runs // 10, 2))
    samples = await alternate(bench.config.throughput_reps, measure, warm_up=False)
    what = f"{runs} runs of 3 steps at once"
    return [
        figure("throughput.wall", f"{what}: total wall", "s", samples, "wall", within(1.05)),
        figure("throughput.p95", f"{what}: p95 latency", "ms", samples, "p95", within(1.05)),
        figure("throughput.cpu", f"{what}: worker CPU per step", "ms", samples, "cpu", within(1.2)),
    ]


# -- 5: history size -------------------------------------------------------------------------
async def history_of(bench: Bench, side: str, shape: Shape) -> WorkflowHistory:
    run = await run_once(bench, side, shape)
    return await bench.client.get_workflow_handle(run.workflow_id).fetch_history()


def continued(history: WorkflowHistory) -> bool:
    last = history.events[-1].event_type
    return last == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW


async def history(bench: Bench) -> list[Figure]:
    n = bench.config.chain_steps
    samples: Samples = {side: {} for side in SIDES}
    for side in SIDES:
        found = await history_of(bench, side, Shape("noop", n))
        size = History(events=list(found.events)).ByteSize()
        samples[side] = {"events": [len(found.events) / n], "bytes": [size / n]}
        if continued(found):
            raise RuntimeError(f"the {side} run of {n} steps continued as new")
    output = len(pydantic_core.to_json(INPUT))
    what = f"chain of {n} no-op steps"
    note = (
        f"the run's whole history / {n}; bytes: the serialized History proto; "
        f"each step outputs {output} B of JSON"
    )
    return [
        figure("history.events", f"{what}: history events per step", "", samples, "events"),
        figure(
            "history.bytes",
            f"{what}: history bytes per step",
            "B",
            samples,
            "bytes",
            within_plus(1.3, output, "B", "step output"),
            note,
        ),
    ]


# -- 6: replay -------------------------------------------------------------------------------
def replayer(bench: Bench, side: str, shape: Shape) -> Replayer:
    """A replayer with the workflows, converter and runner of the side's own worker."""
    config = bench.sides[side].build_worker(bench.client, f"replay-{side}", [shape]).config()
    return Replayer(
        workflows=config["workflows"],
        data_converter=bench.sides[side].data_converter,
        workflow_runner=config["workflow_runner"],
        interceptors=config["interceptors"],
    )


async def replay(bench: Bench) -> list[Figure]:
    n = bench.config.replay_steps
    shape = Shape("noop", n)
    histories = {side: await history_of(bench, side, shape) for side in SIDES}
    replayers = {side: replayer(bench, side, shape) for side in SIDES}
    note = ", ".join(f"{side} {len(histories[side].events)} events" for side in SIDES)
    if any(continued(found) for found in histories.values()):
        note += " (a run continued as new: only its first run is replayed)"

    async def measure(side: str) -> dict[str, float]:
        cpu = time.process_time()
        await replayers[side].replay_workflow(histories[side])
        return {"cpu": (time.process_time() - cpu) * 1000}

    samples = await alternate(bench.config.replays, measure)
    what = f"replay of {n} steps"
    return [
        figure("replay.cpu", f"{what}: CPU", "ms", samples, "cpu", within(1.3), note),
    ]


# -- 7: worker start -------------------------------------------------------------------------
async def worker_start(bench: Bench) -> list[Figure]:
    shape = Shape("stamp", 1)

    async def measure(side: str) -> dict[str, float]:
        queue = f"start-{side}-{uuid.uuid4().hex[:8]}"
        handle = await start_run(bench, side, shape, INPUT, queue)
        log = bench.logs / f"start-{side}.log"
        spawned = time.time()
        worker = await WorkerProcess.spawn(side, bench.target, queue, [shape], log)
        try:
            result = await guarded(handle.result(), [worker])
        finally:
            await worker.stop()
        return {"ms": (float(bench.sides[side].output(result)) - spawned) * 1000}

    samples = await alternate(bench.config.starts, measure)
    return [
        figure(
            "start.first_task",
            "worker process start to first activity",
            "ms",
            samples,
            "ms",
            plus(300, "ms"),
            "a run waits on an empty queue; the worker process is spawned",
        )
    ]


# -- 8: one agent step -----------------------------------------------------------------------
async def agent(bench: Bench) -> list[Figure]:
    shape = Shape("answer", 1)

    async def measure(side: str) -> dict[str, float]:
        run = await run_once(bench, side, shape, QUESTION)
        return {"wall": run.wall * 1000, "cpu": run.cpu * 1000}

    samples = await alternate(bench.config.agent_reps, measure)
    what = "one agent step (offline model) vs one canned-answer activity"
    return [
        figure("agent.wall", f"{what}: wall", "ms", samples, "wall"),
        figure("agent.cpu", f"{what}: worker CPU", "ms", samples, "cpu"),
    ]


SCENARIOS: dict[str, Callable[[Bench], Awaitable[list[Figure]]]] = {
    "chain": chain_noop,
    "chain50": chain_sleep,
    "fanout": fanout,
    "throughput": throughput,
    "history": history,
    "replay": replay,
    "start": worker_start,
    "agent": agent,
}
