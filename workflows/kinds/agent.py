"""Executor of `agent` steps: model calls, tool rounds, validation with feedback, cost and budget.

No invalid answer moves on: each answer is parsed and checked structurally here (pure), then by
the output model's validators and the step's semantic validators (activities: user code). The
exact errors go back to the model, which tries again; failed attempts are left out of the
conversation that is kept.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.failures import classify
from workflows.telemetry import validator

with workflow.unsafe.imports_passed_through():
    from taskagent.conversation.context import StoredContext
    from taskagent.errors import ErrorType
    from taskagent.kinds.agent import AgentStep, LlmStepBase
    from taskagent.kinds.context import StepContext, StepFailure, StepOutcome
    from taskagent.llm.checking import check_answer
    from taskagent.llm.parsing import extract_json
    from taskagent.llm.parsing_v1 import extract_json as extract_json_v1
    from taskagent.llm.prompts import correction_message, task_messages
    from taskagent.llm.types import Message, ModelRequest, ModelResponse, ToolCall
    from taskagent.names import (
        CHECK_OUTPUT_ACTIVITY,
        CODE_STEP_ACTIVITY,
        DRY_LLM_CALL_ACTIVITY,
        LLM_CALL_ACTIVITY,
        TOOL_CALL_ACTIVITY,
    )
    from taskagent.results import (
        AttemptFailure,
        CheckOutputRequest,
        CheckOutputResult,
        CodeStepRequest,
        CodeStepResult,
        ModelCallResult,
        ToolCallRecord,
        ToolCallRequest,
        ToolCallResult,
    )

MODEL_CALL_TIMEOUT = timedelta(minutes=10)
CHECK_TIMEOUT = timedelta(seconds=30)
CHECK_RETRY = RetryPolicy(maximum_attempts=3)
"""The output-model check is user code: a crash is retried a little, never forever."""
MAX_TOOL_RESULT_CHARS = 100_000
"""A tool result longer than this is truncated before the model sees it."""
MAX_REQUEST_CHARS = 1_500_000
"""Temporal refuses payloads over 2 MB; a conversation this long fails its step instead."""
KEPT_MESSAGE_CHARS = 8_000
"""The kept conversation in the step result holds at most this much of each message."""
OUTCOMES = {None: "ok", "UnknownTool": "refused", "InvalidArguments": "invalid_arguments"}
TRUNCATION_PATCH = "taskagent-truncated-answers"
"""Answers cut off at the output-token limit are rejected; runs recorded before kept them."""
PARSER_PATCH = "taskagent-parser-v2"
"""Answers are parsed with reasoning stripped and the last candidate preferred (see
taskagent.llm.parsing); runs recorded before used the first parser, kept in parsing_v1."""


async def execute(ctx: StepContext, step: AgentStep, value: Any) -> StepOutcome:
    schema = step.output_schema
    json_schema = ctx.resolved.schemas.get(schema) if isinstance(schema, str) else schema
    return await AgentLoop(ctx, step, step.goal, schema, json_schema).run(value)


class AgentLoop:
    """One agent step's conversation with its model, its tools and its validators."""

    def __init__(
        self,
        ctx: StepContext,
        step: LlmStepBase,
        goal: str,
        output_schema: str | dict[str, Any] | None,
        json_schema: dict[str, Any] | None,
        context: StoredContext | None = None,
    ) -> None:
        self.ctx = ctx
        self.context = context
        """Stored conversation messages that every model call carries by reference."""
        self.step = step
        self.goal = goal
        self.output_schema = output_schema
        self.json_schema = json_schema
        self.model = step.model or ctx.spec.model or ""
        self.calls = 0
        self.attempt = 1
        self.allowed = list(step.tools) if isinstance(step, AgentStep) else []
        self.tools = [ctx.resolved.tools[name].spec for name in self.allowed]

    async def run(self, value: Any, base: list[Message] | None = None) -> StepOutcome:
        """Answer until valid; `base` replaces the task's messages (a chat step's)."""
        if base is None:
            base = task_messages(
                system_prompt=self.step.system_prompt,
                goal=self.goal,
                constraints=[*self.ctx.spec.constraints, *self.step.constraints],
                input_value=value,
            )
        working = list(base)
        failures: list[AttemptFailure] = []
        for attempt in range(1, self.step.max_attempts + 1):
            self.attempt = attempt
            attempt_start = len(working)
            answer = await self._converse(working)
            content = answer.content
            if answer.finish_reason == "length" and workflow.patched(TRUNCATION_PATCH):
                output, errors = None, [truncated(self.step.max_output_tokens)]
            else:
                output, errors = await self._check(content)
            if not errors or self.ctx.dry_run:  # a placeholder is not corrected (see dry_note)
                kept = None
                if self.step.keep_conversation:
                    kept = [_bounded(m) for m in base + working[attempt_start:]]
                note = self._dry_note(errors) if self.ctx.dry_run else None
                return StepOutcome(output=output, attempts=attempt, conversation=kept, note=note)
            failure = AttemptFailure(attempt=attempt, errors=errors, answer=(content or "")[:1000])
            failures.append(failure)
            self.ctx.record_rejected_answer(failure, min(attempt, self.step.max_attempts - 1))
            working.append(correction_message(errors))
        raise StepFailure(
            ErrorType.VALIDATION_FAILED,
            f"no valid answer after {self.step.max_attempts} attempts; last errors: "
            + "; ".join(failures[-1].errors),
            details=[f"attempt {f.attempt}: {error}" for f in failures for error in f.errors],
        )

    async def _check(self, content: str | None) -> tuple[Any, list[str]]:
        """Structural checks (the recorded JSON Schema, here), the output model's validators
        (an activity: user code), then the semantic validators (activities)."""
        with validator("schema") as errors:
            output, found = self._parse(content)
            errors += found
        if self.ctx.dry_run:  # structural checks only: no user code runs on a placeholder
            return output, errors
        if not errors and isinstance(self.output_schema, str):
            with validator(self.output_schema) as errors:
                checked = await self.ctx.activity(
                    CHECK_OUTPUT_ACTIVITY,
                    CheckOutputRequest(model=self.output_schema, value=output),
                    result_type=CheckOutputResult,
                    summary=f"check {self.output_schema}",
                    local=True,
                    timeout=CHECK_TIMEOUT,
                    retry=CHECK_RETRY,
                )
                output = checked.output
                errors += checked.errors
        if not errors:
            errors = await self._semantic_errors(output)
        return output, errors

    def _dry_note(self, errors: list[str]) -> str:
        """What a dry run's record says: the answer is a placeholder, and what did not run."""
        checks = list(self.step.validators) if isinstance(self.step, AgentStep) else []
        if isinstance(self.output_schema, str):  # the output model's own validators
            checks.insert(0, self.output_schema)
        skipped = [
            ("tools not called", self.allowed),
            ("validators not run", checks),
            ("the placeholder fails the schema", errors),
        ]
        note = "dry run: placeholder answer, cost estimated"
        return note + "".join(f"; {what}: {', '.join(items)}" for what, items in skipped if items)

    def _parse(self, content: str | None) -> tuple[Any, list[str]]:
        """The answer checked against the JSON Schema, by the parser the run was recorded with:
        runs started before PARSER_PATCH replay with the first parser."""
        if self.json_schema is None:
            return check_answer(content, None)
        new = workflow.patched(PARSER_PATCH)
        return check_answer(content, self.json_schema, extract_json if new else extract_json_v1)

    # -- the model ---------------------------------------------------------------------------
    async def _converse(self, working: list[Message]) -> ModelResponse:
        """Call the model, running the tools it asks for, until it answers without tools."""
        limit = self.step.max_tool_rounds if isinstance(self.step, AgentStep) else 0
        for round_number in range(limit + 1):
            response = await self._call_model(working)
            if not response.tool_calls:
                working.append(Message(role="assistant", content=response.content))
                return response
            if round_number == limit:
                raise StepFailure(
                    ErrorType.TOOL_ROUNDS_EXCEEDED,
                    f"the model still asked for tools after {limit} rounds "
                    f"(max_tool_rounds={limit}): {', '.join(c.name for c in response.tool_calls)}",
                )
            working.append(
                Message(role="assistant", content=response.content, tool_calls=response.tool_calls)
            )
            working.extend(await asyncio.gather(*(self._tool(c) for c in response.tool_calls)))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call_model(self, messages: list[Message]) -> ModelResponse:
        size = sum(len(m.content or "") + len(str(m.tool_calls)) for m in messages)
        if size > MAX_REQUEST_CHARS:
            raise StepFailure(
                ErrorType.PAYLOAD_TOO_LARGE,
                f"the conversation of step {self.ctx.key!r} has grown to {size} characters, over "
                f"the {MAX_REQUEST_CHARS} that one model call may carry through Temporal; make "
                "the tools return less, or lower max_tool_rounds",
            )
        self.calls += 1
        request = ModelRequest(
            model=self.model,
            messages=messages,
            tools=self.tools,
            output_schema=self.json_schema,
            output_schema_name=self.output_schema
            if isinstance(self.output_schema, str)
            else "output",
            temperature=self.step.temperature,
            max_output_tokens=self.step.max_output_tokens,
        )
        reservation = await self.ctx.reserve_budget(request)
        try:
            return await self._send(request)
        finally:
            self.ctx.settle_budget(reservation)

    async def _send(self, request: ModelRequest) -> ModelResponse:
        self.ctx.record_attempt(self.attempt)
        call = self.ctx.model_call(request, self.attempt, self.calls)
        if self.context is not None:
            call = call.model_copy(update={"context": self.context})
        dry = self.ctx.dry_run
        try:
            result = await self.ctx.activity(
                DRY_LLM_CALL_ACTIVITY if dry else LLM_CALL_ACTIVITY,
                call,
                result_type=ModelCallResult,
                summary=f"{'dry run · ' if dry else ''}{self.model} · attempt {self.attempt} · "
                f"call {self.calls}",
                timeout=self.ctx.deadline or MODEL_CALL_TIMEOUT,
            )
        except ActivityError as err:
            billed = billed_call(err)
            if billed is not None:  # refused or filtered, but billed: the ledger has it
                # (its retries are counted with the step's failure, from the error)
                self.ctx.record_model_call(self.model, billed.model_copy(update={"attempt": 1}))
            raise
        self.ctx.record_model_call(self.model, result)
        return result.response

    # -- tools and validators ----------------------------------------------------------------
    async def _tool(self, call: ToolCall) -> Message:
        if call.name not in self.allowed:
            allowed = ", ".join(self.allowed) or "none"
            content = f"Refused: the tool {call.name!r} is not allowed here (allowed: {allowed})."
            self._record_tool(call, "refused", content, error=content)
            return Message(role="tool", tool_call_id=call.id, name=call.name, content=content)
        tool = self.ctx.resolved.tools[call.name]
        roles = self.ctx.identity.roles
        if tool.roles and not set(tool.roles) & set(roles):
            content = (
                f"Refused: the tool {call.name!r} requires the role "
                f"{' or '.join(tool.roles)}, which {self.ctx.identity.user!r} does not have."
            )
            self._record_tool(call, "refused", content, error=content)
            return Message(role="tool", tool_call_id=call.id, name=call.name, content=content)
        request = ToolCallRequest(
            tool=call.name,
            arguments=call.arguments,
            step_id=self.ctx.key,
            call_id=call.id,
            allowed=self.allowed,
            roles=roles,
        )
        try:
            result = await self.ctx.activity(
                TOOL_CALL_ACTIVITY,
                request,
                result_type=ToolCallResult,
                summary=f"tool {call.name}",
                timeout=tool.timeout,
                retry=tool.retry.policy(),
            )
        except ActivityError as err:
            error = classify(err)
            content = f"The tool {call.name!r} failed: {error.message}"
            self._record_tool(call, "failed", content, error=error.message)
            return Message(role="tool", tool_call_id=call.id, name=call.name, content=content)
        outcome = OUTCOMES.get(result.error_type, "tool_error") if not result.ok else "ok"
        self._record_tool(
            call,
            outcome,
            result.content,
            result.duration_ms,
            None if result.ok else result.content,
            attempt=result.attempt,
        )
        content = result.content
        if len(content) > MAX_TOOL_RESULT_CHARS:
            content = (
                content[:MAX_TOOL_RESULT_CHARS]
                + f"\n[truncated: the tool returned {len(content)} characters]"
            )
        return Message(role="tool", tool_call_id=call.id, name=call.name, content=content)

    def _record_tool(
        self,
        call: ToolCall,
        outcome: str,
        content: str,
        duration_ms: float = 0.0,
        error: str | None = None,
        attempt: int = 1,
    ) -> None:
        record = ToolCallRecord(
            call_id=call.id,
            tool=call.name,
            arguments=call.arguments[:2000],
            outcome=outcome,
            result_size=len(content),
            duration_ms=duration_ms,
            error=error,
        )
        self.ctx.record_tool_call(record, attempt)

    async def _semantic_errors(self, output: Any) -> list[str]:
        validators = self.step.validators if isinstance(self.step, AgentStep) else []
        errors: list[str] = []
        for name in validators:
            with validator(name) as found:
                result = await self.ctx.activity(
                    CODE_STEP_ACTIVITY,
                    CodeStepRequest(function=name, input=output, step_id=f"{self.ctx.key}/{name}"),
                    result_type=CodeStepResult,
                    summary=f"validate {name}",
                )
                found += [f"{name}: {error}" for error in result.output or []]
            errors += found
        return errors


def truncated(limit: int | None) -> str:
    """The correction for an answer the provider cut off at its output-token limit."""
    where = f"max_output_tokens={limit}" if limit else "the model's output limit"
    return (
        f"the answer was cut off at {where} before it was complete; answer again, more "
        "briefly, with the complete output only"
    )


def billed_call(err: ActivityError) -> ModelCallResult | None:
    """The priced answer a failed model call carries when the provider billed it (a refusal,
    a filtered answer): the second detail of the activity's ApplicationError."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and len(cause.details) > 1:
        return ModelCallResult.model_validate(cause.details[1])
    return None


def _bounded(message: Message) -> Message:
    content = message.content
    if content is None or len(content) <= KEPT_MESSAGE_CHARS:
        return message
    cut = content[:KEPT_MESSAGE_CHARS] + f"\n[{len(content) - KEPT_MESSAGE_CHARS} characters cut]"
    return message.model_copy(update={"content": cut})
