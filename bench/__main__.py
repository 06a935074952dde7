"""python -m bench [--quick] [--only FIGURE ...]: bare Temporal against TaskAgent."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.config import FULL, QUICK, Config
from bench.procs import ROOT, dev_server, worker_process
from bench.report import SIDES, Figure, write
from bench.runner import Bench
from bench.scenarios import SCENARIOS
from bench.sides import load_side

HERE = Path(__file__).resolve().parent
TEMPORAL = Path(sys.executable).parent / "temporal"


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def commit() -> str:
    found = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return found.stdout.strip() or "unknown"


async def measure(config: Config, only: list[str]) -> list[Figure]:
    figures: list[Figure] = []
    began = time.monotonic()
    main_task = asyncio.current_task()
    assert main_task is not None
    # SIGTERM, like Ctrl-C, cancels the run so that every `finally` stops what it started.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    with tempfile.TemporaryDirectory(prefix="taskagent-bench-") as tmp:
        folder = Path(tmp)
        async with dev_server(TEMPORAL, folder) as target, contextlib.AsyncExitStack() as stack:
            client = await Client.connect(target, data_converter=pydantic_data_converter)
            sides = {side: load_side(side) for side in SIDES}
            workers = {
                side: await stack.enter_async_context(
                    worker_process(
                        side, target, f"bench-{side}", config.shapes(), folder / f"{side}.log"
                    )
                )
                for side in SIDES
            }
            pids = ", ".join(f"{side} worker pid {w.process.pid}" for side, w in workers.items())
            print(f"server {target}, {pids}", file=sys.stderr, flush=True)
            bench = Bench(config, client, target, sides, workers, folder)
            for key in only:
                print(f"[{time.monotonic() - began:5.0f} s] {key}", file=sys.stderr, flush=True)
                figures += await SCENARIOS[key](bench)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller sizes")
    parser.add_argument(
        "--only", action="append", choices=list(SCENARIOS), help="run only these (repeatable)"
    )
    parser.add_argument("--out", type=Path, default=HERE, help="folder of results.md/.json")
    args = parser.parse_args()
    config = QUICK if args.quick else FULL
    only = args.only or list(SCENARIOS)
    before, started = load(), time.monotonic()
    try:
        figures = asyncio.run(measure(config, only))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("interrupted: the dev server and the workers were stopped")
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "cpus": os.cpu_count(),
        "load_before": before,
        "load_after": load(),
        "mode": "quick" if args.quick else "full",
        "elapsed_s": time.monotonic() - started,
        "scenarios": only,
        "config": asdict(config),
    }
    print(write(figures, meta, args.out))


if __name__ == "__main__":
    main()
