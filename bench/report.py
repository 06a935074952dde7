"""Figures, their goals, and the Markdown and JSON reports."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SIDES = ("bare", "taskagent")
Samples = dict[str, dict[str, list[float]]]
"""side -> metric -> one value per repetition."""


@dataclass(frozen=True)
class Goal:
    """What TaskAgent's figure should be, given bare's."""

    text: str
    met: Callable[[float, float], bool]
    difference: bool = False
    """Show TaskAgent minus bare beside the ratio."""


def within(factor: float) -> Goal:
    return Goal(f"<= {factor:g}x", lambda bare, ours: ours <= factor * bare)


def plus(limit: float, unit: str) -> Goal:
    return Goal(f"<= bare + {limit:g} {unit}", lambda bare, ours: ours - bare <= limit, True)


def within_plus(factor: float, extra: float, unit: str, what: str) -> Goal:
    return Goal(
        f"<= {factor:g}x bare + {extra:g} {unit} ({what})",
        lambda bare, ours: ours <= factor * bare + extra,
    )


@dataclass
class Figure:
    """One line of the table: the median of each side's samples."""

    key: str
    label: str
    unit: str
    samples: dict[str, list[float]]
    goal: Goal | None = None
    note: str = ""
    values: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        self.values = {side: statistics.median(self.samples[side]) for side in SIDES}

    @property
    def ratio(self) -> float:
        bare = self.values["bare"]
        return self.values["taskagent"] / bare if bare else float("inf")

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        return self.goal.met(self.values["bare"], self.values["taskagent"])

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "bare": self.values["bare"],
            "taskagent": self.values["taskagent"],
            "ratio": round(self.ratio, 4),
            "difference": self.values["taskagent"] - self.values["bare"],
            "goal": self.goal.text if self.goal else None,
            "met": self.met,
            "note": self.note,
            "samples": self.samples,
        }


def figure(
    key: str,
    label: str,
    unit: str,
    samples: Samples,
    metric: str,
    goal: Goal | None = None,
    note: str = "",
) -> Figure:
    """The figure of one metric measured on both sides."""
    return Figure(key, label, unit, {side: samples[side][metric] for side in SIDES}, goal, note)


def _number(value: float, unit: str) -> str:
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2 if abs(value) >= 1 else 3
    return f"{value:,.{digits}f} {unit}".strip()


def markdown(figures: list[Figure], meta: dict[str, Any]) -> str:
    lines = [
        "# TaskAgent against bare Temporal",
        "",
        f"{meta['date']} · commit {meta['commit']} · {meta['cpus']} CPUs · load average "
        f"{meta['load_before']} before, {meta['load_after']} after · {meta['mode']} run "
        f"({meta['elapsed_s']:.0f} s)",
        "",
        "Each figure is the median over repetitions, bare and TaskAgent alternating (ABAB).",
        "",
        "| figure | bare | TaskAgent | ratio | goal | met? |",
        "|---|---:|---:|---:|---|---|",
    ]
    for fig in figures:
        met = {None: "", True: "yes", False: "**no**"}[fig.met]
        ratio = f"{fig.ratio:.2f}x"
        if fig.goal is not None and fig.goal.difference:
            difference = fig.values["taskagent"] - fig.values["bare"]
            ratio += f" ({'+' if difference >= 0 else ''}{_number(difference, fig.unit)})"
        lines.append(
            f"| {fig.label} | {_number(fig.values['bare'], fig.unit)} "
            f"| {_number(fig.values['taskagent'], fig.unit)} | {ratio} "
            f"| {fig.goal.text if fig.goal else ''} | {met} |"
        )
    notes = [f"- {fig.label}: {fig.note}" for fig in figures if fig.note]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def write(figures: list[Figure], meta: dict[str, Any], folder: Path) -> str:
    """Write results.md and results.json in `folder`; the Markdown text."""
    text = markdown(figures, meta)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.md").write_text(text)
    document = {"meta": meta, "figures": [fig.as_json() for fig in figures]}
    (folder / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    return text
