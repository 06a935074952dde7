"""JSON Schema helpers: the errors of a value, and whether a path of fields can exist."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema

from taskagent.expressions import Path


def schema_problem(schema: dict[str, Any] | None, path: Path) -> str | None:
    """Why `path` cannot exist in data of `schema`, or None when it can (or nobody knows)."""
    root = schema
    node = schema
    for index, part in enumerate(path):
        node = _resolve_ref(root, node)
        if not node:
            return None
        options = node.get("anyOf") or node.get("oneOf")
        if options:
            resolved = [_resolve_ref(root, o) for o in options if o.get("type") != "null"]
            node = next((o for o in resolved if _has_part(o, part)), None)
            if node is None:
                return (
                    None
                    if any(not (o or {}).get("properties") for o in resolved)
                    else (f"has no field {part!r}")
                )
        if isinstance(part, int) and "items" in node:
            node = node["items"]
            continue
        properties = node.get("properties")
        if not isinstance(properties, dict):
            return None
        if part not in properties:
            if node.get("additionalProperties"):
                return None
            at = ".".join(str(p) for p in path[:index])
            fields = ", ".join(properties) or "none"
            return f"has no field {part!r}{' in ' + at if at else ''} (fields: {fields})"
        node = properties[part]
    return None


def _has_part(node: dict[str, Any] | None, part: str | int) -> bool:
    if not node:
        return False
    if isinstance(part, int):
        return "items" in node
    return part in (node.get("properties") or {})


def _resolve_ref(root: dict[str, Any] | None, node: dict[str, Any] | None) -> dict[str, Any] | None:
    while node and "$ref" in node and root:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return None
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        node = target
    return node


def schema_errors(schema: Mapping[str, Any], value: Any) -> list[tuple[str, str]]:
    """(dotted path, message) for each way `value` violates `schema`, in path order."""
    validator = jsonschema.validators.validator_for(schema)(schema)
    found = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
    return [(".".join(str(p) for p in e.absolute_path), e.message) for e in found]
