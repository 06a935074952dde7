"""The sliding window of a conversation (seed 8.3): pure, so workflows compute it and tests
prove it at its boundaries.

A model call sees the first `keep_first` messages of the conversation, the latest summary (which
stands for every older message after those), and then the most recent messages that fit in
`max_tokens` with the rest. The turn's own user message is always included, even alone over
the budget.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from taskagent.conversation.context import MessageRef, SummaryRef

MAX_KEPT_REFS = 2_000
"""However small its messages, a conversation's state never holds more references than this."""


class WindowPolicy(BaseModel):
    """The sliding window's settings; the defaults are the seed's recommendation for models
    with an 8K context (first two messages, 4,000 tokens)."""

    model_config = ConfigDict(extra="ignore")

    keep_first: int = Field(2, ge=0, le=50, description="The first messages always kept.")
    max_tokens: int = Field(
        4_000, ge=1, description="Tokens that the window's stored messages may take in all."
    )


class WindowState(BaseModel):
    """What a conversation workflow keeps of its messages: references that may still enter a
    window, and the latest summary. Its size is bounded whatever the conversation's length."""

    model_config = ConfigDict(extra="ignore")

    first: list[MessageRef] = Field(default_factory=list)
    summary: SummaryRef | None = None
    recent: list[MessageRef] = Field(
        default_factory=list,
        description="Messages after the first ones and after the summary, oldest first, "
        "trimmed to those that could still fit in the window.",
    )

    def window(self, policy: WindowPolicy, current: MessageRef | None = None) -> list[MessageRef]:
        """The messages a model call sees, oldest first, `current` (the turn's) last."""
        budget = policy.max_tokens - sum(ref.tokens for ref in self.first)
        if self.summary is not None:
            budget -= self.summary.tokens
        if current is not None:
            budget -= current.tokens
        picked: list[MessageRef] = []
        for ref in reversed(self.recent):
            if ref.tokens > budget:
                break
            budget -= ref.tokens
            picked.append(ref)
        picked.reverse()
        return [*self.first, *picked, *([current] if current is not None else [])]

    def add(self, refs: list[MessageRef], policy: WindowPolicy) -> None:
        """Messages the conversation kept (a turn's user message and reply)."""
        for ref in refs:
            if len(self.first) < policy.keep_first and ref.seq < policy.keep_first:
                self.first.append(ref)
            else:
                self.recent.append(ref)
        self.trim(policy)

    def summarised(self, summary: SummaryRef, policy: WindowPolicy) -> None:
        """A new summary stands for every message before `summary.upto`."""
        self.summary = summary
        self.recent = [ref for ref in self.recent if ref.seq >= summary.upto]
        self.trim(policy)

    def trim(self, policy: WindowPolicy) -> None:
        """Drop the references that can no longer fit: the newer ones alone fill the budget."""
        total = 0
        keep = 0
        for ref in reversed(self.recent):
            total += ref.tokens
            if total > policy.max_tokens or keep >= MAX_KEPT_REFS:
                break
            keep += 1
        if keep < len(self.recent):
            self.recent = self.recent[len(self.recent) - keep :]
