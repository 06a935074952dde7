"""The tables (the AITaskAgent seed's logical schema, section 8.2, and pipeline memory).

The migrations create them; this module describes them for the queries. A change here needs a
new migration under taskagent/store/migrations/versions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect


class UtcDateTime(TypeDecorator[datetime]):
    """A time zone-aware UTC time on every database (SQLite keeps no zone: stored naive, in
    UTC, and read back as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a time without a zone cannot be stored: {value}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


metadata = MetaData()

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("user_id", String(200), nullable=False, index=True),
    Column("title", String(200), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_activity_at", UtcDateTime(), nullable=False),
    Column("archived_at", UtcDateTime(), nullable=True),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("conversation_id", String(200), ForeignKey("conversations.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("role", String(20), nullable=False),
    Column("content", Text, nullable=True),
    Column("tool_calls", JSON, nullable=True),
    Column("tool_call_id", String(200), nullable=True),
    Column("name", String(200), nullable=True),
    Column("tokens", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
)

bookmarks = Table(
    "bookmarks",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("conversation_id", String(200), ForeignKey("conversations.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("message_seq", Integer, nullable=False),
    Column("summary", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_bookmarks_conversation", "conversation_id", "message_seq"),
)

memory = Table(
    "memory",
    metadata,
    Column("scope", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", JSON, nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(400), nullable=True),
)
