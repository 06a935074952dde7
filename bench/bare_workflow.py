"""Bare Temporal: one workflow that calls one activity N times, in sequence or all at once.

The activity options are those of a TaskAgent code step (workflows/steps/code.py at the time of
writing): a start-to-close timeout, a bounded retry policy and a heartbeat timeout.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from bench.shapes import BareRequest

BARE_WORKFLOW = "BareBench"
START_TO_CLOSE = timedelta(minutes=5)
HEARTBEAT_TIMEOUT = timedelta(seconds=10)
RETRY = RetryPolicy(
    maximum_attempts=3,
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)


@workflow.defn(name=BARE_WORKFLOW)
class BareWorkflow:
    @workflow.run
    async def run(self, request: BareRequest) -> Any:
        if request.parallel:
            calls = (self._call(request.function, request.input) for _ in range(request.steps))
            return list(await asyncio.gather(*calls))
        value: Any = request.input
        for _ in range(request.steps):
            value = await self._call(request.function, value)
        return value

    async def _call(self, function: str, value: Any) -> Any:
        return await workflow.execute_activity(
            function,
            value,
            start_to_close_timeout=START_TO_CLOSE,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RETRY,
        )
