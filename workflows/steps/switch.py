"""Switch steps: route by a value; the steps not chosen are recorded SKIPPED."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.errors import NO_ROUTE
    from taskagent.expressions import parse_condition
    from taskagent.spec import SwitchStep
    from workflows.failures import StepExecutionError
    from workflows.steps.base import StepOutcome

if TYPE_CHECKING:
    from workflows.engine import PipelineRun


def route_key(value: Any) -> str:
    """The route name a value selects: strings as they are, booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


async def run_switch_step(run: PipelineRun, step: SwitchStep, key: str, value: Any) -> StepOutcome:
    chosen = parse_condition(step.value).evaluate(run.scope())
    route = route_key(chosen)
    selected = step.routes.get(route, step.default)
    if selected is None:
        routes = ", ".join(step.routes) or "none"
        raise StepExecutionError(
            NO_ROUTE, f"switch {key!r}: value {route!r} has no route (routes: {routes})"
        )
    skip = {
        target: f"not selected by switch {key!r} (value {route!r})"
        for target in step.targets()
        if target not in selected
    }
    return StepOutcome(output={"value": chosen, "selected": list(selected)}, skip=skip)
