"""Tools that agents may call: their descriptions and the catalog a worker serves.

A tool is a Python function of one pydantic model (its arguments). The model's JSON Schema is what
the LLM sees; the same model checks the arguments the LLM sends back before the tool runs.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar, get_type_hints

from pydantic import BaseModel, TypeAdapter
from pydantic.errors import PydanticInvalidForJsonSchema, PydanticSchemaGenerationError

from taskagent.errors import ErrorType
from taskagent.isolation import MAX_MEMORY_BYTES, call_user_code, check_isolable
from taskagent.llm.types import ToolSpec
from taskagent.ratelimit import RateLimits
from taskagent.spec import RetrySpec

UNKNOWN_TOOL = ErrorType.UNKNOWN_TOOL
INVALID_ARGUMENTS = ErrorType.INVALID_ARGUMENTS
TOOL_ERROR = ErrorType.TOOL_ERROR
INVALID_TOOL_OUTPUT = ErrorType.INVALID_TOOL_OUTPUT

DEFAULT_TOOL_TIMEOUT = timedelta(seconds=30)
# The names providers accept for functions (OpenAI's rule, the strictest of them).
TOOL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

F = TypeVar("F", bound=Callable[..., Any])


class ToolError(Exception):
    """An expected failure of a tool (bad SQL, unknown zone): its message goes back to the model.

    The call is not retried; the model may correct itself. Raise any other exception for failures
    worth retrying (a dropped connection, a busy database).
    """


@dataclass(frozen=True)
class ToolInfo:
    """A tool with the adapter that checks its arguments and the limits of one call."""

    name: str
    description: str
    func: Callable[..., Any]
    args_adapter: TypeAdapter[Any]
    timeout: timedelta = DEFAULT_TOOL_TIMEOUT
    retry: RetrySpec = field(default_factory=RetrySpec)
    output_adapter: TypeAdapter[Any] = field(default_factory=lambda: TypeAdapter(Any))
    roles: tuple[str, ...] = ()
    """A run may use the tool only if whoever started it has one of these roles (if any)."""
    rate_limit: RateLimits | None = None
    """Calls per window, across every worker of the task queue (as models' rate limits)."""
    isolated: bool = False
    """It runs in a child process, killed at its timeout, within CPU and memory limits."""
    max_memory_mb: int = MAX_MEMORY_BYTES >> 20
    """An isolated tool's memory (address space) limit."""

    def permits(self, roles: Iterable[str]) -> bool:
        """Whether a run with `roles` may call the tool."""
        return not self.roles or bool(set(self.roles) & set(roles))

    def spec(self) -> ToolSpec:
        """The tool as offered to a model: the JSON Schema of its arguments, without titles."""
        schema = _strip_titles(self.args_adapter.json_schema())
        return ToolSpec(name=self.name, description=self.description, parameters=schema)

    def parse_arguments(self, raw: str) -> Any:
        """The arguments model from the model's JSON text; raises pydantic.ValidationError.

        Empty text means no arguments: some models send "" for tools without parameters.
        """
        return self.args_adapter.validate_json(raw.strip() or "{}")

    async def call(self, args: Any) -> Any:
        """Run the tool on validated arguments; sync functions run in a thread, or an isolated
        one in a child process, stopped (ToolError) a second before the call's timeout."""
        return await call_user_code(
            self.func,
            args,
            isolated=self.isolated,
            seconds=max(self.timeout.total_seconds() - 1, 1),
            what=f"the tool {self.name!r}",
            max_memory=self.max_memory_mb << 20,
            stopped=ToolError,
        )

    def render(self, output: Any) -> str:
        """The text a model reads: strings as they are, anything else as JSON.

        Raises pydantic.ValidationError when the output does not match the return annotation.
        """
        checked = self.output_adapter.validate_python(output)
        if isinstance(checked, str):
            return checked
        return self.output_adapter.dump_json(checked).decode()


def describe_tool(
    func: Callable[..., Any] | Callable[..., Awaitable[Any]],
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: timedelta = DEFAULT_TOOL_TIMEOUT,
    retry: RetrySpec | None = None,
    roles: Iterable[str] = (),
    rate_limit: RateLimits | str | None = None,
    isolated: bool = False,
    max_memory_mb: int | None = None,
) -> ToolInfo:
    """Build the ToolInfo of `func`; `roles`: whoever starts a run that calls it needs one;
    `rate_limit`: `"10/minute"` (or `second`, `hour`), or RateLimits.

    `func` takes exactly one parameter annotated with a pydantic model (the arguments) and returns
    a str, a pydantic model or JSON-able data. The description defaults to the docstring.
    """
    label = getattr(func, "__qualname__", repr(func))
    tool_name = str(name or getattr(func, "__name__", ""))
    if not TOOL_NAME_PATTERN.match(tool_name):
        raise ValueError(
            f"tool name {tool_name!r} must be 1-64 letters, digits, underscores or hyphens"
        )
    params = list(inspect.signature(func).parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if len(params) != 1 or params[0].kind not in positional:
        raise TypeError(
            f"tool {label} must take exactly one positional parameter, annotated with a "
            f"pydantic model of its arguments; it takes {inspect.signature(func)}"
        )
    try:
        hints = get_type_hints(func)
    except NameError as err:
        raise TypeError(f"tool {label} has an annotation that cannot be resolved: {err}") from err
    args_type = hints.get(params[0].name)
    if not (isinstance(args_type, type) and issubclass(args_type, BaseModel)):
        raise TypeError(
            f"the parameter {params[0].name!r} of tool {label} must be annotated with a pydantic "
            f"BaseModel subclass (the arguments), not {args_type!r}"
        )
    if isolated:
        check_isolable(func, f"tool {label}")
    output_type = hints.get("return", Any)
    try:
        output_adapter = TypeAdapter(output_type)
        output_adapter.json_schema(mode="serialization")
    except (PydanticSchemaGenerationError, PydanticInvalidForJsonSchema) as err:
        raise TypeError(
            f"tool {label} must return a str, a pydantic model or JSON-able data, "
            f"not {output_type!r}"
        ) from err
    return ToolInfo(
        name=tool_name,
        description=description if description is not None else inspect.getdoc(func) or "",
        func=func,
        args_adapter=TypeAdapter(args_type),
        timeout=timeout,
        retry=retry or RetrySpec(),
        output_adapter=output_adapter,
        roles=tuple(roles),
        rate_limit=parse_rate(rate_limit) if isinstance(rate_limit, str) else rate_limit,
        isolated=isolated,
        max_memory_mb=max_memory_mb or MAX_MEMORY_BYTES >> 20,
    )


class ToolCatalog:
    """The tools a worker serves, by name. Which of them a step may call is the workflow's call."""

    def __init__(self) -> None:
        self._tools: dict[str, ToolInfo] = {}

    def add(self, info: ToolInfo) -> None:
        """Add a tool; adding the same function under the same name again keeps the first."""
        existing = self._tools.get(info.name)
        if existing is not None:
            if existing.func != info.func:
                raise ValueError(f"tool {info.name!r} is registered twice, by different functions")
            return
        self._tools[info.name] = info

    def get(self, name: str) -> ToolInfo | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def specs(self, names: Iterable[str] | None = None) -> list[ToolSpec]:
        """Specs of the named tools (all by default) in the order asked; KeyError if unknown."""
        return [self._tools[name].spec() for name in (self.names() if names is None else names)]

    def tool(
        self,
        name: str | None = None,
        *,
        description: str | None = None,
        timeout: timedelta = DEFAULT_TOOL_TIMEOUT,
        retry: RetrySpec | None = None,
        roles: Iterable[str] = (),
        rate_limit: RateLimits | str | None = None,
        isolated: bool = False,
        max_memory_mb: int | None = None,
    ) -> Callable[[F], F]:
        """Register a function as a tool: `@catalog.tool()`. The function is returned unchanged.
        With `roles`, only runs started by someone with one of them may call it; `rate_limit`
        (`"10/minute"`) holds across every worker of the task queue; `isolated=True` runs a
        synchronous tool in a child process stopped at its timeout, within CPU and memory
        (`max_memory_mb`) limits."""

        def decorate(func: F) -> F:
            self.add(
                describe_tool(
                    func,
                    name=name,
                    description=description,
                    timeout=timeout,
                    retry=retry,
                    roles=roles,
                    rate_limit=rate_limit,
                    isolated=isolated,
                    max_memory_mb=max_memory_mb,
                )
            )
            return func

        return decorate

    def rate_limits(self) -> dict[str, RateLimits]:
        """The limited tools' limits, keyed as the rate limiter keys them (`tool:<name>`)."""
        return {
            rate_key(name): info.rate_limit
            for name, info in self._tools.items()
            if info.rate_limit is not None
        }

    def include(self, other: ToolCatalog) -> None:
        """Add every tool of `other`."""
        for info in other._tools.values():
            self.add(info)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)


# Keys whose value maps names to schemas: the names are data, never the `title` keyword.
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions"})
# Keys whose value is instance data, left untouched.
_DATA_KEYS = frozenset({"default", "const", "enum", "examples"})


def _strip_titles(node: Any, *, names: bool = False) -> Any:
    if isinstance(node, list):
        return [_strip_titles(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {key: _strip_titles(value) for key, value in node.items()}
    return {
        key: value if key in _DATA_KEYS else _strip_titles(value, names=key in _SCHEMA_MAPS)
        for key, value in node.items()
        if key != "title"
    }


_PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}


def parse_rate(text: str) -> RateLimits:
    """`"10/minute"` (or `second`, `hour`) as RateLimits; ValueError naming the form otherwise."""
    count, _, period = text.replace(" ", "").partition("/")
    if not count.isdigit() or int(count) < 1 or period.rstrip("s") not in _PERIODS:
        raise ValueError(f"rate limit {text!r}: write <calls>/<second|minute|hour>, e.g. 10/minute")
    return RateLimits(requests=int(count), window_seconds=_PERIODS[period.rstrip("s")])


def rate_key(tool: str) -> str:
    """A tool's key with the rate limiter (the models' are `provider:model`)."""
    return f"tool:{tool}"
