"""Executor of `approval` steps: a person approves or rejects the input, optionally editing it."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.errors import ErrorType
    from taskagent.kinds.approval import ApprovalStep
    from taskagent.kinds.context import StepContext, StepFailure, StepOutcome


async def execute(ctx: StepContext, step: ApprovalStep, value: Any) -> StepOutcome:
    if ctx.dry_run:
        approved = {"approved": True, "comment": "", "payload": value, "by": "dry run"}
        approved["timed_out"] = False
        return ctx.stand_in("no approval asked for: approved", approved)
    asked = {"prompt": step.prompt, "payload": value}
    decision = await ctx.wait_for_approval(step.wait, step.payload_schema, asked)
    if decision is None:
        output = {
            "approved": step.on_timeout == "approve",
            "comment": f"no decision within {step.wait}: {step.on_timeout} by default",
            "payload": value,
            "by": "timeout",
            "timed_out": True,
        }
    else:
        output = {
            "approved": decision.approved,
            "comment": decision.comment,
            "payload": value if decision.payload is None else decision.payload,
            "by": decision.by,
            "timed_out": False,
        }
    if not output["approved"]:
        raise StepFailure(
            ErrorType.REJECTED,
            f"rejected by {output['by'] or 'an approver'}: {output['comment']}",
            final=True,  # a person's decision, not a fault an operator could fix
        )
    return StepOutcome(output=output)
