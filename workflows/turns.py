"""A conversation's turns: store the user's message, run the turn's pipeline over the window,
store the reply, summarise when due. The conversation workflow's working part.

Message text goes to the database through idempotent local activities keyed by message id; the
workflow keeps references (taskagent.conversation.window). A turn runs its pipeline inline,
through the engine's choke point (workflows/engine.py), so each step of a turn is recorded,
traced and published like a pipeline's.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.database import DATABASE_RETRY, DATABASE_TIMEOUT
from workflows.engine import PipelineRun, stamp_finish
from workflows.events import RunEvents
from workflows.failures import classify
from workflows.telemetry import RunTelemetry

with workflow.unsafe.imports_passed_through():
    from taskagent.conversation.context import (
        ConversationContext,
        MessageRef,
        StoredContext,
        SummaryRef,
    )
    from taskagent.conversation.contracts import (
        AppendedMessages,
        AppendMessages,
        ChatMessage,
        ChatReply,
        ConversationConfig,
        ConversationState,
        NewMessage,
        SaveBookmark,
        SavedBookmark,
    )
    from taskagent.errors import ErrorType, non_retryable
    from taskagent.events import EventKind
    from taskagent.llm.prompts import as_text
    from taskagent.llm.types import Message, ModelRequest
    from taskagent.messages import PipelineMessage
    from taskagent.names import (
        APPEND_MESSAGES_ACTIVITY,
        LLM_CALL_ACTIVITY,
        SAVE_BOOKMARK_ACTIVITY,
    )
    from taskagent.results import (
        Identity,
        ModelCallRequest,
        ModelCallResult,
        PipelineResult,
        ResolvedPipeline,
    )
    from taskagent.scope import LogScope

SUMMARY_TIMEOUT = timedelta(minutes=5)
SUMMARY_RETRY = RetryPolicy(maximum_attempts=3)
HEARTBEAT_TIMEOUT = timedelta(seconds=10)
FAILED_TURN = "failed_turn"
SUMMARY = "summary"
MAX_NOTES = 100
"""The ids of the latest pipeline messages a conversation remembers, to store each once."""
SUMMARY_PROMPT = (
    "You condense conversations. Summarise the conversation below (and the earlier summary, if "
    "there is one) in at most 120 words: keep facts, names, numbers, decisions, the user's "
    "preferences and open questions; leave out pleasantries. Write only the summary."
)


class Turns:
    """Runs the turns of one conversation, one at a time (the workflow holds the lock)."""

    def __init__(
        self,
        conversation_id: str,
        identity: Identity,
        config: ConversationConfig,
        state: ConversationState,
        events: RunEvents,
    ) -> None:
        self.conversation_id = conversation_id
        self.identity = identity
        self.user = identity.user
        self.config = config
        self.state = state
        self.events = events
        self.resolved: ResolvedPipeline | None = None

    @property
    def model(self) -> str | None:
        """The conversation's model (its tokenizer counts the messages)."""
        spec = self.resolved.spec if self.resolved is not None else None
        return self.config.model or (spec.model if spec is not None else None)

    async def run(self, message: ChatMessage, message_id: str) -> ChatReply:
        state, policy = self.state, self.config.window
        resolved = self.resolved
        if resolved is None:  # unreachable: the workflow resolves before any turn runs
            raise ApplicationError(
                "internal: the turn pipeline is not resolved", non_retryable=True
            )
        turn = state.turns + state.failed_turns + 1
        seq = state.next_seq
        marks = {"turn": turn, "message_id": message_id, "seq": seq}
        self.events.publish(EventKind.TURN_STARTED, data=marks)
        (asked,) = await self._append([(message_id, "user", message.content)])
        state.next_seq = seq + 1
        window = state.window.window(policy, asked)
        result = await self._run_pipeline(resolved, message, window, turn)
        failed = result.failed_steps()
        if failed:
            await self._bookmark(f"{message_id}/failed", FAILED_TURN, seq)
            state.failed_turns += 1
            error = next((s.error for s in failed if s.error is not None), None)
            detail = f"{error.type}: {error.message}" if error else "a step failed"
            self.events.publish(EventKind.TURN_FAILED, error=detail, data=marks)
            raise non_retryable(
                f"turn {turn} of conversation {self.conversation_id!r} has no reply: {detail}",
                ErrorType.TURN_FAILED,
                result.model_dump(mode="json"),
            )
        output = result.output
        content = as_text(output)
        reply_id = f"{message_id}/reply"
        (answered,) = await self._append([(reply_id, "assistant", content)])
        state.next_seq += 1
        state.window.add([asked, answered], policy)
        state.turns += 1
        state.since_summary += 2
        record = result.steps.get(result_step(result))
        total = result.cost.total
        reply = ChatReply(
            conversation_id=self.conversation_id,
            turn=turn,
            message_id=reply_id,
            seq=answered.seq,
            content=content,
            output=output if not isinstance(output, str) else None,
            attempts=record.attempts if record is not None else 1,
            input_tokens=total.input_tokens,
            output_tokens=total.output_tokens,
            cost_usd=total.cost_usd,
            window=[ref.seq for ref in window],
            summary_id=state.window.summary.id if state.window.summary else None,
        )
        self.events.publish(EventKind.TURN_COMPLETED, text=reply.content, data=marks)
        if self.config.summary_every and state.since_summary >= self.config.summary_every:
            await self._summarise()
        return reply

    async def note(self, message: PipelineMessage) -> int | None:
        """Store a message from a pipeline as a system note in the window; its seq, or None if
        it was stored before (a redelivery, recognised by the message's id)."""
        if message.id in self.state.notes:
            return None
        seq = self.state.next_seq
        (ref,) = await self._append([(message.id, "system", self.note_text(message))])
        self.state.next_seq = seq + 1
        self.state.window.add([ref], self.config.window)
        self.state.notes = [*self.state.notes[-(MAX_NOTES - 1) :], message.id]
        return seq

    @staticmethod
    def note_text(message: PipelineMessage) -> str:
        return f"Message from {message.sender}: {as_text(message.payload)}"

    async def _run_pipeline(
        self,
        resolved: ResolvedPipeline,
        message: ChatMessage,
        window: list[MessageRef],
        turn: int,
    ) -> PipelineResult:
        info = workflow.info()
        result = PipelineResult(
            pipeline=resolved.spec.name,
            workflow_id=info.workflow_id,
            run_id=info.run_id,
            started_at=workflow.now(),
        )
        scope = LogScope(
            pipeline=resolved.spec.name,
            path=f"{self.conversation_id}/turn-{turn}",
            correlation_id=self.conversation_id,
        )
        self.events.deltas = message.stream
        context = ConversationContext(
            conversation_id=self.conversation_id,
            window=window,
            summary=self.state.window.summary,
        )
        turn_input = {
            "message": message.content,
            "conversation_id": self.conversation_id,
            "user": self.user,
        }
        run = PipelineRun(
            resolved,
            turn_input,
            result,
            workflow.set_current_details,
            RunTelemetry(scope),
            self.events,
            conversation=context,
            identity=self.identity,
        )
        await run.execute()
        if not result.failed_steps():
            result.output = run.final_output()
        stamp_finish(result)
        self.state.cost.merge("turns", result.cost)
        return result

    async def _summarise(self) -> None:
        """Condense everything before the latest exchange (and the previous summary) into a new
        summary bookmark. A summariser that fails is logged and tried again next time: the
        reply the user waits for is already stored."""
        state = self.state
        previous = state.window.summary
        start = max(self.config.window.keep_first, previous.upto if previous else 0)
        upto = state.next_seq - 2
        if upto <= start:
            return
        model = self.config.summary_model or self.model or ""
        request = ModelRequest(
            model=model,
            messages=[
                Message(role="system", content=SUMMARY_PROMPT),
                Message(role="user", content="Write the summary now."),
            ],
        )
        context = StoredContext(
            conversation_id=self.conversation_id,
            summary_id=previous.id if previous else None,
            from_seq=start,
            until_seq=upto,
        )
        try:
            result: ModelCallResult = await workflow.execute_activity(
                LLM_CALL_ACTIVITY,
                ModelCallRequest(request=request, step_id="summary", context=context),
                start_to_close_timeout=SUMMARY_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=SUMMARY_RETRY,
                result_type=ModelCallResult,
                summary=f"summarise messages {start} to {upto - 1}",
            )
        except ActivityError as err:
            failure = classify(err)
            workflow.logger.warning(
                "summary failed", extra={"error": failure.type, "detail": failure.message}
            )
            return
        usage = result.response.usage
        state.cost.record(
            "summaries", model, usage.input_tokens, usage.output_tokens, result.cost_usd
        )
        summary_id = f"{self.conversation_id}/summary/{upto}"
        saved = await self._bookmark(summary_id, SUMMARY, upto, result.response.content or "")
        state.window.summarised(
            SummaryRef(id=summary_id, upto=upto, tokens=saved.tokens), self.config.window
        )
        state.since_summary = 0
        self.events.publish(EventKind.SUMMARY_SAVED, data={"upto": upto, "id": summary_id})

    # -- the database ----------------------------------------------------------------------------
    async def _append(self, messages: list[tuple[str, str, str]]) -> list[MessageRef]:
        now = workflow.now()
        first = self.state.next_seq
        request = AppendMessages(
            conversation_id=self.conversation_id,
            model=self.model,
            messages=[
                NewMessage(id=m_id, seq=first + i, role=role, content=text, created_at=now)
                for i, (m_id, role, text) in enumerate(messages)
            ],
        )
        stored: AppendedMessages = await workflow.execute_local_activity(
            APPEND_MESSAGES_ACTIVITY,
            request,
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
            result_type=AppendedMessages,
            summary=f"store {', '.join(role for _, role, _ in messages)} message",
        )
        return stored.refs

    async def _bookmark(
        self, bookmark_id: str, kind: str, seq: int, summary: str | None = None
    ) -> SavedBookmark:
        request = SaveBookmark(
            conversation_id=self.conversation_id,
            id=bookmark_id,
            kind=kind,
            message_seq=seq,
            summary=summary,
            created_at=workflow.now(),
        )
        saved: SavedBookmark = await workflow.execute_local_activity(
            SAVE_BOOKMARK_ACTIVITY,
            request,
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
            result_type=SavedBookmark,
            summary=f"bookmark {kind} at {seq}",
        )
        return saved


def result_step(result: PipelineResult) -> str:
    """The step whose record speaks for the turn (its attempts): the last top-level step."""
    top = [key for key, record in result.steps.items() if record.parent is None]
    return top[-1] if top else ""
