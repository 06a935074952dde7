"""The two sides under test, each behind the same small interface."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.worker import Worker

from bench.shapes import Shape, Value

SIDE_MODULES = {"bare": "bench.bare", "taskagent": "bench.taskagent_side"}


@dataclass(frozen=True)
class Side:
    """How one side builds its worker, starts a run of a Shape and reads the run's output."""

    name: str
    workflow: str
    build_worker: Callable[[Client, str, list[Shape]], Worker]
    """A worker on the task queue that can run every shape given."""
    request: Callable[[Shape, Value], Any]
    """The workflow input that runs the shape on the value."""
    output: Callable[[Any], Any]
    """The run's output, from the workflow result decoded as plain JSON data."""
    data_converter: DataConverter = pydantic_data_converter
    """The converter the side's worker uses (TaskAgent's worker.py uses its own)."""


def load_side(name: str) -> Side:
    """Imported on demand, so that a bare worker process never imports TaskAgent."""
    side = importlib.import_module(SIDE_MODULES[name]).SIDE
    assert isinstance(side, Side)
    return side
