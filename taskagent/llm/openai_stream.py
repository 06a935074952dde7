"""A streamed chat completion put back together, chunk by chunk, into the body of one answer.

Servers stream differently: OpenAI sends the usage in a last chunk with no choices when asked
(`stream_options.include_usage`), llama.cpp and Ollama in the chunk that finishes, older servers
never; tool-call arguments come in pieces keyed by `index`, or whole (as text or as an object) in
one chunk; a call's id and name come once, or again with every piece; content is text or a list
of text parts. The assembled body is read by the same tolerant parser as a non-streamed answer
(`parse_completion`), so that both paths accept and refuse the same shapes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class CompletionAssembler:
    """Collects the chunks of one streamed answer (the first choice) into a completion body."""

    def __init__(self) -> None:
        self._texts: list[str] = []
        self._refusal: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}
        self._finish: str | None = None
        self._usage: Any = None
        self._model: Any = None
        self._choices = 0

    def add(self, chunk: Mapping[str, Any]) -> str:
        """Take one chunk; return the answer's text it adds (empty if none)."""
        if chunk.get("model") and self._model is None:
            self._model = chunk["model"]
        if chunk.get("usage") is not None:
            self._usage = chunk["usage"]
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
            return ""
        self._choices += 1
        choice = choices[0]
        if isinstance(choice.get("finish_reason"), str):
            self._finish = choice["finish_reason"]
        delta = choice.get("delta")
        if not isinstance(delta, Mapping):
            delta = choice.get("message")  # a few servers send whole messages
        if not isinstance(delta, Mapping):
            return ""
        if isinstance(delta.get("refusal"), str):
            self._refusal.append(delta["refusal"])
        calls = delta.get("tool_calls")
        if not calls and isinstance(delta.get("function_call"), Mapping):
            calls = [{"index": 0, "function": delta["function_call"]}]
        for position, call in enumerate(calls if isinstance(calls, list) else []):
            if isinstance(call, Mapping):
                self._add_call(call, position)
        text = _text(delta.get("content"))
        if text:
            self._texts.append(text)
        return text

    def _add_call(self, piece: Mapping[str, Any], position: int) -> None:
        index = piece.get("index")
        key = index if isinstance(index, int) else position
        call = self._calls.setdefault(key, {"type": "function", "name": "", "arguments": ""})
        if isinstance(piece.get("id"), str) and piece["id"]:
            call["id"] = piece["id"]
        function = piece.get("function")
        if not isinstance(function, Mapping):
            return
        name = function.get("name")
        if isinstance(name, str) and name and not call["name"]:
            call["name"] = name
        arguments = function.get("arguments")
        if isinstance(arguments, dict | list):  # whole, as an object (Ollama)
            call["arguments"] = json.dumps(arguments)
        elif isinstance(arguments, str):
            call["arguments"] += arguments

    def body(self) -> dict[str, Any]:
        """The answer as a non-streamed chat completion body."""
        body: dict[str, Any] = {"object": "chat.completion", "model": self._model or ""}
        if self._usage is not None:
            body["usage"] = self._usage
        if not self._choices:
            body["choices"] = []
            return body
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self._texts) if self._texts else None,
        }
        if self._refusal:
            message["refusal"] = "".join(self._refusal)
        if self._calls:
            message["tool_calls"] = [
                {
                    **({"id": call["id"]} if "id" in call else {}),
                    "type": "function",
                    "function": {"name": call["name"], "arguments": call["arguments"]},
                }
                for _, call in sorted(self._calls.items())
            ]
        body["choices"] = [{"index": 0, "message": message, "finish_reason": self._finish}]
        return body


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p["text"] for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str)
        )
    return ""
