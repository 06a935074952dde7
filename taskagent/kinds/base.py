"""What every step kind shares, and how a kind declares itself.

A kind is declared once, by a `StepKind` in its own module under `taskagent/kinds/`: its spec
model, its checks, the JSON Schema of its output, what it needs resolved from the worker's
registry, its builder function and where its executor lives (a module under `workflows/kinds/`,
imported inside Temporal's sandbox). Validation, the `Step` union, the builder and the package
exports iterate the registry in `taskagent/kinds/__init__.py`.

Spec models are persisted contracts. They are strict where a person writes them (validated with
the `STRICT` context: unknown fields and out-of-range durations are problems) and lenient where a
run decodes them again from its history (unknown fields are dropped, so that a deploy that adds or
removes an optional field never breaks a run in flight).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)
from temporalio.common import RetryPolicy

if TYPE_CHECKING:
    from taskagent.functions import FunctionInfo

STRICT: dict[str, Any] = {"strict": True}
"""Validation context for specs written by a person: every unknown field is a problem."""

ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*$"
MAX_DURATION = timedelta(days=3650)
"""The longest timeout, wait or retry interval a spec may set (ten years)."""

StepId = Annotated[str, Field(pattern=ID_PATTERN, max_length=100)]


def is_strict(info: ValidationInfo) -> bool:
    """Whether a model is being validated as a person's spec (not decoded from a history)."""
    return bool(info.context and info.context.get("strict"))


def _bounded_duration(value: timedelta, info: ValidationInfo) -> timedelta:
    if is_strict(info):
        if value <= timedelta(0):
            raise ValueError(f"must be positive, not {value.total_seconds():g} seconds")
        if value > MAX_DURATION:
            raise ValueError(f"must be at most {MAX_DURATION.days} days, not {value.days} days")
    return value


Duration = Annotated[timedelta, AfterValidator(_bounded_duration)]
"""Seconds or ISO 8601 (`PT30S`); positive and at most ten years in a person's spec."""


class SpecModel(BaseModel):
    """Base of every spec model: strict for people, lenient for histories (see module doc)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _tolerate_unknown_fields(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, Mapping) and not is_strict(info):
            known = _known_fields(cls)
            if any(key not in known for key in data):
                return {key: value for key, value in data.items() if key in known}
        return data


_KNOWN_FIELDS: dict[type[BaseModel], frozenset[str]] = {}


def _known_fields(model: type[BaseModel]) -> frozenset[str]:
    known = _KNOWN_FIELDS.get(model)
    if known is None:
        names = set(model.model_fields)
        names.update(f.alias for f in model.model_fields.values() if f.alias)
        known = _KNOWN_FIELDS[model] = frozenset(names)
    return known


class FailurePolicy(StrEnum):
    """What the pipeline does when a step fails."""

    FAIL_FAST = "fail_fast"
    """Cancel the steps in flight and start nothing new."""
    CONTINUE = "continue"
    """Skip the dependents of the failed step; everything else still runs."""


class Trigger(StrEnum):
    """When a step whose dependencies have all settled actually runs."""

    ALL_COMPLETED = "all_completed"
    """Every dependency completed (the default). A skipped or failed dependency skips the step."""
    ANY_COMPLETED = "any_completed"
    """At least one dependency completed: the join after a switch or conditional branches."""
    ALL_SETTLED = "all_settled"
    """Run once every dependency has settled, whatever its status (reports, clean-up)."""


class OnError(StrEnum):
    """What happens when a step has exhausted its retries."""

    FAIL = "fail"
    PAUSE = "pause"
    """Wait for an operator: retry (maybe with another input or model), skip with an output, or
    abort. The run shows "waiting for operator" meanwhile."""


class RetrySpec(SpecModel):
    """Transient-failure retries of a step's activity, enforced by Temporal."""

    max_attempts: int = Field(3, ge=1, le=100, description="Attempts in all, the first included.")
    initial_interval: Duration = Field(timedelta(seconds=1), description="Seconds or ISO 8601.")
    backoff: float = Field(2.0, ge=1.0, le=10.0)
    max_interval: Duration = Field(timedelta(seconds=30))
    non_retryable_errors: list[str] = Field(
        default_factory=list,
        description="Error types never retried (see taskagent.errors.ErrorType, or your own).",
    )

    def policy(self) -> RetryPolicy:
        """Temporal's retry policy for this spec (always bounded: at most 100 attempts)."""
        return RetryPolicy(
            maximum_attempts=self.max_attempts,
            initial_interval=self.initial_interval,
            backoff_coefficient=self.backoff,
            maximum_interval=self.max_interval,
            non_retryable_error_types=self.non_retryable_errors or None,
        )

    @model_validator(mode="after")
    def _ordered_intervals(self, info: ValidationInfo) -> RetrySpec:
        if is_strict(info) and self.max_interval < self.initial_interval:
            raise ValueError(
                f"max_interval ({self.max_interval.total_seconds():g} s) is shorter than "
                f"initial_interval ({self.initial_interval.total_seconds():g} s)"
            )
        return self


class StepBase(SpecModel):
    """Fields every step kind shares."""

    kind: str = Field(description="The step kind (each kind fixes it as a literal).")
    id: StepId
    name: str | None = None
    description: str = ""
    depends_on: list[str] = Field(default_factory=list)
    condition: str | None = Field(
        None,
        description="Safe expression over `input` and `steps`; false records the step SKIPPED.",
    )
    trigger: Trigger = Trigger.ALL_COMPLETED
    input: Any = Field(
        None,
        description=(
            "Input mapping. Strings starting with `$` are references: `$input.field`, "
            "`$steps.<id>.output.field`, `$steps.<id>.status`; `$$` escapes a literal `$`. "
            "Omitted: the pipeline input (no dependencies), the single dependency's output, "
            "or an object of outputs keyed by dependency id."
        ),
    )
    timeout: Duration | None = Field(
        None, description="Deadline of the whole step, retries included."
    )
    retry: RetrySpec | None = None
    on_error: OnError | None = Field(
        None,
        description="`fail`, or `pause` the run for an operator once retries are exhausted. "
        "Default: the pipeline's.",
    )
    remember: dict[str, Any] | None = Field(
        None,
        description="Values to save in pipeline memory when the step completes: "
        "`shared.<key>` (every pipeline's) or `<key>` (this step's own), each a mapping "
        "with references such as `$steps.<this step>.output.field`. Keys are declared, "
        "with their types, in the pipeline's `memory`.",
    )

    @field_validator("depends_on")
    @classmethod
    def _unique_dependencies(cls, value: list[str]) -> list[str]:
        duplicates = sorted({dep for dep in value if value.count(dep) > 1})
        if duplicates:
            raise ValueError(f"lists {', '.join(duplicates)} more than once")
        return value


# -- what a kind's hooks see ------------------------------------------------------------------
class Catalog(Protocol):
    """What the worker knows: registered functions, pipelines, output models and tools."""

    def get_function(self, name: str) -> FunctionInfo | None: ...

    def function_names(self) -> Sequence[str]: ...

    def pipeline_names(self) -> Sequence[str]: ...

    def model_schema(self, name: str) -> dict[str, Any] | None: ...

    def get_model(self, name: str) -> type[BaseModel] | None: ...

    def model_names(self) -> Sequence[str]: ...

    def tool_names(self) -> Sequence[str]: ...


class CheckContext(Protocol):
    """Validation services for one step: report problems, check the pieces a kind holds."""

    @property
    def catalog(self) -> Catalog | None: ...

    def problem(self, where: str, message: str) -> None:
        """Report a problem at `where` (e.g. `step 'a'.merge`)."""

    def expression(self, text: str, where: str) -> None:
        """Check a condition-language expression and the references it makes."""

    def mapping(self, template: Any, where: str) -> None:
        """Check an input mapping's references (`$input...`, `$steps...`, `$memory...`)."""

    def function(self, name: str, where: str, builtins: Sequence[str] = ()) -> None:
        """Check that a registered function exists (or is one of `builtins`)."""

    def json_schema(self, schema: Any, where: str) -> None:
        """Check an inline JSON Schema."""

    def model(self, ref: str, where: str) -> None:
        """Check a `provider:model` reference."""

    def output_model(self, name: str, where: str) -> None:
        """Check that a registered output model exists."""

    def tool(self, name: str, where: str) -> None:
        """Check that a tool exists."""

    def branch(self, step: StepBase, where: str) -> None:
        """Check a step nested in this one (it sees what this step sees)."""

    def pipeline(self, spec: Any, where: str) -> None:
        """Check a sub-pipeline: an inline spec, or the name of a registered one."""


class ResolveContext(Protocol):
    """What a run needs recorded from the worker's registry, gathered step by step."""

    @property
    def catalog(self) -> Catalog: ...

    def tool(self, name: str) -> None:
        """A tool an agent may call."""

    def output_model(self, name: str) -> None:
        """A registered output model whose JSON Schema the run checks answers against."""

    def local_function(self, name: str) -> None:
        """A function registered as cheap: a local activity."""

    def side_effect_function(self, name: str) -> None:
        """A function registered as having side effects: a dry run skips it."""


SchemaOf = Callable[[StepBase], dict[str, Any] | None]
"""The output schema of another step (for kinds that nest steps)."""


def _nothing(*_: Any) -> None:
    return None


def _no_steps(_: Any) -> Sequence[StepBase]:
    return ()


def _no_routes(_: Any) -> Sequence[tuple[str, str]]:
    return ()


@dataclass(frozen=True)
class StepKind:
    """One step kind, declared once."""

    name: str
    """The value of `kind` in specs."""
    spec: type[StepBase]
    executor: str
    """Module (under workflows/) whose `execute(ctx, step, value)` runs the kind, sandboxed."""
    builder: Callable[..., StepBase]
    """Builds a step: `code("a", fn)`; also the fluent method `Pipeline(...).<method>(...)`."""
    method: str = ""
    """The fluent builder method's name; defaults to `name`."""
    check: Callable[[Any, CheckContext, str], None] = _nothing
    """Kind-specific checks of a step (the common fields are checked for every kind)."""
    output_schema: Callable[[Any, Catalog | None, SchemaOf], dict[str, Any] | None] = _nothing
    """The JSON Schema of the step's output, where it is known."""
    output_type: Callable[[Any, Catalog], TypeAdapter[Any] | None] = _nothing
    """The Python type of the step's output, where the registry knows it (typed results)."""
    resolve: Callable[[Any, ResolveContext], None] = _nothing
    """Record what the step needs from the worker's registry."""
    children: Callable[[Any], Sequence[StepBase]] = _no_steps
    """Steps nested in this one (run through the engine as `parent/child`)."""
    routes: Callable[[Any], Sequence[tuple[str, str]]] = _no_routes
    """(label, step id) of top-level steps this step may select; each depends on it implicitly."""
    top_level_only: str = ""
    """Why the kind cannot be a parallel branch; empty if it can."""

    @property
    def method_name(self) -> str:
        return self.method or self.name
