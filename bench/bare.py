"""The bare side: BareWorkflow and the functions of bench.shapes as plain activities."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from bench.bare_workflow import BARE_WORKFLOW, BareWorkflow
from bench.shapes import FUNCTIONS, BareRequest, Shape, Value
from bench.sides import Side

ACTIVITIES = [activity.defn(name=name)(function) for name, function in FUNCTIONS.items()]


def build_worker(client: Client, task_queue: str, shapes: list[Shape]) -> Worker:
    """A worker with default options; every shape runs on the same workflow and activities."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[BareWorkflow],
        activities=ACTIVITIES,
        graceful_shutdown_timeout=timedelta(0),
    )


def request(shape: Shape, value: Value) -> BareRequest:
    return BareRequest(
        function=shape.function, steps=shape.steps, parallel=shape.parallel, input=value
    )


def output(result: Any) -> Any:
    return result


SIDE = Side("bare", BARE_WORKFLOW, build_worker, request, output)
