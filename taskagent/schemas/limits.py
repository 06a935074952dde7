"""The bounds of every check (sizes and counts, never time), their messages, and small helpers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Largest schema, as compact UTF-8 JSON.
MAX_SCHEMA_BYTES = 256 * 1024
#: Deepest nesting of objects and arrays in a schema document; also the longest chain of
#: subschemas applied to one and the same value ($ref, allOf, anyOf, oneOf, not, if/then/else,
#: dependentSchemas, ...).
MAX_SCHEMA_DEPTH = 64
#: Deepest nesting of objects and arrays in a value that `schema_errors` checks.
MAX_VALUE_DEPTH = 200
#: Most errors `schema_errors` (and problems `check_schema`) lists; one more line says how many
#: were left out.
MAX_ERRORS = 50
#: Most keyword evaluations for one check (a value against a schema, or a schema against its
#: meta-schema); past it the check stops with one error. One takes 5 to 20 microseconds, so a
#: check stays around a second at worst: well inside Temporal's 2-second deadlock detector for
#: workflow code. (Schemas with more than about 1,500 subschemas exceed it at the meta-schema.)
MAX_STEPS = 50_000
#: Deepest nesting of keyword evaluations while checking a value (each takes about three Python
#: frames; 200 keeps a check far below Python's default recursion limit of 1000). Recursive
#: schemas take about two per level of the value, so values about 100 levels deep still check.
MAX_EVAL_DEPTH = 200
#: Longest message kept; jsonschema quotes the offending value, which may be large.
MAX_MESSAGE_CHARS = 500

DIALECTS = "drafts 3, 4, 6, 7, 2019-09 and 2020-12"
INVALID = "the schema is unusable"
TOO_DEEP = (
    f"the value is nested too deeply to check against this schema "
    f"(more than {MAX_EVAL_DEPTH} nested schema keywords)"
)
TOO_LONG = f"checking takes more than {MAX_STEPS} schema keyword evaluations"
TOO_COMPLEX = "the schema is too complex to check against its meta-schema"

#: A location in a schema document: the keys and indexes that lead to it.
Location = tuple[str | int, ...]


class Exhausted(Exception):
    """A check went past MAX_STEPS or MAX_EVAL_DEPTH."""


def clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def capped(errors: list[tuple[str, str]], noun: str = "error") -> list[tuple[str, str]]:
    if len(errors) <= MAX_ERRORS:
        return errors
    left = len(errors) - MAX_ERRORS
    more = f"{left} more {noun}{'s' if left != 1 else ''} not listed (at most {MAX_ERRORS} are)"
    return [*errors[:MAX_ERRORS], ("", more)]


def nested_deeper(value: Any, limit: int) -> bool:
    """Whether objects/arrays in `value` nest more than `limit` levels (iteratively)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def pointer(parts: Location) -> str:
    """A JSON pointer fragment for a location in a schema document: #/properties/a~1b."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "#" + "".join("/" + p for p in escaped)


def located(parts: Location) -> str:
    """' (at #/properties/a)' for a message, '' at the root."""
    return f" (at {pointer(parts)})" if parts else ""
