"""Building the messages of agent and router steps: pure, deterministic text."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from taskagent.llm.types import Message, ModelRequest

DEFAULT_SYSTEM = (
    "You are a precise assistant that completes one task inside an automated pipeline. "
    "Follow the constraints exactly and answer in the requested format."
)
MAX_FEEDBACK_CHARS = 2000


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def task_messages(
    *,
    system_prompt: str,
    goal: str,
    constraints: Sequence[str],
    input_value: Any,
) -> list[Message]:
    """System prompt, then the goal, constraints and upstream data.

    The output instructions are added when the call is made (`with_output_section`): the schema
    travels once, in the request, not twice through the run's history.
    """
    sections = [f"## Goal\n{goal or 'Complete the task described by the input.'}"]
    if constraints:
        sections.append("## Constraints\n" + "\n".join(f"- {c}" for c in constraints))
    if input_value is not None:
        sections.append(f"## Input\n```json\n{_json(input_value)}\n```")
    return [
        Message(role="system", content=system_prompt or DEFAULT_SYSTEM),
        Message(role="user", content="\n\n".join(sections)),
    ]


def as_text(value: Any) -> str:
    """A value as a message's text: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else _json(value)


def chat_messages(*, system_prompt: str, goal: str, constraints: Sequence[str]) -> list[Message]:
    """A chat step's system message: its prompt, then its goal and constraints if it has any.
    The conversation follows it (stored messages, put in by the model-call activity)."""
    sections = [system_prompt or DEFAULT_SYSTEM]
    if goal:
        sections.append(f"## Goal\n{goal}")
    if constraints:
        sections.append("## Constraints\n" + "\n".join(f"- {c}" for c in constraints))
    return [Message(role="system", content="\n\n".join(sections))]


OUTPUT_HEADING = "## Output\n"


def with_output_section(request: ModelRequest, *, last: bool = False) -> ModelRequest:
    """The request with the output instructions (the JSON Schema) in its first user message
    (its last one with `last`: a conversation's first message is an old one).

    Runs in the model-call activity, just before the provider is called. A request recorded by an
    earlier release already holds the section and is returned unchanged.
    """
    schema = request.output_schema
    users = [i for i, m in enumerate(request.messages) if m.role == "user"]
    if schema is None or not users:
        return request
    index = users[-1] if last else users[0]
    first = request.messages[index]
    if first.content is not None and OUTPUT_HEADING in first.content:
        return request
    section = (
        f"{OUTPUT_HEADING}Answer with a single JSON value, and nothing else, that conforms to "
        f"this JSON Schema:\n```json\n{_json(schema)}\n```"
    )
    content = f"{first.content}\n\n{section}" if first.content else section
    messages = list(request.messages)
    messages[index] = first.model_copy(update={"content": content})
    return request.model_copy(update={"messages": messages})


def router_goal(goal: str, choices: Mapping[str, str]) -> str:
    """The classification instructions, with each choice and its description as guidance."""
    lines = [goal or "Classify the input into exactly one of the choices below."]
    lines.append("\nChoices (answer with the choice name exactly as written):")
    lines += [f'- "{name}": {description}' for name, description in choices.items()]
    lines.append(
        "\nExamples of the reasoning expected: for an input that matches the description of "
        f'"{next(iter(choices))}", answer {{"choice": "{next(iter(choices))}", "reasoning": '
        '"<one sentence on why the description fits>"}.'
    )
    return "\n".join(lines)


def router_schema(choices: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "choice": {"type": "string", "enum": list(choices)},
            "reasoning": {"type": "string", "minLength": 1},
        },
        "required": ["choice", "reasoning"],
        "additionalProperties": False,
    }


def correction_message(errors: Sequence[str]) -> Message:
    """The feedback after a rejected answer: the exact errors, bounded in size."""
    listed = "\n".join(f"- {error}" for error in errors)
    if len(listed) > MAX_FEEDBACK_CHARS:
        listed = listed[:MAX_FEEDBACK_CHARS] + "\n- … (more errors omitted)"
    return Message(
        role="user",
        content=(
            "PREVIOUS ATTEMPT FAILED VALIDATION:\n"
            f"{listed}\n\n"
            "Correct these problems and answer again with the complete corrected output only."
        ),
    )
