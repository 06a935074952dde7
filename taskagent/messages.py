"""Messages between running pipelines and conversations (the TAgent seed's inter-pipeline
communication): one to one by workflow id, or broadcast to a topic that pipelines subscribe to.

Every message is a Temporal signal, so it is durable: the receiver's history records it, the
sender's step records what it sent. Topics are kept by a `TopicWorkflow` each, which forwards
what is published to its subscribers (signals from workflow code: durable too). A pure contract
module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

TOPIC_WORKFLOW_PREFIX = "taskagent-topic-"
TOPIC_PATTERN = r"^[A-Za-z0-9_.\-]{1,100}$"


def topic_workflow_id(topic: str) -> str:
    """The id of the workflow that keeps a topic's subscribers."""
    return f"{TOPIC_WORKFLOW_PREFIX}{topic}"


class _Contract(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PipelineMessage(_Contract):
    """A message, as the sender's record and the receiver's inbox keep it."""

    id: str = Field(description="Unique per sending step: a receiver keeps one copy.")
    sender: str = Field(description="`<workflow id>/<step>` of the sending step.")
    to: str | None = Field(None, description="The receiving workflow's id (one to one).")
    topic: str | None = Field(None, description="The topic (a broadcast).")
    payload: Any = None
    sent_at: datetime


class DeliverMessage(_Contract):
    """Input of the message-delivery activity."""

    message: PipelineMessage


class Subscription(_Contract):
    """Input of the subscribe activity: a run subscribes to topics when it starts."""

    subscriber: str
    topics: list[str]


class TopicState(_Contract):
    """Input of TopicWorkflow: its topic, and what a continuation carries."""

    topic: str
    subscribers: list[str] = Field(default_factory=list)
    delivered: int = 0


MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "sender": {"type": "string"},
        "to": {"type": ["string", "null"]},
        "topic": {"type": ["string", "null"]},
        "payload": {},
        "sent_at": {"type": "string"},
    },
    "required": ["id", "sender", "payload"],
}
"""The output of `send` and `receive` steps: the message."""


def message_schema(*_: Any) -> dict[str, Any]:
    return MESSAGE_SCHEMA
