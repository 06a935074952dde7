"""A fluent Python builder that produces the same PipelineSpec as a JSON or YAML file.

pipeline = (
    Pipeline("company_research", input_model=CompanyQuery)
    .code("search", search_company)
    .code("reputation", check_reputation, depends_on=["search"])
    .code("social", analyse_social, depends_on=["search"])
    .code("report", write_report, depends_on=["reputation", "social"])
)

Every step kind adds its fluent method (`.code`, `.switch`, `.parallel`, `.pipeline`, `.agent`,
`.router`, `.approval`, ...) from the kinds registry; each takes the same arguments as the kind's
builder function (`taskagent.code(...)` and so on) and returns the builder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter

from taskagent.kinds import KINDS
from taskagent.kinds.base import STRICT, Catalog, StepBase
from taskagent.spec import Budget, FailurePolicy, PipelineDefaults, PipelineSpec, Step
from taskagent.validation import validate_pipeline

_STEP: TypeAdapter[Any] = TypeAdapter(Step)
_METHODS = {kind.method_name: kind.builder for kind in KINDS}


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
        max_in_flight: int | None = None,
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
            "max_in_flight": max_in_flight,
            "timeout": timeout,
            "defaults": defaults or PipelineDefaults(),
            "output": output,
            "model": model,
            "budget": budget,
            **fields,
        }
        self._steps: list[Any] = []

    def add(self, step: StepBase | dict[str, Any]) -> Pipeline:
        """Add a step model or its plain data."""
        if not isinstance(step, BaseModel):
            step = _STEP.validate_python(step, context=STRICT)
        self._steps.append(step)
        return self

    def __getattr__(self, name: str) -> Callable[..., Pipeline]:
        """The fluent method of a step kind: `.code(...)`, `.agent(...)`, ..."""
        builder = _METHODS.get(name)
        if builder is None:
            raise AttributeError(
                f"'Pipeline' has no attribute {name!r} (step kinds: {', '.join(_METHODS)})"
            )

        def add_step(*args: Any, **fields: Any) -> Pipeline:
            return self.add(builder(*args, **fields))

        add_step.__doc__ = builder.__doc__
        return add_step

    def output(self, mapping: Any) -> Pipeline:
        """Declare the final output mapping."""
        self._header["output"] = mapping
        return self

    def build(self) -> PipelineSpec:
        """The spec (structurally checked; use `validate` for the whole-definition checks)."""
        return PipelineSpec.model_validate({**self._header, "steps": self._steps}, context=STRICT)

    def validate(self, catalog: Catalog | None = None) -> PipelineSpec:
        """The spec after whole-definition validation; raises SpecError listing every problem."""
        return validate_pipeline(self.build(), catalog)


_BUILDERS = {kind.builder.__name__: kind.builder for kind in KINDS}


def __getattr__(name: str) -> Any:
    """Each kind's builder function (`from taskagent.builder import code`)."""
    try:
        return _BUILDERS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
