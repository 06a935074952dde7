"""The `chat` kind: an agent that answers within a conversation (seed: ChatAgentStep).

It sees the conversation its run is a turn of (the window, by reference: the model-call activity
reads the messages from the database), scoped as it declares, and answers with validated output
like an agent step. In a conversation, the turn's user message is already in the window; a step
that declares an `input` adds it as a further user message (retrieved documents, an earlier
step's findings). Outside a conversation, the step's input is the user message.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from taskagent.conversation.context import ContextScope
from taskagent.kinds import agent as agent_kind
from taskagent.kinds.agent import AgentStep
from taskagent.kinds.base import STRICT, StepKind


class ChatStep(AgentStep):
    """An agent that answers within the conversation its run belongs to."""

    kind: Literal["chat"]  # type: ignore[assignment]
    goal: str = Field("", description="What the answer must achieve (optional in a chat).")
    context: ContextScope = Field(
        default_factory=ContextScope,
        description="How much of the conversation the step sees: all (default), none "
        "(`include: false`), the `last` N messages, or only some `roles`.",
    )


def chat(step_id: str, **fields: Any) -> ChatStep:
    """A chat step; `output_schema` names a registered model (or give a model class)."""
    schema = fields.get("output_schema")
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        fields["output_schema"] = schema.__name__
    return ChatStep.model_validate({"kind": "chat", "id": step_id, **fields}, context=STRICT)


KIND = StepKind(
    name="chat",
    spec=ChatStep,
    executor="workflows.kinds.chat",
    builder=chat,
    check=agent_kind.check_agent,
    output_schema=agent_kind.agent_output_schema,
    output_type=agent_kind.agent_output_type,
    resolve=agent_kind.resolve_agent,
)
