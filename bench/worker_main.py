"""One side's worker as a process of its own, so that its CPU time can be read alone.

    python -m bench.worker_main SIDE TARGET TASK_QUEUE SHAPES_JSON

Protocol on stdin/stdout: it prints `READY` once polling, answers each `cpu` line with
`CPU <seconds of CPU used by the whole process so far>`, and stops at the end of its stdin.
Anything else the process writes to stdout goes to stderr.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from temporalio.client import Client

from bench.shapes import shapes_from_json
from bench.sides import load_side


async def main(side_name: str, target: str, task_queue: str, shapes_json: str) -> None:
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # logs printed to stdout must not mix with the protocol
    side = load_side(side_name)
    client = await Client.connect(target, data_converter=side.data_converter)
    worker = side.build_worker(client, task_queue, shapes_from_json(shapes_json))
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    async with worker:
        channel.write("READY\n")
        while line := await commands.readline():
            if line.strip() == b"cpu":
                channel.write(f"CPU {time.process_time():.6f}\n")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
