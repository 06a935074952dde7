"""taskagent.schemas with hostile schemas and values: nothing is retrieved, regexes run in
linear time, cycles and deep nesting are errors (never hangs or RecursionErrors), and what was
right before (error listing, field-path checks) stays right.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.worker import Worker

from taskagent.schemas import (
    MAX_ERRORS,
    MAX_EVAL_DEPTH,
    MAX_MESSAGE_CHARS,
    MAX_SCHEMA_BYTES,
    MAX_SCHEMA_DEPTH,
    MAX_STEPS,
    MAX_VALUE_DEPTH,
    check_schema,
    engine,
    prepared,
    regex,
    schema_errors,
    schema_problem,
)
from tests.schema_workflows import SchemaCheck
from tests.support import unique

UNUSABLE = "the schema is unusable: "
DRAFT7 = "http://json-schema.org/draft-07/schema#"
EVIL = "^(a+)+$"  # backtracks exponentially in Python's re on "aaa...a!"
EVIL_TEXT = "a" * 40 + "!"


def nest(depth: int, kind: str = "object") -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"c": value} if kind == "object" else [value]
    return value


def defs_chain(length: int) -> dict[str, Any]:
    defs: dict[str, Any] = {f"d{i}": {"$ref": f"#/$defs/d{i + 1}"} for i in range(length)}
    defs[f"d{length}"] = {"type": "string"}
    return {"$ref": "#/$defs/d0", "$defs": defs}


def quickly(seconds: float = 2.0):
    """Assert the block finishes within `seconds` (the old code took hours, or forever)."""

    class Timer:
        def __enter__(self) -> None:
            self.start = time.perf_counter()

        def __exit__(self, *exc: object) -> None:
            elapsed = time.perf_counter() - self.start
            assert elapsed < seconds, f"took {elapsed:.1f}s"

    return Timer()


TREE = {
    "$ref": "#/$defs/node",
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "value": {"type": "integer"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            },
            "required": ["value"],
        }
    },
}
SELF_TREE = {"type": "object", "properties": {"name": {}, "child": {"$ref": "#"}}}
CYCLES = {
    "pure $ref cycle": (
        {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}},
        "$ref cycle that never reaches a schema: #/$defs/a -> #/$defs/a",
    ),
    "two-step $ref cycle": (
        {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}},
        "$ref cycle that never reaches a schema: #/$defs/a -> #/$defs/b -> #/$defs/a",
    ),
    "root refers to itself": ({"$ref": "#"}, "$ref cycle that never reaches a schema: # -> #"),
    "through allOf": (
        {"$ref": "#/$defs/a", "$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}}},
        "cycle of subschemas that applies itself to the same value forever: "
        "#/$defs/a -> #/$defs/a/allOf/0 -> #/$defs/a",
    ),
    "through anyOf at the root": (
        {"anyOf": [{"type": "string"}, {"$ref": "#"}]},
        "cycle of subschemas that applies itself to the same value forever: # -> #/anyOf/1 -> #",
    ),
}

REFUSED = "only references inside the schema are allowed, and nothing is retrieved"
UNSUPPORTED = "which the linear-time regular expression engine (RE2) does not support"
PROBLEMS = {
    **{name: (schema, problem) for name, (schema, problem) in CYCLES.items()},
    "https": (
        {"$ref": "https://example.com/s.json"},
        f"$ref 'https://example.com/s.json' leaves the document "
        f"(https URI 'https://example.com/s.json'): {REFUSED} (at #/$ref)",
    ),
    "file": (
        {"properties": {"a": {"$ref": "file:///etc/passwd"}}},
        f"$ref 'file:///etc/passwd' leaves the document (file URI 'file:///etc/passwd'): "
        f"{REFUSED} (at #/properties/a/$ref)",
    ),
    "another scheme": ({"$ref": "urn:example:thing"}, "leaves the document (urn URI"),
    "relative URL": (
        {"$ref": "other.json#/x"},
        f"$ref 'other.json#/x' names another document ('other.json'): {REFUSED}",
    ),
    "relative URL against $id": (
        {"$id": "https://example.com/root.json", "$ref": "other.json"},
        "leaves the document (https URI 'https://example.com/other.json')",
    ),
    "the meta-schema itself": (
        {"$ref": "https://json-schema.org/draft/2020-12/schema"},
        "leaves the document (https URI",
    ),
    "missing pointer": (
        {"$ref": "#/$defs/nope"},
        "$ref '#/$defs/nope' does not resolve (at #/$ref)",
    ),
    "missing anchor": ({"$ref": "#nope"}, "$ref '#nope' does not resolve (at #/$ref)"),
    "$ref to a list": (
        {"$ref": "#/enum", "enum": [1, 2]},
        "$ref '#/enum' points at an array, not a schema (at #/$ref)",
    ),
    "$ref to a list in $defs": (
        {"$ref": "#/$defs/l", "$defs": {"l": [1, 2]}},
        "$ref '#/$defs/l' does not resolve to a schema (at #/$ref)",
    ),
    "$ref to a string": (
        {"$ref": "#/title", "title": "x"},
        "$ref '#/title' points at a string, not a schema (at #/$ref)",
    ),
    "$ref into a string": (
        {"$ref": "#/$defs/s/x", "$defs": {"s": "x"}},
        "$ref '#/$defs/s/x' does not resolve to a schema (at #/$ref)",
    ),
    "lookahead": (
        {"properties": {"x": {"pattern": "^(?=a)"}}},
        f"pattern '^(?=a)' uses lookahead, {UNSUPPORTED} (at #/properties/x/pattern)",
    ),
    "negative lookbehind": ({"pattern": "(?<!a)b"}, "uses negative lookbehind"),
    "backreference": (
        {"pattern": r"(a)\1"},
        f"pattern '(a)\\\\1' uses backreferences, {UNSUPPORTED}",
    ),
    "named backreference": ({"pattern": r"(?<n>a)\k<n>"}, "uses named backreferences"),
    "patternProperties key": (
        {"patternProperties": {"^(?!x)": {}}},
        f"patternProperties key '^(?!x)' uses negative lookahead, {UNSUPPORTED} "
        "(at #/patternProperties)",
    ),
    "regex syntax error": (
        {"pattern": "(a"},
        "pattern '(a' is not a valid regular expression: missing ): (a (at #/pattern)",
    ),
    "anchor in a malformed schema": (
        {"$defs": {"l": [1]}, "items": {"$ref": "#x"}},
        "$ref '#x' is not checked: the schema is malformed (see the other problems) "
        "(at #/items/$ref)",
    ),
    "pattern in a $ref target outside the known keywords": (
        {"$ref": "#/extra", "extra": {"pattern": "(?=a)"}},
        "pattern '(?=a)' uses lookahead",
    ),
    "too large": (
        {"description": "x" * MAX_SCHEMA_BYTES},
        f"the schema is too large: {MAX_SCHEMA_BYTES + 18} bytes of JSON, "
        f"at most {MAX_SCHEMA_BYTES}",
    ),
    "nested too deeply": (
        {"type": "object", "properties": nest(MAX_SCHEMA_DEPTH)},
        f"the schema is nested more than {MAX_SCHEMA_DEPTH} levels deep",
    ),
    "chain of subschemas too long": (
        defs_chain(MAX_SCHEMA_DEPTH + 5),
        f"a chain of {MAX_SCHEMA_DEPTH + 6} subschemas ($ref, allOf, anyOf, ...) applies",
    ),
    "unknown dialect": (
        {"$schema": "https://example.com/my-dialect"},
        "unknown $schema 'https://example.com/my-dialect': use one of drafts 3, 4, 6, 7, "
        "2019-09 and 2020-12",
    ),
    "meta-schema": (
        {"type": "nonsense"},
        "not a valid JSON Schema: 'nonsense' is not valid under any of the given schemas "
        "(at #/type)",
    ),
    "not JSON": ({"enum": [{1, 2}]}, "the schema holds a set, which is not JSON (at #/enum/0)"),
    "not an object": ([{"type": "string"}], "a JSON Schema must be an object or a boolean"),
}


class Address(BaseModel):
    city: str
    zip: str | None = None


class Company(BaseModel):
    name: str
    offices: list[Address]
    parent: Company | None = None


VALID = {
    "true": True,
    "false": False,
    "empty": {},
    "boolean subschemas": {
        "properties": {"x": True, "y": False},
        "anyOf": [True, {"type": "object"}],
        "items": True,
        "$defs": {"yes": True, "no": False},
        "allOf": [{"$ref": "#/$defs/yes"}],
    },
    "tree": TREE,
    "recursion to the root": SELF_TREE,
    "anyOf recursion through items": {
        "anyOf": [{"type": "integer"}, {"type": "array", "items": {"$ref": "#"}}]
    },
    "ECMA \\u escapes": {"pattern": "^[\\u0041-\\u005A]+$|^\\uD83D\\uDE00$"},
    "embedded resource by $id": {
        "$id": "https://example.com/root.json",
        "$defs": {"item": {"$id": "item.json", "type": "string"}},
        "properties": {"a": {"$ref": "item.json"}},
    },
    "anchor": {"$defs": {"a": {"$anchor": "thing", "type": "string"}}, "$ref": "#thing"},
    "dynamic tree": {
        "$id": "https://example.com/tree",
        "$dynamicAnchor": "node",
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$dynamicRef": "#node"}}},
    },
    "definitions under 2020-12": {"definitions": {"a": {}}, "$ref": "#/definitions/a"},
    "draft-07 ignores $ref siblings": {
        "$schema": DRAFT7,
        "definitions": {"a": {"type": "string"}},
        "$ref": "#/definitions/a",
        "allOf": [{"$ref": "#"}],
    },
    "a pydantic model": Company.model_json_schema(),
    "a thousand properties": {"properties": {f"f{i}": {"type": "string"} for i in range(1000)}},
}


# -- check_schema ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("schema", "problem"), list(PROBLEMS.values()), ids=list(PROBLEMS))
def test_check_schema_reports_the_problem(schema: Any, problem: str) -> None:
    with quickly():
        found = check_schema(schema)
    assert any(problem in line for line in found), found


@pytest.mark.parametrize("schema", list(VALID.values()), ids=list(VALID))
def test_check_schema_accepts_legal_schemas(schema: Any) -> None:
    assert check_schema(schema) == []


def test_check_schema_lists_every_problem_once_and_caps_them() -> None:
    schema = {"properties": {f"p{i}": {"pattern": "(?=x)"} for i in range(MAX_ERRORS + 7)}}
    found = check_schema(schema)
    assert len(found) == MAX_ERRORS + 1
    assert found[-1] == f"7 more problems not listed (at most {MAX_ERRORS} are)"
    duplicated = {"$defs": {"l": [1]}}  # every vocabulary of the 2020-12 meta-schema objects
    assert check_schema(duplicated) == [
        "not a valid JSON Schema: [1] is not of type 'object', 'boolean' (at #/$defs/l)"
    ]


# -- nothing is ever retrieved --------------------------------------------------------------------
@pytest.fixture
def http_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on 127.0.0.1 serving a schema; the list collects the requested paths."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            body = json.dumps({"type": "string", "const": "FROM-THE-NETWORK"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/schema+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{url}/alive", timeout=5) as response:  # the server does answer
            assert b"FROM-THE-NETWORK" in response.read()
        assert requests == ["/alive"]
        requests.clear()
        yield url, requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_remote_refs_are_never_fetched(http_server: tuple[str, list[str]]) -> None:
    url, requests = http_server
    for schema in (
        {"$ref": f"{url}/schema.json"},
        {"properties": {"a": {"$ref": f"{url}/a.json#/x"}}},
        {"$id": f"{url}/root.json", "$ref": "other.json"},
    ):
        errors = schema_errors(schema, {"a": "x"})
        time.sleep(0.1)  # a request in flight would have arrived by now
        assert requests == []
        assert "FROM-THE-NETWORK" not in repr(errors)
        assert len(errors) == 1 and errors[0][0] == "" and errors[0][1].startswith(UNUSABLE)
        assert "leaves the document (http URI" in errors[0][1]
        assert [UNUSABLE + p for p in check_schema(schema)] == [m for _, m in errors]
    assert requests == []


def test_file_refs_are_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"const": "TOP-SECRET-4711", "pattern": "TOP-SECRET-4711"}))
    for schema in ({"$ref": secret.as_uri()}, {"items": {"$ref": f"{secret.as_uri()}#/const"}}):
        errors = schema_errors(schema, ["guess"])
        assert "TOP-SECRET" not in repr(errors)
        assert "leaves the document (file URI" in errors[0][1]
        assert "TOP-SECRET" not in repr(check_schema(schema))


# -- schema_errors: unusable schemas are errors, not exceptions or hangs --------------------------
UNUSABLE_SCHEMAS = {
    **{name: (schema, 1, problem) for name, (schema, problem) in CYCLES.items()},
    "unknown type": ({"type": "nonsense"}, 1, "not a valid JSON Schema: 'nonsense' is not valid"),
    "unresolvable $ref": ({"$ref": "#/$defs/x"}, 1, "$ref '#/$defs/x' does not resolve"),
    "$ref to a string": ({"$ref": "#/title", "title": "t"}, 1, "$ref '#/title' points at a"),
    "lookahead": ({"pattern": "(?=a)"}, "a", "pattern '(?=a)' uses lookahead"),
    "a list": ([{"type": "string"}], "x", "a JSON Schema must be an object or a boolean, not"),
}


@pytest.mark.parametrize(
    ("schema", "value", "problem"), list(UNUSABLE_SCHEMAS.values()), ids=list(UNUSABLE_SCHEMAS)
)
def test_unusable_schema_is_one_error_per_problem(schema: Any, value: Any, problem: str) -> None:
    with quickly():
        errors = schema_errors(schema, value)
    assert len(errors) == 1, errors
    assert errors[0][0] == ""
    assert errors[0][1].startswith(UNUSABLE + problem), errors


# -- regular expressions run on RE2 ---------------------------------------------------------------
NO_MATCH = f"{EVIL_TEXT!r} does not match {EVIL!r}"
LINEAR = {
    "pattern": ({"type": "string", "pattern": EVIL}, EVIL_TEXT, [("", NO_MATCH)]),
    "pattern, matching and not": (
        {"properties": {"good": {"pattern": EVIL}, "bad": {"pattern": EVIL}}},
        {"good": "a" * 40, "bad": EVIL_TEXT},
        [("bad", NO_MATCH)],
    ),
    "patternProperties": (
        {"patternProperties": {EVIL: {"type": "integer"}}},
        {EVIL_TEXT: "x", "a" * 40: "y"},
        [("a" * 40, "'y' is not of type 'integer'")],
    ),
    "additionalProperties next to patternProperties": (
        {"patternProperties": {EVIL: {}}, "additionalProperties": False},
        {EVIL_TEXT: 1, "aaa": 2},
        [("", f"{EVIL_TEXT!r} does not match any of the regexes: {EVIL!r}")],
    ),
    "unevaluatedProperties next to patternProperties": (
        {"patternProperties": {EVIL: {}}, "unevaluatedProperties": False},
        {EVIL_TEXT: 1, "aaa": 2},
        [("", f"Unevaluated properties are not allowed ({EVIL_TEXT!r} was unexpected)")],
    ),
    "draft 2019-09 unevaluatedProperties": (
        {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "allOf": [{"patternProperties": {EVIL: {}}}],
            "unevaluatedProperties": False,
        },
        {EVIL_TEXT: 1, "aaa": 2},
        [("", f"Unevaluated properties are not allowed ({EVIL_TEXT!r} was unexpected)")],
    ),
    "draft-07": ({"$schema": DRAFT7, "pattern": EVIL}, EVIL_TEXT, [("", NO_MATCH)]),
    "a subschema declaring its own $schema": (
        {"properties": {"x": {"$schema": DRAFT7, "pattern": EVIL}}},
        {"x": EVIL_TEXT},
        [("x", NO_MATCH)],
    ),
}


@pytest.mark.parametrize(("schema", "value", "expected"), list(LINEAR.values()), ids=list(LINEAR))
def test_regexes_run_in_linear_time(schema: Any, value: Any, expected: Any) -> None:
    with quickly(1.0):
        assert schema_errors(schema, value) == expected


# -- bounds ---------------------------------------------------------------------------------------
def test_a_value_nested_too_deeply_is_one_error() -> None:
    too_deep = [("", f"the value is nested more than {MAX_VALUE_DEPTH} levels deep")]
    assert schema_errors({"type": "object"}, nest(MAX_VALUE_DEPTH + 1)) == too_deep
    assert schema_errors(TREE, nest(5000)) == too_deep
    assert schema_errors({"items": {"$ref": "#"}}, nest(100_000, "array")) == too_deep
    assert schema_errors({"type": "object"}, nest(MAX_VALUE_DEPTH)) == []


def test_recursion_is_bounded_by_nested_keywords_not_by_the_stack() -> None:
    message = f"more than {MAX_EVAL_DEPTH} nested schema keywords"
    recursive = {"properties": {"c": {"$ref": "#"}}}
    assert schema_errors(recursive, nest(90)) == []  # about two keywords per level
    for depth in (120, MAX_VALUE_DEPTH):
        assert schema_errors(recursive, nest(depth)) == [
            ("", f"the value is nested too deeply to check against this schema ({message})")
        ]

    def deep_caller(frames: int) -> list[tuple[str, str]]:  # a caller with a deep stack
        return deep_caller(frames - 1) if frames else schema_errors(recursive, nest(199))

    assert len(deep_caller(300)) == 1


def test_exponential_schemas_stop_at_the_step_budget() -> None:
    both = {"properties": {"c": {"$ref": "#/$defs/n"}}}
    schema = {"$ref": "#/$defs/n", "$defs": {"n": {"allOf": [both, both]}}}  # 2^depth work
    with quickly(5.0):
        errors = schema_errors(schema, nest(40))
    assert errors == [("", f"checking takes more than {MAX_STEPS} schema keyword evaluations")]
    assert schema_errors(schema, nest(8)) == []


def test_at_most_max_errors_are_listed_in_path_order() -> None:
    errors = schema_errors({"items": {"type": "integer"}}, ["x"] * (MAX_ERRORS + 70))
    assert len(errors) == MAX_ERRORS + 1
    paths = [path for path, _ in errors[:-1]]
    assert paths == sorted(paths) and paths[:3] == ["0", "1", "10"]  # as before: text order
    assert errors[-1] == ("", f"70 more errors not listed (at most {MAX_ERRORS} are)")


def test_long_messages_are_clipped() -> None:
    [(path, message)] = schema_errors({"type": "integer"}, "x" * 10_000)
    assert path == "" and len(message) == MAX_MESSAGE_CHARS and message.endswith("…")


def test_unique_items_is_linear_with_json_equality() -> None:
    assert schema_errors({"uniqueItems": True}, [1, True, "1", None, [1], {"a": 1}]) == []
    for same in ([1, 1.0], [{"a": 1, "b": [2]}, {"b": [2.0], "a": 1}], [[1, [2]], [1, [2]]]):
        assert schema_errors({"uniqueItems": True}, same) == [
            ("", f"{same!r} has non-unique elements")
        ]
    many = [{"id": i, "tags": [str(i)]} for i in range(30_000)]  # pairwise: 4.5e8 comparisons
    with quickly(3.0):
        assert schema_errors({"uniqueItems": True}, many) == []


def test_anchors_are_indexed_once_not_per_lookup() -> None:
    defs = {f"a{i}": {"$anchor": f"x{i}", "type": "integer"} for i in range(500)}
    schema = {"$defs": defs, "items": {"$ref": "#x499"}}
    with quickly(3.0):  # jsonschema alone crawls the document on each lookup: ~50 s here
        assert check_schema(schema) == []
        assert schema_errors(schema, [*range(4999), "x"]) == [
            ("4999", "'x' is not of type 'integer'")
        ]


# -- what was right stays right -------------------------------------------------------------------
def test_a_recursive_tree_schema_is_accepted_and_validated() -> None:
    assert check_schema(TREE) == []
    tree = {"value": 1, "children": [{"value": 2, "children": [{"value": "x"}]}, {}]}
    assert schema_errors(TREE, tree) == [
        ("children.0.children.0.value", "'x' is not of type 'integer'"),
        ("children.1", "'value' is a required property"),
    ]
    assert schema_errors(TREE, {"value": 1, "children": [{"value": 2}]}) == []
    deep: dict[str, Any] = {"value": 0}
    for level in range(1, 40):
        deep = {"value": level, "children": [deep]}
    assert schema_errors(TREE, deep) == []


# -- schema_problem -------------------------------------------------------------------------------
FIELDS = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "inner": {"type": "object", "properties": {"label": {}}},
        "tags": {"type": "array", "items": {"type": "object", "properties": {"name": {}}}},
        "meta": {"type": "object", "properties": {"a": {}}, "additionalProperties": True},
        "choice": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/x"}]},
        "open": {"anyOf": [{"$ref": "#/$defs/x"}, {"type": "string"}]},
    },
    "$defs": {"x": {"type": "object", "properties": {"x": {}}}},
}
ALL_FIELDS = "text, inner, tags, meta, choice, open"
PATHS = {
    # as before
    "a field": (FIELDS, ("text",), None),
    "a missing field": (FIELDS, ("missing",), f"has no field 'missing' (fields: {ALL_FIELDS})"),
    "nested": (FIELDS, ("inner", "lable"), "has no field 'lable' in inner (fields: label)"),
    "items": (FIELDS, ("tags", 0, "name"), None),
    "items, missing": (FIELDS, ("tags", 0, "nme"), "has no field 'nme' in tags.0 (fields: name)"),
    "additionalProperties": (FIELDS, ("meta", "anything"), None),
    "anyOf through $ref": (FIELDS, ("choice", "x"), None),
    "anyOf, missing": (FIELDS, ("choice", "y"), "has no field 'y'"),
    "anyOf with an open option": (FIELDS, ("open", "y"), None),
    "no schema": (None, ("a",), None),
    # safe now
    "cycle": ({"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}}, ("a",), None),
    "boolean property": ({"properties": {"x": True}}, ("x", "y"), None),
    "boolean anyOf option": ({"anyOf": [True, {"properties": {"a": {}}}]}, ("b",), None),
    "false anyOf option": (
        {"anyOf": [False, {"properties": {"a": {}}}]},
        ("b",),
        "has no field 'b'",
    ),
    "$ref to a boolean": ({"$ref": "#/$defs/b", "$defs": {"b": True}}, ("a",), None),
    "$ref to a list": ({"$ref": "#/$defs/l", "$defs": {"l": [1]}}, ("a",), None),
    "$ref to a string": ({"$ref": "#/title", "title": "t"}, ("a",), None),
    "malformed anyOf": ({"anyOf": "xy"}, ("a",), None),
    "tuple items": (
        {"items": [{"properties": {"a": {}}}]},
        (0, "b"),
        "has no field 'b' in 0 (fields: a)",
    ),
    # better now
    "$ref to the root": (
        SELF_TREE,
        ("child", "child", "nme"),
        "has no field 'nme' in child.child (fields: name, child)",
    ),
    "additionalProperties {}": (
        {"properties": {"a": {}}, "additionalProperties": {}},
        ("b",),
        None,
    ),
}


@pytest.mark.parametrize(("schema", "path", "expected"), list(PATHS.values()), ids=list(PATHS))
def test_schema_problem(schema: Any, path: tuple[str | int, ...], expected: str | None) -> None:
    with quickly():
        assert schema_problem(schema, path) == expected


# -- the fast path for checked schemas -----------------------------------------------------------
def clear_caches() -> None:
    for cached in (
        engine.safe_class,
        regex.compiled,
        prepared._prepare_text,
        prepared._trusted_text,
    ):
        cached.cache_clear()


@pytest.fixture
def full_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The schemas the meta-schema check and the analysis of references and cycles ran on."""
    seen: list[Any] = []
    meta_problems, analysis = prepared.meta_problems, prepared.Analysis

    def recorded_meta_problems(cls: Any, schema: Any, at: Any) -> list[str]:
        seen.append(schema)
        return meta_problems(cls, schema, at)

    def recorded_analysis(schema: Any, cls: Any) -> Any:
        seen.append(schema)
        return analysis(schema, cls)

    monkeypatch.setattr(prepared, "meta_problems", recorded_meta_problems)
    monkeypatch.setattr(prepared, "Analysis", recorded_analysis)
    clear_caches()
    yield seen
    clear_caches()


def test_checked_skips_the_meta_schema_and_the_analysis(full_checks: list[Any]) -> None:
    tree = {"value": 1, "children": [{"value": "x"}]}
    expected = [("children.0.value", "'x' is not of type 'integer'")]
    assert schema_errors(TREE, tree, checked=True) == expected
    assert schema_errors(TREE, {"value": 1}, checked=True) == []
    assert full_checks == []
    assert schema_errors(TREE, tree) == expected
    assert full_checks == [TREE, TREE]  # the meta-schema, then the analysis


CHECKED_AGREES = {
    **{name: (schema, {"a": [1, "x"]}) for name, schema in VALID.items()},
    **{name: (schema, value) for name, (schema, value, _) in LINEAR.items()},
    "tree": (TREE, {"value": 1, "children": [{"value": 2, "children": [{}]}, {"value": "x"}]}),
    "anchors": (
        {"$defs": {"a": {"$anchor": "x", "type": "integer"}}, "items": {"$ref": "#x"}},
        [1, "2"],
    ),
    "value too deep": ({"type": "object"}, nest(MAX_VALUE_DEPTH + 1)),
    "recursion too deep": ({"properties": {"c": {"$ref": "#"}}}, nest(120)),
    "step budget": (
        {
            "$ref": "#/$defs/n",
            "$defs": {
                "n": {"allOf": [{"properties": {"c": {"$ref": "#/$defs/n"}}}] * 2},
            },
        },
        nest(40),
    ),
    "too many errors": ({"items": {"type": "integer"}}, ["x"] * (MAX_ERRORS + 3)),
    "too large": ({"description": "x" * MAX_SCHEMA_BYTES}, 1),
    "nested too deeply": ({"type": "object", "properties": nest(MAX_SCHEMA_DEPTH)}, 1),
    "not JSON": ({"enum": [{1, 2}]}, 1),
    "not an object": ([{"type": "string"}], "x"),
}


@pytest.mark.parametrize(
    ("schema", "value"), list(CHECKED_AGREES.values()), ids=list(CHECKED_AGREES)
)
def test_checked_gives_the_same_errors_within_the_same_bounds(schema: Any, value: Any) -> None:
    clear_caches()
    with quickly(5.0):
        fast = schema_errors(schema, value, checked=True)
    assert fast == schema_errors(schema, value)


BROKEN_PROMISES = {
    "unresolvable $ref": ({"items": {"$ref": "#/$defs/x"}}, [1]),
    "$ref leaving the document": ({"$ref": "https://example.com/s.json"}, 1),
    "lookahead": ({"pattern": "(?=a)"}, "a"),
    "unknown type": ({"type": "nonsense"}, 1),
    "unknown dialect": ({"$schema": "https://example.com/my-dialect"}, 1),
    "malformed properties": ({"properties": 5}, {"a": 1}),
}


@pytest.mark.parametrize(
    ("schema", "value"), list(BROKEN_PROMISES.values()), ids=list(BROKEN_PROMISES)
)
def test_checked_on_an_unusable_schema_falls_back_to_the_full_check(
    schema: Any, value: Any
) -> None:
    clear_caches()
    errors = schema_errors(schema, value, checked=True)
    assert errors[0][1].startswith(UNUSABLE), errors
    assert errors == schema_errors(schema, value)


def test_checked_on_a_cycle_stops_at_a_bound() -> None:
    schema, problem = CYCLES["pure $ref cycle"]
    assert schema_errors(schema, 1) == [("", UNUSABLE + problem)]
    [(path, message)] = schema_errors(schema, 1, checked=True)
    assert path == "" and f"more than {MAX_EVAL_DEPTH} nested schema keywords" in message


# -- inside a workflow ----------------------------------------------------------------------------
async def check_in_workflow(env: Any, task_queue: str, request: dict[str, Any]) -> Any:
    async with Worker(env.client, task_queue=task_queue, workflows=[SchemaCheck]):
        return await env.client.execute_workflow(
            "SchemaCheck",
            request,
            id=unique("schema"),
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=30),
        )


async def test_inside_the_workflow_sandbox(env: Any, task_queue: str) -> None:
    """Inside a workflow the worker's own copy of the package runs (passed through, with its
    caches), and the verdict is the same as outside."""
    clear_caches()
    schema = {"properties": {"name": {"pattern": EVIL}, "next": {"$ref": "#/$defs/x"}}}
    result = await check_in_workflow(
        env, task_queue, {"schema": schema, "value": {"name": EVIL_TEXT}}
    )
    problem = "$ref '#/$defs/x' does not resolve (at #/properties/next/$ref)"
    assert result == {"problems": [problem], "errors": [["", UNUSABLE + problem]]}
    assert prepared._prepare_text.cache_info().currsize == 1  # the worker's copy checked it
    assert sys.modules["taskagent.schemas.regex"].re2 is sys.modules["re2"]
    fixed = {"properties": {"name": {"pattern": EVIL}}}
    result = await check_in_workflow(
        env, task_queue, {"schema": fixed, "value": {"name": EVIL_TEXT}}
    )
    assert result == {"problems": [], "errors": [["name", NO_MATCH]]}


async def test_checked_inside_the_workflow_sandbox(
    env: Any, task_queue: str, full_checks: list[Any]
) -> None:
    schema = {"properties": {"name": {"pattern": EVIL}}, "required": ["name", "id"]}
    request = {"schema": schema, "value": {"name": EVIL_TEXT}, "checked": True}
    result = await check_in_workflow(env, task_queue, request)
    assert result == {
        "problems": None,
        "errors": [["", "'id' is a required property"], ["name", NO_MATCH]],
    }
    assert full_checks == []
    assert prepared._trusted_text.cache_info().currsize == 1
