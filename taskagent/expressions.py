"""The condition language and data references: small, safe and deterministic.

Conditions are Python-like expressions (`steps.search.output.rating >= 4 and not input.quick`)
checked against a whitelist of syntax and evaluated by `simpleeval` with no functions at all:
no calls, no imports, no attribute tricks, no clocks or randomness. They read three names,
`input` (the pipeline input), `steps` (`steps.<id>.output`, `steps.<id>.status`) and `memory`
(`memory.shared.<key>`, `memory.<step>.<key>`: see taskagent.memory).

Input mappings use references: `$input.company`, `$steps.search.output.name`,
`$memory.shared.visits`.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from simpleeval import EvalWithCompoundTypes, InvalidExpression

ROOTS = ("input", "steps", "memory")
LITERAL_NAMES: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "True": True,
    "False": False,
    "None": None,
}

Path = tuple[str | int, ...]

MAX_CONDITION_CHARS = 2000
MAX_CONDITION_NODES = 300
MAX_CONDITION_DEPTH = 40
LITERAL_TYPES = (str, int, float, bool, type(None))
MAX_INT_BITS = 100

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
    ast.IfExp,
    ast.Name,
    ast.Attribute,
    ast.Subscript,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Load,
)


class ExpressionError(ValueError):
    """An expression or reference that cannot be parsed, or a construct that is not allowed."""


@dataclass(frozen=True)
class Condition:
    """A parsed, checked condition; evaluate it as often as needed."""

    text: str
    tree: ast.Expression
    references: tuple[Path, ...]

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        """Evaluate over `scope` (`input`, `steps`); a missing field reads as null.

        Raises ExpressionError on a runtime error such as comparing null with a number.
        """
        evaluator = _DataEvaluator(names={**LITERAL_NAMES, **scope}, functions={})
        try:
            return evaluator.eval(self.text, previously_parsed=self.tree.body)
        except (InvalidExpression, ArithmeticError, LookupError, TypeError, ValueError) as err:
            raise ExpressionError(f"cannot evaluate {self.text!r}: {err}") from err


class _DataEvaluator(EvalWithCompoundTypes):  # type: ignore[misc]  # simpleeval is untyped
    """Reads fields as data: `a.items` is the field `items`, and a missing link reads as null."""

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        return child(self._eval(node.value), node.attr)

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        return child(self._eval(node.value), self._eval(node.slice))


@lru_cache(maxsize=256)
def parse_condition(text: str) -> Condition:
    """Parse and check a condition, naming the first construct that is not allowed."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ExpressionError(f"invalid syntax in {text!r}: {err.msg}") from err
    except (RecursionError, MemoryError, ValueError) as err:
        raise ExpressionError(f"{_short(text)} is nested too deeply to parse") from err
    references: list[Path] = []
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(
                f"{type(node).__name__} is not allowed in {text!r}: only comparisons, "
                "and/or/not, arithmetic, literals and references to input, steps and memory"
            )
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ExpressionError(f"private attribute {node.attr!r} is not allowed in {text!r}")
        if isinstance(node, ast.Name) and node.id not in ROOTS and node.id not in LITERAL_NAMES:
            raise ExpressionError(
                f"unknown name {node.id!r} in {text!r}: use input.<field>, steps.<id>.output "
                "or memory.shared.<key>"
            )
    _collect_references(tree.body, references)
    return Condition(text=text.strip(), tree=tree, references=tuple(references))


def check_condition(text: str) -> Condition:
    """`parse_condition` plus the bounds a person's spec must respect (checked at validation).

    Bounded size and nesting, so that no condition can stall a workflow task, and plain literals
    only (strings, numbers up to 2**100, booleans, null).
    """
    if len(text) > MAX_CONDITION_CHARS:
        raise ExpressionError(
            f"{_short(text)} is {len(text)} characters long; at most {MAX_CONDITION_CHARS}"
        )
    condition = parse_condition(text)
    nodes = 0
    stack: list[tuple[ast.AST, int]] = [(condition.tree, 0)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > MAX_CONDITION_NODES:
            raise ExpressionError(f"{_short(text)} has more than {MAX_CONDITION_NODES} parts")
        if depth > MAX_CONDITION_DEPTH:
            raise ExpressionError(f"{_short(text)} nests deeper than {MAX_CONDITION_DEPTH} levels")
        if isinstance(node, ast.Constant):
            _check_literal(node.value, text)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return condition


def _check_literal(value: Any, text: str) -> None:
    if not isinstance(value, LITERAL_TYPES):
        raise ExpressionError(
            f"the literal {value!r} is not allowed in {_short(text)}: use strings, numbers, "
            "true, false or null"
        )
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ExpressionError(f"a number in {_short(text)} is too large (over {MAX_INT_BITS} bits)")


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _collect_references(node: ast.AST, out: list[Path]) -> None:
    path = _reference_path(node)
    if path is not None:
        out.append(path)
        return
    for child in ast.iter_child_nodes(node):
        _collect_references(child, out)


def _reference_path(node: ast.AST) -> Path | None:
    """The path of a chain such as `steps.a.output["x"][0]`, or None if it is not a chain."""
    parts: list[str | int] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
            if not isinstance(key, str | int):
                return None
            parts.append(key)
            node = node.value
        elif isinstance(node, ast.Name) and node.id in ROOTS:
            parts.append(node.id)
            return tuple(reversed(parts))
        else:
            return None


def parse_reference(text: str) -> Path | None:
    """The path of a `$root.a.b` reference string; None for a literal (including `$$` escapes)."""
    if not text.startswith("$") or text.startswith("$$"):
        return None
    parts: list[str | int] = []
    for part in text[1:].split("."):
        if not part:
            raise ExpressionError(f"empty segment in reference {text!r}")
        parts.append(int(part) if part.isascii() and part.isdecimal() else part)
    if parts[0] not in ROOTS:
        raise ExpressionError(f"reference {text!r} must start with $input, $steps or $memory")
    return tuple(parts)


def mapping_references(template: Any) -> list[tuple[str, Path]]:
    """Every reference in an input mapping, with the text it came from."""
    found: list[tuple[str, Path]] = []
    if isinstance(template, str):
        path = parse_reference(template)
        if path is not None:
            found.append((template, path))
    elif isinstance(template, Mapping):
        for value in template.values():
            found.extend(mapping_references(value))
    elif isinstance(template, list):
        for value in template:
            found.extend(mapping_references(value))
    return found


def child(container: Any, key: Any) -> Any:
    """A field of an object or an item of a list; None when there is no such thing."""
    if isinstance(container, Mapping):
        return container.get(key)
    if isinstance(container, list) and type(key) is int and -len(container) <= key < len(container):
        return container[key]
    return None


def lookup(scope: Mapping[str, Any], path: Path) -> Any:
    """Follow `path` through nested objects and lists; a missing link yields None."""
    current: Any = scope
    for part in path:
        current = child(current, part)
    return current


def resolve_mapping(template: Any, scope: Mapping[str, Any]) -> Any:
    """Replace every reference in `template` by the value it points to in `scope`."""
    if isinstance(template, str):
        if template.startswith("$$"):
            return template[1:]
        path = parse_reference(template)
        return template if path is None else lookup(scope, path)
    if isinstance(template, Mapping):
        return {key: resolve_mapping(value, scope) for key, value in template.items()}
    if isinstance(template, list):
        return [resolve_mapping(value, scope) for value in template]
    return template
