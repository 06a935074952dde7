"""The dependency graph of a pipeline: effective dependencies, cycles, ancestry, rendering."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from graphlib import CycleError, TopologicalSorter

from taskagent.spec import StepBase, SwitchStep


def effective_dependencies(steps: Sequence[StepBase]) -> dict[str, list[str]]:
    """Declared dependencies plus the implicit one of every switch target on its switch."""
    deps: dict[str, list[str]] = {step.id: list(step.depends_on) for step in steps}
    for step in steps:
        if isinstance(step, SwitchStep):
            for target in step.targets():
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
        label = f"{step.id}<br/><i>{step.kind}</i>"  # type: ignore[attr-defined]
        lines.append(f'    {_node(step.id)}["{label}"]')
    for step in steps:
        for dep in step.depends_on:
            lines.append(f"    {_node(dep)} --> {_node(step.id)}")
        if isinstance(step, SwitchStep):
            for value, targets in step.routes.items():
                for target in targets:
                    lines.append(f"    {_node(step.id)} -. {value} .-> {_node(target)}")
            for target in step.default or []:
                lines.append(f"    {_node(step.id)} -. default .-> {_node(target)}")
    return "\n".join(lines)


def _node(step_id: str) -> str:
    return "s_" + step_id.replace("-", "_")
