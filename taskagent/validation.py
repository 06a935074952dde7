"""Whole-definition validation: every problem of a pipeline spec, found before anything runs.

The checks of each step kind live with the kind (`taskagent.kinds`); this module checks what all
pipelines share (structure, ids, dependencies, cycles, references, conditions) and gives the kinds
a `CheckContext`. Its work is bounded whatever the definition: at most `MAX_STEPS` steps, at most
`MAX_PROBLEMS` problems listed, "did you mean" for the first `MAX_SUGGESTIONS` only, and nesting
too deep to check is a problem, not a crash.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from taskagent.expressions import (
    ExpressionError,
    Path,
    check_condition,
    mapping_references,
)
from taskagent.graph import ancestors, effective_dependencies, find_cycle
from taskagent.kinds import STEP_KINDS, keyed_steps, kind_of, output_schema, targets
from taskagent.kinds.base import STRICT, Catalog, StepBase
from taskagent.llm.refs import PROVIDERS, parse_model
from taskagent.memory import SHARED, MemorySpec, owner_and_key
from taskagent.schemas import check_schema, schema_errors, schema_problem
from taskagent.spec import PipelineSpec, Step

_STEP_ADAPTER: TypeAdapter[Any] = TypeAdapter(Step)
MAX_STEPS = 2000
"""Steps in one pipeline, nested steps included (sub-pipelines count on their own)."""
MAX_PROBLEMS = 100
MAX_SUGGESTIONS = 20

__all__ = [
    "MAX_STEPS",
    "Catalog",
    "Problem",
    "SpecError",
    "check_input",
    "step_output_schema",
    "validate_pipeline",
]


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
    try:
        spec = checker.pipeline(data, location="")
    except (RecursionError, MemoryError):
        checker.problems.append(
            Problem("pipeline", "the definition is nested too deeply or too large to check")
        )
        spec = None
    name = data.get("name", "?") if isinstance(data, Mapping) else getattr(data, "name", "?")
    if checker.problems or spec is None:
        raise SpecError(str(name), checker.listed())
    return spec


def check_input(spec: PipelineSpec, value: Any) -> list[Problem]:
    """Problems of a pipeline input against the spec's input schema."""
    if spec.input_schema is None:
        return []
    return [
        Problem(f"input.{path}" if path else "input", message)
        for path, message in schema_errors(spec.input_schema, value)
    ]


def step_output_schema(step: StepBase, catalog: Catalog | None) -> dict[str, Any] | None:
    """The JSON Schema of a step's output, where it is known."""
    return output_schema(step, catalog)


@dataclass
class _Scope:
    """What references inside one pipeline may point at."""

    steps: dict[str, StepBase]
    known: set[str]
    input_schema: dict[str, Any] | None
    schemas: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    memory: MemorySpec | None = None


class _Checker:
    def __init__(self, catalog: Catalog | None) -> None:
        self.catalog = catalog
        self.problems: list[Problem] = []
        self._suggestions = 0

    def add(self, location: str, message: str) -> None:
        self.problems.append(Problem(location or "pipeline", message))

    def listed(self) -> list[Problem]:
        """The problems, the first MAX_PROBLEMS of them and a count of the rest."""
        if len(self.problems) <= MAX_PROBLEMS:
            return self.problems
        more = len(self.problems) - MAX_PROBLEMS
        return [*self.problems[:MAX_PROBLEMS], Problem("pipeline", f"... and {more} more")]

    def suggest(self, name: str, candidates: Sequence[str] | set[str]) -> str:
        """` (did you mean 'x'?)`, for the first few problems only: it costs a scan of names."""
        if self._suggestions >= MAX_SUGGESTIONS:
            return ""
        self._suggestions += 1
        close = difflib.get_close_matches(name, sorted(candidates), n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""

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
        raw: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        input_schema = spec.input_schema if spec else _maybe_schema(raw.get("input_schema"))
        if input_schema is not None:
            self.json_schema(input_schema, _join(location, "input_schema"))
        model = spec.model if spec else raw.get("model")
        if isinstance(model, str):
            self.model(model, _join(location, "model"))
        output = spec.output if spec else raw.get("output")
        memory = spec.memory if spec else None
        if memory is not None:
            self._memory(memory, steps, _join(location, "memory"))
        count = sum(1 for _ in keyed_steps(steps))
        if count > MAX_STEPS:
            self.add(
                location, f"{count} steps: a pipeline may have at most {MAX_STEPS} (the step limit)"
            )
            return spec
        self._check_steps(steps, raw_ids, input_schema, location, output, memory)
        return spec

    def _memory(self, memory: MemorySpec, steps: list[StepBase], where: str) -> None:
        ids = {step.id for step in steps}
        for owner, keys in [(SHARED, memory.shared), *memory.steps.items()]:
            if owner != SHARED and owner not in ids:
                self.add(_join(where, f"steps.{owner}"), f"no top-level step {owner!r}")
            for key, schema in keys.items():
                self.json_schema(schema, _join(where, f"{owner}.{key}"))

    def _parse(
        self, data: Mapping[str, Any], location: str
    ) -> tuple[PipelineSpec | None, list[StepBase], list[str]]:
        try:
            spec = PipelineSpec.model_validate(data, context=STRICT)
            return spec, list(spec.steps), []
        except ValidationError as err:
            for error in err.errors(include_url=False):
                self.add(_join(location, _loc(error["loc"], data)), _message(error))
        steps: list[StepBase] = []
        raw_ids: list[str] = []
        raw_steps = data.get("steps")
        for raw in raw_steps if isinstance(raw_steps, list) else []:
            try:
                steps.append(_STEP_ADAPTER.validate_python(raw, context=STRICT))
            except ValidationError:
                if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
                    raw_ids.append(raw["id"])
        return None, steps, raw_ids

    # -- graph and references -------------------------------------------------------------
    def _check_steps(
        self,
        steps: list[StepBase],
        raw_ids: list[str],
        input_schema: dict[str, Any] | None,
        location: str,
        output: Any,
        memory: MemorySpec | None = None,
    ) -> None:
        seen: set[str] = set()
        for step_id in [step.id for step in steps] + raw_ids:
            if step_id in seen:
                self.add(_join(location, f"step {step_id!r}"), "duplicate step id")
            seen.add(step_id)
        known = seen
        deps = effective_dependencies(steps)
        scope = _Scope({s.id: s for s in steps}, known, input_schema, memory=memory)
        for step in steps:
            where = _join(location, f"step {step.id!r}")
            for dep in step.depends_on:
                if dep not in known:
                    self.add(where, f"depends on unknown step {dep!r}{self.suggest(dep, known)}")
            for target in targets(step):
                if target not in known:
                    self.add(
                        where, f"routes to unknown step {target!r}{self.suggest(target, known)}"
                    )
        cycle = find_cycle(deps)
        if cycle:
            self.add(location, "dependency cycle: " + " -> ".join(cycle))
        for step in steps:
            scope.schemas[step.id] = output_schema(step, self.catalog)
        for step in steps:
            visible = ancestors(deps, step.id) if not cycle else set(known)
            where = _join(location, f"step {step.id!r}")
            _StepChecks(self, scope, visible).check(step, where)
            if step.remember is not None:  # read once the step is done: it sees itself
                _StepChecks(self, scope, visible | {step.id}).remember(step, where)
        if output is not None:
            _StepChecks(self, scope, set(known)).mapping(output, _join(location, "output"))

    # -- what every kind may ask for ------------------------------------------------------
    def json_schema(self, schema: Any, where: str) -> None:
        if not isinstance(schema, dict):
            self.add(where, f"a JSON Schema must be an object, not {type(schema).__name__}")
            return
        for problem in check_schema(schema):
            self.add(where, problem)

    def model(self, ref: str, where: str) -> None:
        try:
            parse_model(ref)
        except ValueError:
            self.add(
                where,
                f"model {ref!r} must be provider:model, with provider one of "
                f"{', '.join(PROVIDERS)} (e.g. openai:gpt-4o-mini)",
            )


class _StepChecks:
    """The CheckContext of the steps of one pipeline: what they may see, and the catalog."""

    def __init__(self, checker: _Checker, scope: _Scope, visible: set[str]) -> None:
        self._checker = checker
        self._scope = scope
        self._visible = visible

    @property
    def catalog(self) -> Catalog | None:
        return self._checker.catalog

    def check(self, step: StepBase, where: str) -> None:
        """The common fields of a step, then its kind's own checks."""
        if step.condition is not None:
            self.expression(step.condition, f"{where}.condition")
        self.mapping(step.input, f"{where}.input")
        kind_of(step).check(step, self, where)

    def problem(self, where: str, message: str) -> None:
        self._checker.add(where, message)

    def remember(self, step: StepBase, where: str) -> None:
        """A top-level step's `remember`: declared keys, and references it may read."""
        memory = self._scope.memory
        for name, template in (step.remember or {}).items():
            owner, key = owner_and_key(step.id, name)
            if memory is None or memory.key_schema(owner, key) is None:
                declared = f"memory.shared.{key}" if owner == SHARED else f"memory.steps.{owner}"
                self.problem(
                    f"{where}.remember.{name}",
                    f"memory key {name!r} is not declared (declare it, with its type, under "
                    f"{declared})",
                )
            self.mapping(template, f"{where}.remember.{name}")

    def expression(self, text: str, where: str) -> None:
        try:
            condition = check_condition(text)
        except ExpressionError as err:
            self.problem(where, str(err))
            return
        for path in condition.references:
            self._reference(text, path, where)

    def mapping(self, template: Any, where: str) -> None:
        try:
            references = mapping_references(template)
        except ExpressionError as err:
            self.problem(where, str(err))
            return
        for text, path in references:
            self._reference(text, path, where)

    def function(self, name: str, where: str, builtins: Sequence[str] = ()) -> None:
        catalog = self.catalog
        if catalog is None or catalog.get_function(name) is not None:
            return
        candidates = [*builtins, *catalog.function_names()]
        self.problem(where, f"unknown function {name!r}{self._checker.suggest(name, candidates)}")

    def json_schema(self, schema: Any, where: str) -> None:
        self._checker.json_schema(schema, where)

    def model(self, ref: str, where: str) -> None:
        self._checker.model(ref, where)

    def output_model(self, name: str, where: str) -> None:
        catalog = self.catalog
        if catalog is not None and catalog.model_schema(name) is None:
            suggestion = self._checker.suggest(name, catalog.model_names())
            self.problem(where, f"unknown output model {name!r}{suggestion}")

    def tool(self, name: str, where: str) -> None:
        catalog = self.catalog
        if catalog is not None and name not in catalog.tool_names():
            suggestion = self._checker.suggest(name, catalog.tool_names())
            self.problem(where, f"unknown tool {name!r}{suggestion}")

    def branch(self, step: StepBase, where: str) -> None:
        reason = kind_of(step).top_level_only
        if reason:
            self.problem(where, reason)
        if step.remember is not None:
            self.problem(f"{where}.remember", "only top-level steps remember values")
        self.check(step, where)

    def pipeline(self, spec: Any, where: str) -> None:
        if isinstance(spec, PipelineSpec):
            self._checker.pipeline(spec, where)
            return
        catalog = self.catalog
        if catalog is not None and spec not in catalog.pipeline_names():
            suggestion = self._checker.suggest(spec, catalog.pipeline_names())
            self.problem(where, f"unknown pipeline {spec!r}{suggestion}")

    def _reference(self, text: str, path: Path, where: str) -> None:
        scope = self._scope
        if path[0] == "memory":
            owner, key = (path[1], path[2]) if len(path) >= 3 else (None, None)
            memory = scope.memory
            if not isinstance(owner, str) or not isinstance(key, str):
                self.problem(where, f"{text!r}: name a key, as in memory.shared.<key>")
            elif memory is None or memory.key_schema(owner, key) is None:
                self.problem(where, f"{text!r}: memory key {owner}.{key} is not declared")
            return
        if path[0] == "input":
            problem = schema_problem(scope.input_schema, path[1:])
            if problem:
                self.problem(where, f"{text!r}: the pipeline input {problem}")
            return
        if len(path) < 2 or not isinstance(path[1], str):
            self.problem(where, f"{text!r}: name a step, as in steps.<id>.output")
            return
        step_id = path[1]
        if step_id in scope.known and step_id not in scope.steps:
            return  # the step itself is malformed: that problem is reported already
        if step_id not in scope.steps:
            suggestion = self._checker.suggest(step_id, list(scope.steps))
            self.problem(where, f"{text!r} refers to unknown step {step_id!r}{suggestion}")
            return
        if step_id not in self._visible:
            self.problem(
                where,
                f"{text!r} refers to step {step_id!r}, which is not among its "
                "dependencies; add it to depends_on",
            )
            return
        if len(path) == 2 or path[2] == "status":
            return
        if path[2] != "output":
            self.problem(where, f"{text!r}: after the step id use .output or .status")
            return
        problem = schema_problem(scope.schemas.get(step_id), path[3:])
        if problem:
            self.problem(where, f"{text!r}: the output of step {step_id!r} {problem}")


def _maybe_schema(schema: Any) -> dict[str, Any] | None:
    return schema if isinstance(schema, dict) else None


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
