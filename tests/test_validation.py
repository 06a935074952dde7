"""Whole-definition validation: every kind of problem, its location and its message."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from taskagent import (
    PipelineSpec,
    Problem,
    Registry,
    SpecError,
    check_input,
    validate_pipeline,
)
from tests.support import example_registry, probes

ROOT = Path(__file__).resolve().parent.parent
KINDS = (
    "expected one of code, switch, parallel, pipeline, agent, router, approval, wait, chat, "
    "send, receive"
)

models = Registry()


class Inner(BaseModel):
    label: str


class Scored(BaseModel):
    score: int
    inner: Inner


@models.function()
def score_it(value: dict[str, Any]) -> Scored:
    return Scored(score=1, inner=Inner(label="x"))


@models.function()
def consume(value: dict[str, Any]) -> dict[str, Any]:
    return value


def code(step_id: str, function: str = "echo", **fields: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": "code", "function": function, **fields}


def pipeline(*steps: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"name": "p", "steps": list(steps), **fields}


def problems(data: Any, catalog: Registry = probes) -> list[Problem]:
    with pytest.raises(SpecError) as info:
        validate_pipeline(data, catalog)
    error = info.value
    for problem in error.problems:  # the message lists every problem
        assert f"  - {problem.location}: {problem.message}" in str(error)
    return error.problems


def only(data: Any, catalog: Registry = probes) -> Problem:
    found = problems(data, catalog)
    assert len(found) == 1, found
    return found[0]


# -- valid definitions --------------------------------------------------------------------------
def test_valid_definition_returns_a_spec() -> None:
    data = pipeline(
        code("a"),
        code("b", depends_on=["a"], input={"v": "$steps.a.output", "s": "$steps.a.status"}),
        code("c", depends_on=["b"], input="$steps.a.output", condition="steps.a.output > 1"),
        output={"result": "$steps.c.output"},
    )
    spec = validate_pipeline(data, probes)
    assert isinstance(spec, PipelineSpec)
    assert [step.id for step in spec.steps] == ["a", "b", "c"]
    assert validate_pipeline(spec, probes) is spec


def test_registered_examples_are_valid() -> None:
    registry = example_registry()  # build_registry refuses invalid pipelines
    assert set(registry.pipeline_names()) >= {
        "company_facts",
        "company_research",
        "contact_enrichment",
        "document_assistant",
        "ticket_triage",
    }
    assert registry.check() == []


# -- one problem each: (definition, the exact problem) ---------------------------------------------
def parallel(*branches: dict[str, Any], merge: str = "object") -> dict[str, Any]:
    return {"id": "par", "kind": "parallel", "branches": list(branches), "merge": merge}


P = Problem
SWITCH = {"id": "s", "kind": "switch", "value": "input.x", "routes": {"x": "a"}, "default": "alfa"}
SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}}}
SUGGEST_SEARCH = "(did you mean 'search'?)"
EXACT = {
    "duplicate step id": (
        pipeline(code("a"), code("b"), code("a")),
        P("step 'a'", "duplicate step id"),
    ),
    "unknown dependency, suggested": (
        pipeline(code("search"), code("b", depends_on=["serach"])),
        P("step 'b'", f"depends on unknown step 'serach' {SUGGEST_SEARCH}"),
    ),
    "unknown dependency, nothing close": (
        pipeline(code("search"), code("b", depends_on=["zzz"])),
        P("step 'b'", "depends on unknown step 'zzz'"),
    ),
    "self-dependency": (
        pipeline(code("a", depends_on=["a"])),
        P("pipeline", "dependency cycle: a -> a"),
    ),
    "duplicate depends_on entry": (
        pipeline(code("b"), code("a", depends_on=["b", "b"])),
        P("step 'a'.depends_on", "Value error, lists b more than once"),
    ),
    "unknown step kind": (
        pipeline({"id": "a", "kind": "llm"}),
        P("step 'a'", f"unknown step kind 'llm'; {KINDS}"),
    ),
    "missing kind": (
        pipeline({"id": "a", "function": "echo"}),
        P("step 'a'", f"missing 'kind'; {KINDS}"),
    ),
    "unknown field": (pipeline(code("a", colour=1)), P("step 'a'.colour", "unknown field")),
    "missing required field": (
        pipeline({"id": "a", "kind": "code"}),
        P("step 'a'.function", "required field is missing"),
    ),
    "mapping to unknown step": (
        pipeline(code("search"), code("b", input={"x": "$steps.serch.output"})),
        P(
            "step 'b'.input",
            f"'$steps.serch.output' refers to unknown step 'serch' {SUGGEST_SEARCH}",
        ),
    ),
    "unknown input field": (
        pipeline(code("a", input={"t": "$input.missing"}), input_schema=SCHEMA),
        P(
            "step 'a'.input",
            "'$input.missing': the pipeline input has no field 'missing' (fields: text)",
        ),
    ),
    "reference root": (
        pipeline(code("a", input=["$env.HOME"])),
        P("step 'a'.input", "reference '$env.HOME' must start with $input, $steps or $memory"),
    ),
    "reference after the step id": (
        pipeline(code("a"), code("b", depends_on=["a"], input="$steps.a.outptu")),
        P("step 'b'.input", "'$steps.a.outptu': after the step id use .output or .status"),
    ),
    "reference without a step": (
        pipeline(code("a", input="$steps")),
        P("step 'a'.input", "'$steps': name a step, as in steps.<id>.output"),
    ),
    "empty reference segment": (
        pipeline(code("a", input="$input..x")),
        P("step 'a'.input", "empty segment in reference '$input..x'"),
    ),
    "output to unknown step": (
        pipeline(code("a"), output={"r": "$steps.q.output"}),
        P("output", "'$steps.q.output' refers to unknown step 'q'"),
    ),
    "condition syntax error": (
        pipeline(code("a", condition="input.x >")),
        P("step 'a'.condition", "invalid syntax in 'input.x >': invalid syntax"),
    ),
    "switch to unknown step": (
        pipeline(code("a"), code("alpha"), SWITCH),
        P("step 's'", "routes to unknown step 'alfa' (did you mean 'alpha'?)"),
    ),
    "unknown function": (
        pipeline(code("a", "ecoh")),
        P("step 'a'.function", "unknown function 'ecoh' (did you mean 'echo'?)"),
    ),
    "unknown merge": (
        pipeline(parallel(code("x"), merge="totl")),
        P("step 'par'.merge", "unknown function 'totl' (did you mean 'total'?)"),
    ),
    "branch with depends_on": (
        pipeline(code("a"), parallel(code("x", depends_on=["a"]))),
        P("step 'par'.branch 'x'", "branches cannot have depends_on; put it on the parallel step"),
    ),
    "duplicate branch id": (
        pipeline(parallel(code("x"), code("y"), code("x"))),
        P("step 'par'.branch 'x'", "duplicate branch id"),
    ),
    "unregistered sub-pipeline": (
        pipeline({"id": "sub", "kind": "pipeline", "pipeline": "nope"}),
        P("step 'sub'.pipeline", "unknown pipeline 'nope'"),
    ),
    "inline sub-pipeline problem": (
        pipeline({"id": "sub", "kind": "pipeline", "pipeline": pipeline(code("i", "ecoh"))}),
        P(
            "step 'sub'.pipeline.step 'i'.function",
            "unknown function 'ecoh' (did you mean 'echo'?)",
        ),
    ),
}


@pytest.mark.parametrize(("data", "expected"), list(EXACT.values()), ids=list(EXACT))
def test_single_problem(data: dict[str, Any], expected: Problem) -> None:
    assert only(data) == expected


def test_duplicate_step_id_when_one_fails_parsing() -> None:
    assert problems(pipeline(code("a"), {"id": "a", "kind": "code"})) == [
        Problem("step 'a'.function", "required field is missing"),
        Problem("step 'a'", "duplicate step id"),
    ]


def test_dependency_cycle_names_its_path() -> None:
    steps = [code("a", depends_on=["c"]), code("b", depends_on=["a"]), code("c", depends_on=["b"])]
    found = only(pipeline(code("start"), *steps))
    assert found == Problem("pipeline", "dependency cycle: a -> c -> b -> a")
    path = found.message.removeprefix("dependency cycle: ").split(" -> ")
    assert path[0] == path[-1]
    assert sorted(path[:-1]) == ["a", "b", "c"]
    deps = {step["id"]: step["depends_on"] for step in steps}
    for node, dep in itertools.pairwise(path):  # each node depends on the next one
        assert dep in deps[node]


@pytest.mark.parametrize("data", [[code("a")], "text", 42])
def test_non_object_pipeline(data: Any) -> None:
    with pytest.raises(SpecError) as info:
        validate_pipeline(data, probes)
    kind = type(data).__name__
    assert info.value.problems == [Problem("pipeline", f"a pipeline must be an object, not {kind}")]
    assert info.value.pipeline == "?"


def test_invalid_input_schema() -> None:
    found = only(pipeline(code("a"), input_schema={"type": "nonsense"}))
    assert found.location == "input_schema"
    assert found.message.startswith("not a valid JSON Schema: 'nonsense' is not valid")


def test_reference_to_a_step_that_is_not_an_ancestor() -> None:
    not_ancestor = "which is not among its dependencies; add it to depends_on"
    found = only(
        pipeline(code("a"), code("b"), code("c", depends_on=["b"], input="$steps.a.output"))
    )
    assert found == Problem(
        "step 'c'.input", f"'$steps.a.output' refers to step 'a', {not_ancestor}"
    )
    found = only(pipeline(code("a"), code("b", condition="steps.a.status == 'COMPLETED'")))
    assert found.location == "step 'b'.condition"
    assert f"refers to step 'a', {not_ancestor}" in found.message
    chain = [code("a"), code("b", depends_on=["a"]), code("c", depends_on=["b"], input="$steps.a")]
    assert validate_pipeline(pipeline(*chain), probes).step("c").input == "$steps.a"


def test_reference_to_unknown_output_field_of_a_typed_function() -> None:
    ref = "$steps.a.output.scroe"
    found = only(
        pipeline(code("a", "score_it"), code("b", "consume", depends_on=["a"], input=ref)), models
    )
    assert found == Problem(
        "step 'b'.input",
        f"'{ref}': the output of step 'a' has no field 'scroe' (fields: score, inner)",
    )
    cond = "steps.a.output.inner.lable"
    found = only(
        pipeline(code("a", "score_it"), code("b", "consume", depends_on=["a"], condition=cond)),
        models,
    )
    assert found.location == "step 'b'.condition"
    assert "has no field 'lable' in inner (fields: label)" in found.message


@pytest.mark.parametrize(
    ("condition", "fragment"),
    [
        ("__import__('os')", "Call is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("input.__class__", "private attribute '__class__' is not allowed"),
        ("os.name == 'nt'", "unknown name 'os'"),
    ],
)
def test_condition_with_disallowed_syntax(condition: str, fragment: str) -> None:
    found = only(pipeline(code("a", condition=condition)))
    assert found.location == "step 'a'.condition"
    assert fragment in found.message
    switch = {"id": "s", "kind": "switch", "value": condition, "routes": {"x": "a"}}
    found = only(pipeline(code("a"), switch))
    assert found.location == "step 's'.value"
    assert fragment in found.message


def test_builtin_merges_need_no_function() -> None:
    for merge in ("object", "list", "update"):
        spec = validate_pipeline(pipeline(parallel(code("x"), merge=merge)), probes)
        assert spec.steps[0].merge == merge


def test_inline_sub_pipeline_structural_problem_names_the_inner_step() -> None:
    inner = pipeline({"id": "i", "kind": "llm"})
    assert problems(pipeline({"id": "sub", "kind": "pipeline", "pipeline": inner})) == [
        Problem("step 'sub'.pipeline.step 'i'", f"unknown step kind 'llm'; {KINDS}")
    ]


# -- every problem at once ----------------------------------------------------------------------
def test_every_problem_is_listed_in_one_error() -> None:
    data = pipeline(
        code("a"),
        code("a"),
        code("b", depends_on=["zz"]),
        {"id": "k", "kind": "llm"},
        code("f", "ecoh"),
        code("q", condition="f(1)"),
        code("r", extra=1),
    )
    with pytest.raises(SpecError) as info:
        validate_pipeline(data, probes)
    error = info.value
    assert error.pipeline == "p"
    assert [(p.location, p.message.split(";")[0].split(" (")[0]) for p in error.problems] == [
        ("step 'k'", "unknown step kind 'llm'"),
        ("step 'r'.extra", "unknown field"),
        ("step 'a'", "duplicate step id"),
        ("step 'b'", "depends on unknown step 'zz'"),
        ("step 'f'.function", "unknown function 'ecoh'"),
        (
            "step 'q'.condition",
            "Call is not allowed in 'f(1)': only comparisons, and/or/not, "
            "arithmetic, literals and references to input, steps and memory",
        ),
    ]
    text = str(error)
    assert text.startswith("pipeline 'p' is invalid (6 problems):\n  - ")
    assert text.count("\n  - ") == 6


@pytest.mark.parametrize(
    ("field", "value"), [("input_schema", {"type": 3}), ("output", "$steps.nope.output")]
)
def test_pipeline_level_problems_are_listed_next_to_structural_errors(
    field: str, value: Any
) -> None:
    found = problems(pipeline(code("a"), code("b", colour=1), **{field: value}))
    assert [p.location for p in found] == ["step 'b'.colour", field]


def test_reference_to_a_step_with_a_structural_error_is_not_unknown() -> None:
    data = pipeline(
        {"id": "a", "kind": "code"}, code("b", depends_on=["a"], input="$steps.a.output")
    )
    assert problems(data) == [Problem("step 'a'.function", "required field is missing")]


# -- pipeline input -----------------------------------------------------------------------------
def test_check_input_against_the_input_schema() -> None:
    schema = {**SCHEMA, "required": ["text"]}
    schema["properties"] = {**SCHEMA["properties"], "n": {"type": "integer"}}
    spec = validate_pipeline(pipeline(code("a"), input_schema=schema), probes)
    assert check_input(spec, {"text": "hello", "n": 2}) == []
    assert check_input(spec, {"n": 1}) == [Problem("input", "'text' is a required property")]
    assert check_input(spec, {"text": 5, "n": "x"}) == [
        Problem("input.n", "'x' is not of type 'integer'"),
        Problem("input.text", "5 is not of type 'string'"),
    ]
    assert check_input(spec, []) == [Problem("input", "[] is not of type 'object'")]
    assert check_input(validate_pipeline(pipeline(code("a")), probes), 42) == []  # no schema
