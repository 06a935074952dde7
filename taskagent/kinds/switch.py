"""The `switch` kind: routes to steps by the value of an expression; the others are SKIPPED."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from taskagent.kinds.base import STRICT, Catalog, CheckContext, SchemaOf, StepBase, StepKind


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


StepIds = Annotated[list[str], BeforeValidator(_as_list, json_schema_input_type=str | list[str])]
"""One step id or a list of them."""

OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"value": {}, "selected": {"type": "array", "items": {"type": "string"}}},
}


class SwitchStep(StepBase):
    """Routes to steps by the value of an expression; the steps not chosen are SKIPPED."""

    kind: Literal["switch"]
    value: str = Field(description="Expression whose value selects the route.")
    routes: dict[str, StepIds] = Field(description="Value -> ids of the steps to run.")
    default: StepIds | None = Field(
        None, description="Steps to run when no route matches; without it, no match is an error."
    )

    @field_validator("routes", mode="before")
    @classmethod
    def _route_names(cls, value: Any) -> Any:
        if isinstance(value, dict):  # YAML reads `true:` and `1:` as non-string keys
            return {route_key(key): targets for key, targets in value.items()}
        return value

    def targets(self) -> list[str]:
        """Every step this switch may select, in declaration order, without repeats."""
        return list(dict.fromkeys(target for _, target in _routes(self)))


def route_key(value: Any) -> str:
    """The route name a value selects: strings as they are, booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def switch(
    step_id: str,
    value: str,
    routes: dict[str, str | list[str]],
    default: str | list[str] | None = None,
    **fields: Any,
) -> SwitchStep:
    """A switch routing to steps by the value of the expression `value`."""
    data = {"kind": "switch", "id": step_id, "value": value, "routes": routes, **fields}
    if default is not None:
        data["default"] = default
    return SwitchStep.model_validate(data, context=STRICT)


def _routes(step: SwitchStep) -> Sequence[tuple[str, str]]:
    edges = [(label, target) for label, targets in step.routes.items() for target in targets]
    return edges + [("default", target) for target in step.default or []]


def _check(step: SwitchStep, ctx: CheckContext, where: str) -> None:
    ctx.expression(step.value, f"{where}.value")


def _output_schema(step: SwitchStep, catalog: Catalog | None, _: SchemaOf) -> dict[str, Any]:
    return OUTPUT_SCHEMA


KIND = StepKind(
    name="switch",
    spec=SwitchStep,
    executor="workflows.kinds.switch",
    builder=switch,
    check=_check,
    output_schema=_output_schema,
    routes=_routes,
    top_level_only="a switch cannot be a branch: it routes between top-level steps",
)
