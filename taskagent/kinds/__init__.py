"""The step kinds TaskAgent knows, and the functions that iterate them.

Adding a kind: write its contract module here (spec model, checks, output schema, builder; see
`base.StepKind`), its executor under `workflows/kinds/`, and add its module's name to `MODULES`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from typing import Any

from taskagent.kinds.base import Catalog, StepBase, StepKind

MODULES = (
    "code",
    "switch",
    "parallel",
    "subpipeline",
    "agent",
    "router",
    "approval",
    "wait",
    "chat",
    "send",
    "receive",
)
"""The registry: each module declares one kind as `KIND`, in this order (the JSON Schema's)."""

KINDS: tuple[StepKind, ...] = tuple(
    importlib.import_module(f"{__name__}.{name}").KIND for name in MODULES
)

BY_NAME: dict[str, StepKind] = {kind.name: kind for kind in KINDS}
STEP_KINDS: tuple[str, ...] = tuple(BY_NAME)


def kind_of(step: StepBase) -> StepKind:
    """The declaration of a step's kind."""
    return BY_NAME[step.kind]


def keyed_steps(steps: Sequence[StepBase], prefix: str = "") -> Iterator[tuple[str, StepBase]]:
    """Every step with the key of its record: `id`, or `parent/child` for nested steps."""
    for step in steps:
        key = f"{prefix}{step.id}"
        yield key, step
        yield from keyed_steps(kind_of(step).children(step), f"{key}/")


def targets(step: StepBase) -> list[str]:
    """The top-level steps this step may select (a switch's routes), without repeats."""
    return list(dict.fromkeys(target for _, target in kind_of(step).routes(step)))


def output_schema(step: StepBase, catalog: Catalog | None) -> dict[str, Any] | None:
    """The JSON Schema of a step's output, where it is known."""
    return kind_of(step).output_schema(step, catalog, lambda child: output_schema(child, catalog))


__all__ = [
    "BY_NAME",
    "KINDS",
    "STEP_KINDS",
    "StepKind",
    "keyed_steps",
    "kind_of",
    "output_schema",
    "targets",
]
