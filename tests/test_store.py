"""The conversation store on real databases: SQLite always, PostgreSQL when its server binaries
are installed (always in CI). Idempotent writes, ordering, titles, archiving, export, memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect

from taskagent.store import Bookmark, ConversationStore, Database, StoredMessage, migrate

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def message(seq: int, role: str = "user", content: str | None = None) -> StoredMessage:
    return StoredMessage(
        id=f"m{seq}",
        seq=seq,
        role=role,
        content=content if content is not None else f"message {seq}",
        created_at=T0 + timedelta(minutes=seq),
    )


def test_migrations_create_the_schema_and_run_again_harmlessly(database: Database) -> None:
    migrate(database)  # already at head: nothing to do
    tables = set(inspect(database.engine).get_table_names())
    assert {"conversations", "messages", "bookmarks", "memory", "alembic_version"} <= tables


def test_a_retried_write_stores_each_message_once(database: Database) -> None:
    store = ConversationStore(database)
    store.open("c1", "ada", T0)
    assert store.open("c1", "someone else", T0 + timedelta(days=1)).user_id == "ada"
    first = [message(0, content="Where is my refund for order 1234?"), message(1, "assistant")]

    assert store.add_messages("c1", first) == 2
    assert store.add_messages("c1", first) == 0  # the activity ran again after a crash
    assert store.add_messages("c1", [*first, message(2)]) == 1

    stored = store.messages("c1")
    assert [(m.id, m.seq, m.role) for m in stored] == [
        ("m0", 0, "user"),
        ("m1", 1, "assistant"),
        ("m2", 2, "user"),
    ]
    assert [m.id for m in store.messages("c1", from_seq=1)] == ["m1", "m2"]
    assert [m.id for m in store.messages("c1", seqs=[2, 0])] == ["m0", "m2"]
    conversation = store.get("c1")
    assert conversation is not None
    assert conversation.title == "Where is my refund for order 1234?"
    assert conversation.last_activity_at == T0 + timedelta(minutes=2)


def test_a_long_first_message_makes_a_short_title(database: Database) -> None:
    store = ConversationStore(database)
    store.open("c1", "ada", T0)
    store.add_messages("c1", [message(0, "system", "You help."), message(1, content="word " * 50)])
    conversation = store.get("c1")
    assert conversation is not None and conversation.title is not None
    assert len(conversation.title) <= 81 and conversation.title.endswith("word…")


def test_conversations_per_user_archive_and_export(database: Database) -> None:
    store = ConversationStore(database)
    for n, user in enumerate(["ada", "ada", "ada", "bob"]):
        store.open(f"c{n}", user, T0)
        store.add_messages(f"c{n}", [message(n)])
    assert [c.id for c in store.for_user("ada")] == ["c2", "c1", "c0"]  # most recent first

    assert store.archive("c2", T0 + timedelta(days=1))
    assert not store.archive("c2", T0 + timedelta(days=2))  # already archived
    assert [c.id for c in store.for_user("ada")] == ["c1", "c0"]
    assert [c.id for c in store.for_user("ada", archived=True)] == ["c2", "c1", "c0"]

    archived = store.archive_idle(before=T0 + timedelta(minutes=1, seconds=30), at=T0)
    assert archived == ["c0", "c1"]
    assert store.for_user("ada") == [] and [c.id for c in store.for_user("bob")] == ["c3"]

    store.add_bookmark("c1", Bookmark(id="b1", kind="turn", message_seq=1, created_at=T0))
    exported = store.export("c1")
    assert exported["conversation"]["id"] == "c1" and exported["conversation"]["archived_at"]
    assert [m["id"] for m in exported["messages"]] == ["m1"]
    assert [b["id"] for b in exported["bookmarks"]] == ["b1"]
    with pytest.raises(LookupError):
        store.export("nope")


def test_bookmarks_are_idempotent_and_in_conversation_order(database: Database) -> None:
    store = ConversationStore(database)
    store.open("c1", "ada", T0)
    summary = Bookmark(
        id="s", kind="summary", message_seq=8, summary="They asked...", created_at=T0
    )
    turn = Bookmark(id="t", kind="turn", message_seq=3, created_at=T0)
    assert store.add_bookmark("c1", summary) and store.add_bookmark("c1", turn)
    assert not store.add_bookmark("c1", turn)
    assert [(b.id, b.kind, b.message_seq) for b in store.bookmarks("c1")] == [
        ("t", "turn", 3),
        ("s", "summary", 8),
    ]
    found = store.bookmark("c1", "s")
    assert found is not None and found.summary == "They asked..."
    assert store.bookmark("c1", "none") is None and store.bookmark("c2", "s") is None


def test_memory_keeps_the_last_write_per_scope_and_key(database: Database) -> None:
    store = ConversationStore(database)
    store.remember("shared", "customers", {"count": 1}, "run-1/count", T0)
    store.remember("shared", "customers", {"count": 2}, "run-2/count", T0 + timedelta(hours=1))
    store.remember("triage/classify", "last_category", "billing", "run-2/classify", T0)
    assert store.recall("shared") == {"customers": {"count": 2}}
    assert store.recall("triage/classify") == {"last_category": "billing"}
    assert store.recall("nothing") == {}


def test_a_sqlite_database_lives_in_a_file_that_survives_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/data/taskagent.db"
    first = Database(url)
    migrate(first)
    ConversationStore(first).open("c1", "ada", T0)
    first.close()
    again = Database(url)
    migrate(again)
    assert ConversationStore(again).get("c1") is not None
    again.close()
    assert (tmp_path / "data" / "taskagent.db").is_file()
