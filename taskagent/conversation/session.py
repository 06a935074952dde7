"""An interactive chat in the terminal (`starter.py chat <conversation-id>`).

Each line typed is a turn. With streaming on, the reply's text is printed as the model writes
it (from the conversation's event stream), with a note when an answer is rejected and tried
again; otherwise the validated reply is printed when it arrives. `/exit` or end of input ends
the session; the conversation itself stays, durable, for the next session.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Sequence

from rich.console import Console
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError

from taskagent.conversation.client import begin_message, event_offset, turn_events
from taskagent.conversation.contracts import ChatMessage, ChatReply, ConversationConfig
from taskagent.events import EventKind, RunEvent

QUIT = {"/exit", "/quit"}
FOLLOW_GRACE_S = 5.0
"""How long the turn's last events may take to arrive after its reply."""


class ChatSession:
    """One person's side of a conversation, in a terminal."""

    def __init__(
        self,
        client: Client,
        task_queue: str,
        conversation_id: str,
        *,
        user: str,
        roles: Sequence[str] = (),
        config: ConversationConfig,
        stream: bool,
        out: Console,
        notes: Console,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self.conversation_id = conversation_id
        self._user = user
        self._roles = roles
        self._config = config
        self._stream = stream
        self._out = out
        self.notes = notes
        self._shown = ""

    async def say(self, text: str) -> ChatReply | None:
        """One turn: the reply printed (streamed if asked); None if the turn failed."""
        message = ChatMessage(content=text, id=uuid.uuid4().hex, stream=self._stream)
        try:
            return await self._turn(message)
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(cause)
            self.notes.print(f"[red]no reply:[/red] {reason}", highlight=False)
            return None

    async def _turn(self, message: ChatMessage) -> ChatReply:
        message_id = message.id or ""
        offset = await event_offset(self._client, self.conversation_id) if self._stream else 0
        handle = await begin_message(
            self._client,
            self._task_queue,
            self.conversation_id,
            message,
            self._user,
            self._config,
            WorkflowUpdateStage.ACCEPTED if self._stream else WorkflowUpdateStage.COMPLETED,
            roles=self._roles,
        )
        self._shown = ""  # the text of the answer being written
        follower = None
        if self._stream:
            follower = asyncio.create_task(self._follow(message_id, offset))
        try:
            reply = await handle.result()
        finally:  # the turn's last events are read, or given up on a turn that never began
            if follower is not None:
                await asyncio.wait([follower], timeout=FOLLOW_GRACE_S)
                follower.cancel()
        if self._shown.strip():  # the accepted answer was streamed: end its line
            self._out.print()
        else:
            self._out.print(reply.content, markup=False, highlight=False)
        return reply

    async def _follow(self, message_id: str, offset: int) -> None:
        async for event in turn_events(self._client, self.conversation_id, message_id, offset):
            self._shown = self._show(event, self._shown)

    def _show(self, event: RunEvent, shown: str) -> str:
        if event.kind == EventKind.DELTA and event.text:
            self._out.print(event.text, end="", markup=False, highlight=False)
            return shown + event.text
        if event.kind == EventKind.VALIDATION_FAILED:
            if shown:
                self._out.print()
            errors = "; ".join(str(e) for e in (event.errors or []))
            self.notes.print(f"[yellow]↻ answer rejected:[/yellow] {errors}", highlight=False)
            return ""
        if event.kind == EventKind.TOOL_COMPLETED:
            self.notes.print(f"[dim]· tool {event.tool}: {event.outcome}[/dim]", highlight=False)
        if event.kind == EventKind.SUMMARY_SAVED:
            self.notes.print("[dim]· earlier messages summarised[/dim]")
        return shown


async def chat_loop(session: ChatSession, interactive: bool) -> int:
    """Read lines until `/exit` or the end of input; each is a turn. The count of failed turns
    decides the exit code (0: every turn had its reply)."""
    failures = 0
    while True:
        if interactive:
            session.notes.print("[bold]you>[/bold] ", end="")
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            break
        text = line.strip()
        if not text:
            continue
        if text in QUIT:
            break
        if await session.say(text) is None:
            failures += 1
    return 1 if failures else 0
