"""PipelineWorkflow: runs one pipeline, registered by name or given inline, durably.

It is registered as the worker's dynamic workflow so that it receives its arguments undecoded
(see workflows/request.py): every start request, however malformed, fails fast and clearly. It
serves the workflow type `PipelineWorkflow` and refuses any other type sent to its task queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Literal, TypeVar

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.contrib.workflow_streams import WorkflowStream
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.engine import PipelineRun, stamp_finish
from workflows.events import RunEvents
from workflows.operator import check_payload
from workflows.request import decode_request
from workflows.telemetry import RunTelemetry, trace_id

with workflow.unsafe.imports_passed_through():
    from taskagent.audit import AuditTrail
    from taskagent.errors import ErrorType, invalid_pipeline, invalid_request, non_retryable
    from taskagent.events import EventKind
    from taskagent.llm.refs import parse_model
    from taskagent.messages import PipelineMessage, Subscription
    from taskagent.names import (
        AUDIT_QUERY,
        FULL_PROGRESS_QUERY,
        PIPELINE_MESSAGE_SIGNAL,
        PIPELINE_WORKFLOW,
        PROGRESS_QUERY,
        RESOLVE_PIPELINE_ACTIVITY,
        STEP_NOTICE_SIGNAL,
        SUBSCRIBE_ACTIVITY,
    )
    from taskagent.operator import (
        ABORT_STEP,
        DECIDE_APPROVAL,
        RETRY_STEP,
        SKIP_STEP,
        AbortStep,
        ApprovalDecision,
        OperatorReply,
        RetryStep,
        SkipStep,
    )
    from taskagent.results import (
        PipelineResult,
        PipelineRunRequest,
        ResolvedPipeline,
        ResolveRequest,
        RunContext,
        RunProgress,
        RunStatus,
        StepNotice,
        StepStatus,
    )
    from taskagent.scope import LogScope
    from taskagent.spec import Budget

N = TypeVar("N", int, float)
RESOLVE_TIMEOUT = timedelta(seconds=30)
RESOLVE_RETRY = RetryPolicy(maximum_attempts=5)
CANCELLED_STATUS_PATCH = "taskagent-cancelled-status"
"""A cancelled run's record says CANCELLED (and indexes it); runs recorded before kept RUNNING."""
DRY_RUN_MEMO = "dry_run"
"""The memo key that marks a dry run (`temporal workflow describe` and the Web UI show it)."""
EMPTY_CONTINUATION_PATCH = "taskagent-no-empty-continuation"
"""Runs that continued as new with no step left (the first engine did) replay as they were."""


def requested_name(request: PipelineRunRequest) -> str:
    """The pipeline's name as asked for, before it is resolved."""
    if isinstance(request.pipeline, str):
        return request.pipeline
    return str(request.pipeline.get("name", "inline"))


def tighter(own: Budget | None, parent: Budget) -> Budget:
    """The stricter of a pipeline's budget and what its parent run has left."""
    if own is None:
        return parent
    return Budget(usd=_least(own.usd, parent.usd), tokens=_least(own.tokens, parent.tokens))


def _least(a: N | None, b: N | None) -> N | None:
    return b if a is None else a if b is None else min(a, b)


async def subscribe(topics: list[str]) -> None:
    """Subscribe this run to topics (their workflows keep their subscribers)."""
    await workflow.execute_activity(
        SUBSCRIBE_ACTIVITY,
        Subscription(subscriber=workflow.info().workflow_id, topics=topics),
        start_to_close_timeout=RESOLVE_TIMEOUT,
        retry_policy=RESOLVE_RETRY,
        summary=f"subscribe to {', '.join(topics)}",
    )


async def resolve_pipeline(request: ResolveRequest) -> ResolvedPipeline:
    """The validated pipeline, from the worker's registry (a local activity); an invalid one
    fails with a non-retryable error naming every problem."""
    try:
        resolved: ResolvedPipeline = await workflow.execute_local_activity(
            RESOLVE_PIPELINE_ACTIVITY,
            request,
            start_to_close_timeout=RESOLVE_TIMEOUT,
            retry_policy=RESOLVE_RETRY,
            result_type=ResolvedPipeline,
        )
    except ActivityError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == ErrorType.INVALID_PIPELINE:
            details = cause.details[0] if cause.details else []
            raise invalid_pipeline(cause.message, details) from None
        if isinstance(cause, ApplicationError) and cause.type == ErrorType.INVALID_REQUEST:
            raise invalid_request(cause.message) from None
        raise
    return resolved


@workflow.defn(dynamic=True)
class PipelineWorkflow:
    """Resolves and validates the pipeline, runs its DAG, returns every step's record.

    A run whose pipeline fails ends FAILED with a non-retryable `PipelineFailed` error whose
    details hold the same PipelineResult that a successful run returns.
    """

    @workflow.init
    def __init__(self, args: Sequence[RawValue]) -> None:
        self._result: PipelineResult | None = None
        self._run: PipelineRun | None = None
        self._early: list[PipelineMessage] = []  # messages that came before the run's record
        # The request is read here, where the event stream is set up with what a continued run
        # carries; a bad request fails the run when it starts (in `run`), not this task.
        self._request: tuple[PipelineRunRequest, list[str]] | Exception
        try:
            self._request = decode_request(args)
        except Exception as err:
            self._request = err
        request = self._request[0] if isinstance(self._request, tuple) else None
        prior = request.resume.stream if request and request.resume else None
        self.events = RunEvents(WorkflowStream(prior), deltas=bool(request and request.stream))

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> PipelineResult:
        info = workflow.info()
        if info.workflow_type != PIPELINE_WORKFLOW:
            raise non_retryable(
                f"this worker serves the workflow type {PIPELINE_WORKFLOW!r} on task queue "
                f"{info.task_queue!r}, not {info.workflow_type!r}",
                ErrorType.UNKNOWN_WORKFLOW_TYPE,
            )
        if isinstance(self._request, Exception):
            raise self._request
        request, unknown_fields = self._request
        name = requested_name(request)
        context = request.context or RunContext()
        scope = LogScope(
            pipeline=name,
            path=f"{context.path}/{name}" if context.path else name,
            correlation_id=context.correlation_id or info.workflow_id,
        )
        telemetry = RunTelemetry(scope)
        with telemetry.run() as run_span:
            try:
                result = await self._execute(request, unknown_fields, telemetry, trace_id(run_span))
            except ApplicationError:  # the run fails: its subscribers read the end first
                await self._close()
                raise
            except asyncio.CancelledError:  # the record, the details and the stream say so
                self._cancelled()
                await self._close()
                raise
            finally:
                if self._result is not None:
                    telemetry.run_settled(run_span, self._result)
            await self._close()
            return result

    def _cancelled(self) -> None:
        result = self._result
        if result is None or result.status is not RunStatus.RUNNING:
            return
        if not workflow.patched(CANCELLED_STATUS_PATCH):
            return
        result.status = RunStatus.CANCELLED
        stamp_finish(result)
        if self._run is not None:
            self._run.board.publish()

    async def _close(self) -> None:
        result = self._result
        if result is not None and result.status is not RunStatus.RUNNING:
            self.events.run_settled(result)
        await self.events.close()

    async def _execute(
        self,
        request: PipelineRunRequest,
        unknown_fields: list[str],
        telemetry: RunTelemetry,
        trace: str | None,
    ) -> PipelineResult:
        info = workflow.info()
        resume = request.resume
        if resume is None:
            resolved = await self._start(request, unknown_fields)
            result = self._result
        else:  # a continuation: the spec and the settled steps come from the previous run
            result = self._result = resume.result.model_copy(update={"run_id": info.run_id})
            resolved = resume.resolved
        if result is None:  # unreachable: both branches above set it; keeps the type checker honest
            raise ApplicationError("internal: the run has no result record", non_retryable=True)
        result.trace_id = trace
        telemetry.indexed = resolved.search_attributes
        if resume is None:
            telemetry.index(result)
            self.events.publish(EventKind.RUN_STARTED, pipeline=result.pipeline)
            if request.dry_run:  # labelled where the Web UI and `describe` show it
                workflow.upsert_memo({DRY_RUN_MEMO: True})
            elif resolved.spec.subscribe:  # a dry run takes no messages from anyone
                await subscribe(resolved.spec.subscribe)
        pipeline_run = self._run = PipelineRun(
            resolved,
            request.input,
            result,
            workflow.set_current_details,
            telemetry,
            self.events,
            deselected=resume.deselected if resume else None,
            conversation=request.conversation,
            identity=request.identity,
            dry_run=request.dry_run,
        )
        pipeline_run.board.publish()
        spec = resolved.spec
        if spec.timeout is None:
            await pipeline_run.execute()
        else:
            await self._execute_with_deadline(pipeline_run, spec.timeout)
        if pipeline_run.continue_as_new and (
            pipeline_run.has_pending_steps() or not workflow.patched(EMPTY_CONTINUATION_PATCH)
        ):
            self.events.publish(EventKind.RUN_CONTINUED, pipeline=result.pipeline)
            await self.events.close()
            state = pipeline_run.resume_state()
            state.stream = self.events.state()
            workflow.continue_as_new(request.model_copy(update={"resume": state}))
        return self._finish(pipeline_run)

    async def _start(
        self, request: PipelineRunRequest, unknown_fields: list[str]
    ) -> ResolvedPipeline:
        """A new run: its result record, then the resolved and validated pipeline."""
        info = workflow.info()
        name = requested_name(request)
        self._result = PipelineResult(
            pipeline=name,
            workflow_id=info.workflow_id,
            run_id=info.run_id,
            started_at=workflow.now(),
            started_by=request.identity,
            dry_run=request.dry_run,
        )
        resolved = await resolve_pipeline(
            ResolveRequest(
                pipeline=request.pipeline, input=request.input, unknown_fields=unknown_fields
            )
        )
        if request.budget is not None:
            budget = tighter(resolved.spec.budget, request.budget)
            resolved.spec = resolved.spec.model_copy(update={"budget": budget})
        self._result.pipeline = resolved.spec.name
        early, self._early = self._early, []
        for message in early:
            self._keep(message)
        return resolved

    # -- operators and approvers (validated workflow updates) -----------------------------------
    @workflow.update(name=RETRY_STEP)
    async def retry_step(self, request: RetryStep) -> OperatorReply:
        """Run a paused step again, optionally with another input or model."""
        self._operating().desk.decide(request)
        return OperatorReply(step=request.step, action="retry", message="the step runs again")

    @retry_step.validator
    def _check_retry(self, request: RetryStep) -> None:
        self._paused(request.step)
        if request.model is not None:
            parse_model(request.model)  # a ValueError naming the problem rejects the update

    @workflow.update(name=SKIP_STEP)
    async def skip_step(self, request: SkipStep) -> OperatorReply:
        """Complete a paused step with the output given."""
        self._operating().desk.decide(request)
        return OperatorReply(step=request.step, action="skip", message="the output was accepted")

    @skip_step.validator
    def _check_skip(self, request: SkipStep) -> None:
        self._paused(request.step)
        schema = self._operating().resolved.output_schema(request.step)
        check_payload(schema, request.output, "the output")

    @workflow.update(name=ABORT_STEP)
    async def abort_step(self, request: AbortStep) -> OperatorReply:
        """Fail a paused step and stop the run."""
        self._operating().desk.decide(request)
        return OperatorReply(step=request.step, action="abort", message="the run stops")

    @abort_step.validator
    def _check_abort(self, request: AbortStep) -> None:
        self._paused(request.step)

    @workflow.update(name=DECIDE_APPROVAL)
    async def decide_approval(self, request: ApprovalDecision) -> OperatorReply:
        """Approve or reject a waiting approval step."""
        self._operating().desk.decide(request)
        action: Literal["approve", "reject"] = "approve" if request.approved else "reject"
        return OperatorReply(step=request.step, action=action, message=f"{action}d")

    @decide_approval.validator
    def _check_approval(self, request: ApprovalDecision) -> None:
        desk = self._operating().desk
        if request.step not in desk.approvals:
            waiting = ", ".join(desk.approvals) or "none"
            raise ValueError(
                f"step {request.step!r} is not waiting for approval (waiting: {waiting})"
            )
        if request.payload is not None:
            check_payload(desk.approval_schemas.get(request.step), request.payload, "the payload")

    def _operating(self) -> PipelineRun:
        if self._run is None:
            raise ValueError("the run has not started its steps yet")
        return self._run

    def _paused(self, step: str) -> None:
        desk = self._operating().desk
        if step not in desk.paused:
            paused = ", ".join(desk.paused) or "none"
            raise ValueError(f"step {step!r} is not waiting for an operator (paused: {paused})")

    # -- what activities report while a step waits -------------------------------------------
    @workflow.signal(name=STEP_NOTICE_SIGNAL)
    def step_notice(self, notice: StepNotice) -> None:
        """Shown in the progress query until the step's activity completes or fails."""
        record = self._result.steps.get(notice.step) if self._result is not None else None
        if record is not None and record.status is StepStatus.RUNNING:
            record.waiting = notice.waiting
            self.events.publish(EventKind.STEP_NOTICE, step=notice.step, reason=notice.waiting)

    @workflow.signal(name=PIPELINE_MESSAGE_SIGNAL)
    def pipeline_message(self, message: PipelineMessage) -> None:
        """A message from another run (or a topic): kept in the record, taken by `receive`."""
        if self._result is None:
            self._early.append(message)
            return
        self._keep(message)

    def _keep(self, message: PipelineMessage) -> None:
        result = self._result
        if self._run is not None:
            added = self._run.inbox.add(message)
        elif result is not None and all(m.id != message.id for m in result.messages):
            result.messages.append(message)
            added = True
        else:
            added = False
        if added:
            sender = {"id": message.id, "sender": message.sender, "topic": message.topic}
            self.events.publish(EventKind.MESSAGE_RECEIVED, data=sender)

    # -- queries -------------------------------------------------------------------------------
    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> RunProgress:
        """Statuses, timings, errors and cost of every step: light enough to poll."""
        return RunProgress.of(self._started())

    @workflow.query(name=AUDIT_QUERY)
    def audit(self) -> AuditTrail:
        """Who started the run, and every tool call its agents asked for, refusals included."""
        return AuditTrail.of(self._started())

    @workflow.query(name=FULL_PROGRESS_QUERY)
    def progress_full(self) -> PipelineResult:
        """Every step's whole record so far, outputs, tool calls and rejected answers included."""
        return self._started()

    def _started(self) -> PipelineResult:
        if self._result is None:
            raise ApplicationError("the run has not started yet")
        return self._result

    # -- the run's course --------------------------------------------------------------------------
    async def _execute_with_deadline(self, pipeline_run: PipelineRun, timeout: timedelta) -> None:
        pipeline_run.stop_reason = f"the run's deadline of {timeout} passed"
        started = pipeline_run.result.started_at or workflow.now()
        left = timeout - (workflow.now() - started)  # a continued run keeps the first deadline
        try:
            await asyncio.wait_for(pipeline_run.execute(), max(left.total_seconds(), 0.001))
        except TimeoutError:
            result = pipeline_run.result
            result.status = RunStatus.FAILED
            stamp_finish(result)
            pipeline_run.board.publish()
            raise non_retryable(
                f"pipeline {pipeline_run.spec.name!r} did not finish within {timeout}",
                ErrorType.PIPELINE_TIMEOUT,
                result.model_dump(mode="json"),
            ) from None

    def _finish(self, pipeline_run: PipelineRun) -> PipelineResult:
        result = pipeline_run.result
        result.output = pipeline_run.final_output()
        stamp_finish(result)
        failed = result.failed_steps()
        result.status = RunStatus.FAILED if failed else RunStatus.COMPLETED
        pipeline_run.board.publish()
        if failed:
            summary = "; ".join(
                f"{step.id}: {step.error.type}: {step.error.message}" if step.error else step.id
                for step in failed
                if step.parent is None
            )
            raise non_retryable(
                f"pipeline {result.pipeline!r} failed: {summary}",
                ErrorType.PIPELINE_FAILED,
                result.model_dump(mode="json"),
            )
        return result
