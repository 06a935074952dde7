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


def to_mermaid(steps: Sequence[StepBase]) -> str:
    """A Mermaid flowchart of the steps (rendered by GitHub and most Markdown viewers)."""
    lines = ["flowchart LR"]
    for step in steps:
        label = f"{step.id}<br/><i>{step.kind}</i>"
        lines.append(f'    {_node(step.id)}["{label}"]')
    for step in steps:
        for dep in step.depends_on:
            lines.append(f"    {_node(dep)} --> {_node(step.id)}")
        for value, target in kind_of(step).routes(step):
            lines.append(f"    {_node(step.id)} -. {value} .-> {_node(target)}")
    return "\n".join(lines)


def _node(step_id: str) -> str:
    return "s_" + step_id.replace("-", "_")
