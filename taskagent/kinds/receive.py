"""The `receive` kind: waits for the next message sent to its run (of its `topic`, if it names
one: the pipeline subscribes to the topics of its `subscribe` list) and outputs it. The step's
`timeout` bounds the wait."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from taskagent.kinds.base import STRICT, StepBase, StepKind
from taskagent.messages import TOPIC_PATTERN, message_schema


class ReceiveStep(StepBase):
    """Waits for a message sent to this run (of `topic`, if given) and outputs it."""

    kind: Literal["receive"]
    topic: str | None = Field(None, pattern=TOPIC_PATTERN)


def receive(step_id: str, topic: str | None = None, **fields: Any) -> ReceiveStep:
    """A step that waits for a message (of `topic`) and outputs it."""
    data = {"kind": "receive", "id": step_id, "topic": topic, **fields}
    return ReceiveStep.model_validate(data, context=STRICT)


KIND = StepKind(
    name="receive",
    spec=ReceiveStep,
    executor="workflows.kinds.receive",
    builder=receive,
    output_schema=message_schema,
)
