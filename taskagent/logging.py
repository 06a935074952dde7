"""Structured logging for the processes outside workflows (worker, starter), in one place.

Every line is structlog's, Temporal's own included, as console text or JSON. Lines written
while a step runs, in workflow code or in its activities, carry the step's scope
(taskagent.scope.SCOPE; taskagent.telemetry.interceptor carries it to the activities). An
expected failure (a Temporal failure with no bug behind it: bad input, a provider error,
validation exhausted) is one line with its type and message; a bug's traceback is printed
plainly, never with the values of its local variables, which hold prompts, run inputs and specs.

Prompts, answers and tool arguments and results are logged only when switched on
(`TASKAGENT_LOG_CONTENT=true`, `configure_logging(content=True)`): `content()` says whether,
and a line carries them only if it asked (so a process that never configured logging logs none).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger
from temporalio import activity, workflow
from temporalio.exceptions import FailureError

from taskagent.redaction import Redactor
from taskagent.scope import SCOPE

_TEMPORAL_FIELDS = {
    "workflow_id": "workflow_id",
    "run_id": "run_id",
    "workflow_type": "workflow_type",
    "activity_type": "activity",
    "attempt": "attempt",
}


def _temporal_context(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Temporal's loggers put the workflow's or activity's ids in `temporal_*` extras: flatten
    the useful ones next to ours, with the scope of the step the line comes from."""
    for extra in ("temporal_workflow", "temporal_activity"):
        ids = event.pop(extra, None)
        if isinstance(ids, dict):
            for key, name in _TEMPORAL_FIELDS.items():
                if key in ids:
                    event.setdefault(name, ids[key])
    event.pop("__temporal_error_identifier", None)
    scope = SCOPE.get()  # the step's, in workflow code and in activities alike
    if scope is not None:
        for key, value in scope.fields().items():
            event.setdefault(key, value)
    return event


def is_expected(error: BaseException) -> bool:
    """A classified failure (Temporal's failure types) with no other exception behind it."""
    cause: BaseException | None = error
    while cause is not None:
        if not isinstance(cause, FailureError):
            return False
        cause = cause.__cause__
    return True


def _one_line_failures(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    info = event.get("exc_info")
    if info is True:
        info = sys.exc_info()
    error = info[1] if isinstance(info, tuple) else info
    if isinstance(error, BaseException) and is_expected(error):
        event.pop("exc_info")
        event["error"] = _describe(error)
    return event


def _describe(error: BaseException) -> str:
    parts = []
    cause: BaseException | None = error
    while cause is not None:
        kind = getattr(cause, "type", None) or type(cause).__name__
        text = str(cause)
        parts.append(text if text.startswith(kind) else f"{kind}: {text}")
        cause = cause.__cause__
    return " <- ".join(parts)


def processors() -> list[Processor]:
    """What every line goes through before rendering (shared by our logs and the stdlib's)."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.stdlib.ExtraAdder(),
        _temporal_context,
        _one_line_failures,
        structlog.processors.format_exc_info,  # a traceback is text, redacted like the rest
        _redacted,
    ]


_redact = Redactor()
"""Set by configure_logging with the process's secrets: no log line may show one."""


def redact_with(redact: Redactor) -> None:
    """Hide these secrets in every line from now on (a worker learns its provider keys, the
    models file's included, after its logging is set up)."""
    global _redact
    _redact = redact


def _redacted(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    for key, value in event_dict.items():
        if not key.startswith("_"):  # structlog's own (the stdlib record) are never shown
            event_dict[key] = _scrubbed(value)
    return event_dict


def _scrubbed(value: Any) -> Any:
    """A field's value with every secret hidden: texts, the texts inside containers, and any
    other object as the text a renderer would show for it (its repr)."""
    if isinstance(value, str):
        return _redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {key: _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrubbed(item) for item in value]
    return _redact(repr(value))


CONTENT_CHARS = 4_000
"""A logged prompt, answer or tool result is cut to this many characters."""
_content = False


def content() -> bool:
    """Whether log lines may carry prompts, answers and tool arguments and results."""
    return _content


def clipped(text: str | None) -> str | None:
    """Content as logged: at most CONTENT_CHARS characters."""
    if text is None or len(text) <= CONTENT_CHARS:
        return text
    return f"{text[:CONTENT_CHARS]}… [{len(text)} characters]"


def configure_logging(
    fmt: str = "console", level: str = "INFO", content: bool = False, redact: Redactor | None = None
) -> None:
    """structlog for our own logs and the standard library's (Temporal's) alike, on stderr;
    `content` lets lines carry prompts, answers and tool arguments and results; `redact` hides
    the process's secrets (and anything shaped like a credential) in every line."""
    global _content
    _content = content
    redact_with(redact or Redactor())
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared = processors()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The ids go in fields (above), not appended to every message as a dict's text.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
