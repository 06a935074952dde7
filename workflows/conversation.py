"""ConversationWorkflow: one durable conversation, a turn per `send_message` update.

The workflow id is the conversation's id. The first message starts it with update-with-start
(`temporal workflow execute-update-with-start`), so a client gets its first reply in one call.
Turns run one at a time, in the order they arrive (workflows/turns.py). The history stays small
by construction: message text lives in the database, the workflow keeps references and the
window's state, and the run continues as new every `continue_every` turns (or when Temporal
suggests it) carrying only that state. With no message for `idle_timeout`, the run ends; the
next message starts a new run that reads the window back from the database.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable

from temporalio import workflow
from temporalio.contrib.workflow_streams import WorkflowStream
from temporalio.exceptions import ApplicationError

from workflows.database import DATABASE_RETRY, DATABASE_TIMEOUT
from workflows.events import RunEvents
from workflows.pipeline import resolve_pipeline
from workflows.turns import Turns

with workflow.unsafe.imports_passed_through():
    from taskagent.conversation.contracts import (
        ArchiveConversation,
        ChatMessage,
        ChatReply,
        ConversationInfo,
        ConversationStart,
        ConversationState,
        OpenConversation,
        OpenedConversation,
        ShownMessage,
    )
    from taskagent.errors import ErrorType, non_retryable
    from taskagent.messages import PipelineMessage
    from taskagent.names import (
        ARCHIVE_CONVERSATION_ACTIVITY,
        ARCHIVE_UPDATE,
        CONVERSATION_QUERY,
        CONVERSATION_WORKFLOW,
        OPEN_CONVERSATION_ACTIVITY,
        PIPELINE_MESSAGE_SIGNAL,
        RECENT_MESSAGES_QUERY,
        SEND_MESSAGE_UPDATE,
    )
    from taskagent.results import Identity, ResolveRequest

CARRIED_EVENTS = 0
"""A continuation carries the stream's offsets, not its events (they hold the replies' text): a
chat client reads a turn's events while it runs, before the run continues."""
SHOWN_MESSAGES = 100
"""The `messages` query shows this many of the run's latest messages (their text is in the
run's history anyway: the updates' inputs and results); the database has them all."""
REMEMBERED_REPLIES = 50
"""Replies kept by message id in a run, so that a message sent twice is answered once."""


@workflow.defn(name=CONVERSATION_WORKFLOW)
class ConversationWorkflow:
    """A conversation: its window's references, its turns, its cost."""

    @workflow.init
    def __init__(self, start: ConversationStart) -> None:
        state = start.state or ConversationState()
        self._carried = start.state is not None
        self.events = RunEvents(WorkflowStream(state.stream), carried=CARRIED_EVENTS)
        state.stream = None
        self._config = start.config
        identity = Identity(user=start.user, roles=start.roles)
        self._turns = Turns(workflow.info().workflow_id, identity, start.config, state, self.events)
        self._lock = asyncio.Lock()
        self._ready = False
        self._failure: ApplicationError | None = None
        self._run_turns = 0
        self._messages = 0
        self._archived = False
        self._replies: OrderedDict[str, ChatReply] = OrderedDict()
        self._shown: deque[ShownMessage] = deque(maxlen=SHOWN_MESSAGES)

    @workflow.run
    async def run(self, start: ConversationStart) -> ConversationInfo:
        try:
            await self._open(start)
        except ApplicationError as err:  # a bad configuration: every message is told why
            self._failure = err
            self._ready = True
            await workflow.wait_condition(workflow.all_handlers_finished)
            raise
        self._ready = True
        idle = self._config.idle_timeout.total_seconds()
        while not self._archived:
            try:
                await workflow.wait_condition(self._woken(self._messages), timeout=idle)
            except TimeoutError:
                if not self._lock.locked() and workflow.all_handlers_finished():
                    break  # idle: the next message starts a new run
                continue
            if self._continue_due() and not self._archived:
                await workflow.wait_condition(
                    lambda: not self._lock.locked() and workflow.all_handlers_finished()
                )
                await self._continue_as_new(start)
        await self.events.close()
        return self.info()

    # -- messages ----------------------------------------------------------------------------
    @workflow.update(name=SEND_MESSAGE_UPDATE)
    async def send_message(self, message: ChatMessage) -> ChatReply:
        """Answer the user's message with a validated reply (the turns run in order)."""
        self._messages += 1
        message_id = message.id or workflow.current_update_info().id  # type: ignore[union-attr]
        async with self._lock:
            await workflow.wait_condition(lambda: self._ready)
            if self._failure is not None:
                raise self._failure
            if self._archived:
                raise non_retryable(
                    f"conversation {workflow.info().workflow_id!r} was archived while the "
                    "message waited; send it again to reopen the conversation",
                    ErrorType.CONVERSATION_ARCHIVED,
                )
            known = self._replies.get(message_id)
            if known is not None:
                return known
            seq = self._turns.state.next_seq
            try:
                reply = await self._turns.run(message, message_id)
            finally:
                if self._turns.state.next_seq > seq:  # the message was stored
                    self._shown.append(ShownMessage(seq=seq, role="user", content=message.content))
            self._shown.append(ShownMessage(seq=reply.seq, role="assistant", content=reply.content))
            self._run_turns += 1
            self._replies[message_id] = reply
            while len(self._replies) > REMEMBERED_REPLIES:
                self._replies.popitem(last=False)
            return reply

    @send_message.validator
    def _check_message(self, message: ChatMessage) -> None:
        if not message.content.strip():
            raise ValueError("the message is empty")
        if self._archived:
            raise ValueError("the conversation is archived; send the message again to reopen it")

    @workflow.update(name=ARCHIVE_UPDATE)
    async def archive(self) -> bool:
        """Archive the conversation (after the turn under way) and end its run."""
        async with self._lock:
            await workflow.wait_condition(lambda: self._ready)
            self._archived = True
            archived: bool = await workflow.execute_local_activity(
                ARCHIVE_CONVERSATION_ACTIVITY,
                ArchiveConversation(conversation_id=workflow.info().workflow_id, at=workflow.now()),
                start_to_close_timeout=DATABASE_TIMEOUT,
                retry_policy=DATABASE_RETRY,
                result_type=bool,
            )
            return archived

    @workflow.query(name=CONVERSATION_QUERY)
    def info(self) -> ConversationInfo:
        """Where the conversation stands: turns, window (references), summary, cost."""
        state = self._turns.state
        total = state.cost.total
        return ConversationInfo(
            conversation_id=workflow.info().workflow_id,
            user=self._turns.user,
            run_turns=self._run_turns,
            turns=state.turns,
            failed_turns=state.failed_turns,
            next_seq=state.next_seq,
            window=state.window.window(self._config.window),
            summary=state.window.summary,
            cost_usd=total.cost_usd,
            input_tokens=total.input_tokens,
            output_tokens=total.output_tokens,
            archived=self._archived,
            config=self._config,
        )

    @workflow.signal(name=PIPELINE_MESSAGE_SIGNAL)
    async def pipeline_message(self, message: PipelineMessage) -> None:
        """A message from a pipeline: stored in the conversation as a system note, which the
        following turns see (once, whatever the redeliveries)."""
        async with self._lock:
            await workflow.wait_condition(lambda: self._ready)
            if self._failure is None and not self._archived:
                seq = await self._turns.note(message)
                if seq is not None:
                    note = self._turns.note_text(message)
                    self._shown.append(ShownMessage(seq=seq, role="system", content=note))

    @workflow.query(name=RECENT_MESSAGES_QUERY)
    def messages(self) -> list[ShownMessage]:
        """The latest messages of this run (`starter.py conversations show` reads them all)."""
        return list(self._shown)

    # -- the run's course --------------------------------------------------------------------
    async def _open(self, start: ConversationStart) -> None:
        """Resolve the turn pipeline; a new conversation (or one whose run ended) reads its
        place and window from the database."""
        request = ResolveRequest(
            pipeline=self._config.turn_pipeline(),
            input={"message": "", "conversation_id": "", "user": ""},
        )
        self._turns.resolved = await resolve_pipeline(request)
        if self._carried:
            return
        opened: OpenedConversation = await workflow.execute_local_activity(
            OPEN_CONVERSATION_ACTIVITY,
            OpenConversation(
                conversation_id=workflow.info().workflow_id,
                user=start.user,
                policy=self._config.window,
                at=workflow.now(),
            ),
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
            result_type=OpenedConversation,
        )
        state = self._turns.state
        state.next_seq = opened.next_seq
        state.turns = opened.turns
        state.window = opened.window

    def _woken(self, seen: int) -> Callable[[], bool]:
        """What ends a wait for messages: an archive, a continuation due, a new message."""
        return lambda: self._archived or self._continue_due() or self._messages != seen

    def _continue_due(self) -> bool:
        return (
            self._run_turns >= self._config.continue_every
            or workflow.info().is_continue_as_new_suggested()
        )

    async def _continue_as_new(self, start: ConversationStart) -> None:
        await self.events.close()
        state = self._turns.state.model_copy(update={"stream": self.events.state()})
        workflow.continue_as_new(start.model_copy(update={"state": state}))


__all__ = ["ConversationWorkflow"]
