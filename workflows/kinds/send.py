"""Executor of `send` steps: one message, delivered by an activity (a signal, or a publication to
a topic's workflow); the step's output is the message, so the sender's record shows it."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.expressions import resolve_mapping
    from taskagent.kinds.context import StepContext, StepOutcome
    from taskagent.kinds.send import SendStep
    from taskagent.messages import DeliverMessage, PipelineMessage
    from taskagent.names import DELIVER_MESSAGE_ACTIVITY


async def execute(ctx: StepContext, step: SendStep, value: Any) -> StepOutcome:
    info = workflow.info()
    to = resolve_mapping(step.to, ctx.scope()) if step.to is not None else None
    message = PipelineMessage(
        id=f"{info.workflow_id}/{info.run_id}/{ctx.key}/{ctx.execution}",
        sender=f"{info.workflow_id}/{ctx.key}",
        to=str(to) if to is not None else None,
        topic=step.topic,
        payload=value,
        sent_at=workflow.now(),
    )
    where = f"topic {step.topic}" if step.topic else f"{message.to}"
    if ctx.dry_run:
        return ctx.stand_in(f"not sent to {where}", message.model_dump(mode="json"))
    await ctx.activity(
        DELIVER_MESSAGE_ACTIVITY,
        DeliverMessage(message=message),
        result_type=type(None),
        summary=f"send to {where}",
        local=True,
    )
    return StepOutcome(output=message.model_dump(mode="json"))
