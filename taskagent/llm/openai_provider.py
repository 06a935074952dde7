"""OpenAI chat completions (and any OpenAI-compatible server) behind the provider contract."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import openai

from taskagent.llm.capabilities import Capabilities, OutputMode
from taskagent.llm.errors import (
    REFUSED,
    classify_openai_error,
    content_filtered,
    error_sent_as_answer,
    invalid_response,
    snippet,
)
from taskagent.llm.openai_stream import CompletionAssembler
from taskagent.llm.parsing import strip_reasoning
from taskagent.llm.types import (
    DeltaSink,
    Message,
    ModelRequest,
    ModelResponse,
    ProviderError,
    ToolCall,
    Usage,
)
from taskagent.llm.usage import estimate_usage


class OpenAIProvider:
    """Calls `POST {base_url}/chat/completions` once per `complete`; never retries on its own."""

    name = "openai"

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        capabilities: Capabilities | None = None,
    ) -> None:
        self._base_url = base_url
        self.capabilities = capabilities or Capabilities("openai")
        # Temporal owns retries: the client must send exactly one request per call.
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    def __repr__(self) -> str:
        return f"OpenAIProvider(base_url={self._base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.close()

    async def complete(
        self, request: ModelRequest, model: str, on_delta: DeltaSink | None = None
    ) -> ModelResponse:
        async def send(request: ModelRequest, model: str, mode: OutputMode | None) -> ModelResponse:
            params = request_params(request, model, mode)
            started = time.monotonic()
            sent = self._post(params) if on_delta is None else self._stream(params, on_delta)
            body = await sent
            return parse_completion(body, (time.monotonic() - started) * 1000.0, request)

        return await self.capabilities.complete(request, model, send)

    async def _post(self, params: dict[str, Any]) -> Any:
        """The answer's JSON body (or its text, if it is not JSON)."""
        try:
            raw = await self._client.chat.completions.with_raw_response.create(**params)
            text = raw.text
        except Exception as exc:
            raise classify_openai_error(exc) from exc
        try:
            return json.loads(text)
        except ValueError:
            return text

    async def _stream(self, params: dict[str, Any], on_delta: DeltaSink) -> Any:
        """The streamed answer put together as one body, its text handed to `on_delta` as it
        arrives. The usage is asked for; a server that refuses the option is asked without."""
        options: dict[str, Any] = {"stream": True, "stream_options": {"include_usage": True}}
        try:
            return await self._chunks({**params, **options}, on_delta)
        except ProviderError as err:
            if err.status not in (400, 422) or "stream_options" not in str(err):
                raise
        return await self._chunks({**params, "stream": True}, on_delta)

    async def _chunks(self, params: dict[str, Any], on_delta: DeltaSink) -> Any:
        assembler = CompletionAssembler()
        try:
            stream = await self._client.chat.completions.create(**params)
            async for chunk in stream:
                text = assembler.add(chunk.to_dict(warnings=False))
                if text:
                    on_delta(text)
        except Exception as exc:
            raise classify_openai_error(exc) from exc
        return assembler.body()


def request_params(request: ModelRequest, model: str, mode: OutputMode | None) -> dict[str, Any]:
    """The keyword arguments of `chat.completions.create` for a request; `mode` says how the
    output schema is asked for (None: no format field, see Capabilities)."""
    params: dict[str, Any] = {
        "model": model,
        "messages": [message_param(m) for m in request.messages],
    }
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                },
            }
            for tool in request.tools
        ]
    schema = request.output_schema
    if schema is not None and mode is not None:
        params["response_format"] = _response_format(request.output_schema_name, schema, mode)
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.max_output_tokens is not None:
        params["max_tokens"] = request.max_output_tokens
    return params


def _response_format(name: str, schema: dict[str, Any], mode: OutputMode) -> dict[str, Any]:
    if mode is OutputMode.JSON_SCHEMA:
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": False},
        }
    if mode is OutputMode.JSON_OBJECT:  # llama-cpp-python's server: JSON mode with a schema
        return {"type": "json_object", "schema": schema}
    return {"type": "json_object"}


def message_param(message: Message) -> dict[str, Any]:
    """One chat.completions message."""
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id or "",
            "content": message.content or "",
        }
    param: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        param["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
    elif param["content"] is None:
        param["content"] = ""
    return param


def parse_completion(
    body: Any, latency_ms: float, request: ModelRequest | None = None
) -> ModelResponse:
    """A ModelResponse from the JSON body of a chat completion, as any server sends it.

    What is unambiguous is normalised (content as a list of text parts, tool-call arguments as
    an object, a tool call without an id, a legacy `function_call`, reasoning before the
    answer); anything else is a non-retryable invalid_response naming the field. A refusal or a
    filtered answer fails with its usage, so that the ledger still bills it.
    """
    if not isinstance(body, Mapping):
        raise invalid_response(
            "openai",
            f"the body is not a JSON object but {snippet(body)!r}; is OPENAI_BASE_URL the API's "
            "(it usually ends in /v1)?",
        )
    choices = body.get("choices")
    if not choices:
        raise _error_in_body(body) or invalid_response(
            "openai", f"`choices` is {snippet(choices)!r}, expected a list of answers"
        )
    if not isinstance(choices, list) or not isinstance(choices[0], Mapping):
        raise invalid_response("openai", f"`choices` is {snippet(choices)!r}")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, Mapping):
        raise invalid_response("openai", f"`choices[0].message` is {snippet(message)!r}")
    finish = choice.get("finish_reason")
    finish = finish if isinstance(finish, str) else None
    try:
        content = _content(message.get("content"))
        tool_calls = _tool_calls(message)
    except ProviderError as err:  # unreadable, but answered: billed all the same
        err.billed = ModelResponse(
            usage=_usage(body.get("usage"), request, None, []), model=str(body.get("model") or "")
        )
        raise
    response = ModelResponse(
        content=strip_reasoning(content) if content is not None else None,
        tool_calls=tool_calls,
        usage=_usage(body.get("usage"), request, content, tool_calls),
        model=str(body.get("model") or ""),
        latency_ms=latency_ms,
        finish_reason=finish,
    )
    if finish == "content_filter":
        raise content_filtered("openai", "finish_reason=content_filter", billed=response)
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal.strip():
        raise ProviderError(
            f"openai: the model refused to answer: {refusal.strip()}",
            kind=REFUSED,
            retryable=False,
            billed=response,
        )
    return response


def _error_in_body(body: Mapping[str, Any]) -> ProviderError | None:
    """An error some servers (and proxies in front of them) send with HTTP 200."""
    error = body.get("error")
    if error is None:
        return None
    return error_sent_as_answer(error, "in the body of an HTTP 200 answer")


def _content(value: Any) -> str | None:
    """Text, or a list of text parts (`{"type": "text", "text": ...}`) joined."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = [p.get("text") for p in value if isinstance(p, Mapping)]
        if texts and all(isinstance(t, str) for t in texts):
            return "".join(t for t in texts if isinstance(t, str))
    raise invalid_response("openai", f"`choices[0].message.content` is {snippet(value)!r}")


def _tool_calls(message: Mapping[str, Any]) -> list[ToolCall]:
    raw = message.get("tool_calls")
    legacy = message.get("function_call")
    if not raw and isinstance(legacy, Mapping):
        raw = [{"type": "function", "function": legacy}]
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid_response("openai", f"`choices[0].message.tool_calls` is {snippet(raw)!r}")
    return [_tool_call(call, index) for index, call in enumerate(raw)]


def _tool_call(call: Any, index: int) -> ToolCall:
    where = f"`choices[0].message.tool_calls[{index}]"
    function = call.get("function") if isinstance(call, Mapping) else None
    if not isinstance(function, Mapping):
        raise invalid_response("openai", f"{where}.function` is missing: {snippet(call)!r}")
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise invalid_response("openai", f"{where}.function.name` is {snippet(name)!r}")
    arguments = function.get("arguments")
    if arguments is None or arguments == "":
        arguments = "{}"
    elif isinstance(arguments, dict | list):
        arguments = json.dumps(arguments)
    elif not isinstance(arguments, str):
        raise invalid_response("openai", f"{where}.function.arguments` is {snippet(arguments)!r}")
    call_id = call.get("id")
    return ToolCall(
        # Some servers send no id: number the calls of this answer so results can be matched.
        id=call_id if isinstance(call_id, str) and call_id else f"call_{index}",
        name=name,
        arguments=arguments,
    )


def _usage(
    value: Any, request: ModelRequest | None, content: str | None, calls: list[ToolCall]
) -> Usage:
    usage = value if isinstance(value, Mapping) else {}
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if isinstance(prompt, int) and isinstance(completion, int):
        return Usage(input_tokens=prompt, output_tokens=completion)
    return estimate_usage(request, content, calls)
