"""How each model takes structured output, configured or detected, and remembered by the worker.

Servers differ. OpenAI, vLLM, LM Studio, Ollama and llama.cpp's own server take
`response_format: {"type": "json_schema", ...}`; llama-cpp-python's server answers it with HTTP 500
("Input should be 'text' or 'json_object'") and takes `json_object`, with a `schema` beside it;
others take `json_object` alone, or nothing. Gemini takes `responseJsonSchema`, and some of its
models refuse it beside function declarations.

So each model has a mode, strongest first. A model starts in its configured mode (default: the
strongest). When a server rejects the mode (an error that names the structured-output field), the
same call is sent once more in the next weaker mode, and the worker remembers the mode that
worked for that model. The weakest mode, `prompt`, sends no format at all: the schema rides in the
prompt and the tolerant parser reads the answer; the workflow validates every answer either way.
Tools and structured output are sent together where the model takes both; a model that refuses
the pair is remembered too, and then gets tools without a format.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

import structlog

from taskagent.llm.types import ModelRequest, ModelResponse, ProviderError

log = structlog.get_logger("taskagent.llm")


class OutputMode(StrEnum):
    """How a model is asked for structured output, strongest first."""

    JSON_SCHEMA = "json_schema"
    """The schema in the provider's structured-output field (OpenAI `json_schema`, Gemini
    `responseJsonSchema`): the server constrains decoding to it."""
    JSON_OBJECT = "json_object"
    """JSON mode with the schema beside it (`json_object` + `schema`; Gemini: JSON MIME type)."""
    JSON = "json"
    """JSON mode alone (`json_object`): any JSON, the schema only in the prompt."""
    PROMPT = "prompt"
    """No format field: the schema is in the prompt, and the answer is parsed tolerantly."""

    def weaker(self) -> OutputMode | None:
        """The next mode to try when a server rejects this one."""
        order = list(OutputMode)
        index = order.index(self)
        return order[index + 1] if index + 1 < len(order) else None


# An error about the format names the field or what it asked for.
_FORMAT_ERROR = re.compile(
    r"response_format|json_schema|json_object|response[_ ]?mime[_ ]?type|response_?json_?schema"
    r"|response_?schema|structured output|grammar|function calling with",
    re.IGNORECASE,
)
_FORMAT_STATUSES = {400, 422, 500, 501}


def rejects_format(err: ProviderError) -> bool:
    """Whether a failed call failed because of the structured-output field it carried."""
    return err.status in _FORMAT_STATUSES and bool(_FORMAT_ERROR.search(str(err)))


@dataclass
class Capabilities:
    """The modes of the models one provider serves: configured, then learned from the servers."""

    provider: str
    configured: dict[str, OutputMode] = field(default_factory=dict)
    """Per model, the mode to start in (from the model configuration file)."""
    tools_configured: dict[str, bool] = field(default_factory=dict)
    """Per model, whether it takes tools and a format in one call."""
    tools_default: bool = True
    """For models not configured: OpenAI's do; Gemini 2.x models refuse it."""
    _learned: dict[str, OutputMode] = field(default_factory=dict)
    _no_tools_with_format: set[str] = field(default_factory=set)

    async def complete(
        self,
        request: ModelRequest,
        model: str,
        send: Callable[[ModelRequest, str, OutputMode | None], Awaitable[ModelResponse]],
    ) -> ModelResponse:
        """`send` the request in the model's mode, or None for no format field (`prompt`, no
        schema, or tools the model takes without a format); once more in the next weaker mode
        if the server rejects the format. The answer records the mode used."""
        mode = self._mode_for(request, model)
        try:
            response = await send(request, model, mode)
        except ProviderError as err:
            if mode is None or not rejects_format(err):
                raise
            if not self.fall_back(model, err, had_tools=bool(request.tools)):
                raise
            mode = self._mode_for(request, model)
            response = await send(request, model, mode)
        if request.output_schema is not None:
            response.output_mode = (mode or OutputMode.PROMPT).value
        return response

    def _mode_for(self, request: ModelRequest, model: str) -> OutputMode | None:
        if request.output_schema is None:
            return None
        if request.tools and not self.format_with_tools(model):
            return None
        mode = self.mode(model)
        return None if mode is OutputMode.PROMPT else mode

    def mode(self, model: str) -> OutputMode:
        return self._learned.get(model) or self.configured.get(model) or OutputMode.JSON_SCHEMA

    def format_with_tools(self, model: str) -> bool:
        if model in self._no_tools_with_format:
            return False
        return self.tools_configured.get(model, self.tools_default)

    def fall_back(self, model: str, err: ProviderError, *, had_tools: bool) -> bool:
        """Learn from a call the server rejected for its format; False: nothing weaker to try.

        A call that carried tools first drops the format beside tools; otherwise the model
        moves to its next weaker mode."""
        if had_tools and self.format_with_tools(model):
            self._no_tools_with_format.add(model)
            self._log(model, err, "no format beside tools")
            return True
        weaker = self.mode(model).weaker()
        if weaker is None:
            return False
        self._learned[model] = weaker
        self._log(model, err, f"structured output {weaker.value}")
        return True

    def _log(self, model: str, err: ProviderError, now: str) -> None:
        log.warning(
            "the server rejected the structured-output request; this worker now uses "
            f"{now} for this model",
            provider=self.provider,
            model=model,
            error=str(err)[:300],
        )
