"""The TaskAgent side. Every TaskAgent-specific line of the harness is in this module.

It touches only stable entry points: `worker.build_worker`, `taskagent.Registry`,
`taskagent.Pipeline`, `taskagent.names.PIPELINE_WORKFLOW`, the run request
`{"pipeline": name, "input": {...}}` (a plain dict) and the offline ProviderFactory.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from bench.shapes import FUNCTIONS, Shape, Value
from bench.sides import Side
from taskagent import Pipeline, Registry
from taskagent.llm.factory import ProviderFactory, ProviderSettings
from taskagent.names import PIPELINE_WORKFLOW
from taskagent.storage import data_converter
from worker import build_worker as taskagent_worker

AGENT_GOAL = "Answer the question in one sentence."


def pipeline(shape: Shape) -> Pipeline:
    """Code steps s0..sN-1 calling the shape's function, chained by `depends_on` or independent.

    The `answer` shape is one agent step on the offline model (free text, no tools).
    """
    built = Pipeline(shape.name)
    if shape.function == "answer":
        return built.agent("answer", AGENT_GOAL)
    for i in range(shape.steps):
        after = [] if shape.parallel or i == 0 else [f"s{i - 1}"]
        built.code(f"s{i}", shape.function, depends_on=after)
    return built


def registry(shapes: list[Shape]) -> Registry:
    """The bench functions (normal activities, not local) and one pipeline per shape."""
    found = Registry()
    for name, function in FUNCTIONS.items():
        found.function(name)(function)
    for shape in shapes:
        found.add_pipeline(pipeline(shape))
    errors = found.check()  # as worker.py's build_registry does at start-up
    if errors:
        raise ValueError("\n".join(str(error) for error in errors))
    return found


def build_worker(client: Client, task_queue: str, shapes: list[Shape]) -> Worker:
    providers = ProviderFactory(ProviderSettings(TASKAGENT_DEFAULT_MODEL="offline:default"))
    return taskagent_worker(
        client, registry(shapes), task_queue, providers, graceful_shutdown=timedelta(0)
    )


def request(shape: Shape, value: Value) -> dict[str, Any]:
    return {"pipeline": shape.name, "input": value}


def output(result: Any) -> Any:
    """A run's final output: with a single last step, that step's output."""
    return result["output"]


SIDE = Side("taskagent", PIPELINE_WORKFLOW, build_worker, request, output, data_converter())
