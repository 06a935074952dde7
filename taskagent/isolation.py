"""Running code where a deadline really stops it: a child process, killed at its deadline, with
CPU-time and memory limits.

A thread cannot be stopped, and some work never returns to the interpreter to notice a timeout:
SQLite building `printf('%.*c', 2000000000, 'x')` ignores its progress handler and ran 14 s past a
1 s limit, and `10**(10**8)` holds the GIL for minutes, freezing every run on the worker. In a
child process the same work is killed at the deadline and the worker carries on. Children are
forked from a fork server that has TaskAgent's tools loaded, so a call costs milliseconds, not an
interpreter's start (a user function's own module is imported in the child on each call).

What the child raises is raised again in the caller, the same exception (or, if it cannot be
pickled, a RuntimeError naming it); a stopped child raises the caller's `stopped` error class.
"""

from __future__ import annotations

import asyncio
import inspect
import multiprocessing
import pickle
import resource
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

T = TypeVar("T")

MAX_MEMORY_BYTES = 1 << 30
"""A child's address space (1 GiB): allocating past it fails inside the child, not the worker."""
_context = multiprocessing.get_context("forkserver")
_preloaded = ["taskagent.tools.builtins"]
_context.set_forkserver_preload(_preloaded)


def preload(module: str) -> None:
    """Have the fork server import `module` when it starts (at the first isolated call), so that
    its children do not import it on every call: registering an isolated function or tool does
    this for its module."""
    if module not in _preloaded and module != "__main__":
        _preloaded.append(module)
        _context.set_forkserver_preload(_preloaded)


class Stopped(Exception):
    """The work was stopped: it ran past its deadline, or over its CPU or memory limit."""


def run_isolated(
    func: Callable[..., T],
    *args: Any,
    seconds: float,
    what: str,
    max_memory: int = MAX_MEMORY_BYTES,
    stopped: type[Exception] = Stopped,
) -> T:
    """`func(*args)` in a child process, waiting in this thread; `stopped(message)` if it runs
    past `seconds` (it is killed) or over its limits. `func` and its arguments must pickle."""
    child, receiving = _start(func, args, seconds, max_memory)
    try:
        ready = receiving.poll(seconds)
        return _outcome(receiving, ready, seconds, what, max_memory, stopped)  # type: ignore[no-any-return]
    finally:
        _end(child, receiving)


async def call_isolated(
    func: Callable[..., T],
    *args: Any,
    seconds: float,
    what: str,
    max_memory: int = MAX_MEMORY_BYTES,
    stopped: type[Exception] = Stopped,
) -> T:
    """As `run_isolated`, awaited: cancelling the caller kills the child at once."""
    # In a thread: the first call starts the fork server, which imports the preloaded modules.
    starting = asyncio.create_task(asyncio.to_thread(_start, func, args, seconds, max_memory))
    try:
        child, receiving = await asyncio.shield(starting)
    except asyncio.CancelledError:  # cancelled while starting: the child is stopped all the same
        _end(*await starting)
        raise
    try:
        ready = await asyncio.to_thread(receiving.poll, seconds)
        return _outcome(receiving, ready, seconds, what, max_memory, stopped)  # type: ignore[no-any-return]
    finally:  # on cancellation too: the kill ends the poll waiting in its thread
        _end(child, receiving)


async def call_user_code(
    func: Callable[..., Any],
    *args: Any,
    isolated: bool,
    seconds: float,
    what: str,
    max_memory: int = MAX_MEMORY_BYTES,
    stopped: type[Exception] = Stopped,
) -> Any:
    """Run a user's function (a code step's, a tool's): a coroutine function on the event loop;
    a synchronous one in a thread, or, `isolated`, in a child process (see `call_isolated`)."""
    if inspect.iscoroutinefunction(func):
        return await func(*args)
    if isolated:
        return await call_isolated(
            func, *args, seconds=seconds, what=what, max_memory=max_memory, stopped=stopped
        )
    result = await asyncio.to_thread(func, *args)
    if inspect.isawaitable(result):
        return await result
    return result


def check_isolable(func: Callable[..., Any], label: str) -> None:
    """TypeError unless `func` can run isolated (only synchronous code can be killed); its
    module is preloaded by the fork server."""
    if inspect.iscoroutinefunction(func):
        raise TypeError(
            f"{label} is async: only a synchronous function can run isolated (a child process "
            "stops what an event loop cannot); make it a plain def"
        )
    preload(func.__module__)


def _start(
    func: Callable[..., Any], args: tuple[Any, ...], seconds: float, max_memory: int
) -> tuple[BaseProcess, Connection]:
    receiving, sending = _context.Pipe(duplex=False)
    child = _context.Process(
        target=_child, args=(sending, func, args, seconds, max_memory), daemon=True
    )
    child.start()
    sending.close()
    return child, receiving


def _end(child: BaseProcess, receiving: Connection) -> None:
    if child.is_alive():
        child.kill()
    child.join()
    receiving.close()


def _outcome(
    receiving: Connection,
    ready: bool,
    seconds: float,
    what: str,
    max_memory: int,
    stopped: type[Exception],
) -> Any:
    if not ready:
        raise stopped(f"{what} ran longer than {seconds:g} s and was stopped")
    try:
        ok, value = receiving.recv()
    except EOFError:  # the child died: a limit, or a crash
        raise stopped(f"{what} was stopped: it exceeded its CPU or memory limit") from None
    if ok:
        return value
    if isinstance(value, MemoryError):
        raise stopped(f"{what} ran out of memory (limit {max_memory >> 20} MiB)")
    raise value


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
    except BaseException as err:  # every failure goes back to the parent
        result = (False, _portable(err))
    try:
        sending.send(result)
    except Exception as err:  # a result that cannot be pickled is the function's failure
        sending.send((False, RuntimeError(f"the result could not be sent back: {err}")))
    sending.close()


def _portable(err: BaseException) -> BaseException:
    """`err` if it survives pickling, else a RuntimeError that names it."""
    try:
        pickle.loads(pickle.dumps(err))
    except Exception:
        return RuntimeError(f"{type(err).__name__}: {err}")
    return err
