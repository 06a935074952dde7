"""Markdown views of a pipeline and of a run: the Web UI's summary and details."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from taskagent.graph import to_mermaid
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


def static_details(spec: PipelineSpec) -> str:
    """The pipeline and its graph, as Markdown."""
    description = f"\n\n{spec.description}" if spec.description else ""
    return (
        f"### Pipeline `{spec.name}` v{spec.version}{description}\n\n"
        f"Failure policy: `{spec.on_failure.value}`\n\n"
        f"```mermaid\n{to_mermaid(spec.steps)}\n```\n"
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


DETAILS_TABLE = ["| step | status | attempts | ms | note |", "|---|---|---|---|---|"]


def details_row(record: StepResult) -> str:
    """One row of the live step table of the Web UI's details."""
    note = record.error.message if record.error else record.reason or ""
    ms = "" if record.duration_ms is None else f"{record.duration_ms:.0f}"
    return (
        f"| {record.id} | {ICONS[record.status]} {record.status.value} | "
        f"{record.attempts or ''} | {ms} | {note[:120].replace('|', '/')} |"
    )
