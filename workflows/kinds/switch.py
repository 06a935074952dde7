"""Executor of `switch` steps: route by a value; the steps not chosen are recorded SKIPPED."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.errors import ErrorType
    from taskagent.expressions import parse_condition
    from taskagent.kinds.context import StepContext, StepFailure, StepOutcome
    from taskagent.kinds.switch import SwitchStep, route_key


async def execute(ctx: StepContext, step: SwitchStep, value: Any) -> StepOutcome:
    chosen = parse_condition(step.value).evaluate(ctx.scope())
    route = route_key(chosen)
    selected = step.routes.get(route, step.default)
    if selected is None:
        routes = ", ".join(step.routes) or "none"
        raise StepFailure(
            ErrorType.NO_ROUTE,
            f"switch {ctx.key!r}: value {route!r} has no route (routes: {routes})",
        )
    skip = {
        target: f"not selected by switch {ctx.key!r} (value {route!r})"
        for target in step.targets()
        if target not in selected
    }
    return StepOutcome(output={"value": chosen, "selected": list(selected)}, skip=skip)
