"""Spec input and output: the fluent builder, JSON/YAML round trips, the JSON Schema, registries."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from taskagent import (
    Pipeline,
    PipelineSpec,
    Registry,
    RegistryError,
    RetrySpec,
    Trigger,
    code,
    spec_to_json,
    spec_to_yaml,
    validate_pipeline,
)
from taskagent.functions import StepContext, describe_function
from taskagent.serialization import (
    SpecFileError,
    load_spec_file,
    parse_spec_text,
    pipeline_json_schema,
    pipeline_json_schema_text,
    spec_to_data,
)
from tests.support import add, echo, probes, total

ROOT = Path(__file__).resolve().parent.parent
TRIAGE = ROOT / "examples" / "ticket_triage.yaml"

renamed = Registry()


class Query(BaseModel):
    company: str


@renamed.function(name="lookup_company")
def look_up(query: Query) -> dict[str, str]:
    return {"company": query.company}


def built() -> Pipeline:
    inner = Pipeline("inner").code("i", echo)
    return (
        Pipeline(
            "demo",
            "A demo.",
            input_model=Query,
            constraints=["Be brief"],
            on_failure="continue",
            max_concurrency=2,
        )
        .code("a", look_up, timeout=timedelta(seconds=5), retry=RetrySpec(max_attempts=2))
        .switch("s", "steps.a.output.flag", {"true": "b", "false": ["c"]}, "c", depends_on=["a"])
        .code("b", "add", input={"a": 1, "b": "$input.company"})
        .code("c", echo, local=True)
        .parallel(
            "par",
            [code("x", echo), code("y", add)],
            merge=total,
            depends_on=["b", "c"],
            trigger=Trigger.ANY_COMPLETED,
        )
        .pipeline("sub", inner, depends_on=["par"], input="$steps.par.output")
        .output({"result": "$steps.sub.output"})
    )


PLAIN: dict[str, Any] = {
    "name": "demo",
    "description": "A demo.",
    "input_schema": Query.model_json_schema(),
    "constraints": ["Be brief"],
    "on_failure": "continue",
    "max_concurrency": 2,
    "steps": [
        {
            "id": "a",
            "kind": "code",
            "function": "lookup_company",
            "timeout": 5,
            "retry": {"max_attempts": 2},
        },
        {
            "id": "s",
            "kind": "switch",
            "value": "steps.a.output.flag",
            "depends_on": ["a"],
            "routes": {"true": ["b"], "false": ["c"]},
            "default": ["c"],
        },
        {"id": "b", "kind": "code", "function": "add", "input": {"a": 1, "b": "$input.company"}},
        {"id": "c", "kind": "code", "function": "echo", "local": True},
        {
            "id": "par",
            "kind": "parallel",
            "branches": [
                {"id": "x", "kind": "code", "function": "echo"},
                {"id": "y", "kind": "code", "function": "add"},
            ],
            "merge": "total",
            "depends_on": ["b", "c"],
            "trigger": "any_completed",
        },
        {
            "id": "sub",
            "kind": "pipeline",
            "pipeline": {
                "name": "inner",
                "steps": [{"id": "i", "kind": "code", "function": "echo"}],
            },
            "depends_on": ["par"],
            "input": "$steps.par.output",
        },
    ],
    "output": {"result": "$steps.sub.output"},
}


# -- builder ------------------------------------------------------------------------------------
def catalog() -> Registry:
    registry = Registry()
    registry.include(probes)
    registry.include(renamed)
    return registry


def test_builder_matches_plain_data() -> None:
    spec = built().build()
    plain = PipelineSpec.model_validate(PLAIN)
    assert spec.model_dump() == plain.model_dump()
    assert spec.step("a").function == "lookup_company"  # the registered name, not __name__
    assert spec.step("par").merge == "total"
    assert built().validate(catalog()).model_dump() == plain.model_dump()


# -- JSON and YAML ------------------------------------------------------------------------------
def test_spec_to_data_leaves_out_defaults() -> None:
    spec = PipelineSpec.model_validate(
        {"name": "p", "steps": [{"id": "a", "kind": "code", "function": "echo"}]}
    )
    assert spec_to_data(spec) == {
        "name": "p",
        "steps": [{"id": "a", "kind": "code", "function": "echo"}],
    }


@pytest.mark.parametrize(("fmt", "dump"), [("json", spec_to_json), ("yaml", spec_to_yaml)])
def test_round_trip(fmt: str, dump: Any) -> None:
    spec = built().validate(catalog())
    again = validate_pipeline(parse_spec_text(dump(spec), fmt=fmt), catalog())
    assert again == spec
    assert again.model_dump() == spec.model_dump()
    assert again.step("a").timeout == timedelta(seconds=5)
    assert again.step("s").routes == {"true": ["b"], "false": ["c"]}


def test_json_text_is_plain_json() -> None:
    data = json.loads(spec_to_json(built().build()))
    assert data["steps"][0] == {
        "id": "a",
        "timeout": "PT5S",
        "retry": {"max_attempts": 2},
        "kind": "code",
        "function": "lookup_company",
    }


def test_yaml_boolean_route_keys_become_strings() -> None:
    text = """
name: flags
steps:
  - {id: yes_step, kind: code, function: echo}
  - {id: no_step, kind: code, function: echo}
  - id: s
    kind: switch
    value: input.flag
    routes:
      true: yes_step
      false: [no_step]
"""
    data = parse_spec_text(text, fmt="yaml")
    assert set(data["steps"][2]["routes"]) == {True, False}  # YAML reads them as booleans
    spec = validate_pipeline(data, probes)
    assert spec.step("s").routes == {"true": ["yes_step"], "false": ["no_step"]}
    dumped = spec_to_yaml(spec)
    assert "'true':" in dumped and "'false':" in dumped
    assert validate_pipeline(parse_spec_text(dumped, fmt="yaml"), probes) == spec


def test_numeric_yaml_route_key_becomes_a_string() -> None:
    text = """
name: n
steps:
  - {id: a, kind: code, function: echo}
  - {id: s, kind: switch, value: input.n, routes: {1: a}}
"""
    assert validate_pipeline(parse_spec_text(text, fmt="yaml"), probes).step("s").routes == {
        "1": ["a"]
    }


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("bad.yaml", "name: [unclosed\n", "not valid YAML"),
        ("bad.yml", "steps: {a: 1\n", "not valid YAML"),
        ("bad.json", "{nope", "not valid JSON"),
    ],
)
def test_load_spec_file_with_bad_content(
    tmp_path: Path, name: str, content: str, fragment: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SpecFileError) as info:
        load_spec_file(path)
    assert str(info.value).startswith(f"{path}: {fragment}: ")


def test_load_spec_file_that_does_not_exist(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(SpecFileError, match="No such file") as info:
        load_spec_file(path)
    assert str(info.value).startswith(f"cannot read {path}: ")


def test_load_spec_file_reads_yaml() -> None:
    data = load_spec_file(TRIAGE)
    assert data["name"] == "ticket_triage"
    assert [step["id"] for step in data["steps"]] == [
        "classify",
        "route",
        "billing",
        "technical",
        "general",
        "page",
        "reply",
    ]


# -- JSON Schema --------------------------------------------------------------------------------
def test_committed_schema_is_up_to_date() -> None:
    committed = (ROOT / "schemas" / "pipeline.schema.json").read_text(encoding="utf-8")
    assert committed == pipeline_json_schema_text(), (
        "schemas/pipeline.schema.json is stale: regenerate with "
        "`python starter.py schema > schemas/pipeline.schema.json`"
    )


def validator() -> jsonschema.Draft202012Validator:
    schema = pipeline_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def triage_with_list_targets() -> dict[str, Any]:
    data = yaml.safe_load(TRIAGE.read_text(encoding="utf-8"))
    route = data["steps"][1]
    route["routes"] = {value: [target] for value, target in route["routes"].items()}
    route["default"] = [route["default"]]
    return data


def test_schema_accepts_ticket_triage() -> None:
    data = yaml.safe_load(TRIAGE.read_text(encoding="utf-8"))
    assert [error.message for error in validator().iter_errors(data)] == []


def test_schema_accepts_ticket_triage_with_list_targets() -> None:
    assert [error.message for error in validator().iter_errors(triage_with_list_targets())] == []


def test_schema_rejects_an_unknown_step_kind() -> None:
    data = triage_with_list_targets()
    data["steps"][0]["kind"] = "llm"
    errors = list(validator().iter_errors(data))
    assert [list(error.absolute_path) for error in errors] == [["steps", 0]]
    assert "is not valid under any of the given schemas" in errors[0].message


# -- registries and functions -------------------------------------------------------------------
def test_add_pipeline_refuses_a_duplicate_name() -> None:
    registry = Registry()
    registry.add_pipeline({"name": "dup", "steps": []}, source="first.yaml")
    with pytest.raises(RegistryError) as info:
        registry.add_pipeline(Pipeline("dup").code("a", echo), source="second.py")
    assert str(info.value) == "pipeline 'dup' from second.py is already registered from first.yaml"
    assert registry.pipeline_names() == ["dup"]


def test_add_pipeline_needs_a_name() -> None:
    with pytest.raises(RegistryError, match="pipeline from somewhere has no name"):
        Registry().add_pipeline({"steps": []}, source="somewhere")


def first(value: int) -> int:
    return value


def second(value: int) -> int:
    return value + 1


def test_function_refuses_a_second_function_under_the_same_name() -> None:
    registry = Registry()
    registry.function(name="f")(first)
    registry.function(name="f")(first)  # the same function again is harmless
    with pytest.raises(RegistryError, match="function 'f' is registered twice"):
        registry.function(name="f")(second)
    info = registry.get_function("f")
    assert info is not None and info.func is first
    assert registry.function_names() == ["f"]


def no_params() -> int:
    return 0


def three_params(a: int, b: StepContext, c: int) -> int:
    return a


def with_context(value: Query, context: StepContext) -> int:
    return 1


@pytest.mark.parametrize("func", [no_params, three_params])
def test_describe_function_rejects_wrong_arity(func: Any) -> None:
    with pytest.raises(
        TypeError, match="must take one input parameter and optionally a StepContext"
    ):
        describe_function(func)


def test_describe_function_reads_type_hints() -> None:
    info = describe_function(with_context, name="ctx", local=True)
    assert (info.name, info.local, info.takes_context) == ("ctx", True, True)
    assert info.input_schema()["properties"] == {"company": {"title": "Company", "type": "string"}}
    assert info.output_schema() == {"type": "integer"}
    assert describe_function(first).takes_context is False


def test_the_bundled_spec_comes_with_its_functions_and_an_empty_folder_is_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker of other modules gets no example spec whose functions it lacks (it refused to
    start: ticket_triage.yaml named unknown functions), and TASKAGENT_PIPELINE_DIR= loads no
    folder (it loaded the current one, and failed on docker-compose.yml)."""
    from taskagent.settings import Settings
    from worker import build_registry

    monkeypatch.chdir(ROOT)
    bundled = build_registry(Settings())
    assert {"ticket_triage", "company_research"} <= set(bundled.pipeline_names())
    other = build_registry(Settings(TASKAGENT_MODULES="examples.research"))
    assert "company_research" in other.pipeline_names()
    assert "ticket_triage" not in other.pipeline_names()
    empty = build_registry(Settings(TASKAGENT_PIPELINE_DIR=""))
    assert empty.pipeline_names() == bundled.pipeline_names()
