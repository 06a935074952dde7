"""Approval steps: a person approves or rejects the step's input, optionally editing it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.results import StepStatus
    from taskagent.spec import ApprovalStep
    from workflows.failures import StepExecutionError
    from workflows.steps.base import StepOutcome

if TYPE_CHECKING:
    from workflows.engine import PipelineRun

REJECTED = "Rejected"


async def run_approval_step(
    run: PipelineRun, step: ApprovalStep, key: str, value: Any
) -> StepOutcome:
    record = run.result.steps[key]
    wait = step.wait.total_seconds() if step.wait is not None else None
    decision = await run.desk.wait_for_approval(record, wait, step.payload_schema)
    record.status = StepStatus.RUNNING
    record.reason = None
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
        raise StepExecutionError(
            REJECTED, f"rejected by {output['by'] or 'an approver'}: {output['comment']}"
        )
    return StepOutcome(output=output)
