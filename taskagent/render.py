"""Markdown views of a pipeline and of a run: the Web UI's summary and details."""

from __future__ import annotations

from taskagent.graph import to_mermaid
from taskagent.results import PipelineResult, StepStatus
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


def progress_line(result: PipelineResult) -> str:
    """`3/5 settled · 1 running · 1 failed`."""
    counts = result.counts()
    settled = sum(n for status, n in counts.items() if status.settled)
    parts = [f"{settled}/{len(result.steps)} settled"]
    parts += [
        f"{n} {status.value.lower()}"
        for status, n in counts.items()
        if n and status not in (StepStatus.COMPLETED, StepStatus.PENDING)
    ]
    return " · ".join(parts)


def current_details(result: PipelineResult) -> str:
    """The live progress table of a run."""
    lines = [f"**{result.pipeline}** — {result.status.value} — {progress_line(result)}", ""]
    waiting = [step for step in result.steps.values() if step.status is StepStatus.WAITING]
    for step in waiting:
        lines.append(f"⏸ **{step.id}** — {step.reason}")
        if step.error:
            lines.append(f"  (failed: {step.error.type}: {step.error.message[:200]})")
    if waiting:
        lines.append("")
    lines += [
        "| step | status | attempts | ms | note |",
        "|---|---|---|---|---|",
    ]
    for step in result.steps.values():
        note = step.error.message if step.error else step.reason or ""
        ms = "" if step.duration_ms is None else f"{step.duration_ms:.0f}"
        lines.append(
            f"| {step.id} | {ICONS[step.status]} {step.status.value} | {step.attempts or ''} "
            f"| {ms} | {note[:120].replace('|', '/')} |"
        )
    return "\n".join(lines)
