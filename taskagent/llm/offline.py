"""The offline model: deterministic answers with no network, for demos and tests, never a default.

Offered tools, it first calls one: the first tool, with the arguments its schema requires. Then
(or with no tools) it answers a structured-output request with a JSON instance of the schema
(readable strings built from the property names and the words of the last user message), and
any other request with a short text that quotes the last user message. The same request always
gets the same answer. Tests that need other answers enqueue them on a `ScriptedProvider`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from taskagent.llm.types import (
    DeltaSink,
    Message,
    ModelRequest,
    ModelResponse,
    ToolCall,
    ToolSpec,
)
from taskagent.llm.usage import estimate_usage
from taskagent.schemas.instances import schema_instance

MODEL_NAME = "offline-1"


class OfflineProvider:
    """A built-in deterministic model (`offline:<anything>`)."""

    name = "offline"

    def __repr__(self) -> str:
        return "OfflineProvider()"

    async def aclose(self) -> None:
        """Nothing to close: present so that every provider can be closed alike."""

    async def complete(
        self, request: ModelRequest, model: str, on_delta: DeltaSink | None = None
    ) -> ModelResponse:
        tool_calls = _first_tool_call(request)
        if tool_calls:
            content = None
        elif request.output_schema is not None:
            seed = _conversation_hash(request.messages)
            value = schema_instance(request.output_schema, seed=seed, text=_last_user(request))
            content = json.dumps(value, ensure_ascii=False)
        else:
            content = _text_answer(_last_user(request))
        if on_delta is not None:
            stream_text(content, on_delta)
        return ModelResponse(
            content=content,
            tool_calls=tool_calls,
            usage=estimate_usage(request, content, tool_calls, estimated=False),
            model=MODEL_NAME,
            latency_ms=0.0,
            finish_reason="tool_calls" if tool_calls else "stop",
        )


def stream_text(text: str | None, on_delta: DeltaSink) -> None:
    """Hand over `text` word by word, as a streaming server would (spaces kept)."""
    for piece in re.findall(r"\S+\s*|\s+", text or ""):
        on_delta(piece)


def _first_tool_call(request: ModelRequest) -> list[ToolCall]:
    """A call of the first offered tool, once per conversation: none after a tool's answer."""
    if not request.tools or any(m.role == "tool" for m in request.messages):
        return []
    tool = request.tools[0]
    arguments = json.dumps(_arguments(tool, _last_user(request)))
    return [ToolCall(id="call_offline_0", name=tool.name, arguments=arguments)]


def _arguments(tool: ToolSpec, text: str) -> Any:
    """The arguments the tool's schema requires, and no others: optional ones keep defaults."""
    schema = dict(tool.parameters)
    required = set(schema.get("required") or [])
    properties = schema.get("properties") or {}
    schema["properties"] = {k: v for k, v in properties.items() if k in required}
    return schema_instance(schema, seed=tool.name, text=text) or {}


def _last_user(request: ModelRequest) -> str:
    return next((m.content or "" for m in reversed(request.messages) if m.role == "user"), "")


def _text_answer(question: str) -> str:
    snippet = " ".join(question.split())
    if len(snippet) > 160:
        snippet = snippet[:157].rstrip() + "..."
    return f"Offline answer to: {snippet}" if snippet else "Offline answer."


def _conversation_hash(messages: Sequence[Message]) -> str:
    dump = json.dumps([m.model_dump(mode="json") for m in messages], sort_keys=True)
    return hashlib.sha256(dump.encode()).hexdigest()


__all__ = ["OfflineProvider", "schema_instance", "stream_text"]
