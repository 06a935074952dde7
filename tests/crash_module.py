"""Pipelines served by worker subprocesses in tests/test_crash_recovery.py.

Every execution is counted in files under CRASH_TEST_DIR, so the test can prove what ran twice.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pydantic import BaseModel

from taskagent import Pipeline, Registry

registry = Registry()


def _dir() -> Path:
    return Path(os.environ.get("CRASH_TEST_DIR", "."))


def _count(name: str) -> None:
    with (_dir() / f"{name}.runs").open("a") as runs:
        runs.write("run\n")


class Gate(BaseModel):
    name: str


class Numbers(BaseModel):
    a: int
    b: int


@registry.function()
def wait_for_file(gate: Gate) -> dict[str, str]:
    """Block until the test creates the gate file (the activity heartbeats meanwhile)."""
    _count("gate")
    while not (_dir() / gate.name).exists():
        time.sleep(0.05)
    return {"opened": gate.name}


@registry.tools.tool(description="Add two integers.")
def counted_add(args: Numbers) -> str:
    _count("tool")
    return str(args.a + args.b)


registry.add_pipeline(
    Pipeline("crash_test", model="openai:gpt-crash")
    .agent("think", "Think about the input.")
    .agent("use_tool", "Add numbers.", depends_on=["think"], tools=["counted_add"])
    .code("gate", "wait_for_file", depends_on=["use_tool"], input={"name": "open"})
    .agent("conclude", "Conclude.", depends_on=["gate"])
)
