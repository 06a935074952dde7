"""The conversation workflow's contracts: its start, its carried state, a turn's message and
reply, what it answers to queries, and its activities' inputs and outputs.

Stored in histories: unknown fields are ignored, new fields come with defaults.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from temporalio.contrib.workflow_streams import WorkflowStreamState

from taskagent.conversation.context import MessageRef, SummaryRef
from taskagent.conversation.window import WindowPolicy, WindowState
from taskagent.results import CostLedger

TURN_PIPELINE = "chat_turn"
"""The name of the one-step pipeline a conversation runs per turn when it names none."""
REPLY_STEP = "reply"


class _Contract(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ConversationConfig(_Contract):
    """How a conversation answers: one chat agent (the fields below) or a turn pipeline of the
    worker's whose output is the reply; its window, summaries and run length."""

    pipeline: str | dict[str, Any] | None = Field(
        None,
        description="A registered pipeline (or an inline spec) run for every turn, with the "
        'input {"message", "conversation_id", "user"}; its chat steps read the conversation '
        "and its output is the reply. None: one chat step built from the fields below.",
    )
    model: str | None = Field(None, description="`provider:model`; default: the worker's.")
    system_prompt: str = "You are a helpful assistant."
    tools: list[str] = Field(default_factory=list)
    output_schema: str | dict[str, Any] | None = None
    validators: list[str] = Field(default_factory=list)
    max_attempts: int = Field(3, ge=1, le=10)
    temperature: float | None = Field(None, ge=0, le=2)
    max_output_tokens: int | None = Field(None, ge=1)
    window: WindowPolicy = Field(default_factory=WindowPolicy)
    summary_every: int | None = Field(
        None,
        ge=2,
        description="Every this many messages, a summariser call condenses everything before "
        "the latest exchange into a summary bookmark that replaces it in the window.",
    )
    summary_model: str | None = Field(None, description="Default: the conversation's model.")
    continue_every: int = Field(
        100,
        ge=1,
        description="Turns per workflow run; the run then continues as new (sooner if "
        "Temporal suggests it), carrying only the window's references.",
    )
    idle_timeout: timedelta = Field(
        timedelta(hours=1),
        description="A conversation with no message for this long ends its workflow run; the "
        "next message starts a new one, which reads the window back from the database.",
    )

    def turn_pipeline(self) -> str | dict[str, Any]:
        """The pipeline each turn runs: the configured one, or a one-step chat agent."""
        if self.pipeline is not None:
            return self.pipeline
        step: dict[str, Any] = {
            "kind": "chat",
            "id": REPLY_STEP,
            "system_prompt": self.system_prompt,
            "tools": self.tools,
            "validators": self.validators,
            "max_attempts": self.max_attempts,
        }
        optional = {
            "model": self.model,
            "output_schema": self.output_schema,
            "temperature": self.temperature,
            "max_output_tokens": self.max_output_tokens,
        }
        step.update({key: value for key, value in optional.items() if value is not None})
        return {"name": TURN_PIPELINE, "steps": [step]}


class ConversationState(_Contract):
    """What a conversation's run carries into its continuation: no message text."""

    next_seq: int = 0
    turns: int = 0
    failed_turns: int = 0
    since_summary: int = 0
    window: WindowState = Field(default_factory=WindowState)
    cost: CostLedger = Field(default_factory=CostLedger)
    stream: WorkflowStreamState | None = None
    notes: list[str] = Field(
        default_factory=list, description="Ids of the latest pipeline messages stored as notes."
    )


class ConversationStart(_Contract):
    """Input of ConversationWorkflow (the workflow id is the conversation's id)."""

    user: str = Field("anonymous", description="Whose conversation it is (for listing).")
    roles: list[str] = Field(
        default_factory=list, description="The user's roles: tools may require one."
    )
    config: ConversationConfig = Field(default_factory=ConversationConfig)
    state: ConversationState | None = Field(
        None, description="Set by the run itself when it continues as new."
    )


class ChatMessage(_Contract):
    """Input of the `send_message` update: what the user says."""

    content: str = Field(min_length=1)
    id: str | None = Field(
        None,
        description="The message's id (default: the update's id): sending the same id again "
        "within a run returns the first reply.",
    )
    stream: bool = Field(
        False, description="Publish the reply's text on the event stream as it comes."
    )


class ChatReply(_Contract):
    """Result of the `send_message` update: the validated reply."""

    conversation_id: str
    turn: int
    message_id: str
    seq: int
    content: str
    output: Any = Field(None, description="The structured output, when the reply has a schema.")
    attempts: int = 1
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    window: list[int] = Field(
        default_factory=list, description="The stored messages (seqs) the model saw."
    )
    summary_id: str | None = None
    events_offset: int | None = Field(
        None, description="Where the turn's events start on the conversation's event stream."
    )


class ConversationInfo(_Contract):
    """Answer of the `conversation` query."""

    conversation_id: str
    user: str
    run_turns: int
    turns: int
    failed_turns: int
    next_seq: int
    window: list[MessageRef]
    summary: SummaryRef | None
    cost_usd: float
    input_tokens: int
    output_tokens: int
    archived: bool = False
    config: ConversationConfig


class ShownMessage(_Contract):
    """A message as the `messages` query shows it."""

    seq: int
    role: str
    content: str


# -- activities ------------------------------------------------------------------------------
class OpenConversation(_Contract):
    conversation_id: str
    user: str
    policy: WindowPolicy
    at: datetime


class OpenedConversation(_Contract):
    """A conversation's place in the database: where its next message goes and its window."""

    next_seq: int
    turns: int
    window: WindowState
    archived: bool = False


class NewMessage(_Contract):
    id: str
    seq: int
    role: str
    content: str
    created_at: datetime


class AppendMessages(_Contract):
    conversation_id: str
    model: str | None = Field(None, description="Whose tokenizer counts the messages' tokens.")
    messages: list[NewMessage]


class AppendedMessages(_Contract):
    refs: list[MessageRef]


class SaveBookmark(_Contract):
    """A bookmark to store: a summary of the messages before `message_seq`, or a failed turn."""

    conversation_id: str
    id: str
    kind: str
    message_seq: int
    summary: str | None = None
    model: str | None = None
    created_at: datetime


class SavedBookmark(_Contract):
    tokens: int = 0


class ArchiveConversation(_Contract):
    conversation_id: str
    at: datetime


class ArchiveIdle(_Contract):
    idle_for: timedelta = timedelta(days=30)


class ArchivedConversations(_Contract):
    ids: list[str] = Field(default_factory=list)
