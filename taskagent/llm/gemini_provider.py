"""Google Gemini (generateContent, v1beta) behind the provider contract, via google-genai."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from google import genai
from google.genai import types

from taskagent.llm.capabilities import Capabilities, OutputMode
from taskagent.llm.errors import classify_gemini_error, content_filtered, invalid_response
from taskagent.llm.parsing import strip_reasoning
from taskagent.llm.types import (
    DeltaSink,
    Message,
    ModelRequest,
    ModelResponse,
    ToolCall,
    Usage,
)
from taskagent.llm.usage import estimate_usage

# Finish reasons that mean the provider's safety or policy systems withheld the answer.
_BLOCKED = {
    "SAFETY",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "RECITATION",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "MODEL_ARMOR",
}

# Finish reasons in the chat-completions vocabulary that the other providers use.
_FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}


class GeminiProvider:
    """Calls `generateContent` once per `complete`; never retries on its own."""

    name = "gemini"

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        capabilities: Capabilities | None = None,
    ) -> None:
        self._base_url = base_url
        self.capabilities = capabilities or Capabilities("gemini", tools_default=False)
        http_options = types.HttpOptions(
            base_url=base_url,
            api_version="v1beta",
            timeout=int(timeout * 1000),
            # Without retry_options google-genai makes one attempt per call, except that its
            # aiohttp transport silently retries a failed connection once after 1-10 s. Setting
            # retry_options with a single attempt turns both off: Temporal owns retries.
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        self._client = genai.Client(enterprise=False, api_key=api_key, http_options=http_options)

    def __repr__(self) -> str:
        return f"GeminiProvider(base_url={self._base_url!r})"

    async def aclose(self) -> None:
        """Close the connection pools (the async ones and the sync one the client opened)."""
        await self._client.aio.aclose()
        self._client.close()

    async def complete(
        self, request: ModelRequest, model: str, on_delta: DeltaSink | None = None
    ) -> ModelResponse:
        async def send(request: ModelRequest, model: str, mode: OutputMode | None) -> ModelResponse:
            contents = to_contents(request.messages)
            config = to_config(request, mode)
            started = time.monotonic()
            try:
                if on_delta is None:
                    response = await self._client.aio.models.generate_content(
                        model=model, contents=contents, config=config
                    )
                else:
                    response = await self._stream(model, contents, config, on_delta)
            except Exception as exc:
                raise classify_gemini_error(exc) from exc
            latency_ms = (time.monotonic() - started) * 1000.0
            return parse_response(response, model, latency_ms, request)

        return await self.capabilities.complete(request, model, send)

    async def _stream(
        self,
        model: str,
        contents: list[types.Content],
        config: types.GenerateContentConfig,
        on_delta: DeltaSink,
    ) -> types.GenerateContentResponse:
        """`streamGenerateContent`, its text handed to `on_delta` as it arrives, its chunks
        merged into one response: every part in order, the last finish reason and usage."""
        merged = types.GenerateContentResponse()
        parts: list[types.Part] = []
        finish: types.FinishReason | None = None
        stream = await self._client.aio.models.generate_content_stream(
            model=model, contents=contents, config=config
        )
        async for chunk in stream:
            candidate = chunk.candidates[0] if chunk.candidates else None
            content = candidate.content if candidate else None
            for part in (content.parts if content else None) or []:
                parts.append(part)
                if part.text and not part.thought:
                    on_delta(part.text)
            finish = (candidate.finish_reason if candidate else None) or finish
            merged.usage_metadata = chunk.usage_metadata or merged.usage_metadata
            merged.model_version = chunk.model_version or merged.model_version
            merged.prompt_feedback = chunk.prompt_feedback or merged.prompt_feedback
        if parts or finish is not None:
            whole = types.Content(role="model", parts=parts)
            merged.candidates = [types.Candidate(content=whole, finish_reason=finish)]
        return merged


def to_config(request: ModelRequest, mode: OutputMode | None) -> types.GenerateContentConfig:
    """System instruction, tools, structured output as `mode` says (None: no format field, see
    Capabilities), and sampling settings."""
    system = "\n\n".join(m.content for m in request.messages if m.role == "system" and m.content)
    config = types.GenerateContentConfig(
        system_instruction=system or None,
        temperature=request.temperature,
        max_output_tokens=request.max_output_tokens,
        # Our tools are declarations, never Python callables: the caller runs them.
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    if request.tools:
        declarations = [
            types.FunctionDeclaration(
                name=tool.name,
                description=tool.description,
                parameters_json_schema=tool.parameters,
            )
            for tool in request.tools
        ]
        config.tools = [types.Tool(function_declarations=declarations)]
    if request.output_schema is not None and mode is not None:
        config.response_mime_type = "application/json"
        if mode is OutputMode.JSON_SCHEMA:
            config.response_json_schema = request.output_schema
    return config


def to_contents(messages: list[Message]) -> list[types.Content]:
    """The conversation without system messages; consecutive tool results share one turn."""
    names = {call.id: call.name for m in messages for call in m.tool_calls}
    contents: list[types.Content] = []
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "tool":
            part = _function_response(message, names)
            if contents and contents[-1].role == "user" and _all_responses(contents[-1]):
                contents[-1].parts = [*(contents[-1].parts or []), part]
                continue
            contents.append(types.Content(role="user", parts=[part]))
        elif message.role == "assistant":
            contents.append(types.Content(role="model", parts=_model_parts(message)))
        else:
            contents.append(types.Content(role="user", parts=[types.Part(text=message.content)]))
    return contents


def _all_responses(content: types.Content) -> bool:
    return all(part.function_response is not None for part in content.parts or [])


def _function_response(message: Message, names: dict[str, str]) -> types.Part:
    call_id = message.tool_call_id
    name = message.name or names.get(call_id or "", "") or "tool"
    return types.Part(
        function_response=types.FunctionResponse(
            id=call_id, name=name, response={"result": message.content or ""}
        )
    )


def _model_parts(message: Message) -> list[types.Part]:
    parts = [types.Part(text=message.content)] if message.content else []
    for call in message.tool_calls:
        signature = base64.b64decode(call.thought_signature) if call.thought_signature else None
        parts.append(
            types.Part(
                function_call=types.FunctionCall(
                    id=call.id, name=call.name, args=_arguments(call.arguments)
                ),
                thought_signature=signature,
            )
        )
    return parts or [types.Part(text="")]


def _arguments(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        # Gemini wants an object; keep the model's text rather than failing the whole call.
        return {"raw": text}
    return value if isinstance(value, dict) else {"value": value}


def parse_response(
    response: types.GenerateContentResponse,
    model: str,
    latency_ms: float,
    request: ModelRequest | None = None,
) -> ModelResponse:
    """A ModelResponse from a GenerateContentResponse; blocked answers are errors that carry
    their usage, so that the ledger still bills them."""
    feedback = response.prompt_feedback
    usage = response.usage_metadata
    if feedback is not None and feedback.block_reason is not None:
        billed = ModelResponse(usage=_usage(usage, request, None, []), model=model)
        raise content_filtered(
            "gemini", f"prompt blocked: {_name(feedback.block_reason)}", billed=billed
        )
    if not response.candidates:
        raise invalid_response("gemini", "the answer has no candidates and no block reason")
    candidate = response.candidates[0]
    finish = _name(candidate.finish_reason) if candidate.finish_reason else None
    parts = (candidate.content.parts if candidate.content else None) or []
    texts = [p.text for p in parts if p.text is not None and not p.thought]
    called = [p for p in parts if p.function_call is not None]
    calls = [_tool_call(part, index) for index, part in enumerate(called)]
    content = strip_reasoning("".join(texts)) if texts else None
    answer = ModelResponse(
        content=content,
        tool_calls=calls,
        usage=_usage(usage, request, content, calls),
        model=response.model_version or model,
        latency_ms=latency_ms,
        finish_reason="tool_calls" if calls else _FINISH.get(finish or "", finish),
    )
    if finish in _BLOCKED:
        raise content_filtered("gemini", f"finish_reason={finish}", billed=answer)
    return answer


def _tool_call(part: types.Part, index: int) -> ToolCall:
    call = part.function_call or types.FunctionCall()
    signature = part.thought_signature
    return ToolCall(
        # Gemini often omits ids: number the calls of this answer so results can be matched.
        id=call.id or f"call_{index}",
        name=call.name or "",
        arguments=json.dumps(call.args or {}),
        thought_signature=base64.b64encode(signature).decode() if signature else None,
    )


def _usage(
    metadata: types.GenerateContentResponseUsageMetadata | None,
    request: ModelRequest | None,
    content: str | None,
    calls: list[ToolCall],
) -> Usage:
    if metadata is None or metadata.prompt_token_count is None:
        return estimate_usage(request, content, calls)
    # Thinking tokens are billed as output.
    output = (metadata.candidates_token_count or 0) + (metadata.thoughts_token_count or 0)
    return Usage(input_tokens=metadata.prompt_token_count or 0, output_tokens=output)


def _name(value: Any) -> str:
    return str(getattr(value, "value", value))
