"""A run's events as a person follows them in a terminal: one line per event that matters, and
the models' answers written out as they arrive.

Text deltas of one model call are written on one line, after the step's name; a delta of another
call (or another event) starts a new line. An answer that validation rejects is marked as such
right after its text, so that a reader knows which text was thrown away.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape

from taskagent.events import EventKind, RunEvent

_ICONS = {
    EventKind.STEP_STARTED: "▶",
    EventKind.STEP_RESUMED: "▶",
    EventKind.STEP_COMPLETED: "[green]✓[/green]",
    EventKind.STEP_FAILED: "[red]✗[/red]",
    EventKind.STEP_SKIPPED: "↷",
    EventKind.STEP_CANCELLED: "■",
    EventKind.STEP_WAITING: "[yellow]⏸[/yellow]",
    EventKind.STEP_NOTICE: "…",
}


class EventView:
    """Writes the events of one run to a console (the starter's stderr)."""

    def __init__(self, console: Console, workflow_id: str) -> None:
        self._console = console
        self._workflow_id = workflow_id
        self._streaming: tuple[Any, ...] | None = None  # the call whose text is being written

    def show(self, event: RunEvent) -> None:
        if event.kind == EventKind.DELTA:
            self._delta(event)
            return
        line = self._line(event)
        if line is not None:
            self._end_text()
            self._console.print(line, highlight=False, soft_wrap=True)

    def close(self) -> None:
        self._end_text()

    def _delta(self, event: RunEvent) -> None:
        key = (event.step, event.attempt, event.call, event.try_)
        if key != self._streaming:
            self._end_text()
            self._streaming = key
            self._console.print(f"    [dim]{escape(event.step or '')} ✎[/dim] ", end="")
        self._console.out(event.text or "", end="", highlight=False)

    def _end_text(self) -> None:
        if self._streaming is not None:
            self._streaming = None
            self._console.out("")

    def _line(self, event: RunEvent) -> str | None:
        kind, step = event.kind, escape(event.step or "")
        if kind == EventKind.RUN_STARTED:
            return f"[bold]{escape(event.pipeline or '')}[/bold] started"
        if kind == EventKind.RUN_CONTINUED:
            return "[dim]the run continued as new (its history grew long); following[/dim]"
        if kind in (EventKind.RUN_COMPLETED, EventKind.RUN_FAILED, EventKind.RUN_CANCELLED):
            return None  # the result follows
        if kind in _ICONS:
            return f"  {_ICONS[EventKind(kind)]} {step}{self._step_detail(event)}"
        if kind == EventKind.MODEL_RESPONSE:
            tokens = f"{event.input_tokens or 0}+{event.output_tokens or 0} tokens"
            cost = f" · ${event.cost_usd:.6f}" if event.cost_usd else ""
            retried = f" · try {event.try_}" if event.try_ and event.try_ > 1 else ""
            latency = f" · {event.latency_ms:.0f} ms" if event.latency_ms else ""
            model = escape(event.model or "")
            return f"    [dim]{step} ← {model}: {tokens}{cost}{latency}{retried}[/dim]"
        if kind == EventKind.TOOL_COMPLETED:
            error = f": {escape(event.error[:120])}" if event.error else ""
            return f"    [dim]{step} tool {escape(event.tool or '')} → {event.outcome}{error}[/dim]"
        if kind == EventKind.VALIDATION_FAILED:
            errors = "; ".join(event.errors or [])[:300]
            return f"    [yellow]{step} answer {event.attempt} rejected:[/yellow] {escape(errors)}"
        if kind == EventKind.MESSAGE_RECEIVED:
            data = event.data or {}
            topic = f" on topic {escape(str(data['topic']))}" if data.get("topic") else ""
            return f"  ✉ message from {escape(str(data.get('sender', '?')))}{topic}"
        return None  # model requests, and kinds from newer releases

    def _step_detail(self, event: RunEvent) -> str:
        kind = event.kind
        if kind == EventKind.STEP_STARTED:
            return f" [dim]({event.step_kind})[/dim]"
        if kind == EventKind.STEP_COMPLETED:
            parts = [f"{event.duration_ms / 1000:.1f} s" if event.duration_ms is not None else ""]
            if event.attempt and event.attempt > 1:
                parts.append(f"{event.attempt} attempts")
            if event.cost_usd:
                parts.append(f"${event.cost_usd:.6f}")
            return f" [dim]{' · '.join(p for p in parts if p)}[/dim]"
        if kind == EventKind.STEP_FAILED:
            return f": [red]{escape(event.error or '')}[/red]"
        if kind == EventKind.STEP_WAITING:
            return self._waiting(event)
        reason = event.reason
        return f": {escape(reason)}" if reason else ""

    def _waiting(self, event: RunEvent) -> str:
        step, wid = event.step or "", self._workflow_id
        if event.waiting_for == "approval":
            asked = event.data or {}
            payload = json.dumps(asked.get("payload"), default=str)[:500]
            prompt = asked.get("prompt") or "approve?"
            return (
                f" waits for approval: {escape(str(prompt))}\n      payload: {escape(payload)}\n"
                f"      python starter.py approve {wid} {step}  (or reject)"
            )
        return (
            f" paused for an operator: {escape(event.error or '')}\n"
            f"      python starter.py retry|skip|abort {wid} {step}"
        )
