"""The `send` kind: the step's input, as a message to a running workflow (a pipeline or a
conversation, `to`: its id or a reference such as `$input.reviewer`) or to every subscriber of a
`topic`; its output is the message sent (see taskagent.messages)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from taskagent.kinds.base import STRICT, CheckContext, StepBase, StepKind
from taskagent.messages import TOPIC_PATTERN, message_schema


class SendStep(StepBase):
    """Sends the step's input to a running workflow, or to every subscriber of a topic."""

    kind: Literal["send"]
    to: str | None = Field(
        None, description="The receiving workflow's id (a pipeline's or a conversation's)."
    )
    topic: str | None = Field(
        None, pattern=TOPIC_PATTERN, description="Broadcast to this topic's subscribers."
    )


def send(
    step_id: str, *, to: str | None = None, topic: str | None = None, **fields: Any
) -> SendStep:
    """A step that sends its input `to` a workflow id, or to a `topic`."""
    data = {"kind": "send", "id": step_id, "to": to, "topic": topic, **fields}
    return SendStep.model_validate(data, context=STRICT)


def _check(step: SendStep, ctx: CheckContext, where: str) -> None:
    if (step.to is None) == (step.topic is None):
        ctx.problem(where, "a send step names either `to` (a workflow id) or a `topic`")
    if step.to is not None:
        ctx.mapping(step.to, f"{where}.to")


KIND = StepKind(
    name="send",
    spec=SendStep,
    executor="workflows.kinds.send",
    builder=send,
    check=_check,
    output_schema=message_schema,
)
