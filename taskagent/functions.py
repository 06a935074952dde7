"""Registered Python functions: the code that code steps and custom merges run."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from pydantic import TypeAdapter

from taskagent.isolation import MAX_MEMORY_BYTES, call_user_code, check_isolable

DEFAULT_ISOLATED_SECONDS = 300.0
"""An isolated function's deadline when its caller gives none (a code step's attempt)."""


@dataclass(frozen=True)
class StepContext:
    """What a function may know about the step that runs it.

    `idempotency_key` is stable across Temporal's retries of one execution of the step: use it to
    make side effects (payments, e-mails, commits) happen once. It changes when the step is run
    again on purpose: after a reset (`starter.py rerun --from`) or an operator's retry with a new
    input.
    """

    step_id: str
    workflow_id: str
    run_id: str
    attempt: int
    execution: int = 0

    @property
    def idempotency_key(self) -> str:
        """`<workflow id>/<run id>/<step>`, plus `#<n>` after an operator's n-th new input."""
        suffix = f"#{self.execution}" if self.execution else ""
        return f"{self.workflow_id}/{self.run_id}/{self.step_id}{suffix}"


@dataclass(frozen=True)
class FunctionInfo:
    """A registered function with the adapters that check its input and output."""

    name: str
    func: Callable[..., Any]
    input_adapter: TypeAdapter[Any]
    output_adapter: TypeAdapter[Any]
    local: bool
    takes_context: bool
    description: str
    side_effects: bool = False
    """It changes the world (pays, sends, writes): a dry run skips it."""
    isolated: bool = False
    """It runs in a child process, killed at its deadline, within CPU and memory limits."""
    max_memory_mb: int = MAX_MEMORY_BYTES >> 20
    """An isolated function's memory (address space) limit."""

    _schemas: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)

    def input_schema(self) -> dict[str, Any]:
        if "input" not in self._schemas:
            self._schemas["input"] = self.input_adapter.json_schema()
        return self._schemas["input"]

    def output_schema(self) -> dict[str, Any]:
        """The JSON Schema of the output (generated once: every validation and run asks)."""
        if "output" not in self._schemas:
            self._schemas["output"] = self.output_adapter.json_schema()
        return self._schemas["output"]

    async def call(self, value: Any, context: StepContext, seconds: float | None = None) -> Any:
        """Run the function on an already validated input; sync functions run in a thread, or
        an isolated one in a child process stopped after `seconds` (Stopped)."""
        args: tuple[Any, ...] = (value, context) if self.takes_context else (value,)
        return await call_user_code(
            self.func,
            *args,
            isolated=self.isolated,
            seconds=seconds or DEFAULT_ISOLATED_SECONDS,
            what=f"function {self.name!r}",
            max_memory=self.max_memory_mb << 20,
        )


def describe_function(
    func: Callable[..., Any] | Callable[..., Awaitable[Any]],
    *,
    name: str | None = None,
    local: bool = False,
    side_effects: bool = False,
    isolated: bool = False,
    max_memory_mb: int | None = None,
) -> FunctionInfo:
    """Build the FunctionInfo of `func` from its type hints.

    The first parameter is the input (its annotation is the input type), an optional second
    parameter receives a StepContext, and the return annotation is the output type.
    """
    params = list(inspect.signature(func).parameters.values())
    if not params or len(params) > 2:
        raise TypeError(
            f"{func.__qualname__} must take one input parameter and optionally a StepContext"
        )
    if isolated:
        check_isolable(func, func.__qualname__)
    hints = get_type_hints(func)
    input_type = hints.get(params[0].name, Any)
    output_type = hints.get("return", Any)
    return FunctionInfo(
        name=name or func.__name__,
        func=func,
        input_adapter=TypeAdapter(input_type),
        output_adapter=TypeAdapter(output_type),
        local=local,
        takes_context=len(params) == 2,
        description=inspect.getdoc(func) or "",
        side_effects=side_effects,
        isolated=isolated,
        max_memory_mb=max_memory_mb or MAX_MEMORY_BYTES >> 20,
    )
