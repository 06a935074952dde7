"""Executor of `router` steps: an agent loop whose answer is one of the described choices."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from workflows.kinds.agent import AgentLoop

with workflow.unsafe.imports_passed_through():
    from taskagent.kinds.context import StepContext, StepOutcome
    from taskagent.kinds.router import RouterStep
    from taskagent.llm.prompts import router_goal, router_schema


async def execute(ctx: StepContext, step: RouterStep, value: Any) -> StepOutcome:
    schema = router_schema(list(step.choices))
    goal = router_goal(step.goal, step.choices)
    return await AgentLoop(ctx, step, goal, schema, schema).run(value)
