"""What a benchmark run executes, in terms both sides understand, and the user code they run.

Both sides run the same functions: as bare Temporal activities, and as TaskAgent code steps.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel

Value = dict[str, Any]
CANNED_ANSWER = (
    "Offline answer to: Goal: Answer the question in one sentence. Input: What is the capital of "
    'France? {"question": "What is the capital of France?"} The answer is Paris, the capital.'
)
"""The bare side's stand-in for the offline model's answer to the agent step: about as long."""


async def noop(value: Value) -> Value:
    """A step that does nothing: what remains is the framework's cost."""
    return value


async def sleep50(value: Value) -> Value:
    """A step that waits 50 ms, as a light I/O-bound step would."""
    await asyncio.sleep(0.05)
    return value


async def stamp(value: Value) -> float:
    """The wall-clock time at which the step ran (seconds since the epoch)."""
    return time.time()


async def answer(value: Value) -> str:
    """A canned answer (the TaskAgent side runs an agent step on the offline model instead)."""
    return CANNED_ANSWER


FUNCTIONS: dict[str, Callable[[Value], Awaitable[Any]]] = {
    "noop": noop,
    "sleep50": sleep50,
    "stamp": stamp,
    "answer": answer,
}


@dataclass(frozen=True)
class Shape:
    """`steps` calls of `function`, one after the other (each on the previous output) or all
    at once (each on the input)."""

    function: str
    steps: int
    parallel: bool = False

    @property
    def name(self) -> str:
        return f"{self.function}_{'fan' if self.parallel else 'chain'}_{self.steps}"


def shapes_to_json(shapes: list[Shape]) -> str:
    return json.dumps([asdict(shape) for shape in shapes])


def shapes_from_json(text: str) -> list[Shape]:
    return [Shape(**item) for item in json.loads(text)]


class BareRequest(BaseModel):
    """The bare workflow's input: a Shape and the value the first calls receive."""

    function: str
    steps: int
    parallel: bool = False
    input: Value
