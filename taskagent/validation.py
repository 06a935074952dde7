"""Whole-definition validation: every problem of a pipeline spec, found before anything runs."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import jsonschema
from pydantic import TypeAdapter, ValidationError

from taskagent.expressions import (
    ExpressionError,
    Path,
    mapping_references,
    parse_condition,
)
from taskagent.functions import FunctionInfo
from taskagent.graph import ancestors, effective_dependencies, find_cycle
from taskagent.llm.prompts import router_schema
from taskagent.llm.refs import PROVIDERS, parse_model
from taskagent.schema_paths import schema_errors, schema_problem
from taskagent.spec import (
    STEP_KINDS,
    AgentStep,
    ApprovalStep,
    CodeStep,
    LlmStepBase,
    ParallelStep,
    PipelineSpec,
    RouterStep,
    Step,
    StepBase,
    SubPipelineStep,
    SwitchStep,
)

_STEP_ADAPTER: TypeAdapter[Any] = TypeAdapter(Step)
BUILTIN_MERGES = ("object", "list", "update")
APPROVAL_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {name: {} for name in ("approved", "comment", "payload", "by", "timed_out")},
}
SWITCH_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {"value": {}, "selected": {"type": "array", "items": {"type": "string"}}},
}


class Catalog(Protocol):
    """What the worker knows: registered functions and pipelines."""

    def get_function(self, name: str) -> FunctionInfo | None: ...

    def function_names(self) -> Sequence[str]: ...

    def pipeline_names(self) -> Sequence[str]: ...

    def model_schema(self, name: str) -> dict[str, Any] | None: ...

    def model_names(self) -> Sequence[str]: ...

    def tool_names(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition, and where."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class SpecError(ValueError):
    """A pipeline definition with one or more problems; the message lists every one."""

    def __init__(self, pipeline: str, problems: Sequence[Problem]) -> None:
        self.pipeline = pipeline
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(
            f"pipeline {pipeline!r} is invalid ({len(self.problems)} problem"
            f"{'s' if len(self.problems) != 1 else ''}):\n{lines}"
        )


def validate_pipeline(data: Any, catalog: Catalog | None = None) -> PipelineSpec:
    """Parse and check a whole pipeline definition; raise SpecError listing every problem."""
    checker = _Checker(catalog)
    spec = checker.pipeline(data, location="")
    name = data.get("name", "?") if isinstance(data, Mapping) else getattr(data, "name", "?")
    if checker.problems or spec is None:
        raise SpecError(str(name), checker.problems)
    return spec


def check_input(spec: PipelineSpec, value: Any) -> list[Problem]:
    """Problems of a pipeline input against the spec's input schema."""
    if spec.input_schema is None:
        return []
    return [
        Problem(f"input.{path}" if path else "input", message)
        for path, message in schema_errors(spec.input_schema, value)
    ]


@dataclass
class _Scope:
    """What references inside one pipeline may point at."""

    steps: dict[str, StepBase]
    known: set[str]
    deps: dict[str, list[str]]
    input_schema: dict[str, Any] | None
    schemas: dict[str, dict[str, Any] | None] = field(default_factory=dict)


class _Checker:
    def __init__(self, catalog: Catalog | None) -> None:
        self.catalog = catalog
        self.problems: list[Problem] = []

    def add(self, location: str, message: str) -> None:
        self.problems.append(Problem(location or "pipeline", message))

    # -- parsing --------------------------------------------------------------------------
    def pipeline(self, data: Any, location: str) -> PipelineSpec | None:
        if isinstance(data, PipelineSpec):
            spec: PipelineSpec | None = data
            steps: list[StepBase] = list(data.steps)
            raw_ids: list[str] = []
        elif not isinstance(data, Mapping):
            self.add(location, f"a pipeline must be an object, not {type(data).__name__}")
            return None
        else:
            spec, steps, raw_ids = self._parse(data, location)
        input_schema = spec.input_schema if spec else _maybe_schema(data)
        if input_schema is not None:
            self._check_schema(input_schema, _join(location, "input_schema"))
        output = spec.output if spec else data.get("output")
        if spec is not None and spec.model is not None:
            self._check_model_ref(spec.model, _join(location, "model"))
        self._check_steps(steps, raw_ids, input_schema, location, output)
        return spec

    def _parse(
        self, data: Mapping[str, Any], location: str
    ) -> tuple[PipelineSpec | None, list[StepBase], list[str]]:
        try:
            spec = PipelineSpec.model_validate(data)
            return spec, list(spec.steps), []
        except ValidationError as err:
            for error in err.errors():
                self.add(_join(location, _loc(error["loc"], data)), _message(error))
        steps: list[StepBase] = []
        raw_ids: list[str] = []
        raw_steps = data.get("steps")
        for raw in raw_steps if isinstance(raw_steps, list) else []:
            try:
                steps.append(_STEP_ADAPTER.validate_python(raw))
            except ValidationError:
                if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
                    raw_ids.append(raw["id"])
        return None, steps, raw_ids

    def _check_schema(self, schema: dict[str, Any], location: str) -> None:
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except jsonschema.SchemaError as err:
            self.add(location, f"not a valid JSON Schema: {err.message}")

    # -- graph and references -------------------------------------------------------------
    def _check_steps(
        self,
        steps: list[StepBase],
        raw_ids: list[str],
        input_schema: dict[str, Any] | None,
        location: str,
        output: Any,
    ) -> None:
        seen: set[str] = set()
        for step_id in [step.id for step in steps] + raw_ids:
            if step_id in seen:
                self.add(_join(location, f"step {step_id!r}"), "duplicate step id")
            seen.add(step_id)
        known = seen
        deps = effective_dependencies(steps)
        scope = _Scope({s.id: s for s in steps}, known, deps, input_schema)
        for step in steps:
            where = _join(location, f"step {step.id!r}")
            for dep in step.depends_on:
                if dep not in known:
                    self.add(where, f"depends on unknown step {dep!r}{_suggest(dep, known)}")
            if isinstance(step, SwitchStep):
                for target in step.targets():
                    if target not in known:
                        self.add(
                            where, f"routes to unknown step {target!r}{_suggest(target, known)}"
                        )
        cycle = find_cycle(deps)
        if cycle:
            self.add(location, "dependency cycle: " + " -> ".join(cycle))
        for step in steps:
            scope.schemas[step.id] = step_output_schema(step, self.catalog)
        for step in steps:
            visible = ancestors(deps, step.id) if not cycle else set(known)
            self._check_step(step, scope, visible, _join(location, f"step {step.id!r}"))
        if output is not None:
            self._check_mapping(output, scope, set(known), _join(location, "output"))

    def _check_step(self, step: StepBase, scope: _Scope, visible: set[str], where: str) -> None:
        if step.condition is not None:
            self._check_expression(step.condition, scope, visible, f"{where}.condition")
        self._check_mapping(step.input, scope, visible, f"{where}.input")
        if isinstance(step, CodeStep):
            self._check_function(step.function, f"{where}.function")
        elif isinstance(step, SwitchStep):
            self._check_expression(step.value, scope, visible, f"{where}.value")
        elif isinstance(step, ParallelStep):
            self._check_parallel(step, scope, visible, where)
        elif isinstance(step, SubPipelineStep):
            self._check_subpipeline(step, where)
        if isinstance(step, LlmStepBase) and step.model is not None:
            self._check_model_ref(step.model, f"{where}.model")
        if isinstance(step, AgentStep):
            self._check_agent(step, where)
        if isinstance(step, ApprovalStep) and step.payload_schema is not None:
            self._check_schema(step.payload_schema, f"{where}.payload_schema")

    def _check_agent(self, step: AgentStep, where: str) -> None:
        schema = step.output_schema
        if isinstance(schema, dict):
            self._check_schema(schema, f"{where}.output_schema")
        elif (
            isinstance(schema, str)
            and self.catalog is not None
            and self.catalog.model_schema(schema) is None
        ):
            names = self.catalog.model_names()
            self.add(
                f"{where}.output_schema",
                f"unknown output model {schema!r}{_suggest(schema, names)}",
            )
        for name in step.validators:
            self._check_function(name, f"{where}.validators")
        if self.catalog is not None:
            for tool in step.tools:
                if tool not in self.catalog.tool_names():
                    names = self.catalog.tool_names()
                    self.add(f"{where}.tools", f"unknown tool {tool!r}{_suggest(tool, names)}")

    def _check_model_ref(self, model: str, where: str) -> None:
        try:
            parse_model(model)
        except ValueError:
            self.add(
                where,
                f"model {model!r} must be provider:model, with provider one of "
                f"{', '.join(PROVIDERS)} (e.g. openai:gpt-4o-mini)",
            )

    def _check_parallel(
        self, step: ParallelStep, scope: _Scope, visible: set[str], where: str
    ) -> None:
        branch_ids: set[str] = set()
        for branch in step.branches:
            at = f"{where}.branch {branch.id!r}"
            if branch.id in branch_ids:
                self.add(at, "duplicate branch id")
            branch_ids.add(branch.id)
            if branch.depends_on:
                self.add(at, "branches cannot have depends_on; put it on the parallel step")
            if isinstance(branch, SwitchStep):
                self.add(at, "a switch cannot be a branch: it routes between top-level steps")
            self._check_step(branch, scope, visible, at)
        if step.merge not in BUILTIN_MERGES:
            self._check_function(step.merge, f"{where}.merge", builtins=BUILTIN_MERGES)

    def _check_subpipeline(self, step: SubPipelineStep, where: str) -> None:
        if isinstance(step.pipeline, PipelineSpec):
            self.pipeline(step.pipeline, f"{where}.pipeline")
        elif self.catalog is not None and step.pipeline not in self.catalog.pipeline_names():
            names = self.catalog.pipeline_names()
            self.add(
                f"{where}.pipeline",
                f"unknown pipeline {step.pipeline!r}{_suggest(step.pipeline, names)}",
            )

    def _check_function(self, name: str, where: str, builtins: Sequence[str] = ()) -> None:
        if self.catalog is None or self.catalog.get_function(name) is not None:
            return
        candidates = [*builtins, *self.catalog.function_names()]
        self.add(where, f"unknown function {name!r}{_suggest(name, candidates)}")

    def _check_expression(self, text: str, scope: _Scope, visible: set[str], where: str) -> None:
        try:
            condition = parse_condition(text)
        except ExpressionError as err:
            self.add(where, str(err))
            return
        for path in condition.references:
            self._check_reference(text, path, scope, visible, where)

    def _check_mapping(self, template: Any, scope: _Scope, visible: set[str], where: str) -> None:
        try:
            references = mapping_references(template)
        except ExpressionError as err:
            self.add(where, str(err))
            return
        for text, path in references:
            self._check_reference(text, path, scope, visible, where)

    def _check_reference(
        self, text: str, path: Path, scope: _Scope, visible: set[str], where: str
    ) -> None:
        if path[0] == "input":
            problem = schema_problem(scope.input_schema, path[1:])
            if problem:
                self.add(where, f"{text!r}: the pipeline input {problem}")
            return
        if len(path) < 2 or not isinstance(path[1], str):
            self.add(where, f"{text!r}: name a step, as in steps.<id>.output")
            return
        step_id = path[1]
        if step_id in scope.known and step_id not in scope.steps:
            return  # the step itself is malformed: that problem is reported already
        if step_id not in scope.steps:
            self.add(
                where,
                f"{text!r} refers to unknown step {step_id!r}"
                f"{_suggest(step_id, list(scope.steps))}",
            )
            return
        if step_id not in visible:
            self.add(
                where,
                f"{text!r} refers to step {step_id!r}, which is not among its "
                "dependencies; add it to depends_on",
            )
            return
        if len(path) == 2:
            return
        if path[2] == "status":
            return
        if path[2] != "output":
            self.add(where, f"{text!r}: after the step id use .output or .status")
            return
        problem = schema_problem(scope.schemas.get(step_id), path[3:])
        if problem:
            self.add(where, f"{text!r}: the output of step {step_id!r} {problem}")


def step_output_schema(step: StepBase, catalog: Catalog | None) -> dict[str, Any] | None:
    """The JSON Schema of a step's output, where it is known."""
    if isinstance(step, CodeStep) and catalog is not None:
        info = catalog.get_function(step.function)
        return info.output_schema() if info else None
    if isinstance(step, SwitchStep):
        return SWITCH_OUTPUT_SCHEMA
    if isinstance(step, AgentStep):
        if isinstance(step.output_schema, dict):
            return step.output_schema
        if isinstance(step.output_schema, str) and catalog is not None:
            return catalog.model_schema(step.output_schema)
        return {"type": "string"} if step.output_schema is None else None
    if isinstance(step, RouterStep):
        return router_schema(list(step.choices))
    if isinstance(step, ApprovalStep):
        return APPROVAL_OUTPUT_SCHEMA
    if isinstance(step, ParallelStep) and step.merge == "object":
        properties = {b.id: step_output_schema(b, catalog) or {} for b in step.branches}
        return {"type": "object", "properties": properties}
    return None


def _maybe_schema(data: Any) -> dict[str, Any] | None:
    schema = data.get("input_schema") if isinstance(data, Mapping) else None
    return schema if isinstance(schema, dict) else None


def _suggest(name: str, candidates: Sequence[str] | set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _join(prefix: str, suffix: str) -> str:
    return f"{prefix}.{suffix}" if prefix and suffix else prefix or suffix


def _loc(loc: tuple[Any, ...], data: Any) -> str:
    """A readable location for a pydantic error path, naming steps by id."""
    parts: list[str] = []
    node: Any = data
    skip_tag = False
    for item in loc:
        if item in _UNION_TAGS:
            continue
        if skip_tag:
            skip_tag = False
            if isinstance(node, Mapping) and item == node.get("kind"):
                continue
        if isinstance(item, int) and isinstance(node, list) and 0 <= item < len(node):
            node = node[item]
            ident = node.get("id") if isinstance(node, Mapping) else None
            if parts and parts[-1] in ("steps", "branches") and isinstance(ident, str):
                parts[-1] = ("step" if parts[-1] == "steps" else "branch") + f" {ident!r}"
            else:
                parts[-1] = f"{parts[-1] if parts else ''}[{item}]"
            skip_tag = True
            continue
        parts.append(str(item))
        node = node.get(item) if isinstance(node, Mapping) else None
    return ".".join(parts)


_UNION_TAGS = {"registered", "inline"}


def _message(error: Any) -> str:
    kind = error["type"]
    expected = ", ".join(STEP_KINDS)
    if kind == "union_tag_invalid":
        return f"unknown step kind {error['input'].get('kind')!r}; expected one of {expected}"
    if kind == "union_tag_not_found":
        return f"missing 'kind'; expected one of {expected}"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    return str(error["msg"])
