"""A schema made ready to validate with: checked once (cached by its JSON text), copied, resolved.

`prepare` checks that a schema is plain JSON within the size and depth bounds, then, cached by its
compact JSON text, that its dialect is known, that it is valid against its meta-schema, and that
its references, regexes and cycles pass the analysis. `prepare(..., checked=True)` is for a
schema that already passed all of that: it keeps the JSON, size and depth bounds and skips the
rest (which may take up to about a second for a large schema).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import jsonschema.validators
import referencing.jsonschema
from jsonschema.protocols import Validator
from referencing._core import Resolver  # referencing exports it only for type checking

from taskagent.schemas.analysis import Analysis, meta_problems
from taskagent.schemas.engine import resolver_for, safe_class
from taskagent.schemas.limits import (
    DIALECTS,
    MAX_SCHEMA_BYTES,
    MAX_SCHEMA_DEPTH,
    TOO_COMPLEX,
    Location,
    capped,
    clip,
    located,
)


@dataclass(frozen=True)
class Prepared:
    problems: tuple[str, ...]
    cls: Any = None  # the safe validator class of the schema's dialect
    schema: Any = None  # a private copy (parsed back from its JSON), used for validation
    resolver: Resolver[Any] | None = None  # rooted at `schema`, crawled, never retrieving


def prepare(schema: object, *, checked: bool = False) -> Prepared:
    """`schema`, ready to validate with, or the problems that make it unusable.

    With `checked`, the caller promises that `schema` passed `check_schema`: only its JSON, size
    and depth are checked again, and its dialect (an unknown one takes the full check)."""
    if not isinstance(schema, Mapping | bool):
        kind = type(schema).__name__
        return Prepared((f"a JSON Schema must be an object or a boolean, not {kind}",))
    problem = _json_problem(schema)
    if problem is not None:
        return Prepared((problem,))
    text = json.dumps(
        schema, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=dict
    )
    size = len(text.encode("utf-8"))
    if size > MAX_SCHEMA_BYTES:
        problem = f"the schema is too large: {size} bytes of JSON, at most {MAX_SCHEMA_BYTES}"
        return Prepared((problem,))
    return _trusted_text(text) if checked else _prepare_text(text)


def _json_problem(schema: object) -> str | None:
    """Why `schema` is not plain JSON within MAX_SCHEMA_DEPTH, or None (iteratively)."""
    stack: list[tuple[Any, Location]] = [(schema, ())]
    too_deep = f"the schema is nested more than {MAX_SCHEMA_DEPTH} levels deep"
    while stack:
        node, at = stack.pop()
        if isinstance(node, Mapping):
            if len(at) >= MAX_SCHEMA_DEPTH:
                return too_deep + located(at)
            for key, item in node.items():
                if not isinstance(key, str):
                    return f"the schema has a key that is not a string: {key!r}{located(at)}"
                stack.append((item, (*at, key)))
        elif isinstance(node, list | tuple):
            if len(at) >= MAX_SCHEMA_DEPTH:
                return too_deep + located(at)
            stack.extend((item, (*at, index)) for index, item in enumerate(node))
        elif isinstance(node, float) and not math.isfinite(node):
            return f"the schema holds {node!r}, which is not JSON{located(at)}"
        elif not (node is None or isinstance(node, str | int | float)):
            return f"the schema holds a {type(node).__name__}, which is not JSON{located(at)}"
    return None


@functools.lru_cache(maxsize=64)
def _prepare_text(text: str) -> Prepared:
    """Check the schema whose compact JSON is `text` (cached: key order is kept, so two schemas
    that differ only in key order are checked, and report errors, each in its own order)."""
    schema = json.loads(text)
    problems: list[str] = []
    base = _dialect(schema)
    if base is None:
        problems.append(f"unknown $schema {clip(repr(schema['$schema']))}: use one of {DIALECTS}")
        base = jsonschema.Draft202012Validator
    cls = safe_class(base)
    meta = meta_problems(cls, schema, ())
    problems += meta
    if not isinstance(schema, bool) and not (meta and meta[0].startswith(TOO_COMPLEX)):
        problems += Analysis(schema, cls).run()
    unique = dict.fromkeys(problems)  # each meta-schema vocabulary may report the same thing
    listed = [problem for _, problem in capped([("", p) for p in unique], "problem")]
    if listed:
        return Prepared(tuple(listed), cls, schema)
    return Prepared((), cls, schema, _root_resolver(cls, schema))


@functools.lru_cache(maxsize=64)
def _trusted_text(text: str) -> Prepared:
    """The schema whose compact JSON is `text`, which passed `check_schema`, ready to validate
    with: no meta-schema check, no analysis (cached like `_prepare_text`)."""
    schema = json.loads(text)
    base = _dialect(schema)
    if base is None:  # not a checked schema after all: the full check says what is wrong
        return _prepare_text(text)
    cls = safe_class(base)
    return Prepared((), cls, schema, _root_resolver(cls, schema))


def _dialect(schema: Any) -> type[Validator] | None:
    """The jsonschema validator class of the schema's `$schema` (2020-12 without one), or None
    for an unknown dialect."""
    if not (isinstance(schema, dict) and "$schema" in schema):
        return jsonschema.Draft202012Validator
    if not isinstance(schema["$schema"], str):
        return None
    # jsonschema returns the default as it is for an unknown dialect (and then warns of nothing);
    # its stubs do not allow None as the default.
    validator_for: Callable[..., type[Validator] | None] = jsonschema.validators.validator_for
    return validator_for(schema, default=None)


def _root_resolver(cls: Any, schema: Any) -> Resolver[Any]:
    spec = referencing.jsonschema.specification_with(cls.ID_OF(cls.META_SCHEMA))
    resolver, _ = resolver_for(spec.create_resource(schema))
    return resolver
