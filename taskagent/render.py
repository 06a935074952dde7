"""Markdown views of a pipeline and of a run: the Web UI's summary and details."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from taskagent.graph import routes_to
from taskagent.results import PipelineResult, RunProgress, StepResult, StepStatus
from taskagent.spec import PipelineSpec

ICONS = {
    StepStatus.PENDING: "·",
    StepStatus.RUNNING: "▶",
    StepStatus.COMPLETED: "✔",
    StepStatus.FAILED: "✘",
    StepStatus.SKIPPED: "↷",
    StepStatus.CANCELLED: "⊘",
    StepStatus.WAITING: "⏸",
}


def static_summary(spec: PipelineSpec) -> str:
    """One line for the run list: the pipeline and its size."""
    return f"pipeline {spec.name} · {len(spec.steps)} steps"


DETAILED_STEPS = 60
"""The static details list at most this many steps (Temporal bounds their size)."""


def static_details(spec: PipelineSpec) -> str:
    """The pipeline and its graph as Markdown that reads well in the Web UI (which renders
    Markdown, not diagrams, and tables without spacing): one line per step, with what it waits
    for and when it runs."""
    description = f"\n\n{spec.description}" if spec.description else ""
    chosen = routes_to(spec.steps)
    rows = []
    for step in spec.steps[:DETAILED_STEPS]:
        line = f"- **{step.id}** ({step.kind})"
        line += f" after {', '.join(step.depends_on)}" if step.depends_on else " first"
        when = [*(f"chosen by {c}" for c in chosen.get(step.id, [])), step.condition or ""]
        if any(when):
            line += f", when {' or '.join(w for w in when if w)}"
        rows.append(line)
    if len(spec.steps) > DETAILED_STEPS:
        rows.append(f"\n{len(spec.steps) - DETAILED_STEPS} more steps: `starter.py export`")
    return (
        f"### Pipeline `{spec.name}` v{spec.version}{description}\n\n"
        f"{len(spec.steps)} steps · failure policy `{spec.on_failure.value}`\n\n"
        + "\n".join(rows)
        + "\n"
    )


def counts_line(counts: Mapping[StepStatus, int]) -> str:
    """`3/5 settled · 1 running · 1 failed` from the number of steps in each status."""
    total = sum(counts.values())
    settled = sum(n for status, n in counts.items() if status.settled)
    parts = [f"{settled}/{total} settled"]
    parts += [
        f"{n} {status.value.lower()}"
        for status in StepStatus
        if (n := counts.get(status, 0)) and status not in (StepStatus.COMPLETED, StepStatus.PENDING)
    ]
    return " · ".join(parts)


def progress_line(progress: PipelineResult | RunProgress) -> str:
    """`3/5 settled · 1 running · 1 failed` for a run's result or progress."""
    return counts_line(Counter(step.status for step in progress.steps.values()))


MAX_SHOWN_PAYLOAD = 1_500
"""The details show at most this much of a payload to approve."""


def details_row(record: StepResult) -> str:
    """One step of the live list in the Web UI's details (a list: the Web UI draws Markdown
    tables without spacing)."""
    parts = [f"- {ICONS[record.status]} **{record.id}** {record.status.value}"]
    if record.attempts and record.attempts > 1:
        parts.append(f"{record.attempts} attempts")
    if record.duration_ms is not None:
        parts.append(f"{record.duration_ms:.0f} ms")
    note = record.error.message if record.error else record.reason or ""
    line = " · ".join(parts)
    return f"{line} — {note[:160]}" if note else line


def approval_lines(workflow_id: str, step: str, asked: Mapping[str, Any]) -> list[str]:
    """What an approver reads in the Web UI's details: the question, the payload, the commands."""
    payload = json.dumps(asked.get("payload"), default=str, ensure_ascii=False)
    if len(payload) > MAX_SHOWN_PAYLOAD:
        payload = payload[:MAX_SHOWN_PAYLOAD] + " …"
    prompt = str(asked.get("prompt") or "approve or reject?")
    shown = payload.replace("`", "'")
    return [
        "",
        f"> {' '.join(prompt[:500].split())}",
        "",
        f"payload: `{shown}`",
        "",
        f"`python starter.py approve {workflow_id} {step}` (with `--payload` to edit it) or "
        f"`python starter.py reject {workflow_id} {step}`",
        "",
    ]
