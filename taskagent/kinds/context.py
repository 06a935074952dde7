"""The narrow interface between the engine and the step kinds' executors (a contract).

It lives with the contracts (passed through Temporal's sandbox, built once per worker, not per
run). An executor is `async def execute(ctx: StepContext, step: <its spec>, value: Any)
-> StepOutcome`.
It sees only this protocol: the step's input scope, its timeout and retry policy, one helper that
calls activities (always with a bounded retry policy and a Web UI summary), ways to report usage,
tool calls and rejected answers, to wait for a person, and to run nested steps and child
pipelines. The engine implements it and is the only writer of step records and of the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from temporalio.common import RetryPolicy

from taskagent.conversation.context import ConversationContext
from taskagent.errors import ErrorType
from taskagent.kinds.base import StepBase
from taskagent.llm.types import Message, ModelRequest
from taskagent.messages import PipelineMessage
from taskagent.operator import ApprovalDecision
from taskagent.results import (
    AttemptFailure,
    Identity,
    ModelCallRequest,
    ModelCallResult,
    PipelineResult,
    PipelineRunRequest,
    ResolvedPipeline,
    StepResult,
    ToolCallRecord,
)
from taskagent.spec import Budget, PipelineSpec

T = TypeVar("T")


@dataclass
class StepOutcome:
    """What an executor hands back: the output, and what the engine should record with it."""

    output: Any
    attempts: int = 1
    skip: dict[str, str] = field(default_factory=dict)
    """Steps a routing decision left out, with the reason (they settle SKIPPED)."""
    conversation: list[Message] | None = None
    """The kept conversation of an agent step, when the step keeps it."""
    note: str | None = None
    """What the record should say about how the output came about (a dry run's stand-in)."""


class StepFailure(Exception):
    """A failure decided by workflow code itself (a value with no route, a spent budget, ...).

    `final` marks a decision rather than a fault (a person's rejection): such a step never
    pauses for an operator.
    """

    def __init__(
        self,
        error_type: ErrorType,
        message: str,
        details: list[str] | None = None,
        *,
        final: bool = False,
    ) -> None:
        super().__init__(message)
        self.type = error_type
        self.details = details or []
        self.final = final


class StepContext(Protocol):
    """What one running step may see and do."""

    @property
    def key(self) -> str:
        """The step's record key: its id, or `parent/child` for a nested step."""

    @property
    def spec(self) -> PipelineSpec:
        """The pipeline being run (read only)."""

    @property
    def resolved(self) -> ResolvedPipeline:
        """What the worker's registry gave the run: tools, output schemas (read only)."""

    @property
    def deadline(self) -> timedelta | None:
        """The step's deadline (its own timeout, or the pipeline's default), if any."""

    @property
    def retry_policy(self) -> RetryPolicy:
        """The step's bounded retry policy (its own, or the pipeline's default)."""

    @property
    def execution(self) -> int:
        """How many times an operator re-ran the step with another input (its idempotency key
        changes with it, and with the run id after a reset)."""

    @property
    def identity(self) -> Identity:
        """Who started the run, and their roles."""

    @property
    def conversation(self) -> ConversationContext | None:
        """The conversation whose turn the run is, if it is one (what chat steps read)."""

    @property
    def dry_run(self) -> bool:
        """Whether the run is dry: no model, tool, side effect or wait really happens (model
        calls answer with placeholders and estimates; see `stand_in`)."""

    def stand_in(self, reason: str, output: Any = None) -> StepOutcome:
        """A dry run's outcome for a step that does not run: `output`, or (None) a
        placeholder instance of the step's output schema, with `dry run: <reason>` in its
        record."""

    def scope(self) -> Mapping[str, Any]:
        """What conditions and references read: `input` and `steps`."""

    async def activity(
        self,
        name: str,
        arg: Any,
        *,
        result_type: type[T],
        summary: str,
        local: bool = False,
        timeout: timedelta | None = None,
        retry: RetryPolicy | None = None,
        heartbeat: bool = True,
    ) -> T:
        """Run an activity for this step and return its result.

        `timeout` bounds one attempt (default: the step's deadline, or 5 minutes) and `retry`
        the attempts (default: the step's policy; never unbounded). A regular activity that
        `heartbeat`s is retried soon after its worker dies. Its Web UI label is
        `<key> · <summary>`."""

    async def child_pipeline(self, request: PipelineRunRequest, name: str) -> PipelineResult:
        """Run a pipeline as a child workflow; its ledger joins this run's under this step."""

    async def reserve_budget(self, request: ModelRequest) -> Any:
        """Hold the run's budget for this model call: waits while calls in flight may use what
        is left; StepFailure(BudgetExceeded) once the budget is spent. Settle it after."""

    def settle_budget(self, reservation: Any) -> None:
        """The model call of `reservation` is over (its usage reported, if it was billed)."""

    def remaining_budget(self) -> Budget | None:
        """What is left of the run's budget (for a child pipeline)."""

    def record_finish(self, at: datetime) -> None:
        """When the step's work ended, where the executor knows it (a timer's due time): the
        record keeps it even if a reset has the engine process the end later."""

    def record_attempt(self, attempt: int) -> None:
        """The attempt the step is on (agent answers)."""

    def model_call(self, request: ModelRequest, attempt: int, call: int) -> ModelCallRequest:
        """The model-call activity's input for call number `call` of answer `attempt`: the call
        is announced on the run's event stream, and asks for its text as it comes if the run
        streams."""

    def record_model_call(self, model: str, result: ModelCallResult) -> None:
        """A model call's usage and cost (the ledger) and its transient retries."""

    def record_tool_call(self, call: ToolCallRecord, attempt: int = 1) -> None:
        """A tool call and what came of it."""

    def record_rejected_answer(self, failure: AttemptFailure, cognitive_retries: int) -> None:
        """An answer that failed validation, and the errors sent back to the model."""

    async def wait_for_approval(
        self,
        timeout: timedelta | None,
        schema: dict[str, Any] | None,
        asked: dict[str, Any] | None = None,
    ) -> ApprovalDecision | None:
        """Wait for a person's decision; None when `timeout` passes first. `asked` (the prompt
        and the payload) is shown to the approver."""

    async def wait_for_message(self, topic: str | None) -> PipelineMessage:
        """The next message sent to the run (of `topic`, if given), once one has arrived."""

    async def run_nested(self, step: StepBase, value: Any) -> StepResult:
        """Run a step nested in this one (a branch) through the engine, as `<key>/<id>`."""
