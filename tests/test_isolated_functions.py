"""Isolated functions and tools: a synchronous code-step function or tool registered with
`isolated=True` runs in a child process that its deadline really stops, within CPU and memory
limits, so that no input can freeze the worker (in a thread, `round(1, -10**8)` held the GIL for
663 s and every run on the worker stopped with it)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from pydantic import BaseModel
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.tools import ToolActivities
from taskagent import Pipeline, Registry, StepContext
from taskagent.errors import ErrorType, StepFailed
from taskagent.results import ToolCallRequest, ToolCallResult
from tests.support import failed_result, running_worker, start

isolated = Registry()


class Order(BaseModel):
    item: str
    digits: int = -2


@isolated.function(isolated=True)
def price(order: Order, context: StepContext) -> dict[str, str]:
    """Rounds as the caller asks: a huge `digits` makes CPython compute 10**(10**8)."""
    if order.item == "out of stock":
        raise StepFailed("no stock left", retryable=False, type="OutOfStock")
    return {"price": str(round(12345, order.digits)), "key": context.idempotency_key}


@isolated.function(isolated=True, max_memory_mb=256)
def hoard(order: Order) -> int:
    return len(bytearray(1 << 30))


@isolated.function()
def echo(value: str) -> str:
    return value


def priced(order: dict[str, object], timeout: float = 3) -> Pipeline:
    return Pipeline("priced").code(
        "price", "price", input=order, timeout=timedelta(seconds=timeout)
    )


async def test_an_isolated_function_returns_its_output_and_sees_its_context(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    async with running_worker(env.client, isolated, task_queue):
        handle = await start(env.client, task_queue, priced({"item": "tea"}))
        result = await handle.result()
    output = result.steps["price"].output
    assert output == {"price": "12300", "key": f"{handle.id}/{result.run_id}/price"}


async def test_a_runaway_isolated_function_is_stopped_and_the_worker_goes_on(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    async with running_worker(env.client, isolated, task_queue):
        loop = asyncio.get_running_loop()
        began = loop.time()
        runaway = await start(env.client, task_queue, priced({"item": "tea", "digits": -(10**8)}))
        meanwhile = await start(
            env.client, task_queue, Pipeline("echo").code("e", "echo", input="hi")
        )
        assert (await meanwhile.result()).output == "hi"  # the worker is not frozen
        answered = loop.time() - began
        result = await failed_result(runaway)
        stopped = loop.time() - began
    error = result.steps["price"].error
    assert error is not None and error.type == ErrorType.FUNCTION_STOPPED and error.non_retryable
    assert error.message == "function 'price' ran longer than 2 s and was stopped"
    assert result.steps["price"].attempts == 1
    assert answered < 2 < stopped < 10


async def test_limits_and_errors_of_isolated_functions(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    async with running_worker(env.client, isolated, task_queue):
        memory = await failed_result(
            await start(
                env.client, task_queue, Pipeline("hoard").code("h", "hoard", input={"item": "x"})
            )
        )
        refused = await failed_result(
            await start(env.client, task_queue, priced({"item": "out of stock"}))
        )
    error = memory.steps["h"].error
    assert error is not None and error.type == ErrorType.FUNCTION_STOPPED
    assert error.message == "function 'hoard' ran out of memory (limit 256 MiB)"
    # What the function raises comes back as itself: its type, message and retryability.
    error = refused.steps["price"].error
    assert error is not None and (error.type, error.message) == ("OutOfStock", "no stock left")
    assert error.non_retryable and refused.steps["price"].attempts == 1


def test_only_a_synchronous_function_can_be_isolated() -> None:
    async def fetch(order: Order) -> str:
        return order.item

    with pytest.raises(TypeError, match="only a synchronous function can run isolated"):
        Registry().function(isolated=True)(fetch)


@isolated.tools.tool(isolated=True, timeout=timedelta(seconds=3))
def rounding(order: Order) -> str:
    """Rounds 12345 to the digits asked for."""
    return str(round(12345, order.digits))


async def test_an_isolated_tool_is_stopped_at_its_timeout_and_the_model_is_told() -> None:
    activities = ToolActivities(isolated.tools)

    async def call(digits: int) -> ToolCallResult:
        request = ToolCallRequest(
            tool="rounding",
            arguments=json.dumps({"item": "tea", "digits": digits}),
            step_id="s",
            call_id="c",
            allowed=["rounding"],
        )
        return await ActivityEnvironment().run(activities.run, request)

    assert (await call(-2)).content == "12300"
    stopped = await call(-(10**8))
    assert (stopped.ok, stopped.error_type) == (False, ErrorType.TOOL_ERROR)
    assert stopped.content == "the tool 'rounding' ran longer than 2 s and was stopped"
