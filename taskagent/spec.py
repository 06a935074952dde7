"""Pipeline specification models: the persisted, versioned contract of a pipeline definition.

A spec is plain data (JSON/YAML friendly). It is checked whole by `taskagent.validation` before a
run starts, and it travels through Temporal histories, so fields are only ever added with defaults.
The step models live with their kinds (`taskagent.kinds`); the `Step` union is built from there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, Union

from pydantic import Field

from taskagent.kinds import KINDS, kind_of
from taskagent.kinds.agent import LlmStepBase
from taskagent.kinds.base import (
    ID_PATTERN,
    MAX_DURATION,
    STRICT,
    Duration,
    FailurePolicy,
    OnError,
    RetrySpec,
    SpecModel,
    StepBase,
    StepId,
    Trigger,
)
from taskagent.memory import MemorySpec
from taskagent.messages import TOPIC_PATTERN

if TYPE_CHECKING:
    Step: TypeAlias = StepBase
else:
    Step = Annotated[Union[tuple(kind.spec for kind in KINDS)], Field(discriminator="kind")]  # noqa: UP007
"""Any step: the union of every registered kind's spec model, told apart by `kind`."""


class Budget(SpecModel):
    """Spending limits of one run; once spent, no further model call is made."""

    usd: float | None = Field(None, ge=0)
    tokens: int | None = Field(None, ge=0)


class PipelineDefaults(SpecModel):
    """Defaults for every step that does not set its own."""

    timeout: Duration | None = None
    retry: RetrySpec = Field(default_factory=RetrySpec)


class PipelineSpec(SpecModel):
    """A whole pipeline: metadata, global constraints, steps and the final output."""

    name: Annotated[str, Field(pattern=ID_PATTERN, max_length=100)]
    description: str = ""
    version: str = "1"
    input_schema: dict[str, Any] | None = Field(
        None, description="JSON Schema that the pipeline input must satisfy."
    )
    constraints: list[str] = Field(
        default_factory=list, description="Global constraints that every agent step receives."
    )
    max_concurrency: int | None = Field(None, ge=1, description="Most steps running at once.")
    max_in_flight: int | None = Field(
        None,
        ge=1,
        description=(
            "Most activities and sub-pipelines the run has in flight at once (default 50). More "
            "can pass the Temporal server's limit of 100 buffered events (two per finished call), "
            "which fails and repeats workflow tasks; raise it with that server setting."
        ),
    )
    timeout: Duration | None = Field(None, description="Deadline of the whole run.")
    defaults: PipelineDefaults = Field(default_factory=PipelineDefaults)
    model: str | None = Field(
        None, description="Default `provider:model` of agent and router steps in this pipeline."
    )
    budget: Budget | None = None
    subscribe: list[Annotated[str, Field(pattern=TOPIC_PATTERN)]] = Field(
        default_factory=list,
        description="Topics whose broadcasts this pipeline's runs receive (see `receive`).",
    )
    memory: MemorySpec | None = Field(
        None,
        description="Typed pipeline memory: shared keys and each step's own, read as "
        "`$memory.shared.<key>` and `$memory.<step>.<key>`, saved by steps' `remember`.",
    )
    on_failure: FailurePolicy = FailurePolicy.FAIL_FAST
    on_error: OnError = Field(
        OnError.FAIL, description="Default of the steps' `on_error`: `fail` or `pause`."
    )
    steps: list[Step] = Field(min_length=1)
    output: Any = Field(
        None,
        description=(
            "Final output mapping (same reference syntax as step inputs). Omitted: the output "
            "of the only step nothing depends on, or an object of such outputs keyed by id."
        ),
    )

    def all_steps(self) -> list[StepBase]:
        """Every step of this pipeline, nested steps included (not sub-pipelines' steps)."""
        found: list[StepBase] = []
        pending: list[StepBase] = list(self.steps)
        while pending:
            step = pending.pop(0)
            found.append(step)
            pending.extend(kind_of(step).children(step))
        return found

    def step(self, step_id: str) -> StepBase:
        """The top-level step with this id."""
        for candidate in self.steps:
            if candidate.id == step_id:
                return candidate
        raise KeyError(step_id)


_NAMESPACE = {"Step": Step, "PipelineSpec": PipelineSpec}
for _kind in KINDS:
    _kind.spec.model_rebuild(_types_namespace=_NAMESPACE)
PipelineSpec.model_rebuild(_types_namespace=_NAMESPACE)

_KIND_MODELS = {kind.spec.__name__: kind.spec for kind in KINDS}


def __getattr__(name: str) -> Any:
    """Each kind's spec model by its class name (`from taskagent.spec import CodeStep`)."""
    try:
        return _KIND_MODELS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


__all__ = [
    "ID_PATTERN",
    "MAX_DURATION",
    "STRICT",
    "Budget",
    "Duration",
    "FailurePolicy",
    "LlmStepBase",
    "OnError",
    "PipelineDefaults",
    "PipelineSpec",
    "RetrySpec",
    "Step",
    "StepBase",
    "StepId",
    "Trigger",
    *_KIND_MODELS,
]
