"""Whether a path of fields can exist in data of a schema (for reference checks)."""

from __future__ import annotations

from typing import Any

import referencing.jsonschema
from referencing import Specification
from referencing._core import Resolver  # referencing exports it only for type checking

from taskagent.expressions import Path
from taskagent.schemas.engine import REGISTRY
from taskagent.schemas.limits import MAX_SCHEMA_DEPTH

#: A subschema and the resolver for the references in it.
_Node = tuple[Any, Resolver[Any]]


def schema_problem(schema: dict[str, Any] | None, path: Path) -> str | None:
    """Why `path` cannot exist in data of `schema`, or None when it can (or nobody knows).

    Follows `$ref`s inside the document (cycle-safe, never retrieving), and one level of
    `anyOf`/`oneOf`; boolean subschemas, references to non-schemas and malformed schemas give
    None. Fields are closed unless `additionalProperties` allows more.
    """
    try:
        return _schema_problem(schema, path)
    except Exception:  # a malformed schema is reported by check_schema, not here
        return None


def _schema_problem(schema: dict[str, Any] | None, path: Path) -> str | None:
    if not isinstance(schema, dict):
        return None
    rj = referencing.jsonschema
    dialect = schema.get("$schema")
    spec = rj.specification_with(
        dialect if isinstance(dialect, str) else "", default=rj.DRAFT202012
    )
    resource = spec.create_resource(schema)
    uri = resource.id() or ""
    # Not crawled: a field path needs a few pointer lookups, which never crawl.
    current: _Node | None = (schema, REGISTRY.with_resource(uri, resource).resolver(base_uri=uri))
    for index, part in enumerate(path):
        current = _deref(*current) if current else None
        if current is None or not isinstance(current[0], dict) or not current[0]:
            return None
        step = _step(spec, current, part, path[:index])
        if step is None or isinstance(step, str):
            return step
        current = step
    return None


def _step(
    spec: Specification[Any], current: _Node, part: str | int, before: Path
) -> _Node | str | None:
    """The subschema for `part` in the object subschema `current`; or why `part` cannot exist
    there (a str); or None when nobody knows."""
    node, resolver = current
    options = node.get("anyOf") or node.get("oneOf")
    if isinstance(options, list) and options:
        match = _option(spec, options, resolver, part)
        if match is None or isinstance(match, str):
            return match
        node, resolver = match
    if isinstance(part, int) and "items" in node:
        items = node["items"]
        if isinstance(items, list):
            if not 0 <= part < len(items):
                return None
            items = items[part]
        return _inside(spec, items, resolver)
    properties = node.get("properties")
    if not isinstance(properties, dict):
        return None
    if part not in properties:
        additional = node.get("additionalProperties")
        if additional or additional == {}:
            return None
        at = ".".join(str(p) for p in before)
        fields = ", ".join(properties) or "none"
        return f"has no field {part!r}{' in ' + at if at else ''} (fields: {fields})"
    return _inside(spec, properties[part], resolver)


def _option(
    spec: Specification[Any], options: list[Any], resolver: Resolver[Any], part: str | int
) -> _Node | str | None:
    """The first `anyOf`/`oneOf` option that has `part` (null and false options left out); or
    why none can (a str); or None when one is open-ended."""
    resolved = [
        _deref(*_inside(spec, option, resolver))
        for option in options
        if not (isinstance(option, dict) and option.get("type") == "null") and option is not False
    ]
    match = next((r for r in resolved if r and _has_part(r[0], part)), None)
    if match is not None:
        return match
    open_ended = any(
        r is None or not isinstance(r[0], dict) or not r[0].get("properties")
        for r in resolved
        if r is None or r[0] is not False
    )
    return None if open_ended else f"has no field {part!r}"


def _inside(spec: Specification[Any], child: Any, resolver: Resolver[Any]) -> _Node:
    if isinstance(child, dict):
        return child, resolver.in_subresource(spec.create_resource(child))
    return child, resolver


def _deref(node: Any, resolver: Resolver[Any]) -> _Node | None:
    """`node` with its `$ref`s followed (inside the document), or None when that fails, runs in
    a cycle or goes on for more than MAX_SCHEMA_DEPTH references."""
    seen: set[int] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        if id(node) in seen or len(seen) >= MAX_SCHEMA_DEPTH:
            return None  # a cycle, or a chain too long to follow: nobody knows
        seen.add(id(node))
        try:
            resolved = resolver.lookup(node["$ref"])
        except Exception:
            return None
        node, resolver = resolved.contents, resolved.resolver
    return node, resolver


def _has_part(node: Any, part: str | int) -> bool:
    if not isinstance(node, dict) or not node:
        return False
    if isinstance(part, int):
        return "items" in node
    properties = node.get("properties")
    return isinstance(properties, dict) and part in properties
