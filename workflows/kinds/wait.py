"""Executor of `wait` steps: a durable timer, then the input passes on."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.kinds.context import StepContext, StepOutcome
    from taskagent.kinds.wait import WaitStep


async def execute(ctx: StepContext, step: WaitStep, value: Any) -> StepOutcome:
    if ctx.dry_run:
        return ctx.stand_in(f"did not wait {step.duration}", value)
    due = workflow.now() + step.duration
    await asyncio.sleep(step.duration.total_seconds())  # in a workflow: a durable timer
    ctx.record_finish(due)
    return StepOutcome(output=value)
