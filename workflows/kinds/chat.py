"""Executor of `chat` steps: an agent loop over the conversation's window, by reference.

The window's messages reach the model through the model-call activity, which reads them from
the database: the run's history holds their places, never their text.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from workflows.kinds.agent import AgentLoop

with workflow.unsafe.imports_passed_through():
    from taskagent.kinds.chat import ChatStep
    from taskagent.kinds.context import StepContext, StepOutcome
    from taskagent.llm.prompts import as_text, chat_messages
    from taskagent.llm.types import Message


async def execute(ctx: StepContext, step: ChatStep, value: Any) -> StepOutcome:
    schema = step.output_schema
    json_schema = ctx.resolved.schemas.get(schema) if isinstance(schema, str) else schema
    base = chat_messages(
        system_prompt=step.system_prompt,
        goal=step.goal,
        constraints=[*ctx.spec.constraints, *step.constraints],
    )
    conversation = ctx.conversation
    context = None
    if conversation is not None:
        context = conversation.stored(step.context, at=len(base))
        if step.input is not None:  # what the step adds to the turn's message
            base.append(Message(role="user", content=as_text(value)))
    else:  # a chat step outside a conversation answers its input
        base.append(Message(role="user", content=user_text(value)))
    loop = AgentLoop(ctx, step, step.goal, schema, json_schema, context=context)
    return await loop.run(value, base)


def user_text(value: Any) -> str:
    """The user message in a chat step's input: a `message` field, or the whole value."""
    message = value.get("message") if isinstance(value, dict) else None
    return message if isinstance(message, str) else as_text(value)
