"""Run-time contracts that cross the durable boundary: requests, step results, run results.

Every model here is stored in histories and decoded again on replay, possibly by a newer or older
deploy, so unknown fields are ignored and new fields always have defaults.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from temporalio.contrib.workflow_streams import WorkflowStreamState
from temporalio.exceptions import ApplicationError

from taskagent.conversation.context import ConversationContext, StoredContext
from taskagent.errors import ErrorType
from taskagent.events import DeltaTag
from taskagent.llm.types import Message, ModelRequest, ModelResponse, ToolSpec
from taskagent.messages import PipelineMessage
from taskagent.spec import Budget, PipelineSpec, RetrySpec


class Contract(BaseModel):
    """A model stored in histories: unknown fields are ignored, so deploys may add or drop some."""

    model_config = ConfigDict(extra="ignore")


class StepStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"
    WAITING = "WAITING"
    """Paused for an operator, or waiting for an approval."""

    @property
    def settled(self) -> bool:
        return self not in (StepStatus.PENDING, StepStatus.RUNNING, StepStatus.WAITING)


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class StepError(Contract):
    """Why a step failed: an error as a value. `type` is a taskagent.errors.ErrorType value or,
    for a failure raised by a registered function, the function's own error type."""

    type: str
    message: str
    attempts: int = 1
    non_retryable: bool = False
    details: list[str] = Field(default_factory=list)


class Usage(Contract):
    """Model calls, tokens and cost: of a step, a model or a whole run."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    estimated_calls: int = Field(
        0, description="Calls whose provider reported no usage: their tokens are estimates."
    )

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(
        self, input_tokens: int, output_tokens: int, cost_usd: float, estimated: bool = False
    ) -> None:
        self.calls += 1
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cost_usd = round(self.cost_usd + cost_usd, 10)
        self.estimated_calls += estimated

    def absorb(self, other: Usage) -> None:
        self.calls += other.calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost_usd = round(self.cost_usd + other.cost_usd, 10)
        self.estimated_calls += other.estimated_calls


class CostLedger(Contract):
    """Every model call of a run, failed attempts included, in total, by step and by model."""

    total: Usage = Field(default_factory=Usage)
    by_step: dict[str, Usage] = Field(default_factory=dict)
    by_model: dict[str, Usage] = Field(default_factory=dict)

    def record(
        self,
        step: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cost: float,
        estimated: bool = False,
    ) -> None:
        for usage in (
            self.total,
            self.by_step.setdefault(step, Usage()),
            self.by_model.setdefault(model, Usage()),
        ):
            usage.add(input_tokens, output_tokens, cost, estimated)

    def merge(self, step: str, other: CostLedger) -> None:
        """Add another run's ledger (a child pipeline's), attributing it to `step`."""
        for usage in (self.total, self.by_step.setdefault(step, Usage())):
            usage.absorb(other.total)
        for model, usage in other.by_model.items():
            self.by_model.setdefault(model, Usage()).absorb(usage)


class ToolCallRecord(Contract):
    """One tool call an agent asked for, and what came of it."""

    call_id: str
    tool: str
    arguments: str
    outcome: str = Field(description="ok, refused, invalid_arguments, tool_error or failed")
    result_size: int = 0
    duration_ms: float = 0.0
    error: str | None = None


class AttemptFailure(Contract):
    """An answer that failed validation, and the exact errors sent back to the model."""

    attempt: int
    errors: list[str]
    answer: str = ""


class StepResult(Contract):
    """The lifecycle record of one step (or one step nested in another, as `parent/child`)."""

    id: str
    kind: str
    status: StepStatus = StepStatus.PENDING
    output: Any = None
    error: StepError | None = None
    reason: str | None = Field(None, description="Why the step was skipped or cancelled.")
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    start_event: int | None = Field(
        None,
        description="Id of the WorkflowTaskStarted event of the task that started the step: "
        "`starter.py rerun --from <step>` resets the run there.",
    )
    parent: str | None = None
    usage: Usage | None = None
    cognitive_retries: int = Field(0, description="Answers rejected by validation and retried.")
    transient_retries: int = Field(0, description="Activity attempts retried by Temporal.")
    waiting: str | None = Field(
        None,
        description="What the running step waits for, as its activity reported it: a circuit "
        "breaker that is open, a rate limit, a provider's error before a retry.",
    )
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    validation_failures: list[AttemptFailure] = Field(default_factory=list)
    conversation: list[Message] = Field(
        default_factory=list,
        description="The kept conversation, without failed attempts (agent steps that set "
        "keep_conversation).",
    )


class PipelineResult(Contract):
    """Every step with status, output, error and timing, plus the final output.

    The query `progress_full` returns the same model while the run is in flight; `progress`
    returns the lighter RunProgress.
    """

    pipeline: str
    workflow_id: str
    run_id: str
    status: RunStatus = RunStatus.RUNNING
    steps: dict[str, StepResult] = Field(default_factory=dict)
    output: Any = None
    cost: CostLedger = Field(default_factory=CostLedger)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    trace_id: str | None = Field(
        None, description="The OpenTelemetry trace of the run, when the worker exports traces."
    )
    started_by: Identity | None = Field(None, description="Who started the run.")
    messages: list[PipelineMessage] = Field(
        default_factory=list,
        description="Messages other runs sent to this one (one copy of each), in arrival order.",
    )
    consumed: list[str] = Field(
        default_factory=list, description="The ids of the messages `receive` steps took."
    )
    dry_run: bool = Field(
        False,
        description="A dry run: no model, tool or side effect ran; agent outputs are "
        "placeholders and the ledger holds estimates.",
    )

    def counts(self) -> dict[StepStatus, int]:
        counts = dict.fromkeys(StepStatus, 0)
        for step in self.steps.values():
            counts[step.status] += 1
        return counts

    def failed_steps(self) -> list[StepResult]:
        return [s for s in self.steps.values() if s.status is StepStatus.FAILED]


class StepProgress(Contract):
    """A step's status, timing, cost and error: what polling a run needs, without outputs."""

    kind: str
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    started_at: datetime | None = None
    duration_ms: float | None = None
    start_event: int | None = None
    parent: str | None = None
    reason: str | None = None
    error: StepError | None = None
    usage: Usage | None = None
    cognitive_retries: int = 0
    waiting: str | None = None


class RunProgress(Contract):
    """The light progress of a run (query `progress`): statuses, timings and cost."""

    pipeline: str
    workflow_id: str
    run_id: str
    status: RunStatus = RunStatus.RUNNING
    started_at: datetime | None = None
    steps: dict[str, StepProgress] = Field(default_factory=dict)
    cost: Usage = Field(default_factory=Usage)

    @classmethod
    def of(cls, result: PipelineResult) -> RunProgress:
        """The progress part of a full result."""
        return cls(
            pipeline=result.pipeline,
            workflow_id=result.workflow_id,
            run_id=result.run_id,
            status=result.status,
            started_at=result.started_at,
            steps={
                key: StepProgress(
                    kind=record.kind,
                    status=record.status,
                    attempts=record.attempts,
                    started_at=record.started_at,
                    duration_ms=record.duration_ms,
                    start_event=record.start_event,
                    parent=record.parent,
                    reason=record.reason,
                    error=record.error,
                    usage=record.usage,
                    cognitive_retries=record.cognitive_retries,
                    waiting=record.waiting,
                )
                for key, record in result.steps.items()
            },
            cost=result.cost.total,
        )


class StepNotice(Contract):
    """What an activity tells its run while a step waits (signal `step_notice`)."""

    step: str
    waiting: str = Field(max_length=500)


REQUEST_SHAPE = '{"pipeline": "<registered name>" or {<inline spec>}, "input": {...}}'
"""The shape of a start request, for error messages."""


class RunContext(Contract):
    """Where a run sits in its run tree: set by a parent run for its child pipeline."""

    correlation_id: str | None = Field(
        None, description="Shared by a whole run tree; a top-level run defaults to its workflow id."
    )
    path: str | None = Field(
        None, description="The parent's pipeline and step that started this run, as `main/enrich`."
    )


class PipelineRunRequest(Contract):
    """Input of PipelineWorkflow: `{"pipeline": "<name or inline spec>", "input": {...}}`."""

    pipeline: str | dict[str, Any] = Field(description="A registered pipeline name or a spec.")
    input: dict[str, Any] = Field(default_factory=dict)
    budget: Budget | None = Field(
        None, description="A parent run's remaining budget; the tighter of it and the spec's holds."
    )
    resume: ResumeState | None = Field(
        None,
        description="Set by the run itself when it continues as new; refused in a new run.",
    )
    context: RunContext | None = Field(
        None,
        description="Set by a parent run for its child; a top-level run may set its own "
        "correlation_id to tie its logs and traces to a request of the caller's.",
    )
    stream: bool = Field(
        False,
        description="Publish the models' answers on the run's event stream as they arrive "
        "(token deltas); the run's other events are always published.",
    )
    conversation: ConversationContext | None = Field(
        None,
        description="The conversation whose turn this run is (set by a conversation, or by a "
        "parent run for its child): what its chat steps read.",
    )
    identity: Identity | None = Field(
        None,
        description="Who starts the run and their roles (a child run inherits its parent's).",
    )
    dry_run: bool = Field(
        False,
        description="Run every step without calling a model, a tool or a semantic validator: "
        "agent steps answer with schema-valid placeholders, side-effecting code steps, "
        "messages and waits are skipped with the reason, and the ledger holds estimates "
        "from the prompts' sizes and the price table (a child run inherits it).",
    )


class ResumeState(Contract):
    """What a run carries into its continuation when its history grows long."""

    resolved: ResolvedPipeline
    result: PipelineResult
    deselected: dict[str, str] = Field(default_factory=dict)
    stream: WorkflowStreamState | None = Field(
        None, description="The event stream's latest events, carried into the continuation."
    )


class ResolveRequest(Contract):
    """Input of the resolve activity: what the run was asked to do."""

    pipeline: str | dict[str, Any]
    input: dict[str, Any] = Field(default_factory=dict)
    unknown_fields: list[str] = Field(
        default_factory=list, description="Fields of the start request that no release knows."
    )


class ResolvedTool(Contract):
    """A tool an agent step may call: what the model sees, and how the call is run."""

    spec: ToolSpec
    timeout: timedelta = timedelta(seconds=30)
    retry: RetrySpec = Field(default_factory=RetrySpec)
    roles: list[str] = Field(
        default_factory=list, description="Roles one of which the run's starter needs (if any)."
    )


class Identity(Contract):
    """Who started a run, and their roles: tools may require a role (seed 10.4)."""

    user: str = "anonymous"
    roles: list[str] = Field(default_factory=list)


class ResolvedPipeline(Contract):
    """The validated spec a run executes, recorded once in its history.

    Everything the workflow needs from the worker's registries travels here, so replay never
    depends on the worker's configuration of the day.
    """

    spec: PipelineSpec
    tools: dict[str, ResolvedTool] = Field(default_factory=dict)
    schemas: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description=(
            "JSON Schemas by name: the named output models used, and any output schema that "
            "several steps share (`output of <first step>`)."
        ),
    )
    output_schemas: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="The output schema of each step whose schema no other step has.",
    )
    output_schema_refs: dict[str, str] = Field(
        default_factory=dict,
        description="The name in `schemas` of the output schema of each other step.",
    )
    search_attributes: bool = Field(
        False, description="The server has TaskAgent's search attributes: the run sets them."
    )
    local_functions: list[str] = Field(
        default_factory=list, description="Functions registered as cheap: local activities."
    )
    side_effect_functions: list[str] = Field(
        default_factory=list,
        description="Functions of code steps that have side effects: a dry run skips them.",
    )

    def output_schema(self, key: str) -> dict[str, Any] | None:
        """The JSON Schema of a step's output, where known (to check outputs people supply)."""
        name = self.output_schema_refs.get(key)
        return self.schemas.get(name) if name is not None else self.output_schemas.get(key)


# -- activity inputs and outputs -------------------------------------------------------------------
class ActivityResult(Contract):
    """What every activity result of a step carries besides its value."""

    # Times as epoch milliseconds in JSON: one is written for every activity of every step.
    model_config = ConfigDict(
        extra="ignore", ser_json_temporal="milliseconds", val_temporal_unit="milliseconds"
    )

    attempt: int = 1
    finished_at: datetime | None = Field(
        None, description="When the activity finished (the worker's clock): the step's end."
    )


class ModelCallRequest(Contract):
    """Input of the model-call activity."""

    request: ModelRequest
    step_id: str
    stream: DeltaTag | None = Field(
        None, description="Set when the run streams: the answer's text is published as it comes."
    )
    context: StoredContext | None = Field(
        None, description="Stored conversation messages the activity puts into the request."
    )


class ModelCallResult(ActivityResult):
    """Output of the model-call activity."""

    response: ModelResponse
    cost_usd: float = 0.0


class CodeStepRequest(Contract):
    """Input of the code-step activity."""

    function: str
    input: Any = None
    step_id: str
    execution: int = Field(
        0,
        description="How many times an operator re-ran the step with another input: part of "
        "the idempotency key, with the run id (new after a reset).",
    )


class CodeStepResult(ActivityResult):
    """Output of the code-step activity, with the attempt that produced it."""

    output: Any = None


class CheckOutputRequest(Contract):
    """Input of the output-model activity: an answer that passed the JSON Schema."""

    model: str
    value: Any = None


class CheckOutputResult(ActivityResult):
    """The answer as the registered model normalises it, or the model validators' errors."""

    output: Any = None
    errors: list[str] = Field(default_factory=list)


class ToolCallRequest(Contract):
    """One tool call an agent step asked for, as it crosses into the tool activity."""

    tool: str
    arguments: str = Field("{}", description="The JSON text exactly as the model gave it.")
    step_id: str
    call_id: str
    allowed: list[str] | None = Field(
        None,
        description="The step's allow-list: the activity refuses any other tool itself (a "
        "request without one, from a release before it was sent, is refused too).",
    )
    roles: list[str] = Field(
        default_factory=list, description="The roles of whoever started the run."
    )


class ToolCallResult(ActivityResult):
    """The outcome of one tool call; `content` is what goes back to the model."""

    call_id: str
    tool: str
    ok: bool
    content: str = Field(description="The output as text (JSON for data), or an error message.")
    error_type: str | None = None
    duration_ms: float = 0.0
    result_size: int = Field(0, description="len(content).")


PipelineRunRequest.model_rebuild()


def carried_result(cause: BaseException | None) -> PipelineResult | None:
    """The PipelineResult that a failed run carries in its PipelineFailed error (the cause of a
    child workflow's or a client's failure), if any."""
    if (
        isinstance(cause, ApplicationError)
        and cause.type == ErrorType.PIPELINE_FAILED
        and cause.details
    ):
        return PipelineResult.model_validate(cause.details[0])
    return None
