"""Running a tool's work where a timeout really stops it: a child process, killed at its deadline,
with CPU-time and memory limits.

A thread cannot be stopped, and some work never returns to the interpreter to notice a timeout:
SQLite building `printf('%.*c', 2000000000, 'x')` ignores its progress handler and ran 14 s past a
1 s limit. In a child process the same query is killed at the deadline and the worker carries on.
Children are forked from a fork server that has the tools loaded, so a call costs milliseconds,
not an interpreter's start.
"""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from taskagent.tools.registry import ToolError

T = TypeVar("T")

MAX_MEMORY_BYTES = 1 << 30
"""A child's address space (1 GiB): allocating past it fails inside the child, not the worker."""
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["taskagent.tools.builtins"])


def run_isolated(
    func: Callable[..., T],
    *args: Any,
    seconds: float,
    what: str,
    max_memory: int = MAX_MEMORY_BYTES,
) -> T:
    """`func(*args)` in a child process; ToolError if it runs past `seconds` (it is killed) or
    runs out of memory. `func` and its arguments must pickle; a ToolError it raises is raised
    here with the same message, anything else as a RuntimeError (a transient failure)."""
    receiving, sending = _context.Pipe(duplex=False)
    child = _context.Process(
        target=_child, args=(sending, func, args, seconds, max_memory), daemon=True
    )
    child.start()
    sending.close()
    try:
        if not receiving.poll(seconds):
            raise ToolError(f"{what} ran longer than {seconds:g} s and was stopped")
        try:
            ok, value = receiving.recv()
        except EOFError:  # the child died: a limit, or a crash
            raise ToolError(f"{what} was stopped: it exceeded its CPU or memory limit") from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiving.close()
    if ok:
        return value  # type: ignore[no-any-return]
    kind, message = value
    if kind == "ToolError":
        raise ToolError(message)
    if kind == "MemoryError":
        raise ToolError(f"{what} ran out of memory (limit {max_memory >> 20} MiB)")
    raise RuntimeError(f"{kind}: {message}")


def _child(
    sending: Connection,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    seconds: float,
    memory: int,
) -> None:
    cpu = int(seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        result: tuple[bool, Any] = (True, func(*args))
    except BaseException as err:  # every failure goes back to the parent, named
        result = (False, (type(err).__name__, str(err)))
    sending.send(result)
    sending.close()
