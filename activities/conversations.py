"""Activities of conversations: the database side (taskagent.store) of ConversationWorkflow.

Every write is keyed by an id the workflow chose, so that an activity retried after a crash
stores nothing twice. Database calls are blocking: they run in threads, off the worker's loop.
The model-call activity reads stored messages through `StoredMessages` (see taskagent.conversation).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio import activity

from taskagent.conversation.context import StoredContext, SummaryRef
from taskagent.conversation.contracts import (
    AppendedMessages,
    AppendMessages,
    ArchiveConversation,
    ArchivedConversations,
    ArchiveIdle,
    OpenConversation,
    OpenedConversation,
    SaveBookmark,
    SavedBookmark,
)
from taskagent.conversation.window import WindowState
from taskagent.llm.tokens import count_tokens
from taskagent.llm.types import Message, ModelRequest, Role
from taskagent.names import (
    APPEND_MESSAGES_ACTIVITY,
    ARCHIVE_CONVERSATION_ACTIVITY,
    ARCHIVE_IDLE_ACTIVITY,
    OPEN_CONVERSATION_ACTIVITY,
    SAVE_BOOKMARK_ACTIVITY,
)
from taskagent.store import Bookmark, ConversationStore, StoredMessage

SUMMARY = "summary"
FAILED_TURN = "failed_turn"
"""A bookmark on the user message of a turn that failed: the window leaves it out."""


class ConversationActivities:
    """Opens conversations, stores their messages and bookmarks, archives them."""

    def __init__(self, store: ConversationStore) -> None:
        self._store = store

    @activity.defn(name=OPEN_CONVERSATION_ACTIVITY)
    async def open(self, request: OpenConversation) -> OpenedConversation:
        """The conversation, created if new, with where its next message goes and its window."""
        return await asyncio.to_thread(self._open, request)

    def _open(self, request: OpenConversation) -> OpenedConversation:
        store, conversation_id = self._store, request.conversation_id
        store.open(conversation_id, request.user, request.at)
        next_seq, turns = store.counts(conversation_id)
        failed = {b.message_seq for b in store.bookmarks(conversation_id, FAILED_TURN)}
        summaries = store.bookmarks(conversation_id, SUMMARY)
        summary = None
        if summaries and summaries[-1].summary is not None:
            latest = summaries[-1]
            tokens = count_tokens(None, latest.summary or "").tokens
            summary = SummaryRef(id=latest.id, upto=latest.message_seq, tokens=tokens)
        keep_first = request.policy.keep_first
        first = store.refs(conversation_id, until_seq=keep_first)
        after = max(keep_first, summary.upto if summary else 0)
        window = WindowState(
            first=[ref for ref in first if ref.seq not in failed],
            summary=summary,
            recent=[
                ref for ref in store.refs(conversation_id, from_seq=after) if ref.seq not in failed
            ],
        )
        window.trim(request.policy)
        return OpenedConversation(next_seq=next_seq, turns=turns, window=window)

    @activity.defn(name=APPEND_MESSAGES_ACTIVITY)
    async def append(self, request: AppendMessages) -> AppendedMessages:
        """Store messages (those stored before, by id, are kept as they were); their refs."""
        return await asyncio.to_thread(self._append, request)

    def _append(self, request: AppendMessages) -> AppendedMessages:
        stored = [
            StoredMessage(
                id=m.id,
                seq=m.seq,
                role=m.role,
                content=m.content,
                tokens=count_tokens(request.model, m.content).tokens,
                created_at=m.created_at,
            )
            for m in request.messages
        ]
        self._store.add_messages(request.conversation_id, stored)
        seqs = [m.seq for m in stored]
        refs = self._store.refs(
            request.conversation_id, from_seq=min(seqs), until_seq=max(seqs) + 1
        )
        return AppendedMessages(refs=[ref for ref in refs if ref.seq in seqs])

    @activity.defn(name=SAVE_BOOKMARK_ACTIVITY)
    async def bookmark(self, request: SaveBookmark) -> SavedBookmark:
        """Store a bookmark (a summary, or a failed turn's mark); the summary's tokens."""
        bookmark = Bookmark(
            id=request.id,
            kind=request.kind,
            message_seq=request.message_seq,
            summary=request.summary,
            created_at=request.created_at,
        )
        await asyncio.to_thread(self._store.add_bookmark, request.conversation_id, bookmark)
        tokens = count_tokens(None, request.summary).tokens if request.summary else 0
        return SavedBookmark(tokens=tokens)

    @activity.defn(name=ARCHIVE_CONVERSATION_ACTIVITY)
    async def archive(self, request: ArchiveConversation) -> bool:
        return await asyncio.to_thread(self._store.archive, request.conversation_id, request.at)

    @activity.defn(name=ARCHIVE_IDLE_ACTIVITY)
    async def archive_idle(self, request: ArchiveIdle) -> ArchivedConversations:
        """Archive the conversations with no message for `idle_for`."""
        now = datetime.now(UTC)
        ids = await asyncio.to_thread(self._store.archive_idle, now - request.idle_for, now)
        return ArchivedConversations(ids=ids)


class StoredMessages:
    """Puts the stored messages that a model call refers to into its request."""

    def __init__(self, store: ConversationStore) -> None:
        self._store = store

    async def expand(self, request: ModelRequest, context: StoredContext) -> ModelRequest:
        return await asyncio.to_thread(self._expand, request, context)

    def _expand(self, request: ModelRequest, context: StoredContext) -> ModelRequest:
        found: list[Message] = []
        if context.summary_id is not None:
            summary = self._store.bookmark(context.conversation_id, context.summary_id)
            text = summary.summary if summary is not None else None
            if text:
                found.append(
                    Message(role="system", content=f"Summary of the earlier conversation:\n{text}")
                )
        conversation_id = context.conversation_id
        rows: list[StoredMessage] = []
        if context.from_seq is not None:
            failed = {b.message_seq for b in self._store.bookmarks(conversation_id, FAILED_TURN)}
            rows = self._store.messages(
                conversation_id, from_seq=context.from_seq, until_seq=context.until_seq
            )
            rows = [m for m in rows if m.seq not in failed]
        elif context.seqs:
            rows = self._store.messages(conversation_id, seqs=context.seqs)
        found += [Message(role=_role(m.role), content=m.content or "") for m in rows]
        messages = list(request.messages)
        messages[context.at : context.at] = found
        return request.model_copy(update={"messages": messages})


def _role(role: str) -> Role:
    return "assistant" if role == "assistant" else "system" if role == "system" else "user"
