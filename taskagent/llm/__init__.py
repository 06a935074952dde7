"""Model providers behind one small contract: `await provider.complete(request, model)`.

Build providers with `ProviderFactory` (keys and base URLs from the environment), route by
`provider:model` references, and close them with `await factory.aclose()`.

Only the contract types are imported eagerly: workflow code imports `taskagent.llm.types`, and
that must not pull in settings or provider machinery. The rest loads on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from taskagent.llm.types import (
    Message,
    ModelRequest,
    ModelResponse,
    Provider,
    ProviderError,
    Role,
    ToolCall,
    ToolSpec,
    Usage,
)

if TYPE_CHECKING:
    from taskagent.llm.errors import (
        classify_error,
        classify_gemini_error,
        classify_openai_error,
        parse_retry_after,
    )
    from taskagent.llm.factory import ProviderFactory, ProviderSettings
    from taskagent.llm.offline import OfflineProvider, schema_instance
    from taskagent.llm.refs import PROVIDERS, parse_model

_LAZY = {
    "classify_error": "errors",
    "classify_gemini_error": "errors",
    "classify_openai_error": "errors",
    "parse_retry_after": "errors",
    "PROVIDERS": "refs",
    "ProviderFactory": "factory",
    "ProviderSettings": "factory",
    "parse_model": "refs",
    "OfflineProvider": "offline",
    "schema_instance": "offline",
}

__all__ = [
    "PROVIDERS",
    "Message",
    "ModelRequest",
    "ModelResponse",
    "OfflineProvider",
    "Provider",
    "ProviderError",
    "ProviderFactory",
    "ProviderSettings",
    "Role",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "classify_error",
    "classify_gemini_error",
    "classify_openai_error",
    "parse_model",
    "parse_retry_after",
    "schema_instance",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
