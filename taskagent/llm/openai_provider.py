"""OpenAI chat completions (and any OpenAI-compatible server) behind the provider contract."""

from __future__ import annotations

import time
from typing import Any

import openai

from taskagent.llm.errors import INVALID_RESPONSE, classify_openai_error, content_filtered
from taskagent.llm.types import (
    Message,
    ModelRequest,
    ModelResponse,
    ProviderError,
    ToolCall,
    Usage,
)


class OpenAIProvider:
    """Calls `POST {base_url}/chat/completions` once per `complete`; never retries on its own."""

    name = "openai"

    def __init__(self, api_key: str, base_url: str | None = None, timeout: float = 60.0) -> None:
        self._base_url = base_url
        # Temporal owns retries: the client must send exactly one request per call.
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    def __repr__(self) -> str:
        return f"OpenAIProvider(base_url={self._base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.close()

    async def complete(self, request: ModelRequest, model: str) -> ModelResponse:
        params = request_params(request, model)
        started = time.monotonic()
        try:
            completion = await self._client.chat.completions.create(**params)
        except Exception as exc:
            raise classify_openai_error(exc) from exc
        latency_ms = (time.monotonic() - started) * 1000.0
        return parse_completion(completion, latency_ms)


def request_params(request: ModelRequest, model: str) -> dict[str, Any]:
    """The keyword arguments of `chat.completions.create` for a request."""
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
    elif request.output_schema is not None:
        # Structured output and tool calling do not mix well in one call: with tools offered,
        # the caller validates the final answer itself.
        params["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": request.output_schema_name,
                "schema": request.output_schema,
                "strict": False,
            },
        }
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.max_output_tokens is not None:
        params["max_tokens"] = request.max_output_tokens
    return params


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


def parse_completion(completion: Any, latency_ms: float) -> ModelResponse:
    """A ModelResponse from a ChatCompletion; a content-filtered answer is an error."""
    if not completion.choices:
        raise ProviderError(
            "openai answered with no choices", kind=INVALID_RESPONSE, retryable=True
        )
    choice = completion.choices[0]
    if choice.finish_reason == "content_filter":
        raise content_filtered("openai", "finish_reason=content_filter")
    message = choice.message
    tool_calls = [
        ToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments or "{}")
        for call in message.tool_calls or []
        if getattr(call, "function", None) is not None
    ]
    usage = completion.usage
    return ModelResponse(
        content=message.content,
        tool_calls=tool_calls,
        usage=Usage(
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
        ),
        model=completion.model or "",
        latency_ms=latency_ms,
        finish_reason=choice.finish_reason,
    )
