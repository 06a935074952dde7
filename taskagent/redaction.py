"""Keeping credentials out of everything a worker writes: step errors, histories, logs.

A provider or a proxy may echo the credential it was sent (a 401 quoting `Bearer sk-...`, a
Gemini error quoting `key=AIza...`). Every message that leaves an activity, and every log line,
goes through a `Redactor`: it replaces the worker's configured secret values, and anything shaped
like a bearer token or an API key, with `[redacted]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
MIN_SECRET_CHARS = 8
"""Shorter values are not treated as secrets: replacing them would garble ordinary text."""
SECRET_NAMES = re.compile(r"(?i)(^|_)(API_?KEY|KEYS?|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$")
"""Environment variables whose values are secrets (OPENAI_API_KEY, a models file's key, ...)."""

_TOKEN = r"[A-Za-z0-9._~+/=-]{7,}[A-Za-z0-9_~+/=-]"  # a sentence's full stop is not in it
_NAMED = r"(?i)\b(api[_-]?key|x-goog-api-key|access[_-]?token|key)(\"?\s*[=:]\s*\"?)"
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"(?i)\b(bearer|basic)(\s+){_TOKEN}"), rf"\1\2{REDACTED}"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), REDACTED),  # OpenAI and compatible keys
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"), REDACTED),  # Google API keys
    (re.compile(rf"{_NAMED}[^\s\"'&,;}}]{{8,}}"), rf"\1\2{REDACTED}"),  # key=..., "api_key": ...
)


class Redactor:
    """Replaces secrets in text; `secrets` are the exact values to hide."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        found = {value for value in secrets if value and len(value) >= MIN_SECRET_CHARS}
        self._secrets = sorted(found, key=len, reverse=True)  # a longer secret first

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    def __call__(self, text: str) -> str:
        """`text` without the secrets' values and without anything shaped like a credential
        (for errors and logs)."""
        text = self.values_only(text)
        for shape, replacement in _SHAPES:
            text = shape.sub(replacement, text)
        return text

    def values_only(self, text: str) -> str:
        """`text` without the secrets' values (for data, where a key-like string may belong)."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def value(self, value: Any) -> Any:
        """A value with every string in it redacted (dicts and lists walked)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], *more: str | None) -> Redactor:
        """The secrets of an environment (variables named like keys, tokens, passwords) and
        `more` values (keys given another way)."""
        values = [value for name, value in environ.items() if SECRET_NAMES.search(name)]
        return cls([*values, *(value for value in more if value)])
