"""`provider:model` references: pure, safe to use in workflow code."""

from __future__ import annotations

SCRIPTED = "scripted"
PROVIDERS = ("openai", "gemini", "offline")
"""The providers a person may name. `offline` is the demo's model, opted into."""
KNOWN = (*PROVIDERS, SCRIPTED)
"""And the test double that tests register on a worker (taskagent.testing)."""


def parse_model(ref: str) -> tuple[str, str]:
    """Split `provider:model` (e.g. `openai:gpt-4o-mini`) into its two parts."""
    provider, sep, model = ref.partition(":")
    provider, model = provider.strip(), model.strip()
    if not sep:
        raise ValueError(
            f"model {ref!r} names no provider: write provider:model, e.g. openai:gpt-4o-mini "
            f"(providers: {', '.join(PROVIDERS)})"
        )
    if provider not in KNOWN:
        raise ValueError(
            f"model {ref!r}: unknown provider {provider!r} (providers: {', '.join(PROVIDERS)})"
        )
    if not model:
        raise ValueError(f"model {ref!r} names no model after {provider + ':'!r}")
    return provider, model
