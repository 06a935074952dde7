"""A fake LLM HTTP server for tests: OpenAI and Gemini wire formats on one aiohttp server.

    async with FakeLLM() as llm:
        llm.openai.reply_text("hi")
        llm.openai.reply_tool_call("get_time", {"tz": "UTC"})
        llm.openai.fail(429, headers={"Retry-After": "2"})
        llm.gemini.reply_json({"answer": 42})
        ...  # point clients at llm.openai_base_url / llm.gemini_base_url
        assert len(llm.openai.requests) == 3

Each format has its own queue of scripted answers, played in order, and records the JSON body,
path and headers of every request it receives. A request with nothing left in its queue gets a
500 whose message says so, so that a test that calls more often than it scripted fails loudly.
"""

from __future__ import annotations

import json
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

EXHAUSTED = "fake LLM: no scripted response left"


@dataclass
class Scripted:
    """One scripted HTTP answer."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class _Script:
    """A queue of scripted answers and a record of the requests of one wire format."""

    def __init__(self) -> None:
        self._queue: deque[Scripted] = deque()
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.times: list[float] = []
        """time.monotonic() at each request, to check waits such as Retry-After."""

    @property
    def last(self) -> dict[str, Any]:
        """The body of the last request received."""
        assert self.requests, "the fake LLM received no request in this format"
        return self.requests[-1]

    @property
    def pending(self) -> int:
        """How many scripted answers have not been played."""
        return len(self._queue)

    def reply_raw(
        self, body: Any, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> Self:
        """Queue an answer given as its exact wire body."""
        self._queue.append(Scripted(status, body, dict(headers or {})))
        return self

    def reply_json(self, value: Any, **kwargs: Any) -> Self:
        """Queue a text answer holding `value` as JSON."""
        return self.reply_text(json.dumps(value), **kwargs)

    def reply_text(self, text: str, **kwargs: Any) -> Self:
        raise NotImplementedError

    def fail(
        self,
        status: int,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        code: str | None = None,
    ) -> Self:
        """Queue an error answer; `body` replaces the format's usual error envelope."""
        text = message or f"fake error {status}"
        payload = body if body is not None else self._error_body(status, text, code)
        return self.reply_raw(payload, status=status, headers=headers)

    def _error_body(self, status: int, message: str, code: str | None) -> Any:
        raise NotImplementedError

    def _record(self, request: web.Request, body: Any) -> Scripted:
        self.requests.append(body)
        self.paths.append(request.path)
        self.headers.append(dict(request.headers))
        self.times.append(time.monotonic())
        if not self._queue:
            return Scripted(500, self._error_body(500, EXHAUSTED, "fake_llm_exhausted"))
        return self._queue.popleft()


class OpenAIScript(_Script):
    """Answers of `POST /v1/chat/completions`."""

    model = "gpt-fake"

    def reply_text(
        self,
        text: str | None,
        *,
        model: str | None = None,
        usage: tuple[int, int] = (11, 7),
        finish_reason: str = "stop",
    ) -> Self:
        message = {"role": "assistant", "content": text}
        return self.reply_raw(self._completion(message, model, usage, finish_reason))

    def reply_tool_call(
        self, name: str, arguments: dict[str, Any], *, call_id: str = "call_1", **kwargs: Any
    ) -> Self:
        return self.reply_tool_calls([(call_id, name, arguments)], **kwargs)

    def reply_tool_calls(
        self,
        calls: list[tuple[str, str, dict[str, Any]]],
        *,
        model: str | None = None,
        usage: tuple[int, int] = (11, 7),
    ) -> Self:
        """Queue an answer asking for several tools: `(id, name, arguments)` each."""
        tool_calls = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(a)}}
            for cid, name, a in calls
        ]
        message = {"role": "assistant", "content": None, "tool_calls": tool_calls}
        return self.reply_raw(self._completion(message, model, usage, "tool_calls"))

    def _completion(
        self, message: dict[str, Any], model: str | None, usage: tuple[int, int], finish: str
    ) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-fake-{len(self.requests) + self.pending}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model or self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": usage[0],
                "completion_tokens": usage[1],
                "total_tokens": sum(usage),
            },
        }

    def _error_body(self, status: int, message: str, code: str | None) -> Any:
        kind = "invalid_request_error" if status < 500 else "server_error"
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}


_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class GeminiScript(_Script):
    """Answers of `POST /v1beta/models/{model}:generateContent`."""

    model = "gemini-fake-001"

    def reply_text(
        self,
        text: str,
        *,
        model: str | None = None,
        usage: tuple[int, int] = (13, 5),
        finish_reason: str = "STOP",
    ) -> Self:
        return self._reply([{"text": text}], model, usage, finish_reason)

    def reply_tool_call(
        self, name: str, arguments: dict[str, Any], *, call_id: str | None = None, **kwargs: Any
    ) -> Self:
        return self.reply_tool_calls([(call_id, name, arguments)], **kwargs)

    def reply_tool_calls(
        self,
        calls: list[tuple[str | None, str, dict[str, Any]]],
        *,
        model: str | None = None,
        usage: tuple[int, int] = (13, 5),
    ) -> Self:
        """Queue function calls, `(id, name, args)` each; Gemini often sends no id (None)."""
        parts = []
        for cid, name, args in calls:
            call: dict[str, Any] = {"name": name, "args": args}
            if cid is not None:
                call["id"] = cid
            parts.append({"functionCall": call})
        return self._reply(parts, model, usage, "STOP")

    def reply_blocked(self, reason: str = "SAFETY") -> Self:
        """Queue an answer whose prompt was blocked: no candidates, only prompt feedback."""
        return self.reply_raw(
            {"promptFeedback": {"blockReason": reason}, "modelVersion": self.model}
        )

    def _reply(
        self, parts: list[dict[str, Any]], model: str | None, usage: tuple[int, int], finish: str
    ) -> Self:
        body = {
            "candidates": [
                {"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}
            ],
            "usageMetadata": {
                "promptTokenCount": usage[0],
                "candidatesTokenCount": usage[1],
                "totalTokenCount": sum(usage),
            },
            "modelVersion": model or self.model,
        }
        return self.reply_raw(body)

    def _error_body(self, status: int, message: str, code: str | None) -> Any:
        state = code or _GEMINI_STATUS.get(status, "UNKNOWN")
        return {"error": {"code": status, "message": message, "status": state}}


class FakeLLM:
    """An aiohttp server on 127.0.0.1 (a free port) speaking both wire formats; see the module."""

    def __init__(self) -> None:
        self.openai = OpenAIScript()
        self.gemini = GeminiScript()
        self._runner: web.AppRunner | None = None
        self._port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def gemini_base_url(self) -> str:
        """The base URL for google-genai with `api_version="v1beta"` (the client adds it)."""
        return self.url

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/v1beta/models/{model}:generateContent", self._gemini)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _openai(self, request: web.Request) -> web.Response:
        return await self._answer(self.openai, request)

    async def _gemini(self, request: web.Request) -> web.Response:
        return await self._answer(self.gemini, request)

    @staticmethod
    async def _answer(script: _Script, request: web.Request) -> web.Response:
        scripted = script._record(request, await request.json())
        body = scripted.body if isinstance(scripted.body, str) else json.dumps(scripted.body)
        content_type = "text/plain" if isinstance(scripted.body, str) else "application/json"
        return web.Response(
            status=scripted.status,
            text=body,
            content_type=content_type,
            headers=scripted.headers,
        )
