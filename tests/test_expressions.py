"""The condition language and `$` references: parsing, the syntax whitelist, evaluation, lookup."""

from __future__ import annotations

from typing import Any

import pytest

from taskagent.expressions import (
    Condition,
    ExpressionError,
    lookup,
    mapping_references,
    parse_condition,
    parse_reference,
    resolve_mapping,
)

SCOPE: dict[str, Any] = {
    "input": {
        "quick": False,
        "count": 3,
        "name": "acme",
        "tags": ["a", "b"],
        "nested": {"k": [10, 20]},
        "nothing": None,
    },
    "steps": {
        "search": {
            "output": {"score": 4.5, "labels": ["x"], "meta": {"rating": 5}},
            "status": "COMPLETED",
        },
    },
}


# -- parsing and the whitelist ------------------------------------------------------------------
def test_parse_condition_returns_stripped_text_and_references_in_order() -> None:
    condition = parse_condition(
        "  steps.search.output.score >= 4 and input.flags['x'][0] or steps.b.status == 'FAILED'  "
    )
    assert isinstance(condition, Condition)
    assert condition.text == (
        "steps.search.output.score >= 4 and input.flags['x'][0] or steps.b.status == 'FAILED'"
    )
    assert condition.references == (
        ("steps", "search", "output", "score"),
        ("input", "flags", "x", 0),
        ("steps", "b", "status"),
    )


def test_references_ignore_literals_and_split_dynamic_subscripts() -> None:
    condition = parse_condition("input.a[input.b] == null and true != false and None is None")
    assert condition.references == (("input", "a"), ("input", "b"))
    assert parse_condition("1 + 2 > 2").references == ()
    assert parse_condition("input").references == (("input",),)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os')", "Call is not allowed in \"__import__('os')\""),
        ("f(1)", "Call is not allowed"),
        ("input.name.upper()", "Call is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("[x for x in input.tags]", "ListComp is not allowed"),
        ("{x: 1 for x in input.tags}", "DictComp is not allowed"),
        ("{x for x in input.tags}", "SetComp is not allowed"),
        ("(x for x in input.tags)", "GeneratorExp is not allowed"),
        ("(x := 1)", "NamedExpr is not allowed"),
        ("input ** 2", "Pow is not allowed"),
        ("input.tags[0:1]", "Slice is not allowed"),
        ("f'{input}'", "JoinedStr is not allowed"),
        ("input.count & 1", "BitAnd is not allowed"),
        ("{1, 2}", "Set is not allowed"),
        ("input.__class__", "private attribute '__class__' is not allowed"),
        ("steps.a.output._secret", "private attribute '_secret' is not allowed"),
        ("os.system", "unknown name 'os' in 'os.system'"),
        ("open", "unknown name 'open'"),
        ("score > 3", "unknown name 'score'"),
    ],
)
def test_disallowed_constructs_are_rejected_by_name(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_condition(text)
    assert fragment in str(info.value)


def test_disallowed_node_message_explains_what_is_allowed() -> None:
    with pytest.raises(ExpressionError, match="only comparisons, and/or/not, arithmetic"):
        parse_condition("f(1)")
    with pytest.raises(ExpressionError, match=r"use input\.<field>, steps\.<id>\.output or memory"):
        parse_condition("foo")


@pytest.mark.parametrize("text", ["input.a >", "", "a = 1", "input.a; 1", "*input", "x if"])
def test_syntax_errors_are_expression_errors(text: str) -> None:
    with pytest.raises(ExpressionError, match=r"^invalid syntax in "):
        parse_condition(text)


# -- evaluation ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("steps.search.output.score >= 4", True),
        ("steps.search.output.score >= 4 and not input.quick", True),
        ("input.quick or input.count > 5", False),
        ("not (input.count == 3)", False),
        ("1 < input.count <= 3", True),
        ("input.count + 2 * 3", 9),
        ("(input.count + 1) / 2", 2.0),
        ("input.count // 2", 1),
        ("input.count % 2", 1),
        ("-input.count", -3),
        ("'a' in input.tags", True),
        ("'z' not in input.tags", True),
        ("'cm' in input.name", True),
        ("input.nothing is null", True),
        ("true and not false", True),
        ("null", None),
        ("input['name']", "acme"),
        ("input.tags[1]", "b"),
        ("input.tags[-1]", "b"),
        ("input.nested.k[0]", 10),
        ("steps.search.output['meta']['rating'] == 5", True),
        ("steps.search.status == 'COMPLETED'", True),
        ("'big' if input.count > 2 else 'small'", "big"),
        ("[1, 2][0] + {'a': 1}['a']", 2),
        ("input.name + '!'", "acme!"),
        ("input.missing", None),
        ("input.missing is null and input['missing'] == None", True),
        ("steps.search.output.nope", None),
        ("steps.search.output.meta.nope == 5", False),
    ],
)
def test_evaluate(text: str, expected: Any) -> None:
    result = parse_condition(text).evaluate(SCOPE)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("input.nothing > 3", "'>' not supported between instances of 'NoneType' and 'int'"),
        ("input.count / 0", "division by zero"),
        ("input.name + 1", "can only concatenate str"),
        ("'a' < 1", "'<' not supported"),
    ],
)
def test_evaluation_errors_are_expression_errors(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_condition(text).evaluate(SCOPE)
    assert str(info.value).startswith(f"cannot evaluate {text!r}: ")
    assert fragment in str(info.value)


def test_value_errors_during_evaluation_are_expression_errors() -> None:
    with pytest.raises(ExpressionError, match="unsupported format character"):
        parse_condition("'%z' % input.count").evaluate(SCOPE)


def test_fields_named_like_dict_methods_read_the_data() -> None:
    scope = {"input": {"items": [1, 2], "keys": "k"}, "steps": {}}
    assert parse_condition("input.items[0] == 1 and input.keys == 'k'").evaluate(scope) is True


def test_missing_links_below_a_missing_field_read_as_null() -> None:
    assert parse_condition("input.missing.deeper").evaluate(SCOPE) is None
    assert resolve_mapping("$input.missing.deeper", SCOPE) is None


# -- references ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("$input.company", ("input", "company")),
        ("$input", ("input",)),
        ("$steps.a.output.items.0", ("steps", "a", "output", "items", 0)),
        ("$steps.a.status", ("steps", "a", "status")),
        ("$steps.a.output.12.name", ("steps", "a", "output", 12, "name")),
    ],
)
def test_parse_reference_paths(text: str, path: tuple[Any, ...]) -> None:
    assert parse_reference(text) == path


@pytest.mark.parametrize("text", ["plain", "", "$$input.x", "$$", "a $input.x"])
def test_literals_and_escapes_are_not_references(text: str) -> None:
    assert parse_reference(text) is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("$input..a", "empty segment in reference '$input..a'"),
        ("$input.", "empty segment in reference '$input.'"),
        ("$", "empty segment in reference '$'"),
        ("$env.HOME", "reference '$env.HOME' must start with $input, $steps or $memory"),
        ("$step.a.output", "must start with $input, $steps or $memory"),
    ],
)
def test_malformed_references(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_reference(text)
    assert fragment in str(info.value)


def test_mapping_references_walks_dicts_and_lists_but_not_keys() -> None:
    template = {
        "a": "$input.x",
        "b": ["$steps.s.output", "literal", {"c": "$$escaped", "d": "$steps.t.status"}],
        "$input.key": 3,
        "e": None,
        "f": 1.5,
    }
    assert mapping_references(template) == [
        ("$input.x", ("input", "x")),
        ("$steps.s.output", ("steps", "s", "output")),
        ("$steps.t.status", ("steps", "t", "status")),
    ]
    assert mapping_references("$input") == [("$input", ("input",))]
    assert mapping_references(["$$x", 5, None, True]) == []


def test_mapping_references_raises_on_a_malformed_reference() -> None:
    with pytest.raises(ExpressionError, match="must start with"):
        mapping_references({"a": ["$nope.x"]})


def test_resolve_mapping() -> None:
    scope = {
        "input": {"x": 5, "company": {"name": "Acme"}},
        "steps": {"s": {"output": {"items": [1, {"deep": "yes"}]}, "status": "COMPLETED"}},
    }
    template = {
        "a": "$input.x",
        "b": ["$steps.s.output.items.0", "literal", {"c": "$$escaped"}],
        "deep": "$steps.s.output.items.1.deep",
        "status": "$steps.s.status",
        "name": "$input.company.name",
        "missing": "$input.nope",
        "deeper": "$input.nope.deeper.still",
        "out_of_range": "$steps.s.output.items.7",
        "unknown_step": "$steps.zz.output",
        "dollar": "$$",
        "$input.x": "key untouched",
        "scalars": [1, 2.5, None, True],
    }
    assert resolve_mapping(template, scope) == {
        "a": 5,
        "b": [1, "literal", {"c": "$escaped"}],
        "deep": "yes",
        "status": "COMPLETED",
        "name": "Acme",
        "missing": None,
        "deeper": None,
        "out_of_range": None,
        "unknown_step": None,
        "dollar": "$",
        "$input.x": "key untouched",
        "scalars": [1, 2.5, None, True],
    }
    assert resolve_mapping("$input", scope) is scope["input"]
    assert resolve_mapping("no reference", scope) == "no reference"
    assert resolve_mapping(None, scope) is None


def test_resolve_mapping_raises_on_a_malformed_reference() -> None:
    with pytest.raises(ExpressionError, match="empty segment"):
        resolve_mapping({"a": "$input..x"}, {"input": {}})


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("a", 1, "b"), 2),
        (("a", 0), 1),
        (("a", -1), {"b": 2}),
        (("a", 2), None),
        (("a", -3), None),
        (("a", "0"), None),
        (("s", 0), None),
        (("s", "upper"), None),
        (("n", "x"), None),
        (("missing", "x", 0), None),
        ((), {"a": [1, {"b": 2}], "s": "text", "n": None}),
    ],
)
def test_lookup(path: tuple[Any, ...], expected: Any) -> None:
    scope = {"a": [1, {"b": 2}], "s": "text", "n": None}
    assert lookup(scope, path) == expected
