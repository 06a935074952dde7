"""The dry-run model: a placeholder answer and an estimate of what the call would use.

A dry run calls no provider. Each model call is answered here instead: a schema-valid placeholder
instance of the requested output schema (or a short text), with the usage a real call would
have. The prompt is counted as the provider would receive it (output section included), with
the model family's tokenizer where one is bundled (OpenAI's) and about four characters per token
otherwise. The answer is counted as the step's `max_output_tokens` when it sets one (a ceiling),
or else as DEFAULT_ANSWER_TOKENS or the placeholder's size, whichever is larger. The usage is
marked estimated; the activity prices it with the worker's price table.
"""

from __future__ import annotations

import json

from taskagent.llm.tokens import count_tokens
from taskagent.llm.types import ModelRequest, ModelResponse, Usage
from taskagent.schemas.instances import schema_instance

MODEL_NAME = "dry-run"
PLACEHOLDER_TEXT = "[dry run: placeholder answer]"
DEFAULT_ANSWER_TOKENS = 256
"""An answer's tokens when the step sets no max_output_tokens (as the budget's estimate)."""


def dry_response(request: ModelRequest, model_ref: str) -> ModelResponse:
    """The placeholder answer to `request` (as sent to `model_ref`), with estimated usage."""
    if request.output_schema is not None:
        value = schema_instance(request.output_schema, seed=MODEL_NAME)
        content = json.dumps(value, ensure_ascii=False)
    else:
        content = PLACEHOLDER_TEXT
    sent = [
        (m.content or "") + "".join(c.name + c.arguments for c in m.tool_calls)
        for m in request.messages
    ]
    if request.tools:
        sent.append(json.dumps([tool.model_dump() for tool in request.tools]))
    prompt = sum(count_tokens(model_ref, text).tokens for text in sent)
    answer = request.max_output_tokens or max(
        DEFAULT_ANSWER_TOKENS, count_tokens(model_ref, content).tokens
    )
    return ModelResponse(
        content=content,
        usage=Usage(input_tokens=prompt, output_tokens=answer, estimated=True),
        model=MODEL_NAME,
        latency_ms=0.0,
        finish_reason="stop",
    )
