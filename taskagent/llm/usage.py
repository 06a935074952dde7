"""Token counts when a provider reports none: an estimate, marked as one in the ledger.

Local servers (and some proxies) omit `usage`. A call that was answered still cost something, so
the ledger counts it with an estimate of about four characters per token, the rule of thumb for
English text with the tokenizers of current models, and marks the call estimated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from taskagent.llm.types import ModelRequest, ToolCall, Usage

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """About how many tokens `text` is: at least one for any non-empty text."""
    return -(-len(text) // CHARS_PER_TOKEN) if text else 0


def estimate_usage(
    request: ModelRequest | None,
    answer: str | None,
    calls: Sequence[ToolCall] = (),
    *,
    estimated: bool = True,
) -> Usage:
    """Estimated usage of a call: the request's messages and tools in, the answer and the tool
    calls out. The test doubles count this way too, as their own report (`estimated=False`)."""
    sent = ""
    if request is not None:
        sent = "".join(
            (m.content or "") + "".join(c.arguments for c in m.tool_calls) for m in request.messages
        )
        if request.tools:
            sent += json.dumps([t.model_dump() for t in request.tools])
    return Usage(
        input_tokens=estimate_tokens(sent),
        output_tokens=estimate_tokens(
            (answer or "") + "".join(c.name + c.arguments for c in calls)
        ),
        estimated=estimated,
    )
