"""The executor of every step kind, found through the kinds registry (`taskagent.kinds`).

Each kind declares the module of its executor. A run imports an executor the first time one of
its steps needs it, with the import machinery that Python code normally uses, so executors stay
inside Temporal's workflow sandbox, and a run re-imports only the kinds it uses (the sandbox
imports workflow code again for every run).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.kinds import BY_NAME
    from taskagent.kinds.context import StepContext, StepOutcome

Executor = Callable[[StepContext, Any, Any], Awaitable[StepOutcome]]

_loaded: dict[str, Executor] = {}


def executor(kind: str) -> Executor:
    """The `execute` function of a kind's executor module."""
    found = _loaded.get(kind)
    if found is None:
        # Importing after the workflow module loaded is intended here: no warning.
        quiet = workflow.SandboxImportNotificationPolicy.SILENT
        with workflow.unsafe.sandbox_import_notification_policy(quiet):
            module = __import__(BY_NAME[kind].executor, fromlist=["execute"])
        found = _loaded[kind] = module.execute
    return found
