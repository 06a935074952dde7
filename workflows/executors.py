"""The executor of every step kind, found through the kinds registry (`taskagent.kinds`).

Each kind declares the module of its executor; importing it here with the import machinery that
Python code normally uses keeps the executors inside Temporal's workflow sandbox.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow

from workflows.kinds.context import StepContext, StepOutcome

with workflow.unsafe.imports_passed_through():
    from taskagent.kinds import KINDS

Executor = Callable[[StepContext, Any, Any], Awaitable[StepOutcome]]


def _executor(module: str) -> Executor:
    loaded = __import__(module, fromlist=["execute"])
    execute: Executor = loaded.execute
    return execute


EXECUTORS: dict[str, Executor] = {kind.name: _executor(kind.executor) for kind in KINDS}
