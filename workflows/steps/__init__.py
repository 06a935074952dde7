"""Step kinds: each kind is one executor the engine calls through its choke point.

An executor is `async (run, step, key, value) -> StepOutcome`. A new kind registers here and
needs no change to the engine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from workflows.steps.agent import run_agent_step, run_router_step
from workflows.steps.approval import run_approval_step
from workflows.steps.base import StepOutcome
from workflows.steps.code import run_code_step
from workflows.steps.parallel import run_parallel_step
from workflows.steps.subpipeline import run_subpipeline_step
from workflows.steps.switch import run_switch_step

if TYPE_CHECKING:
    from workflows.engine import PipelineRun

Executor = Callable[["PipelineRun", Any, str, Any], Awaitable[StepOutcome]]

EXECUTORS: dict[str, Executor] = {
    "code": run_code_step,
    "switch": run_switch_step,
    "parallel": run_parallel_step,
    "pipeline": run_subpipeline_step,
    "agent": run_agent_step,
    "router": run_router_step,
    "approval": run_approval_step,
}

__all__ = ["EXECUTORS", "Executor", "StepOutcome"]
