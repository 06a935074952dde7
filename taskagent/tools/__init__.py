"""Tools that LLM agents may call: describe them, collect them in a catalog, run them as activities.

Which tools a step may call is the workflow's decision (an allow-list per agent step); the tool
activity only refuses names that no catalog entry has.
"""

from taskagent.names import TOOL_CALL_ACTIVITY
from taskagent.tools.builtins import builtin_tools
from taskagent.tools.registry import (
    DEFAULT_TOOL_TIMEOUT,
    INVALID_ARGUMENTS,
    INVALID_TOOL_OUTPUT,
    TOOL_ERROR,
    UNKNOWN_TOOL,
    ToolCallRequest,
    ToolCallResult,
    ToolCatalog,
    ToolError,
    ToolInfo,
    describe_tool,
)

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
