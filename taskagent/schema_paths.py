"""JSON Schema helpers that are safe with schemas and values from users and models.

Three questions, one module:

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
- Everything is bounded by sizes and counts, never by time (this module runs inside Temporal
  workflow code, where the same input must give the same verdict on every worker and replay):
  see the MAX_* constants below. A value or schema past a bound is one readable error, never a
  RecursionError or a frozen worker.
- A `$ref`/`allOf`/... cycle that applies a schema to the same value forever (the JSON Schema
  specification leaves such schemas undefined) is rejected; recursive schemas whose recursion
  steps into a property or an item (trees, linked lists) are fine.

jsonschema, referencing and re2 are imported, and validator classes built, on first use and
cached, so importing this module stays cheap (the workflow sandbox may import it for every run).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import math
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from taskagent.expressions import Path

if TYPE_CHECKING:
    from referencing import Resolver

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

_DIALECTS = "drafts 3, 4, 6, 7, 2019-09 and 2020-12"
_INVALID = "the schema is unusable"


# -- public API ------------------------------------------------------------------------------------
def check_schema(schema: object) -> list[str]:
    """Every problem that makes `schema` unusable, as readable lines; [] if it is fine.

    Checked: JSON only, within MAX_SCHEMA_BYTES and MAX_SCHEMA_DEPTH; a known `$schema` dialect;
    valid against that dialect's meta-schema; every `$ref` resolves inside the document to a schema
    (never retrieved); no cycle of subschemas applied to the same value; every `pattern` and
    `patternProperties` key compiles on RE2. Never raises, never retrieves anything.
    """
    try:
        return list(_prepare(schema).problems)
    except Exception as err:  # a bug here must not take the caller down
        return [f"could not check the schema: {type(err).__name__}: {_clip(str(err))}"]


def schema_errors(schema: Mapping[str, Any], value: Any) -> list[tuple[str, str]]:
    """(dotted path, message) for each way `value` violates `schema`, in path order.

    Never retrieves anything; regular expressions run on RE2. Bounded and deterministic: at most
    MAX_ERRORS errors are listed and one more entry (path "") says how many were left out; a value
    nested deeper than MAX_VALUE_DEPTH, or a check past MAX_STEPS or MAX_EVAL_DEPTH, is one error
    at path "". A schema that `check_schema` rejects gives its problems as errors at path "".
    """
    prepared = _prepare(schema)  # an unexpected exception here is a bug: let the workflow task
    # fail (and retry once fixed) rather than record a verdict that depends on it
    if prepared.problems:
        return _capped([("", f"{_INVALID}: {problem}") for problem in prepared.problems])
    if _too_deep(value, MAX_VALUE_DEPTH):
        return [("", f"the value is nested more than {MAX_VALUE_DEPTH} levels deep")]
    engine = _engine()
    budget = engine.Budget()
    validator = prepared.cls(prepared.schema, _resolver=prepared.resolver, format_checker=budget)
    try:
        found = list(validator.iter_errors(value))
    except _Exhausted as err:
        return [("", str(err))]
    except RecursionError:  # not expected within the bounds above; kept as a last resort
        return [("", _TOO_DEEP)]
    found.sort(key=lambda e: [str(p) for p in e.absolute_path])
    return _capped([(".".join(str(p) for p in e.absolute_path), _clip(e.message)) for e in found])


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


# -- bounds and small helpers ----------------------------------------------------------------------
class _Exhausted(Exception):
    """A check went past MAX_STEPS or MAX_EVAL_DEPTH."""


_TOO_DEEP = (
    f"the value is nested too deeply to check against this schema "
    f"(more than {MAX_EVAL_DEPTH} nested schema keywords)"
)
_TOO_LONG = f"checking takes more than {MAX_STEPS} schema keyword evaluations"
_TOO_COMPLEX = "the schema is too complex to check against its meta-schema"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _capped(errors: list[tuple[str, str]], noun: str = "error") -> list[tuple[str, str]]:
    if len(errors) <= MAX_ERRORS:
        return errors
    left = len(errors) - MAX_ERRORS
    more = f"{left} more {noun}{'s' if left != 1 else ''} not listed (at most {MAX_ERRORS} are)"
    return [*errors[:MAX_ERRORS], ("", more)]


def _too_deep(value: Any, limit: int) -> bool:
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


def _pointer(parts: tuple[str | int, ...]) -> str:
    """A JSON pointer fragment for a location in a schema document: #/properties/a~1b."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "#" + "".join("/" + p for p in escaped)


def _at(parts: tuple[str | int, ...]) -> str:
    return f" (at {_pointer(parts)})" if parts else ""


# -- the libraries, loaded once ----------------------------------------------------------------
@contextlib.contextmanager
def _host_imports() -> Iterator[None]:
    """Inside a Temporal workflow sandbox, take the libraries from the worker (they are pure)
    instead of importing them into the sandbox again."""
    workflow = sys.modules.get("temporalio.workflow")
    if workflow is not None and workflow.unsafe.in_sandbox():
        with workflow.unsafe.imports_passed_through():
            yield
    else:
        yield


@dataclass(frozen=True)
class _Engine:
    jsonschema: Any
    referencing: Any
    re2: Any
    attrs: Any
    registry: Any  # refuses every retrieval
    meta_registry: Any  # the meta-schemas jsonschema ships, crawled; refuses every retrieval
    Budget: type  # per-check counters; see _engine

    def resolver(self, resource: Any, registry: Any = None) -> tuple[Resolver, bool]:
        """A resolver rooted at `resource`, and whether its registry could be crawled up front.

        Crawled once here, because referencing crawls an uncrawled registry again on every
        lookup of an anchor or an embedded $id (the whole document each time). Crawling fails
        only on a malformed document (a list or a string where a subschema belongs); then the
        resolver is left uncrawled, and only JSON pointer lookups are cheap.
        """
        uri = resource.id() or ""
        registry = (self.registry if registry is None else registry).with_resource(uri, resource)
        try:
            return registry.crawl().resolver(base_uri=uri), True
        except Exception:
            return registry.resolver(base_uri=uri), False


@functools.cache
def _engine() -> _Engine:
    with _host_imports():
        import attrs
        import jsonschema
        import re2
        import referencing
        import referencing.exceptions
        import referencing.jsonschema

    class Budget(jsonschema.FormatChecker):
        """Counters for one check. jsonschema hands a validator's format checker on, unchanged,
        to every validator it derives, so it carries them; it checks no formats (as before,
        `format` is an annotation only)."""

        def __init__(self) -> None:
            super().__init__(formats=())
            self.steps = 0
            self.depth = 0

    def refuse(uri: str) -> Any:
        """The registry's `retrieve`: nothing outside the schema is ever fetched."""
        raise referencing.exceptions.NoSuchResource(ref=uri)

    registry = referencing.Registry(retrieve=refuse)  # type: ignore[call-arg]
    specifications = jsonschema.validators.SPECIFICATIONS
    return _Engine(
        jsonschema=jsonschema,
        referencing=referencing,
        re2=re2,
        attrs=attrs,
        registry=registry,
        meta_registry=specifications.combine(registry).crawl(),
        Budget=Budget,
    )


# -- regular expressions on RE2 --------------------------------------------------------------------
@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> Any:
    """The compiled RE2 regex, or raise re2.error. RE2 keeps each regex within max_mem (when its
    DFA cache runs out it falls back to its NFA: slower, still linear, same answer)."""
    re2 = _engine().re2
    options = re2.Options()
    options.log_errors = False  # RE2 would log each failed compile to stderr
    options.max_mem = 2 << 20
    return re2.compile(_ecma_to_re2(pattern), options)


def _search(pattern: str, text: str) -> bool:
    return _regex(pattern).search(text) is not None


_HEX = frozenset("0123456789abcdefABCDEF")


def _ecma_to_re2(pattern: str) -> str:
    """Rewrite ECMA-262 `\\uXXXX` escapes (surrogate pairs joined) as RE2's `\\x{...}`."""
    if "\\u" not in pattern:
        return pattern
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char != "\\" or i + 1 >= n:
            out.append(char)
            i += 1
            continue
        code = _unicode_escape(pattern, i)
        if code is None:
            out.append(pattern[i : i + 2])
            i += 2
            continue
        i += 6
        if 0xD800 <= code <= 0xDBFF:
            low = _unicode_escape(pattern, i)
            if low is not None and 0xDC00 <= low <= 0xDFFF:
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                i += 6
        out.append(f"\\x{{{code:X}}}")
    return "".join(out)


def _unicode_escape(pattern: str, i: int) -> int | None:
    digits = pattern[i + 2 : i + 6]
    if pattern[i + 1 : i + 2] == "u" and len(digits) == 4 and set(digits) <= _HEX:
        return int(digits, 16)
    return None


_RE2_FEATURES = (  # (start of RE2's complaint, the feature it means)
    ("invalid perl operator: (?=", "lookahead"),
    ("invalid perl operator: (?!", "negative lookahead"),
    ("invalid perl operator: (?<=", "lookbehind"),
    ("invalid perl operator: (?<!", "negative lookbehind"),
    ("invalid perl operator: (?>", "atomic groups"),
    ("invalid perl operator: (?P", "named backreferences"),
    ("invalid perl operator: (?(", "conditionals"),
    ("invalid perl operator: (?R", "recursion"),
    ("invalid escape sequence: \\k", "named backreferences"),
    ("invalid escape sequence: \\Z", "\\Z (use $ or \\z)"),
    ("invalid escape sequence: \\c", "control escapes (\\cX)"),
    ("bad repetition operator: *+", "possessive quantifiers"),
    ("bad repetition operator: ++", "possessive quantifiers"),
    ("bad repetition operator: ?+", "possessive quantifiers"),
    ("bad repetition operator: }+", "possessive quantifiers"),
    ("invalid repetition size", "repetition counts above 1000"),
    ("pattern too large", "patterns this large"),
)


def _pattern_problem(pattern: str, what: str) -> str | None:
    """None when RE2 compiles `pattern`, else why not, naming the unsupported feature."""
    try:
        _regex(pattern)
    except _engine().re2.error as err:
        reason = err.args[0] if err.args else str(err)
        reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        feature = next((name for start, name in _RE2_FEATURES if reason.startswith(start)), None)
        if feature is None and reason.startswith("invalid escape sequence: \\"):
            digit = reason[len("invalid escape sequence: \\") :][:1]
            feature = "backreferences" if digit.isdigit() else None
        if feature is not None:
            return (
                f"{what} {_clip(repr(pattern))} uses {feature}, which the linear-time regular "
                f"expression engine (RE2) does not support"
            )
        return f"{what} {_clip(repr(pattern))} is not a valid regular expression: {reason}"
    return None


# -- validator classes ----------------------------------------------------------------------------
@functools.cache
def _safe_class(base: type) -> Any:
    """`base` (a jsonschema validator class) with RE2 regexes, linear uniqueItems, and every
    keyword counted against the check's Budget."""
    engine = _engine()
    jsonschema = engine.jsonschema
    replaced = {
        "pattern": _pattern_keyword,
        "patternProperties": _pattern_properties_keyword,
        "additionalProperties": _additional_properties_keyword,
        "uniqueItems": _unique_items_keyword,
    }
    if "unevaluatedProperties" in base.VALIDATORS:
        replaced["unevaluatedProperties"] = _unevaluated_properties_keyword
    keywords = {
        name: _counted(replaced.get(name, keyword)) for name, keyword in base.VALIDATORS.items()
    }
    cls = jsonschema.validators.extend(base, validators=keywords)
    fields = [(f.name, f.alias) for f in engine.attrs.fields(cls) if f.init]

    def evolve(self: Any, **changes: Any) -> Any:
        # jsonschema's own evolve, except that a subschema declaring another `$schema` gets the
        # safe class of that dialect rather than jsonschema's stock class (and its `re`).
        schema = changes.setdefault("schema", self.schema)
        new = cls
        if isinstance(schema, dict) and "$schema" in schema:
            found = jsonschema.validators.validator_for(schema, default=base)
            new = cls if found is base else _safe_class(found)
        for name, alias in fields:
            changes.setdefault(alias, getattr(self, name))
        return new(**changes)

    cls.evolve = evolve
    cls.base = base
    cls.ignores_ref_siblings = base in (
        jsonschema.Draft3Validator,
        jsonschema.Draft4Validator,
        jsonschema.Draft6Validator,
        jsonschema.Draft7Validator,
    )
    return cls


def _counted(keyword: Any) -> Any:
    def run(validator: Any, value: Any, instance: Any, schema: Any) -> Iterator[Any]:
        budget = validator.format_checker
        budget.steps += 1
        if budget.steps > MAX_STEPS:
            raise _Exhausted(_TOO_LONG)
        budget.depth += 1
        try:
            if budget.depth > MAX_EVAL_DEPTH:
                raise _Exhausted(_TOO_DEEP)
            errors = keyword(validator, value, instance, schema)
            if errors:
                yield from errors
        finally:
            budget.depth -= 1

    return run


def _error(message: str) -> Any:
    return _engine().jsonschema.ValidationError(message)


# The four keywords below are jsonschema 4.26's own (jsonschema/_keywords.py, _utils.py and
# _legacy_keywords.py, MIT licence) with `re.search` replaced by RE2 and sets by ordered lists
# (jsonschema iterates a set of property names, whose order changes with PYTHONHASHSEED).
def _pattern_keyword(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield _error(f"{instance!r} does not match {pattern!r}")


def _pattern_properties_keyword(
    validator: Any, patterns: Any, instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, item in instance.items():
            if _search(pattern, key):
                yield from validator.descend(item, subschema, path=key, schema_path=pattern)


def _additional_properties_keyword(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [
        key
        for key in instance
        if key not in properties and not any(_search(p, key) for p in patterns)
    ]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            listed = ", ".join(repr(each) for each in sorted(patterns))
            yield _error(f"{joined} {verb} not match any of the regexes: {listed}")
        else:
            extras_msg = _engine().jsonschema._utils.extras_msg
            error = "Additional properties are not allowed (%s %s unexpected)"
            yield _error(error % extras_msg(sorted(extras, key=str)))


def _unevaluated_properties_keyword(
    validator: Any, unevaluated: Any, instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    evaluated = _evaluated_keys(validator, instance, schema)
    invalid = [
        key
        for key in instance
        if key not in evaluated
        and next(validator.descend(instance[key], unevaluated, path=key, schema_path=key), None)
    ]
    if invalid:
        extras_msg = _engine().jsonschema._utils.extras_msg
        if unevaluated is False:
            error = "Unevaluated properties are not allowed (%s %s unexpected)"
            yield _error(error % extras_msg(sorted(invalid, key=str)))
        else:
            error = (
                "Unevaluated properties are not valid under the given schema "
                "(%s %s unevaluated and invalid)"
            )
            yield _error(error % extras_msg(invalid))


def _evaluated_keys(validator: Any, instance: Any, schema: Any) -> list[str]:
    """The keys of `instance` that `schema` evaluates (for unevaluatedProperties): jsonschema's
    find_evaluated_property_keys_by_schema, for 2020-12 and (with $recursiveRef) 2019-09."""
    if not isinstance(schema, Mapping):
        return []
    lookup_recursive_ref = _engine().referencing.jsonschema.lookup_recursive_ref
    draft2019 = "$recursiveRef" in validator.VALIDATORS
    keys: list[str] = []

    def follow(resolved: Any) -> None:
        evolved = validator.evolve(schema=resolved.contents, _resolver=resolved.resolver)
        keys.extend(_evaluated_keys(evolved, instance, resolved.contents))

    if schema.get("$ref") is not None:
        follow(validator._resolver.lookup(schema["$ref"]))
    if draft2019 and "$recursiveRef" in schema:
        follow(lookup_recursive_ref(validator._resolver))
    if not draft2019 and schema.get("$dynamicRef") is not None:
        follow(validator._resolver.lookup(schema["$dynamicRef"]))

    if draft2019:
        for keyword in ("properties", "additionalProperties", "unevaluatedProperties"):
            value = schema.get(keyword)
            if value is True:
                keys += instance.keys()
            elif isinstance(value, Mapping):
                keys += [key for key in value if key in instance]
    else:
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            keys += properties.keys() & instance.keys()
        for keyword in ("additionalProperties", "unevaluatedProperties"):
            if (subschema := schema.get(keyword)) is not None:
                keys += (
                    key
                    for key, item in instance.items()
                    if next(validator.descend(item, subschema), None) is None
                )

    if "patternProperties" in schema:
        for key in instance:
            for pattern in schema["patternProperties"]:
                if _search(pattern, key):
                    keys.append(key)

    for key, subschema in schema.get("dependentSchemas", {}).items():
        if key in instance:
            keys += _evaluated_keys(validator, instance, subschema)

    for keyword in ("allOf", "oneOf", "anyOf"):
        for subschema in schema.get(keyword, []):
            if next(validator.descend(instance, subschema), None) is None:
                keys += _evaluated_keys(validator, instance, subschema)

    if "if" in schema:
        if validator.evolve(schema=schema["if"]).is_valid(instance):
            keys += _evaluated_keys(validator, instance, schema["if"])
            if "then" in schema:
                keys += _evaluated_keys(validator, instance, schema["then"])
        elif "else" in schema:
            keys += _evaluated_keys(validator, instance, schema["else"])
    return keys


def _unique_items_keyword(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[Any]:
    # jsonschema compares unhashable items pairwise (quadratic); this hashes a canonical form.
    if unique and validator.is_type(instance, "array") and not _all_unique(instance):
        yield _error(f"{instance!r} has non-unique elements")


def _all_unique(items: list[Any]) -> bool:
    keys = _json_keys(items)
    if keys is None:  # not plain JSON: jsonschema's own comparison
        return bool(_engine().jsonschema._utils.uniq(items))
    return len(set(keys)) == len(keys)


def _json_keys(items: list[Any]) -> list[Any] | None:
    """Hashable keys, equal exactly when JSON Schema calls the items equal (1 == 1.0, true != 1,
    objects regardless of key order), built without recursion; None for non-JSON values."""
    order: list[Any] = []
    stack: list[Any] = list(items)
    while stack:
        node = stack.pop()
        order.append(node)
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    keys: dict[int, Any] = {}
    for node in reversed(order):  # children before their parents
        if isinstance(node, bool):
            key: Any = ("bool", node)
        elif isinstance(node, int | float):
            key = ("number", node)
        elif isinstance(node, str):
            key = ("string", node)
        elif node is None:
            key = ("null",)
        elif isinstance(node, dict):
            key = ("object", frozenset((name, keys[id(item)]) for name, item in node.items()))
        elif isinstance(node, list | tuple):
            key = ("array", tuple(keys[id(item)] for item in node))
        else:
            return None
        keys[id(node)] = key
    return [keys[id(item)] for item in items]


# -- checking a schema ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Prepared:
    problems: tuple[str, ...]
    cls: Any  # the safe validator class of the schema's dialect
    schema: Any  # a private copy (parsed back from its JSON), used for validation
    resolver: Any = None  # rooted at `schema`, crawled, never retrieving


def _prepare(schema: object) -> _Prepared:
    if not isinstance(schema, Mapping | bool):
        kind = type(schema).__name__
        problem = f"a JSON Schema must be an object or a boolean, not {kind}"
        return _Prepared((problem,), None, None)
    problem = _json_problem(schema)
    if problem is not None:
        return _Prepared((problem,), None, None)
    text = json.dumps(
        schema, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=dict
    )
    size = len(text.encode("utf-8"))
    if size > MAX_SCHEMA_BYTES:
        problem = f"the schema is too large: {size} bytes of JSON, at most {MAX_SCHEMA_BYTES}"
        return _Prepared((problem,), None, None)
    return _prepare_text(text)


def _json_problem(schema: object) -> str | None:
    """Why `schema` is not plain JSON within MAX_SCHEMA_DEPTH, or None (iteratively)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(schema, ())]
    while stack:
        node, at = stack.pop()
        if isinstance(node, Mapping):
            if len(at) >= MAX_SCHEMA_DEPTH:
                return f"the schema is nested more than {MAX_SCHEMA_DEPTH} levels deep{_at(at)}"
            for key, item in node.items():
                if not isinstance(key, str):
                    return f"the schema has a key that is not a string: {key!r}{_at(at)}"
                stack.append((item, (*at, key)))
        elif isinstance(node, list | tuple):
            if len(at) >= MAX_SCHEMA_DEPTH:
                return f"the schema is nested more than {MAX_SCHEMA_DEPTH} levels deep{_at(at)}"
            stack.extend((item, (*at, index)) for index, item in enumerate(node))
        elif isinstance(node, float) and not math.isfinite(node):
            return f"the schema holds {node!r}, which is not JSON{_at(at)}"
        elif not (node is None or isinstance(node, str | int | float)):
            return f"the schema holds a {type(node).__name__}, which is not JSON{_at(at)}"
    return None


@functools.lru_cache(maxsize=64)
def _prepare_text(text: str) -> _Prepared:
    """Check the schema whose compact JSON is `text` (cached: key order is kept, so two schemas
    that differ only in key order are checked, and report errors, each in its own order)."""
    jsonschema = _engine().jsonschema
    schema = json.loads(text)
    problems: list[str] = []
    base = jsonschema.Draft202012Validator
    if isinstance(schema, dict) and "$schema" in schema:
        dialect = schema["$schema"]
        found = (
            jsonschema.validators.validator_for(schema, default=None)
            if isinstance(dialect, str)
            else None
        )
        if found is None:
            problems.append(f"unknown $schema {_clip(repr(dialect))}: use one of {_DIALECTS}")
        else:
            base = found
    cls = _safe_class(base)
    meta = _meta_problems(cls, schema, ())
    problems += meta
    if not isinstance(schema, bool) and not (meta and meta[0].startswith(_TOO_COMPLEX)):
        problems += _Analysis(schema, cls).run()
    unique = dict.fromkeys(problems)  # each meta-schema vocabulary may report the same thing
    listed = [problem for _, problem in _capped([("", p) for p in unique], "problem")]
    if listed:
        return _Prepared(tuple(listed), cls, schema)
    engine = _engine()
    spec = engine.referencing.jsonschema.specification_with(cls.ID_OF(cls.META_SCHEMA))
    resolver, _ = engine.resolver(spec.create_resource(schema))
    return _Prepared((), cls, schema, resolver)


def _meta_problems(cls: Any, schema: Any, at: tuple[str | int, ...]) -> list[str]:
    """Where `schema` (found at `at`) breaks the meta-schema of `cls`'s dialect."""
    engine = _engine()
    resolver = engine.meta_registry.resolver(base_uri=cls.ID_OF(cls.META_SCHEMA).rstrip("#"))
    checker = cls(cls.META_SCHEMA, _resolver=resolver, format_checker=engine.Budget())
    try:
        errors = list(checker.iter_errors(schema))
    except _Exhausted:
        return [f"{_TOO_COMPLEX} ({_TOO_LONG}){_at(at)}"]
    errors.sort(key=lambda e: [str(p) for p in e.absolute_path])
    return [
        f"not a valid JSON Schema: {_clip(e.message)}{_at((*at, *e.absolute_path))}" for e in errors
    ]


# Where subschemas sit, by keyword (all dialects together; a keyword unknown to a dialect is
# caught by its meta-schema). "In place" keywords apply their subschemas to the same value.
_IN_PLACE_ONE = ("not", "if", "then", "else")
_IN_PLACE_LIST = ("allOf", "anyOf", "oneOf")
_IN_PLACE_MAP = ("dependentSchemas", "dependencies")
_DRAFT3_IN_PLACE = ("extends", "type", "disallow")  # draft 3 allows schemas among these
_NESTED_ONE = (
    "items",
    "additionalItems",
    "additionalProperties",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
)
_NESTED_LIST = ("items", "prefixItems")
_NESTED_MAP = ("properties", "patternProperties", "$defs", "definitions")
_REFS = ("$ref", "$dynamicRef", "$recursiveRef")


class _Analysis:
    """References, regexes and cycles of one schema document (the caller checked its size)."""

    def __init__(self, schema: dict[str, Any], cls: Any) -> None:
        engine = _engine()
        self.referencing = engine.referencing
        self.cls = cls
        self.draft3 = cls.base is engine.jsonschema.Draft3Validator
        self.refs = tuple(k for k in _REFS if k == "$ref" or k in cls.VALIDATORS)
        self.spec = engine.referencing.jsonschema.specification_with(
            cls.ID_OF(cls.META_SCHEMA), default=engine.referencing.jsonschema.DRAFT202012
        )
        self.root = schema
        self.problems: list[str] = []
        self.order: list[int] = []  # node ids, in walk order
        self.nodes: dict[int, dict[str, Any]] = {}
        self.where: dict[int, tuple[str | int, ...]] = {}
        self.resolvers: dict[int, Resolver] = {}
        self.edges: dict[int, list[int]] = {}  # in place: applied to the same value
        self.ref_edges: set[tuple[int, int]] = set()
        self.hubs: dict[tuple[str, ...], int] = {}
        self.dynamic_anchors: dict[str, list[int]] = {}
        self.recursive_anchors: list[int] = []
        self.asked: list[str] = []  # the URIs a reference would have retrieved
        registry = engine.referencing.Registry(retrieve=self._refuse)  # type: ignore[call-arg]
        resolver, self.crawled = engine.resolver(self._resource(schema), registry)
        self._collect(schema, (), resolver)

    def _refuse(self, uri: str) -> Any:
        self.asked.append(uri)
        raise self.referencing.exceptions.NoSuchResource(ref=uri)

    def run(self) -> list[str]:
        dynamic: list[tuple[int, str]] = []
        recursive: list[int] = []
        done = 0
        while done < len(self.order):  # targets outside the walked schemas join the order
            node_id = self.order[done]
            done += 1
            node = self.nodes[node_id]
            for keyword in self.refs:
                ref = node.get(keyword)
                if not isinstance(ref, str):
                    continue
                target = self._target(keyword, ref, node_id)
                if isinstance(target, dict):
                    self.edges[node_id].append(id(target))
                    self.ref_edges.add((node_id, id(target)))
                if keyword == "$dynamicRef":
                    dynamic.append((node_id, ref.partition("#")[2]))
                elif keyword == "$recursiveRef":
                    recursive.append(node_id)
        # A dynamic reference may reach whichever anchor of its name is in scope at run time:
        # an edge to a hub with an edge to each (a hub per name keeps the edges linear).
        for node_id, name in dynamic:
            self._to_hub(node_id, ("$dynamicAnchor", name), self.dynamic_anchors.get(name, []))
        for node_id in recursive:
            self._to_hub(node_id, ("$recursiveAnchor",), self.recursive_anchors)
        self._check_cycles()
        return self.problems

    def _to_hub(self, node_id: int, key: tuple[str, ...], targets: list[int]) -> None:
        if key not in self.hubs:
            hub = self.hubs[key] = -1 - len(self.hubs)  # ids of objects are positive
            self.edges[hub] = list(targets)
            self.ref_edges.update((hub, target) for target in targets)
        self.edges[node_id].append(self.hubs[key])
        self.ref_edges.add((node_id, self.hubs[key]))

    # - the structure -
    def _collect(self, start: Any, at: tuple[str | int, ...], resolver: Resolver) -> None:
        """Record `start` and every subschema in it, in document order, with their locations,
        resolvers and in-place edges; check their regexes."""
        stack = [(start, at, resolver)]
        while stack:
            node, at, resolver = stack.pop()
            if not isinstance(node, dict) or id(node) in self.nodes:
                continue
            resolver = resolver.in_subresource(self._resource(node))
            node_id = id(node)
            self.order.append(node_id)
            self.nodes[node_id] = node
            self.where[node_id] = at
            self.resolvers[node_id] = resolver
            self.edges[node_id] = []
            self._regexes(node, at)
            if isinstance(name := node.get("$dynamicAnchor"), str):
                self.dynamic_anchors.setdefault(name, []).append(node_id)
            if node.get("$recursiveAnchor") is True:
                self.recursive_anchors.append(node_id)
            children = list(self._children(node, at))
            # drafts 3 to 7 ignore everything next to a $ref
            if not (self.cls.ignores_ref_siblings and "$ref" in node):
                self.edges[node_id] += [id(child) for child, _, in_place in children if in_place]
            stack.extend((child, here, resolver) for child, here, _ in reversed(children))

    def _resource(self, node: Any) -> Any:
        dialect = node.get("$schema") if isinstance(node, dict) else None
        spec = self.spec
        if isinstance(dialect, str):
            spec = self.referencing.jsonschema.specification_with(dialect, default=spec)
        return spec.create_resource(node)

    def _children(
        self, node: dict[str, Any], at: tuple[str | int, ...]
    ) -> Iterator[tuple[dict[str, Any], tuple[str | int, ...], bool]]:
        """(subschema, location, applied in place) for each object subschema directly in
        `node` (boolean ones need no walking)."""
        lists = _IN_PLACE_LIST + (_DRAFT3_IN_PLACE if self.draft3 else ())
        for keyword, value in node.items():
            here = (*at, keyword)
            if isinstance(value, dict) and keyword in (*_IN_PLACE_ONE, *lists, *_NESTED_ONE):
                found = [(value, here)]
            elif isinstance(value, list) and keyword in (*lists, *_NESTED_LIST):
                found = [(item, (*here, index)) for index, item in enumerate(value)]
            elif isinstance(value, dict) and keyword in (*_IN_PLACE_MAP, *_NESTED_MAP):
                found = [(item, (*here, name)) for name, item in value.items()]
            else:
                continue
            in_place = keyword in (*_IN_PLACE_ONE, *lists, *_IN_PLACE_MAP)
            for item, item_at in found:
                if isinstance(item, dict):
                    yield item, item_at, in_place

    def _regexes(self, node: dict[str, Any], at: tuple[str | int, ...]) -> None:
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            problem = _pattern_problem(pattern, "pattern")
            if problem:
                self.problems.append(problem + _at((*at, "pattern")))
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict):
            for key in patterns:
                problem = _pattern_problem(key, "patternProperties key")
                if problem:
                    self.problems.append(problem + _at((*at, "patternProperties")))

    # - references -
    def _target(self, keyword: str, ref: str, node_id: int) -> Any:
        """What a reference points at (a schema, walked and checked), or None after reporting
        why it points at none."""
        exceptions = self.referencing.exceptions
        where = _at((*self.where[node_id], keyword))
        shown = _clip(repr(ref))
        if not self.crawled and not (ref == "#" or ref.startswith("#/")):
            # Resolving it would crawl (and fail on) the malformed document once per reference.
            self.problems.append(
                f"{keyword} {shown} is not checked: the schema is malformed (see the other "
                f"problems){where}"
            )
            return None
        asked = len(self.asked)
        try:
            resolved = self.resolvers[node_id].lookup(ref)
        except exceptions.Unresolvable as err:
            if type(err) is exceptions.Unresolvable:  # its document is not this one
                uri = self.asked[-1] if len(self.asked) > asked else ref
                self.problems.append(f"{keyword} {shown} {_outside(uri)}{where}")
            else:
                self.problems.append(f"{keyword} {shown} does not resolve{where}")
            return None
        except Exception:  # a pointer into an array or a string, a non-number index, ...
            self.problems.append(f"{keyword} {shown} does not resolve to a schema{where}")
            return None
        contents = resolved.contents
        if contents is None or not isinstance(contents, dict | bool):
            kinds = {list: "an array", str: "a string", int: "a number", float: "a number"}
            kinds[type(None)] = "null"
            kind = kinds.get(type(contents), f"a {type(contents).__name__}")
            self.problems.append(f"{keyword} {shown} points at {kind}, not a schema{where}")
            return None
        if isinstance(contents, dict) and id(contents) not in self.nodes:
            # Not where a schema sits (an unknown keyword, say), but used as one: check it
            # against the meta-schema, and walk it, as a schema.
            at = _location(self.root, contents) or ()
            self.problems += _meta_problems(self.cls, contents, at)
            self._collect(contents, at, resolved.resolver)
        return contents

    # - cycles -
    def _check_cycles(self) -> None:
        """Report each cycle of in-place edges (it would apply a schema to the same value
        forever); if there is none, a chain of them longer than MAX_SCHEMA_DEPTH."""
        state: dict[int, int] = {}  # 1: on the depth-first path, 2: done
        longest: dict[int, int] = {}
        reported: set[frozenset[int]] = set()
        for start in self.order:
            if start in state:
                continue
            path = [start]
            state[start] = 1
            pending = [iter(self.edges[start])]
            while pending:
                target = next(pending[-1], None)
                if target is None:
                    pending.pop()
                    node_id = path.pop()
                    state[node_id] = 2
                    step = 1 if node_id > 0 else 0  # a hub is no subschema of its own
                    longest[node_id] = max(
                        (step + longest.get(t, 0) for t in self.edges[node_id]), default=0
                    )
                elif state.get(target) == 1:
                    if len(reported) >= MAX_ERRORS:
                        continue
                    cycle = path[path.index(target) :]
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        self._report_cycle([*cycle, target])
                elif target not in state:
                    state[target] = 1
                    path.append(target)
                    pending.append(iter(self.edges[target]))
        deepest = max(longest.values(), default=0)
        if not reported and deepest > MAX_SCHEMA_DEPTH:
            self.problems.append(
                f"a chain of {deepest} subschemas ($ref, allOf, anyOf, ...) applies to one and "
                f"the same value; at most {MAX_SCHEMA_DEPTH} may"
            )

    def _report_cycle(self, cycle: list[int]) -> None:
        shown = " -> ".join(_pointer(self.where[n]) for n in cycle if n > 0)
        if all(edge in self.ref_edges for edge in itertools.pairwise(cycle)):
            self.problems.append(f"$ref cycle that never reaches a schema: {shown}")
        else:
            self.problems.append(
                f"cycle of subschemas that applies itself to the same value forever: {shown}"
            )


def _location(root: Any, target: Any) -> tuple[str | int, ...] | None:
    """Where `target` (by identity) sits in `root`, searched iteratively."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(root, ())]
    while stack:
        node, at = stack.pop()
        if node is target:
            return at
        if isinstance(node, dict):
            stack.extend((item, (*at, key)) for key, item in node.items())
        elif isinstance(node, list):
            stack.extend((item, (*at, index)) for index, item in enumerate(node))
    return None


def _outside(uri: str) -> str:
    """Why a reference to the document `uri` (resolved against any $id) is refused."""
    try:
        scheme = urlsplit(uri).scheme
    except ValueError:
        scheme = ""
    where = f"leaves the document ({scheme} URI {_clip(repr(uri))})"
    if not scheme:
        where = f"names another document ({_clip(repr(uri))})"
    return f"{where}: only references inside the schema are allowed, and nothing is retrieved"


# -- paths of fields -----------------------------------------------------------------------------
def _schema_problem(schema: dict[str, Any] | None, path: Path) -> str | None:
    if not isinstance(schema, dict):
        return None
    engine = _engine()
    rj = engine.referencing.jsonschema
    dialect = schema.get("$schema")
    spec = rj.specification_with(
        dialect if isinstance(dialect, str) else "", default=rj.DRAFT202012
    )
    resource = spec.create_resource(schema)
    uri = resource.id() or ""
    # Not crawled: a field path needs a few pointer lookups, which never crawl.
    root = engine.registry.with_resource(uri, resource).resolver(base_uri=uri)

    def inside(child: Any, resolver: Resolver) -> tuple[Any, Resolver]:
        if isinstance(child, dict):
            return child, resolver.in_subresource(spec.create_resource(child))
        return child, resolver

    def deref(node: Any, resolver: Resolver) -> tuple[Any, Resolver] | None:
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

    current: tuple[Any, Resolver] | None = (schema, root)
    for index, part in enumerate(path):
        current = deref(*current) if current else None
        if current is None or not isinstance(current[0], dict) or not current[0]:
            return None
        node, resolver = current
        options = node.get("anyOf") or node.get("oneOf")
        if isinstance(options, list) and options:
            resolved = [
                deref(*inside(option, resolver))
                for option in options
                if not (isinstance(option, dict) and option.get("type") == "null")
                and option is not False
            ]
            match = next((r for r in resolved if r and _has_part(r[0], part)), None)
            if match is None:
                open_ended = any(
                    r is None or not isinstance(r[0], dict) or not r[0].get("properties")
                    for r in resolved
                    if r is None or r[0] is not False
                )
                return None if open_ended else f"has no field {part!r}"
            node, resolver = match
        if isinstance(part, int) and "items" in node:
            items = node["items"]
            if isinstance(items, list):
                if not 0 <= part < len(items):
                    return None
                items = items[part]
            current = inside(items, resolver)
            continue
        properties = node.get("properties")
        if not isinstance(properties, dict):
            return None
        if part not in properties:
            additional = node.get("additionalProperties")
            if additional or additional == {}:
                return None
            at = ".".join(str(p) for p in path[:index])
            fields = ", ".join(properties) or "none"
            return f"has no field {part!r}{' in ' + at if at else ''} (fields: {fields})"
        current = inside(properties[part], resolver)
    return None


def _has_part(node: Any, part: str | int) -> bool:
    if not isinstance(node, dict) or not node:
        return False
    if isinstance(part, int):
        return "items" in node
    properties = node.get("properties")
    return isinstance(properties, dict) and part in properties
