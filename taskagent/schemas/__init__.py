"""JSON Schema helpers that are safe with schemas and values from users and models.

Three questions, one package:

- `check_schema`: is a schema usable at all? (every problem, as readable lines)
- `schema_errors`: how does a value violate a schema? ((dotted path, message) pairs)
- `schema_problem`: can a path of fields exist in data of a schema? (for reference checks)

Pipeline input schemas, agent output schemas and approval payload schemas are written by users,
and the values come from users and models, so none of them is trusted:

- Nothing is ever retrieved. Validators get a `referencing.Registry` whose `retrieve` refuses every
  URI (which also turns off jsonschema's legacy remote retrieval), and `check_schema` rejects any
  `$ref` that leaves the document (http, https, file, any other scheme, or a relative URL naming
  another document) or does not resolve inside it.
- Regular expressions (`pattern`, `patternProperties`, and the keywords that consult them:
  `additionalProperties`, `unevaluatedProperties`) run on RE2, in time linear in the text, never on
  Python's backtracking `re`. A pattern RE2 cannot compile (lookaround, backreferences, ...) makes
  the schema unusable, and the message names the feature. ECMA-262 `\\uXXXX` escapes are accepted.
- Everything is bounded by sizes and counts, never by time (this package runs inside Temporal
  workflow code, where the same input must give the same verdict on every worker and replay):
  see the MAX_* constants. A value or schema past a bound is one readable error, never a
  RecursionError or a frozen worker.
- A `$ref`/`allOf`/... cycle that applies a schema to the same value forever (the JSON Schema
  specification leaves such schemas undefined) is rejected; recursive schemas whose recursion
  steps into a property or an item (trees, linked lists) are fine.

The modules: `limits` (the bounds), `regex` (RE2), `engine` (jsonschema and referencing set up:
registries that never retrieve, the safe validator classes) with `keywords` (the keywords they
replace), `analysis` (meta-schema, references, regexes and cycles of a schema), `prepared` (a
schema checked once and made ready, cached) and `paths` (`schema_problem`).

jsonschema, referencing, attrs and re2 are imported with the package, and workflow code passes
the package through Temporal's sandbox (see workflows/__init__.py), so the worker imports them
once, not every run. Validator classes, compiled regexes and checked schemas are cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from taskagent.schemas.engine import Budget
from taskagent.schemas.limits import (
    INVALID,
    MAX_ERRORS,
    MAX_EVAL_DEPTH,
    MAX_MESSAGE_CHARS,
    MAX_SCHEMA_BYTES,
    MAX_SCHEMA_DEPTH,
    MAX_STEPS,
    MAX_VALUE_DEPTH,
    TOO_DEEP,
    Exhausted,
    capped,
    clip,
    nested_deeper,
)
from taskagent.schemas.paths import schema_problem
from taskagent.schemas.prepared import Prepared, prepare

__all__ = [
    "MAX_ERRORS",
    "MAX_EVAL_DEPTH",
    "MAX_MESSAGE_CHARS",
    "MAX_SCHEMA_BYTES",
    "MAX_SCHEMA_DEPTH",
    "MAX_STEPS",
    "MAX_VALUE_DEPTH",
    "check_schema",
    "schema_errors",
    "schema_problem",
]


def check_schema(schema: object) -> list[str]:
    """Every problem that makes `schema` unusable, as readable lines; [] if it is fine.

    Checked: JSON only, within MAX_SCHEMA_BYTES and MAX_SCHEMA_DEPTH; a known `$schema` dialect;
    valid against that dialect's meta-schema; every `$ref` resolves inside the document to a schema
    (never retrieved); no cycle of subschemas applied to the same value; every `pattern` and
    `patternProperties` key compiles on RE2. Never raises, never retrieves anything.
    """
    try:
        return list(prepare(schema).problems)
    except Exception as err:  # a bug here must not take the caller down
        return [f"could not check the schema: {type(err).__name__}: {clip(str(err))}"]


def schema_errors(
    schema: Mapping[str, Any], value: Any, *, checked: bool = False
) -> list[tuple[str, str]]:
    """(dotted path, message) for each way `value` violates `schema`, in path order.

    Never retrieves anything; regular expressions run on RE2. Bounded and deterministic: at most
    MAX_ERRORS errors are listed and one more entry (path "") says how many were left out; a value
    nested deeper than MAX_VALUE_DEPTH, or a check past MAX_STEPS or MAX_EVAL_DEPTH, is one error
    at path "". A schema that `check_schema` rejects gives its problems as errors at path "".

    `checked=True` is for workflow code on a schema that passed `check_schema` (validation did):
    its meta-schema check and its analysis of references and cycles are skipped, which a cold
    cache would otherwise spend up to about a second on. Every bound stays. If the promise was
    wrong and validating fails, the full check runs and its problems are the errors (a schema
    that breaks the promise without failing, a cycle say, gives the error of the bound it hits).
    """
    ready = prepare(schema, checked=checked)  # an unexpected exception here is a bug: let the
    # workflow task fail (and retry once fixed) rather than record a verdict that depends on it
    if ready.problems:
        return capped([("", f"{INVALID}: {problem}") for problem in ready.problems])
    if nested_deeper(value, MAX_VALUE_DEPTH):
        return [("", f"the value is nested more than {MAX_VALUE_DEPTH} levels deep")]
    try:
        return _validate(ready, value)
    except Exception:
        if not checked:
            raise
    # Not a checked schema after all (an unresolvable $ref, a pattern RE2 rejects, ...): the
    # full check names the problem; if it finds none, the same exception is raised again.
    return schema_errors(schema, value)


def _validate(ready: Prepared, value: Any) -> list[tuple[str, str]]:
    validator = ready.cls(ready.schema, _resolver=ready.resolver, format_checker=Budget())
    try:
        found = list(validator.iter_errors(value))
    except Exhausted as err:
        return [("", str(err))]
    except RecursionError:  # not expected within the bounds above; kept as a last resort
        return [("", TOO_DEEP)]
    found.sort(key=lambda e: [str(p) for p in e.absolute_path])
    return capped([(".".join(str(p) for p in e.absolute_path), clip(e.message)) for e in found])
