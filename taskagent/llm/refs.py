"""`provider:model` references: pure, safe to use in workflow code."""

from __future__ import annotations

PROVIDERS = ("openai", "gemini", "offline")


def parse_model(ref: str) -> tuple[str, str]:
    """Split `provider:model` (e.g. `openai:gpt-4o-mini`) into its two parts."""
    provider, sep, model = ref.partition(":")
    provider, model = provider.strip(), model.strip()
    if not sep:
        raise ValueError(
            f"model {ref!r} names no provider: write provider:model, e.g. openai:gpt-4o-mini "
            f"(providers: {', '.join(PROVIDERS)})"
        )
    if provider not in PROVIDERS:
        raise ValueError(
            f"model {ref!r}: unknown provider {provider!r} (providers: {', '.join(PROVIDERS)})"
        )
    if not model:
        raise ValueError(f"model {ref!r} names no model after {provider + ':'!r}")
    return provider, model
