"""A fluent Python builder that produces the same PipelineSpec as a JSON or YAML file.

pipeline = (
    Pipeline("company_research", input_model=CompanyQuery)
    .code("search", search_company)
    .code("reputation", check_reputation, depends_on=["search"])
    .code("social", analyse_social, depends_on=["search"])
    .code("report", write_report, depends_on=["reputation", "social"])
)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any

from pydantic import BaseModel, TypeAdapter

from taskagent.spec import (
    AgentStep,
    Budget,
    CodeStep,
    FailurePolicy,
    ParallelStep,
    PipelineDefaults,
    PipelineSpec,
    RouterStep,
    Step,
    SubPipelineStep,
    SwitchStep,
)
from taskagent.validation import Catalog, validate_pipeline

_STEP: TypeAdapter[Any] = TypeAdapter(Step)


def function_name(function: str | Callable[..., Any]) -> str:
    """The registered name of a function given by name or by the function itself."""
    if isinstance(function, str):
        return function
    return getattr(function, "__taskagent_name__", function.__name__)


def code(step_id: str, function: str | Callable[..., Any], **fields: Any) -> CodeStep:
    """A code step running a registered function."""
    return CodeStep(kind="code", id=step_id, function=function_name(function), **fields)


def switch(
    step_id: str,
    value: str,
    routes: dict[str, str | list[str]],
    default: str | list[str] | None = None,
    **fields: Any,
) -> SwitchStep:
    """A switch routing to steps by the value of the expression `value`."""
    return SwitchStep.model_validate(
        {
            "kind": "switch",
            "id": step_id,
            "value": value,
            "routes": routes,
            "default": default,
            **fields,
        }
    )


def parallel(
    step_id: str,
    branches: Sequence[Step],
    merge: str | Callable[..., Any] = "object",
    **fields: Any,
) -> ParallelStep:
    """Concurrent branches merged by `merge` (a built-in name or a registered function)."""
    return ParallelStep(
        kind="parallel",
        id=step_id,
        branches=list(branches),
        merge=function_name(merge),
        **fields,
    )


def subpipeline(
    step_id: str, pipeline: str | PipelineSpec | Pipeline, **fields: Any
) -> SubPipelineStep:
    """A step that runs another pipeline as a child workflow."""
    target = pipeline.build() if isinstance(pipeline, Pipeline) else pipeline
    return SubPipelineStep(kind="pipeline", id=step_id, pipeline=target, **fields)


def agent(step_id: str, goal: str, **fields: Any) -> AgentStep:
    """An LLM agent step; `output_schema` names a registered model (or give a model class)."""
    schema = fields.get("output_schema")
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        fields["output_schema"] = schema.__name__
    return AgentStep.model_validate({"kind": "agent", "id": step_id, "goal": goal, **fields})


def router(
    step_id: str, choices: dict[str, str] | type[Enum], goal: str = "", **fields: Any
) -> RouterStep:
    """A router step classifying its input into one of `choices` (value -> description).

    An Enum works too: its member names are the choices and its values their descriptions.
    """
    if isinstance(choices, type) and issubclass(choices, Enum):
        choices = {member.name: str(member.value) for member in choices}
    return RouterStep.model_validate(
        {"kind": "router", "id": step_id, "choices": choices, "goal": goal, **fields}
    )


class Pipeline:
    """Fluent builder of a PipelineSpec; every method returns the builder."""

    def __init__(
        self,
        name: str,
        description: str = "",
        *,
        input_model: type[BaseModel] | None = None,
        input_schema: dict[str, Any] | None = None,
        constraints: Sequence[str] = (),
        on_failure: FailurePolicy | str = FailurePolicy.FAIL_FAST,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        defaults: PipelineDefaults | None = None,
        output: Any = None,
        model: str | None = None,
        budget: Budget | dict[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        """`fields` are any other PipelineSpec fields, such as `on_error="pause"`."""
        if input_model is not None:
            input_schema = input_model.model_json_schema()
        self._header: dict[str, Any] = {
            "name": name,
            "description": description,
            "input_schema": input_schema,
            "constraints": list(constraints),
            "on_failure": on_failure,
            "max_concurrency": max_concurrency,
            "timeout": timeout,
            "defaults": defaults or PipelineDefaults(),
            "output": output,
            "model": model,
            "budget": budget,
            **fields,
        }
        self._steps: list[Any] = []

    def add(self, step: Step | dict[str, Any]) -> Pipeline:
        """Add a step model or its plain data."""
        self._steps.append(step if isinstance(step, BaseModel) else _STEP.validate_python(step))
        return self

    def code(self, step_id: str, function: str | Callable[..., Any], **fields: Any) -> Pipeline:
        return self.add(code(step_id, function, **fields))

    def switch(
        self,
        step_id: str,
        value: str,
        routes: dict[str, str | list[str]],
        default: str | list[str] | None = None,
        **fields: Any,
    ) -> Pipeline:
        return self.add(switch(step_id, value, routes, default, **fields))

    def parallel(
        self,
        step_id: str,
        branches: Sequence[Step],
        merge: str | Callable[..., Any] = "object",
        **fields: Any,
    ) -> Pipeline:
        return self.add(parallel(step_id, branches, merge, **fields))

    def agent(self, step_id: str, goal: str, **fields: Any) -> Pipeline:
        return self.add(agent(step_id, goal, **fields))

    def router(
        self, step_id: str, choices: dict[str, str] | type[Enum], goal: str = "", **fields: Any
    ) -> Pipeline:
        return self.add(router(step_id, choices, goal, **fields))

    def pipeline(
        self, step_id: str, pipeline: str | PipelineSpec | Pipeline, **fields: Any
    ) -> Pipeline:
        return self.add(subpipeline(step_id, pipeline, **fields))

    def output(self, mapping: Any) -> Pipeline:
        """Declare the final output mapping."""
        self._header["output"] = mapping
        return self

    def build(self) -> PipelineSpec:
        """The spec (structurally checked; use `validate` for the whole-definition checks)."""
        return PipelineSpec.model_validate({**self._header, "steps": self._steps})

    def validate(self, catalog: Catalog | None = None) -> PipelineSpec:
        """The spec after whole-definition validation; raises SpecError listing every problem."""
        return validate_pipeline(self.build(), catalog)
