"""The provider contract: one async call from a typed request to a typed response with usage.

These models cross the durable boundary (activity inputs and outputs), so they only ever gain
optional fields with defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

Role = Literal["system", "user", "assistant", "tool"]


class ToolCall(BaseModel):
    """A tool call the model asked for; `arguments` is the JSON text exactly as the model gave."""

    id: str
    name: str
    arguments: str = "{}"
    thought_signature: str | None = Field(
        None,
        description="Gemini: the opaque signature (base64) that must go back with this call.",
    )


class Message(BaseModel):
    """One conversation message in a provider-neutral shape."""

    role: Role
    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = Field(None, description="For role=tool: the call it answers.")
    name: str | None = Field(None, description="For role=tool: the tool's name.")


class ToolSpec(BaseModel):
    """A tool as offered to a model: the JSON Schema of its arguments."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ModelRequest(BaseModel):
    """What one model call sends. `model` is `provider:model`, e.g. `openai:gpt-4o-mini`."""

    model: str
    messages: list[Message]
    tools: list[ToolSpec] = Field(default_factory=list)
    output_schema: dict[str, Any] | None = Field(
        None, description="JSON Schema of the expected output: structured output where supported."
    )
    output_schema_name: str = "output"
    temperature: float | None = None
    max_output_tokens: int | None = None


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = Field(
        False, description="The provider reported no usage: these counts are estimates."
    )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class ModelResponse(BaseModel):
    """What one model call returns."""

    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    model: str = Field("", description="The model that answered, as the provider names it.")
    latency_ms: float = 0.0
    finish_reason: str | None = None
    output_mode: str | None = Field(
        None, description="How structured output was asked for (see OutputMode); None: no schema."
    )


class ProviderError(Exception):
    """A classified provider failure.

    `retryable` errors (429, 5xx, timeouts, dropped connections) are retried by Temporal, after
    `retry_after` seconds when the provider said so; the others (400, 401, 403, 404, content
    filter, context length, missing key) fail the call at once with the provider's message.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
        billed: ModelResponse | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        self.billed = billed
        """The answer the provider billed before it was refused (its usage enters the ledger)."""


DeltaSink = Callable[[str], None]
"""Takes the text of an answer as it arrives (a streamed call's deltas)."""


class Provider(Protocol):
    """A model provider. Implementations never retry on their own: Temporal does."""

    name: str

    async def complete(
        self, request: ModelRequest, model: str, on_delta: DeltaSink | None = None
    ) -> ModelResponse:
        """Call `model` (without the `provider:` prefix); raise ProviderError on failure.
        With `on_delta`, the answer is streamed and its text handed over as it arrives; the
        response is the same whole answer either way."""
        ...
