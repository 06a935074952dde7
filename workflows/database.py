"""How workflow code calls the database (conversations, memory): local activities, each attempt
bounded, retried a little. A database that stays down fails the call, clearly, never forever."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

DATABASE_TIMEOUT = timedelta(seconds=30)
DATABASE_RETRY = RetryPolicy(maximum_attempts=5)
