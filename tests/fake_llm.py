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

A streaming request (OpenAI `"stream": true`, Gemini `:streamGenerateContent?alt=sse`) gets the
same scripted answer as Server-Sent Events, cut into chunks as the real servers cut them: text
word by word, tool-call arguments in pieces, the usage where each server puts it (see
`OpenAIScript.stream_usage`), then `data: [DONE]` for OpenAI.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

EXHAUSTED = "fake LLM: no scripted response left"
TEST_KEY = "sk-test-do-not-leak-123"
"""The API key the tests' providers send (it must never show in logs or errors)."""
PROXY_PAGE = (
    "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Proxy login</body></html>"
)


@dataclass
class Scripted:
    """One scripted HTTP answer."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    """Default: application/json for data, text/plain for a string body."""
    stream_error: dict[str, Any] | None = None
    """Streamed: this error event follows the first half of the answer's chunks."""


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
        self,
        body: Any,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> Self:
        """Queue an answer given as its exact wire body."""
        self._queue.append(Scripted(status, body, dict(headers or {}), content_type))
        return self

    def reply_html(self, html: str = PROXY_PAGE, *, status: int = 200) -> Self:
        """Queue a web page, as a wrong base URL or a proxy in the way answers."""
        return self.reply_raw(html, status=status, content_type="text/html")

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

    def _rejection(self, body: Any) -> Scripted | None:
        """The error a server with fewer capabilities answers this request with, if any."""
        return None

    def _record(self, request: web.Request, body: Any) -> Scripted:
        self.requests.append(body)
        self.paths.append(request.path)
        self.headers.append(dict(request.headers))
        self.times.append(time.monotonic())
        rejected = self._rejection(body)
        if rejected is not None:
            return rejected
        if not self._queue:
            return Scripted(500, self._error_body(500, EXHAUSTED, "fake_llm_exhausted"))
        return self._queue.popleft()


LLAMA_CPP_PYTHON_REJECTION = (
    "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n  Input should be "
    "'text' or 'json_object' [type=literal_error, input_value='json_schema', input_type=str]"
)
"""What llama-cpp-python's server answers (HTTP 500) to `response_format` json_schema."""


class OpenAIScript(_Script):
    """Answers of `POST /v1/chat/completions`."""

    model = "gpt-fake"
    formats: set[str] | None = None
    """The `response_format` types the server takes (None: all); others get `rejection`."""
    format_with_tools = True
    """Whether it takes `response_format` beside `tools`."""
    rejection: tuple[int, str] = (500, LLAMA_CPP_PYTHON_REJECTION)
    stream_usage: str | None = "option"
    """Where a streamed answer's usage goes: `option` (OpenAI, vLLM: a last chunk with no
    choices, when `stream_options.include_usage` asks), `last_chunk` (llama.cpp, Ollama: in the
    chunk that finishes), None (never)."""
    rejects_stream_options = False
    """Answer 400 to `stream_options`, as some older servers do."""

    def like_llama_cpp_python(self) -> Self:
        """Behave like llama-cpp-python's server: `json_object` (with a schema) or nothing."""
        self.formats = {"text", "json_object"}
        return self

    def _rejection(self, body: Any) -> Scripted | None:
        if self.rejects_stream_options and "stream_options" in body:
            message = "Unrecognized request argument supplied: stream_options"
            return Scripted(400, self._error_body(400, message, None))
        kind = (body.get("response_format") or {}).get("type")
        if kind is None:
            return None
        if (self.formats is not None and kind not in self.formats) or (
            body.get("tools") and not self.format_with_tools
        ):
            status, message = self.rejection
            return Scripted(status, self._error_body(status, message, None))
        return None

    def reply_text(
        self,
        text: str | None,
        *,
        model: str | None = None,
        usage: tuple[int, int] | None = (11, 7),
        finish_reason: str = "stop",
    ) -> Self:
        message = {"role": "assistant", "content": text}
        return self.reply_message(message, finish_reason=finish_reason, model=model, usage=usage)

    def reply_message(
        self,
        message: dict[str, Any],
        *,
        finish_reason: str = "stop",
        model: str | None = None,
        usage: tuple[int, int] | None = (11, 7),
    ) -> Self:
        """Queue an answer whose `choices[0].message` is given as is (odd shapes included);
        `usage=None` leaves the usage out, as some local servers do."""
        return self.reply_raw(self._completion(message, model, usage, finish_reason))

    def reply_stream_error(self, text: str, message: str, *, code: int | str = 500) -> Self:
        """Queue a streamed answer that breaks off with an error event after half its text."""
        self.reply_text(text)
        self._queue[-1].stream_error = {"message": message, "type": "server_error", "code": code}
        return self

    def chunks(self, body: dict[str, Any], request: dict[str, Any]) -> list[dict[str, Any]]:
        """A completion body as the chunks of a streamed answer."""
        base = {k: body[k] for k in ("id", "created", "model") if k in body}
        base["object"] = "chat.completion.chunk"
        choice = body["choices"][0]
        message = choice["message"]

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        out = [chunk({"role": "assistant", "content": ""})]
        out += [chunk({"content": piece}) for piece in _words(message.get("content"))]
        if message.get("refusal"):
            out.append(chunk({"refusal": message["refusal"]}))
        for index, call in enumerate(message.get("tool_calls") or []):
            function = call["function"]
            head = {"index": index, "id": call["id"], "type": "function"}
            out.append(chunk({"tool_calls": [{**head, "function": {"name": function["name"]}}]}))
            arguments = function["arguments"]
            for start in range(0, len(arguments), 8):
                piece = {"arguments": arguments[start : start + 8]}
                out.append(chunk({"tool_calls": [{"index": index, "function": piece}]}))
        out.append(chunk({}, choice["finish_reason"]))
        usage = body.get("usage")
        if usage is not None and self.stream_usage == "last_chunk":
            out[-1]["usage"] = usage
        asked = (request.get("stream_options") or {}).get("include_usage")
        if usage is not None and self.stream_usage == "option" and asked:
            out.append({**base, "choices": [], "usage": usage})
        return out

    def reply_refusal(self, refusal: str, **kwargs: Any) -> Self:
        """Queue a structured-output refusal: `content` null, `refusal` set."""
        message = {"role": "assistant", "content": None, "refusal": refusal}
        return self.reply_message(message, **kwargs)

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
        self,
        message: dict[str, Any],
        model: str | None,
        usage: tuple[int, int] | None,
        finish: str,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": f"chatcmpl-fake-{len(self.requests) + self.pending}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model or self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        }
        if usage is not None:
            body["usage"] = {
                "prompt_tokens": usage[0],
                "completion_tokens": usage[1],
                "total_tokens": sum(usage),
            }
        return body

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


GEMINI_TOOLS_WITH_JSON = (
    "Function calling with a response mime type: 'application/json' is unsupported"
)


class GeminiScript(_Script):
    """Answers of `POST /v1beta/models/{model}:generateContent`."""

    model = "gemini-fake-001"
    json_with_tools = False
    """Gemini 2.x refuses a JSON response beside function declarations (HTTP 400)."""

    def _rejection(self, body: Any) -> Scripted | None:
        config = body.get("generationConfig") or {}
        if body.get("tools") and config.get("responseMimeType") and not self.json_with_tools:
            return Scripted(400, self._error_body(400, GEMINI_TOOLS_WITH_JSON, None))
        return None

    def reply_text(
        self,
        text: str,
        *,
        model: str | None = None,
        usage: tuple[int, int] | None = (13, 5),
        finish_reason: str = "STOP",
    ) -> Self:
        """Queue a text answer; `usage=None` leaves `usageMetadata` out."""
        return self._reply([{"text": text}], model, usage, finish_reason)

    def reply_parts(
        self, parts: list[dict[str, Any]], *, finish_reason: str = "STOP", **kwargs: Any
    ) -> Self:
        """Queue an answer made of the given parts (thought parts, text, function calls)."""
        return self._reply(parts, kwargs.get("model"), kwargs.get("usage", (13, 5)), finish_reason)

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
        self,
        parts: list[dict[str, Any]],
        model: str | None,
        usage: tuple[int, int] | None,
        finish: str,
    ) -> Self:
        body: dict[str, Any] = {
            "candidates": [
                {"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}
            ],
            "modelVersion": model or self.model,
        }
        if usage is not None:
            body["usageMetadata"] = {
                "promptTokenCount": usage[0],
                "candidatesTokenCount": usage[1],
                "totalTokenCount": sum(usage),
            }
        return self.reply_raw(body)

    @staticmethod
    def chunks(body: dict[str, Any], request: dict[str, Any]) -> list[dict[str, Any]]:
        """An answer as `streamGenerateContent` sends it: text parts word by word, other parts
        whole, the prompt's token count in every chunk and the whole usage in the last."""
        candidates = body.get("candidates")
        if not candidates:
            return [body]
        candidate = candidates[0]
        pieces: list[dict[str, Any]] = []
        for part in candidate["content"]["parts"]:
            if "text" in part:
                pieces += [{**part, "text": piece} for piece in _words(part["text"])]
            else:
                pieces.append(part)
        usage = body.get("usageMetadata")
        so_far = {k: usage[k] for k in ("promptTokenCount",) if k in usage} if usage else None
        out = []
        for piece in pieces or [{"text": ""}]:
            chunk: dict[str, Any] = {
                "candidates": [{"content": {"role": "model", "parts": [piece]}, "index": 0}],
                "modelVersion": body.get("modelVersion"),
            }
            if so_far is not None:
                chunk["usageMetadata"] = so_far
            out.append(chunk)
        out[-1]["candidates"][0]["finishReason"] = candidate.get("finishReason")
        if usage is not None:
            out[-1]["usageMetadata"] = usage
        return out

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
        self._gate: asyncio.Event | None = None

    def hold(self) -> None:
        """Keep every request waiting (its answer already taken from the script) until
        `release()`: a call in flight, for a test to crash its caller."""
        self._gate = asyncio.Event()

    def release(self) -> None:
        if self._gate is not None:
            self._gate.set()
        self._gate = None

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
        app.router.add_post("/v1beta/models/{model}:streamGenerateContent", self._gemini_stream)
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

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        scripted = self.openai._record(request, body)
        if self._gate is not None:
            await self._gate.wait()
        if body.get("stream") and scripted.status == 200 and isinstance(scripted.body, dict):
            chunks = self.openai.chunks(scripted.body, body)
            return await _events(request, chunks, scripted.stream_error, done=True)
        return self._answer(scripted)

    async def _gemini(self, request: web.Request) -> web.StreamResponse:
        return self._answer(self.gemini._record(request, await request.json()))

    async def _gemini_stream(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        scripted = self.gemini._record(request, body)
        if scripted.status == 200 and isinstance(scripted.body, dict):
            chunks = self.gemini.chunks(scripted.body, body)
            return await _events(request, chunks, scripted.stream_error, done=False)
        return self._answer(scripted)

    @staticmethod
    def _answer(scripted: Scripted) -> web.Response:
        body = scripted.body if isinstance(scripted.body, str) else json.dumps(scripted.body)
        content_type = scripted.content_type or (
            "text/plain" if isinstance(scripted.body, str) else "application/json"
        )
        return web.Response(
            status=scripted.status,
            text=body,
            content_type=content_type,
            headers=scripted.headers,
        )


def _words(text: str | None) -> list[str]:
    """Text cut as a tokenizer would stream it, roughly: word by word, spaces kept."""
    return re.findall(r"\S+\s*|\s+", text or "")


async def _events(
    request: web.Request,
    chunks: list[dict[str, Any]],
    error: dict[str, Any] | None,
    *,
    done: bool,
) -> web.StreamResponse:
    """Send chunks as Server-Sent Events, one write each, as a streaming server does."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    if error is not None:
        chunks = [*chunks[: len(chunks) // 2], {"error": error}]
    for chunk in chunks:
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
    if done and error is None:
        await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response
