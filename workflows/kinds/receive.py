"""Executor of `receive` steps: the next message sent to the run (of the step's topic)."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.kinds.context import StepContext, StepOutcome
    from taskagent.kinds.receive import ReceiveStep


async def execute(ctx: StepContext, step: ReceiveStep, value: Any) -> StepOutcome:
    if ctx.dry_run:
        return ctx.stand_in("no message awaited: a placeholder message")
    message = await ctx.wait_for_message(step.topic)
    return StepOutcome(output=message.model_dump(mode="json"))
