"""The dependency graph of a pipeline: effective dependencies, cycles, ancestry, rendering."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from graphlib import CycleError, TopologicalSorter

from taskagent.kinds import kind_of, targets
from taskagent.kinds.base import StepBase


def effective_dependencies(steps: Sequence[StepBase]) -> dict[str, list[str]]:
    """Declared dependencies plus the implicit one of every routed step on its router (switch)."""
    deps: dict[str, list[str]] = {step.id: list(step.depends_on) for step in steps}
    for step in steps:
        for target in targets(step):
            if target in deps and step.id not in deps[target]:
                deps[target].append(step.id)
    return deps


def find_cycle(deps: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A dependency cycle as a path that ends where it starts, or None."""
    known = {node: [d for d in edges if d in deps] for node, edges in deps.items()}
    try:
        tuple(TopologicalSorter(known).static_order())
    except CycleError as err:
        return list(reversed(err.args[1]))
    return None


def ancestors(deps: Mapping[str, Iterable[str]], node: str) -> set[str]:
    """Every step that `node` transitively depends on."""
    seen: set[str] = set()
    stack = list(deps.get(node, ()))
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(deps.get(current, ()))
    return seen


def sinks(deps: Mapping[str, Iterable[str]]) -> list[str]:
    """Steps that nothing depends on, in declaration order."""
    used = {dep for edges in deps.values() for dep in edges}
    return [node for node in deps if node not in used]


def routes_to(steps: Sequence[StepBase]) -> dict[str, list[str]]:
    """For each step a router or switch may select, the choices that select it
    (`route = billing`), in declaration order."""
    chosen: dict[str, list[str]] = {}
    for step in steps:
        for value, target in kind_of(step).routes(step):
            chosen.setdefault(target, []).append(f"{step.id} = {value}")
    return chosen
