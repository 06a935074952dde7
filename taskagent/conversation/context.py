"""What a pipeline run sees of a conversation: references to stored messages, never their text.

A conversation's messages live in the database (taskagent.store); workflows carry `MessageRef`s
(a message's place, role and token count) and hand a model call a `StoredContext`, which the
model-call activity expands from the database. So a conversation of any length costs its
workflow's history a few numbers per message. Pure contracts: passed through the sandbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from taskagent.kinds.base import SpecModel

Role = Literal["system", "user", "assistant", "tool"]


class _Contract(BaseModel):
    model_config = ConfigDict(extra="ignore")


class MessageRef(_Contract):
    """A stored message, by its place in its conversation."""

    seq: int
    role: str
    tokens: int = 0


class SummaryRef(_Contract):
    """A summary bookmark: it stands for the messages before `upto` (the first kept ones aside)."""

    id: str
    upto: int
    tokens: int = 0


class StoredContext(_Contract):
    """Stored messages that a model call includes by reference, at position `at` of its
    messages: the summary first (as a system message), then the messages of `seqs` (or of the
    range from `from_seq` to `until_seq`, failed turns left out)."""

    conversation_id: str
    seqs: list[int] = Field(default_factory=list)
    summary_id: str | None = None
    at: int = 1
    from_seq: int | None = Field(
        None, description="Instead of `seqs`: every kept message from this one on (a summary's)."
    )
    until_seq: int | None = None


class ContextScope(SpecModel):
    """How much of the conversation a chat step sees (seed 12.6, context scoping): all of it
    (the default), none (`include: false`), only the last `last` messages, only some roles.
    The turn's own user message is always seen."""

    include: bool = True
    last: int | None = Field(None, ge=0)
    roles: list[Role] | None = None

    def apply(self, window: Sequence[MessageRef]) -> list[MessageRef]:
        """The part of `window` (whose last message is the turn's) that this scope keeps."""
        if not window:
            return []
        *earlier, current = window
        if not self.include:
            return [current]
        if self.roles is not None:
            earlier = [ref for ref in earlier if ref.role in self.roles]
        if self.last is not None:
            earlier = earlier[-self.last :] if self.last else []
        return [*earlier, current]


class ConversationContext(_Contract):
    """The conversation that a turn's pipeline reads: its window when the turn started, the
    turn's user message last, and the summary standing for older messages."""

    conversation_id: str
    window: list[MessageRef] = Field(default_factory=list)
    summary: SummaryRef | None = None

    def stored(self, scope: ContextScope | None = None, at: int = 1) -> StoredContext:
        """The references a chat step's model call carries, scoped."""
        refs = (scope or ContextScope()).apply(self.window)
        include_summary = scope is None or scope.include
        return StoredContext(
            conversation_id=self.conversation_id,
            seqs=[ref.seq for ref in refs],
            summary_id=self.summary.id if self.summary is not None and include_summary else None,
            at=at,
        )
