"""The `parallel` kind: concurrent branches, each with its own copy of the input, then a merge."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from taskagent.kinds.base import STRICT, Catalog, CheckContext, SchemaOf, StepBase, StepKind
from taskagent.kinds.code import function_name

if TYPE_CHECKING:
    from taskagent.spec import Step

BUILTIN_MERGES = ("object", "list", "update")


class ParallelStep(StepBase):
    """Concurrent branches, each with its own copy of the input, merged by a declared merge."""

    kind: Literal["parallel"]
    branches: list[Step] = Field(min_length=1)
    merge: str = Field(
        "object",
        description=(
            "`object` (outputs keyed by branch id), `list` (outputs in branch order), "
            "`update` (shallow merge of object outputs in branch order), or the name of a "
            "registered function that receives the outputs keyed by branch id."
        ),
    )


def parallel(
    step_id: str,
    branches: Sequence[StepBase],
    merge: str | Callable[..., Any] = "object",
    **fields: Any,
) -> ParallelStep:
    """Concurrent branches merged by `merge` (a built-in name or a registered function)."""
    data = {
        "kind": "parallel",
        "id": step_id,
        "branches": list(branches),
        "merge": function_name(merge),
        **fields,
    }
    return ParallelStep.model_validate(data, context=STRICT)


def _branches(step: ParallelStep) -> Sequence[StepBase]:
    return step.branches


def _check(step: ParallelStep, ctx: CheckContext, where: str) -> None:
    seen: set[str] = set()
    for branch in step.branches:
        at = f"{where}.branch {branch.id!r}"
        if branch.id in seen:
            ctx.problem(at, "duplicate branch id")
        seen.add(branch.id)
        if branch.depends_on:
            ctx.problem(at, "branches cannot have depends_on; put it on the parallel step")
        ctx.branch(branch, at)
    if step.merge not in BUILTIN_MERGES:
        ctx.function(step.merge, f"{where}.merge", builtins=BUILTIN_MERGES)


def _output_schema(
    step: ParallelStep, catalog: Catalog | None, schema_of: SchemaOf
) -> dict[str, Any] | None:
    if step.merge != "object":
        return None
    properties = {branch.id: schema_of(branch) or {} for branch in step.branches}
    return {"type": "object", "properties": properties}


KIND = StepKind(
    name="parallel",
    spec=ParallelStep,
    executor="workflows.kinds.parallel",
    builder=parallel,
    check=_check,
    output_schema=_output_schema,
    children=_branches,
)
