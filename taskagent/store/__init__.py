"""Conversations, their messages and bookmarks, and pipeline memory, in a real database.

SQLite by default (a file under `data/`), PostgreSQL by URL; the schema is created and upgraded by
Alembic migrations (taskagent/store/migrations). Every write is idempotent, keyed by the id the
caller gives (a message's id, a bookmark's id, a memory key), so that an activity retried after a
crash never stores anything twice.
"""

from taskagent.store.conversations import (
    Bookmark,
    Conversation,
    ConversationStore,
    StoredMessage,
)
from taskagent.store.database import Database, migrate

__all__ = [
    "Bookmark",
    "Conversation",
    "ConversationStore",
    "Database",
    "StoredMessage",
    "migrate",
]
