"""The `code` kind: a registered Python function with typed input and output, run as an activity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, TypeAdapter

from taskagent.kinds.base import (
    STRICT,
    Catalog,
    CheckContext,
    ResolveContext,
    SchemaOf,
    StepBase,
    StepKind,
)


class CodeStep(StepBase):
    """A registered Python function with typed input and output, run as an activity."""

    kind: Literal["code"]
    function: str = Field(description="Name of a function registered on the worker.")
    local: bool | None = Field(
        None, description="Run as a local activity (cheap, fast). Default: as registered."
    )
    side_effects: bool | None = Field(
        None,
        description="The function changes the world (pays, sends, writes): a dry run skips "
        "the step. Default: as registered.",
    )


def function_name(function: str | Callable[..., Any]) -> str:
    """The registered name of a function given by name or by the function itself."""
    if isinstance(function, str):
        return function
    return str(getattr(function, "__taskagent_name__", function.__name__))


def code(step_id: str, function: str | Callable[..., Any], **fields: Any) -> CodeStep:
    """A code step running a registered function."""
    data = {"kind": "code", "id": step_id, "function": function_name(function), **fields}
    return CodeStep.model_validate(data, context=STRICT)


def _check(step: CodeStep, ctx: CheckContext, where: str) -> None:
    ctx.function(step.function, f"{where}.function")


def _output_schema(step: CodeStep, catalog: Catalog | None, _: SchemaOf) -> dict[str, Any] | None:
    info = catalog.get_function(step.function) if catalog is not None else None
    return info.output_schema() if info is not None else None


def _output_type(step: CodeStep, catalog: Catalog) -> TypeAdapter[Any] | None:
    info = catalog.get_function(step.function)
    return info.output_adapter if info is not None else None


def _resolve(step: CodeStep, ctx: ResolveContext) -> None:
    info = ctx.catalog.get_function(step.function)
    if info is not None and info.local:
        ctx.local_function(step.function)
    if info is not None and info.side_effects:
        ctx.side_effect_function(step.function)


KIND = StepKind(
    name="code",
    spec=CodeStep,
    executor="workflows.kinds.code",
    builder=code,
    check=_check,
    output_schema=_output_schema,
    output_type=_output_type,
    resolve=_resolve,
)
