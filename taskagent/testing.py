"""Test doubles, imported on purpose by tests: the scripted model, configured on the worker.

A pipeline names `scripted:<name>`; the test enqueues the answers of that name on the worker's
`ScriptedProvider` and each call plays the next one, in order. An answer is a `ScriptedAnswer`
(tool calls, or content given as text or JSON data) or a function of the request, in the spirit
of a function model. When a name's queue is empty, the offline model answers, so a test scripts
only the turns it cares about.

    scripted = ScriptedProvider()
    scripted.enqueue("judge", ScriptedAnswer(content={"label": "good"}))
    providers = ProviderFactory(settings, extra=[scripted])
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, Field

from taskagent.llm.offline import OfflineProvider, stream_text
from taskagent.llm.refs import SCRIPTED
from taskagent.llm.types import DeltaSink, ModelRequest, ModelResponse, ToolCall
from taskagent.llm.usage import estimate_usage

__all__ = ["ScriptedAnswer", "ScriptedCall", "ScriptedProvider"]


class ScriptedCall(BaseModel):
    """A tool call the scripted model makes."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ScriptedAnswer(BaseModel):
    """One answer of the scripted model: tool calls, or content (text or JSON data)."""

    tool_calls: list[ScriptedCall] = Field(default_factory=list)
    content: Any = None


Responder = Callable[[ModelRequest], ModelResponse | Awaitable[ModelResponse]]
"""A function of the request that gives the answer: for answers that depend on what was asked."""


class ScriptedProvider:
    """Answers enqueued per model name (`scripted:<name>`), played in order, shared by every call
    this worker makes; the offline model answers when a name has none left."""

    name = SCRIPTED

    def __init__(self) -> None:
        self._queues: defaultdict[str, deque[ScriptedAnswer | Responder]] = defaultdict(deque)
        self._offline = OfflineProvider()
        self.requests: defaultdict[str, list[ModelRequest]] = defaultdict(list)
        """Every request each name received, in order: what a test asserts on."""

    def __repr__(self) -> str:
        return f"ScriptedProvider(pending={self.pending()})"

    def enqueue(self, model: str, *answers: ScriptedAnswer | Responder) -> ScriptedProvider:
        """Queue answers for `scripted:<model>`, played after those already queued."""
        self._queues[model].extend(answers)
        return self

    def pending(self, model: str | None = None) -> int:
        """How many answers are queued and not played (for one name, or for all)."""
        if model is not None:
            return len(self._queues.get(model, ()))
        return sum(len(queue) for queue in self._queues.values())

    async def aclose(self) -> None:
        """Nothing to close: present so that every provider can be closed alike."""

    async def complete(
        self, request: ModelRequest, model: str, on_delta: DeltaSink | None = None
    ) -> ModelResponse:
        self.requests[model].append(request)
        queue = self._queues.get(model)
        if not queue:
            return await self._offline.complete(request, model, on_delta)
        answer = queue.popleft()
        if isinstance(answer, ScriptedAnswer):
            response = _response(request, answer, turn=len(self.requests[model]))
        else:
            made = answer(request)
            response = await made if isinstance(made, Awaitable) else made
        if on_delta is not None:
            stream_text(response.content, on_delta)
        return response


def _response(request: ModelRequest, answer: ScriptedAnswer, *, turn: int) -> ModelResponse:
    calls = [
        ToolCall(id=f"call_{turn}_{n}", name=c.name, arguments=json.dumps(c.arguments))
        for n, c in enumerate(answer.tool_calls)
    ]
    content = answer.content
    if content is not None and not isinstance(content, str):
        content = json.dumps(content)
    return ModelResponse(
        content=content,
        tool_calls=calls,
        usage=estimate_usage(request, content, calls, estimated=False),
        model=f"{SCRIPTED}-1",
        finish_reason="tool_calls" if calls else "stop",
    )
