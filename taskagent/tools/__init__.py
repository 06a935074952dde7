"""Tools that LLM agents may call: describe them, collect them in a catalog, run them as activities.

Which tools a step may call is the workflow's decision (an allow-list per agent step); the tool
activity only refuses names that no catalog entry has. Names load on first use, so that importing
this package does not open databases or HTTP clients.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taskagent.names import TOOL_CALL_ACTIVITY
    from taskagent.results import ToolCallRequest, ToolCallResult
    from taskagent.tools.builtins import builtin_tools
    from taskagent.tools.registry import (
        DEFAULT_TOOL_TIMEOUT,
        INVALID_ARGUMENTS,
        INVALID_TOOL_OUTPUT,
        TOOL_ERROR,
        UNKNOWN_TOOL,
        ToolCatalog,
        ToolError,
        ToolInfo,
        describe_tool,
    )

_MODULES = {
    "TOOL_CALL_ACTIVITY": "taskagent.names",
    "ToolCallRequest": "taskagent.results",
    "ToolCallResult": "taskagent.results",
    "builtin_tools": "taskagent.tools.builtins",
    "DEFAULT_TOOL_TIMEOUT": "taskagent.tools.registry",
    "INVALID_ARGUMENTS": "taskagent.tools.registry",
    "INVALID_TOOL_OUTPUT": "taskagent.tools.registry",
    "TOOL_ERROR": "taskagent.tools.registry",
    "UNKNOWN_TOOL": "taskagent.tools.registry",
    "ToolCatalog": "taskagent.tools.registry",
    "ToolError": "taskagent.tools.registry",
    "ToolInfo": "taskagent.tools.registry",
    "describe_tool": "taskagent.tools.registry",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_TOOL_TIMEOUT",
    "INVALID_ARGUMENTS",
    "INVALID_TOOL_OUTPUT",
    "TOOL_CALL_ACTIVITY",
    "TOOL_ERROR",
    "UNKNOWN_TOOL",
    "ToolCallRequest",
    "ToolCallResult",
    "ToolCatalog",
    "ToolError",
    "ToolInfo",
    "builtin_tools",
    "describe_tool",
]
