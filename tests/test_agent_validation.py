"""Whole-definition validation of agent and router steps."""

from __future__ import annotations

import pytest

from taskagent import SpecError, validate_pipeline
from tests.support import example_registry

REGISTRY = example_registry()


def problems(*steps: dict, **pipeline: object) -> list[str]:
    with pytest.raises(SpecError) as caught:
        validate_pipeline({"name": "p", "steps": list(steps), **pipeline}, REGISTRY)
    return [str(problem) for problem in caught.value.problems]


def agent(**fields: object) -> dict:
    return {"id": "a", "kind": "agent", "goal": "Do it.", **fields}


def test_unknown_output_model_tool_validator_and_bad_model_are_all_listed():
    found = problems(
        agent(
            output_schema="CompanyProfil",
            tools=["current_tme"],
            validators=["no_such_check"],
            model="gpt-4o",
        )
    )
    assert found == [
        "step 'a'.model: model 'gpt-4o' must be provider:model, with provider one of openai, "
        "gemini, offline (e.g. openai:gpt-4o-mini)",
        "step 'a'.output_schema: unknown output model 'CompanyProfil' "
        "(did you mean 'CompanyProfile'?)",
        "step 'a'.validators: unknown function 'no_such_check'",
        "step 'a'.tools: unknown tool 'current_tme' (did you mean 'current_time'?)",
    ]


def test_inline_output_schema_must_be_a_json_schema():
    assert problems(agent(output_schema={"type": 12})) == [
        "step 'a'.output_schema: not a valid JSON Schema: 12 is not valid under any of the given "
        "schemas (at #/type)"
    ]


def test_references_to_agent_outputs_are_checked_against_the_output_model():
    found = problems(
        agent(output_schema="CompanyProfile"),
        {
            "id": "b",
            "kind": "agent",
            "goal": "x",
            "depends_on": ["a"],
            "input": "$steps.a.output.nam",
        },
    )
    assert len(found) == 1
    assert "the output of step 'a' has no field 'nam'" in found[0]


def test_router_choice_references_and_minimum_choices():
    router = {"id": "r", "kind": "router", "choices": {"yes": "agree", "no": "disagree"}}
    ok = {
        "id": "s",
        "kind": "code",
        "function": "echo_missing",
        "depends_on": ["r"],
        "condition": "steps.r.output.choice == 'yes' and steps.r.output.why",
    }
    found = problems(router, ok)
    assert any("has no field 'why'" in p for p in found)
    assert problems({"id": "r", "kind": "router", "choices": {"only": "one"}}) == [
        "step 'r'.choices: Dictionary should have at least 2 items after validation, not 1"
    ]


def test_pipeline_model_and_budget_are_checked_together():
    """The pipeline's model is checked even when another problem keeps the spec from parsing."""
    found = problems(agent(), model="openai", budget={"usd": -1})
    assert "budget.usd: Input should be greater than or equal to 0" in found
    assert (
        "model: model 'openai' must be provider:model, with provider one of openai, gemini, "
        "offline (e.g. openai:gpt-4o-mini)"
    ) in found
    assert len(found) == 2


def test_a_switch_cannot_be_a_parallel_branch():
    branch = {"id": "s", "kind": "switch", "value": "input.x", "routes": {"a": "nowhere"}}
    found = problems({"id": "p", "kind": "parallel", "branches": [branch]})
    assert (
        "step 'p'.branch 's': a switch cannot be a branch: it routes between top-level steps"
        in found
    )


def test_non_ascii_digits_in_references_are_field_names():
    from taskagent.expressions import parse_reference

    assert parse_reference("$input.²") == ("input", "²")
    assert parse_reference("$input.items.0") == ("input", "items", 0)
