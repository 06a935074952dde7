"""Pipeline specification models: the persisted, versioned contract of a pipeline definition.

A spec is plain data (JSON/YAML friendly). It is checked whole by `taskagent.validation` before a
run starts, and it travels through Temporal histories, so fields are only ever added with defaults.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
)

ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*$"

StepId = Annotated[str, Field(pattern=ID_PATTERN, max_length=100)]


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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RetrySpec(_Strict):
    """Transient-failure retries of a step's activity, enforced by Temporal."""

    max_attempts: int = Field(3, ge=1, le=100, description="Attempts in all, the first included.")
    initial_interval: timedelta = Field(timedelta(seconds=1), description="Seconds or ISO 8601.")
    backoff: float = Field(2.0, ge=1.0, le=10.0)
    max_interval: timedelta = Field(timedelta(seconds=30))
    non_retryable_errors: list[str] = Field(
        default_factory=list, description="Error type names that are never retried."
    )


class StepBase(_Strict):
    """Fields every step kind shares."""

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
    timeout: timedelta | None = Field(
        None, description="Deadline of the whole step, retries included."
    )
    retry: RetrySpec | None = None
    on_error: OnError | None = Field(
        None,
        description="`fail`, or `pause` the run for an operator once retries are exhausted. "
        "Default: the pipeline's.",
    )

    @field_validator("depends_on")
    @classmethod
    def _unique_dependencies(cls, value: list[str]) -> list[str]:
        duplicates = sorted({dep for dep in value if value.count(dep) > 1})
        if duplicates:
            raise ValueError(f"lists {', '.join(duplicates)} more than once")
        return value


class CodeStep(StepBase):
    """A registered Python function with typed input and output, run as an activity."""

    kind: Literal["code"]
    function: str = Field(description="Name of a function registered on the worker.")
    local: bool | None = Field(
        None, description="Run as a local activity (cheap, fast). Default: as registered."
    )


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


StepIds = Annotated[list[str], BeforeValidator(_as_list, json_schema_input_type=str | list[str])]
"""One step id or a list of them."""


class SwitchStep(StepBase):
    """Routes to steps by the value of an expression; the steps not chosen are SKIPPED."""

    kind: Literal["switch"]
    value: str = Field(description="Expression whose value selects the route.")
    routes: dict[str, StepIds] = Field(description="Value -> ids of the steps to run.")
    default: StepIds | None = Field(
        None, description="Steps to run when no route matches; without it, no match is an error."
    )

    @field_validator("routes", mode="before")
    @classmethod
    def _route_names(cls, value: Any) -> Any:
        if isinstance(value, dict):  # YAML reads `true:` and `1:` as non-string keys
            return {_route_name(key): targets for key, targets in value.items()}
        return value

    def targets(self) -> list[str]:
        """Every step this switch may select, in declaration order, without repeats."""
        seen: dict[str, None] = {}
        for ids in [*self.routes.values(), self.default or []]:
            seen.update(dict.fromkeys(ids))
        return list(seen)


def _route_name(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return key if isinstance(key, str) else str(key)


class ParallelStep(StepBase):
    """Concurrent branches, each with its own copy of the input, merged by a declared merge."""

    kind: Literal["parallel"]
    branches: list[Step] = Field(min_length=1)
    merge: str = Field(
        "object",
        description=(
            "`object` (outputs keyed by branch id), `list` (outputs in branch order), "
            "`update` (shallow merge of object outputs in branch order), or the name of a "
            "registered function that receives the outputs keyed by branch id."
        ),
    )


class SubPipelineStep(StepBase):
    """Runs another pipeline as a child workflow; its final output is this step's output."""

    kind: Literal["pipeline"]
    pipeline: Annotated[
        Annotated[str, Tag("registered")] | Annotated[PipelineSpec, Tag("inline")],
        Discriminator(lambda v: "registered" if isinstance(v, str) else "inline"),
    ] = Field(description="A registered pipeline name or an inline spec.")


class ScriptedCall(_Strict):
    """A tool call the offline model plays."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ScriptedAnswer(_Strict):
    """One answer of the offline model: tool calls, or content (text or JSON data)."""

    tool_calls: list[ScriptedCall] = Field(default_factory=list)
    content: Any = None


class LlmStepBase(StepBase):
    """What agent and router steps share: the model and how it is asked."""

    model: str | None = Field(
        None, description="`provider:model`, e.g. `openai:gpt-4o-mini`. Default: the pipeline's."
    )
    system_prompt: str = ""
    goal: str = Field("", description="What the step must achieve.")
    constraints: list[str] = Field(default_factory=list)
    temperature: float | None = Field(None, ge=0, le=2)
    max_output_tokens: int | None = Field(None, ge=1)
    max_attempts: int = Field(
        3, ge=1, le=10, description="Answers the model may give before validation gives up."
    )
    script: list[ScriptedAnswer] | None = Field(
        None, description="Offline model only: scripted answers, played in order."
    )


class AgentStep(LlmStepBase):
    """An LLM agent whose output never moves on until it is valid."""

    kind: Literal["agent"]
    output_schema: str | dict[str, Any] | None = Field(
        None,
        description="A registered output model's name or an inline JSON Schema; none: free text.",
    )
    validators: list[str] = Field(
        default_factory=list,
        description="Registered functions that check the output; each returns a list of errors.",
    )
    tools: list[str] = Field(default_factory=list, description="The tools this agent may call.")
    max_tool_rounds: int = Field(10, ge=1, le=100)


class RouterStep(LlmStepBase):
    """Classifies its input into one of the described choices, with its reasoning."""

    kind: Literal["router"]
    choices: dict[str, str] = Field(
        min_length=2, description="Choice -> description (used as few-shot guidance)."
    )
    temperature: float | None = Field(0.2, ge=0, le=2)


class ApprovalStep(StepBase):
    """Waits for a person to approve or reject its input, optionally editing it."""

    kind: Literal["approval"]
    prompt: str = Field("", description="What the approver is asked.")
    payload_schema: dict[str, Any] | None = Field(
        None, description="JSON Schema an edited payload must satisfy."
    )
    wait: timedelta | None = Field(None, description="How long to wait for a decision.")
    on_timeout: Literal["approve", "reject"] = Field(
        "reject", description="The decision taken when `wait` passes without one."
    )


Step = Annotated[
    CodeStep | SwitchStep | ParallelStep | SubPipelineStep | AgentStep | RouterStep | ApprovalStep,
    Field(discriminator="kind"),
]

STEP_KINDS: tuple[str, ...] = (
    "code",
    "switch",
    "parallel",
    "pipeline",
    "agent",
    "router",
    "approval",
)


class Budget(_Strict):
    """Spending limits of one run; once spent, no further model call is made."""

    usd: float | None = Field(None, ge=0)
    tokens: int | None = Field(None, ge=0)


class PipelineDefaults(_Strict):
    """Defaults for every step that does not set its own."""

    timeout: timedelta | None = None
    retry: RetrySpec = Field(default_factory=RetrySpec)


class PipelineSpec(_Strict):
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
    timeout: timedelta | None = Field(None, description="Deadline of the whole run.")
    defaults: PipelineDefaults = Field(default_factory=PipelineDefaults)
    model: str | None = Field(
        None, description="Default `provider:model` of agent and router steps in this pipeline."
    )
    budget: Budget | None = None
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
        """Every step of this pipeline, branches of parallel steps included (not sub-pipelines)."""
        found: list[StepBase] = []
        pending: list[StepBase] = list(self.steps)
        while pending:
            step = pending.pop(0)
            found.append(step)
            if isinstance(step, ParallelStep):
                pending.extend(step.branches)
        return found

    def step(self, step_id: str) -> Step:
        """The top-level step with this id."""
        for candidate in self.steps:
            if candidate.id == step_id:
                return candidate
        raise KeyError(step_id)


ParallelStep.model_rebuild()
SubPipelineStep.model_rebuild()
