"""Typed results for Python callers: a run's record with each step's output as an instance of
its registered type (a code step's function's return type, an agent step's output model) and
the final output typed the same way.

The record itself (`result`) is what every client sees: JSON-shaped, as the history holds it.
An output that does not validate against its type (a dry run's placeholder, which no validator
saw) stays as it was recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from taskagent.graph import effective_dependencies, sinks
from taskagent.kinds import keyed_steps, kind_of
from taskagent.kinds.base import Catalog
from taskagent.results import CostLedger, PipelineResult, RunStatus, StepResult, StepStatus
from taskagent.spec import PipelineSpec


@dataclass(frozen=True)
class RunResult:
    """A finished run: `step_outputs["basic_info"]` is a `CompanyInfo`, `final_output` too."""

    result: PipelineResult
    """The run's record, as every client reads it."""
    step_outputs: dict[str, Any]
    """Each completed step's output (`parent/child` for nested steps), typed where known."""
    final_output: Any
    """The pipeline's output: its sink step's, typed where known (its `output` mapping: JSON)."""

    @property
    def status(self) -> RunStatus:
        return self.result.status

    @property
    def ok(self) -> bool:
        """Whether every step that ran completed."""
        return self.result.status is RunStatus.COMPLETED

    @property
    def workflow_id(self) -> str:
        return self.result.workflow_id

    @property
    def steps(self) -> dict[str, StepResult]:
        return self.result.steps

    @property
    def cost(self) -> CostLedger:
        return self.result.cost

    @property
    def errors(self) -> dict[str, str]:
        """Each failed step's error, `<type>: <message>`."""
        return {
            key: f"{step.error.type}: {step.error.message}" if step.error else "failed"
            for key, step in self.result.steps.items()
            if step.status is StepStatus.FAILED
        }


def typed_result(
    result: PipelineResult, spec: PipelineSpec | None, catalog: Catalog | None
) -> RunResult:
    """`result` with its outputs typed by the registry's types for `spec`'s steps (without a
    spec or a catalog, as recorded)."""
    outputs = {
        key: record.output
        for key, record in result.steps.items()
        if record.status is StepStatus.COMPLETED
    }
    if spec is None or catalog is None:
        return RunResult(result, outputs, result.output)
    for key, step in keyed_steps(spec.steps):
        if key in outputs:
            outputs[key] = _typed(kind_of(step).output_type(step, catalog), outputs[key])
    if spec.output is not None:
        return RunResult(result, outputs, result.output)
    ends = sinks(effective_dependencies(spec.steps))
    if len(ends) == 1:
        return RunResult(result, outputs, outputs.get(ends[0], result.output))
    return RunResult(result, outputs, {end: outputs.get(end) for end in ends})


def _typed(adapter: TypeAdapter[Any] | None, value: Any) -> Any:
    if adapter is None or value is None:
        return value
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return value
