"""Reads and idempotent writes of conversations, messages, bookmarks and memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from taskagent.conversation.context import MessageRef
from taskagent.store import schema
from taskagent.store.database import Database

TITLE_CHARS = 80


class StoredMessage(BaseModel):
    """One message of a conversation; `id` is the caller's, so that a retried write is a no-op."""

    model_config = ConfigDict(extra="ignore")

    id: str
    seq: int = Field(description="Its place in the conversation, from 0.")
    role: str
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    tokens: int = 0
    created_at: datetime


class Bookmark(BaseModel):
    """A point in a conversation: where a turn started (`turn`), or a summary of the messages
    before `message_seq` (`summary`)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    kind: str
    message_seq: int
    summary: str | None = None
    created_at: datetime


class Conversation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    user_id: str
    title: str | None = None
    created_at: datetime
    last_activity_at: datetime
    archived_at: datetime | None = None


class ConversationStore:
    """The store's operations on one database (see taskagent.store)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def __repr__(self) -> str:
        return f"ConversationStore({self._db!r})"

    # -- conversations -----------------------------------------------------------------------
    def open(self, conversation_id: str, user_id: str, at: datetime) -> Conversation:
        """The conversation, created if new (a second call with the same id changes nothing)."""
        row = {"id": conversation_id, "user_id": user_id, "created_at": at, "last_activity_at": at}
        with self._db.engine.begin() as connection:
            connection.execute(self._insert_new(connection, schema.conversations, row, ["id"]))
            found = self._conversation(connection, conversation_id)
        if found is None:  # unreachable: inserted or already there
            raise LookupError(f"no conversation {conversation_id!r}")
        return found

    def get(self, conversation_id: str) -> Conversation | None:
        with self._db.engine.connect() as connection:
            return self._conversation(connection, conversation_id)

    def for_user(self, user_id: str, *, archived: bool = False) -> list[Conversation]:
        """A user's conversations, the most recently active first."""
        table = schema.conversations
        query = select(table).where(table.c.user_id == user_id)
        if not archived:
            query = query.where(table.c.archived_at.is_(None))
        query = query.order_by(table.c.last_activity_at.desc(), table.c.id)
        with self._db.engine.connect() as connection:
            return [Conversation.model_validate(row._mapping) for row in connection.execute(query)]

    def archive(self, conversation_id: str, at: datetime) -> bool:
        """Archive a conversation; False if it was already archived or does not exist."""
        table = schema.conversations
        with self._db.engine.begin() as connection:
            done = connection.execute(
                update(table)
                .where(table.c.id == conversation_id, table.c.archived_at.is_(None))
                .values(archived_at=at)
            )
        return bool(done.rowcount)

    def archive_idle(self, before: datetime, at: datetime) -> list[str]:
        """Archive every conversation last active before `before`; their ids."""
        table = schema.conversations
        idle = (table.c.archived_at.is_(None), table.c.last_activity_at < before)
        with self._db.engine.begin() as connection:
            ids = [row.id for row in connection.execute(select(table.c.id).where(*idle))]
            if ids:
                connection.execute(update(table).where(table.c.id.in_(ids)).values(archived_at=at))
        return sorted(ids)

    def export(self, conversation_id: str) -> dict[str, Any]:
        """One conversation as JSON: its record, every message and bookmark."""
        found = self.get(conversation_id)
        if found is None:
            raise LookupError(f"no conversation {conversation_id!r}")
        return {
            "conversation": found.model_dump(mode="json"),
            "messages": [m.model_dump(mode="json") for m in self.messages(conversation_id)],
            "bookmarks": [b.model_dump(mode="json") for b in self.bookmarks(conversation_id)],
        }

    # -- messages ----------------------------------------------------------------------------
    def add_messages(self, conversation_id: str, added: Sequence[StoredMessage]) -> int:
        """Store messages (those already stored, by id, are skipped); how many were new. The
        conversation's last activity moves to the latest message, an archived conversation is
        brought back, and a conversation without a title takes the beginning of its first user
        message."""
        if not added:
            return 0
        rows = [{**m.model_dump(), "conversation_id": conversation_id} for m in added]
        with self._db.engine.begin() as connection:
            statement = self._insert_new(connection, schema.messages, rows, ["id"])
            inserted = connection.execute(statement.returning(schema.messages.c.id)).all()
            self._touch(connection, conversation_id, added)
        return len(inserted)

    def messages(
        self,
        conversation_id: str,
        *,
        from_seq: int = 0,
        until_seq: int | None = None,
        seqs: Sequence[int] | None = None,
    ) -> list[StoredMessage]:
        """Messages in order: from `from_seq` on (to `until_seq`, excluded), or exactly those
        of `seqs`."""
        table = schema.messages
        query = select(table).where(table.c.conversation_id == conversation_id)
        if seqs is not None:
            query = query.where(table.c.seq.in_(list(seqs)))
        else:
            query = query.where(table.c.seq >= from_seq)
            if until_seq is not None:
                query = query.where(table.c.seq < until_seq)
        with self._db.engine.connect() as connection:
            rows = connection.execute(query.order_by(table.c.seq))
            return [StoredMessage.model_validate(row._mapping) for row in rows]

    def refs(
        self, conversation_id: str, *, from_seq: int = 0, until_seq: int | None = None
    ) -> list[MessageRef]:
        """The place, role and tokens of messages (no text), in order."""
        table = schema.messages
        query = select(table.c.seq, table.c.role, table.c.tokens).where(
            table.c.conversation_id == conversation_id, table.c.seq >= from_seq
        )
        if until_seq is not None:
            query = query.where(table.c.seq < until_seq)
        with self._db.engine.connect() as connection:
            rows = connection.execute(query.order_by(table.c.seq))
            return [MessageRef(seq=row.seq, role=row.role, tokens=row.tokens) for row in rows]

    def counts(self, conversation_id: str) -> tuple[int, int]:
        """Where the next message goes (the highest seq plus one) and how many replies the
        conversation has."""
        table = schema.messages
        replies = func.count().filter(table.c.role == "assistant")
        query = select(func.max(table.c.seq), replies).where(
            table.c.conversation_id == conversation_id
        )
        with self._db.engine.connect() as connection:
            highest, answered = connection.execute(query).one()
        return (-1 if highest is None else int(highest)) + 1, int(answered or 0)

    # -- bookmarks ---------------------------------------------------------------------------
    def add_bookmark(self, conversation_id: str, bookmark: Bookmark) -> bool:
        """Store a bookmark (a no-op if its id is stored); whether it was new."""
        row = {**bookmark.model_dump(), "conversation_id": conversation_id}
        with self._db.engine.begin() as connection:
            statement = self._insert_new(connection, schema.bookmarks, row, ["id"])
            done = connection.execute(statement.returning(schema.bookmarks.c.id)).all()
        return bool(done)

    def bookmarks(self, conversation_id: str, kind: str | None = None) -> list[Bookmark]:
        """A conversation's bookmarks (of one kind), in the conversation's order."""
        table = schema.bookmarks
        query = select(table).where(table.c.conversation_id == conversation_id)
        if kind is not None:
            query = query.where(table.c.kind == kind)
        query = query.order_by(table.c.message_seq, table.c.created_at)
        with self._db.engine.connect() as connection:
            return [Bookmark.model_validate(row._mapping) for row in connection.execute(query)]

    def bookmark(self, conversation_id: str, bookmark_id: str) -> Bookmark | None:
        """One bookmark, by its id."""
        table = schema.bookmarks
        query = select(table).where(
            table.c.conversation_id == conversation_id, table.c.id == bookmark_id
        )
        with self._db.engine.connect() as connection:
            row = connection.execute(query).first()
        return Bookmark.model_validate(row._mapping) if row is not None else None

    # -- memory ------------------------------------------------------------------------------
    def remember(self, scope: str, key: str, value: Any, by: str, at: datetime) -> None:
        """Set `key` in `scope` (`shared`, or a pipeline's step); the last write wins."""
        row = {"scope": scope, "key": key, "value": value, "updated_at": at, "updated_by": by}
        with self._db.engine.begin() as connection:
            statement = _insert(connection, schema.memory).values(row)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["scope", "key"],
                    set_={"value": value, "updated_at": at, "updated_by": by},
                )
            )

    def recall(self, scope: str) -> dict[str, Any]:
        """Every key of `scope` with its value."""
        table = schema.memory
        with self._db.engine.connect() as connection:
            rows = connection.execute(
                select(table.c.key, table.c.value).where(table.c.scope == scope)
            )
            return {row.key: row.value for row in rows}

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _insert_new(
        connection: Connection,
        table: Table,
        rows: dict[str, Any] | list[dict[str, Any]],
        keys: list[str],
    ) -> Any:
        return _insert(connection, table).values(rows).on_conflict_do_nothing(index_elements=keys)

    @staticmethod
    def _conversation(connection: Connection, conversation_id: str) -> Conversation | None:
        table = schema.conversations
        row = connection.execute(select(table).where(table.c.id == conversation_id)).first()
        return Conversation.model_validate(row._mapping) if row is not None else None

    @staticmethod
    def _touch(
        connection: Connection, conversation_id: str, added: Sequence[StoredMessage]
    ) -> None:
        table = schema.conversations
        latest = max(m.created_at for m in added)
        connection.execute(
            update(table)
            .where(table.c.id == conversation_id, table.c.last_activity_at < latest)
            .values(last_activity_at=latest)
        )
        connection.execute(  # a new message brings an archived conversation back
            update(table)
            .where(table.c.id == conversation_id, table.c.archived_at.is_not(None))
            .values(archived_at=None)
        )
        first = next(
            (m.content for m in sorted(added, key=lambda m: m.seq) if m.role == "user"), None
        )
        if first:
            connection.execute(
                update(table)
                .where(table.c.id == conversation_id, table.c.title.is_(None))
                .values(title=_title(first))
            )


def _insert(connection: Connection, table: Table) -> Any:
    """INSERT with ON CONFLICT for the connection's dialect (SQLite or PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _title(text: str) -> str:
    """A title from the first user message: its first line, cut at a word."""
    line = " ".join(text.split())
    if len(line) <= TITLE_CHARS:
        return line
    return line[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"
