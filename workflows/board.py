"""The run's status board: counts by status and the Web UI's live details, kept incrementally.

Every status change updates counts and a few small sets in constant time. The Markdown details
are rendered once per burst of changes (a callback queued behind the work of the current
workflow activation), and their size is bounded: a long pipeline shows its running, waiting and
failed steps and the last few that settled, not thousands of rows.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.render import approval_lines, counts_line, details_row
    from taskagent.results import PipelineResult, StepResult, StepStatus

FULL_TABLE = 30
"""Up to this many steps, the details list every step in order."""
LISTED = 12
"""Beyond it, at most this many steps of each group (running, waiting, failed, recent)."""

_ACTIVE = (StepStatus.RUNNING, StepStatus.WAITING)


class Board:
    """Counts and live details of one run."""

    def __init__(
        self,
        result: PipelineResult,
        publish: Callable[[str], None],
        asked: Mapping[str, dict[str, Any]] | None = None,
    ) -> None:
        self._result = result
        self._publish = publish
        self._asked = asked if asked is not None else {}
        """What each step waiting for an approver asks (its prompt and payload)."""
        self.counts: Counter[StepStatus] = Counter(s.status for s in result.steps.values())
        self._active: dict[str, None] = {}
        self._failed: dict[str, None] = {}
        self._recent: deque[str] = deque(maxlen=LISTED)
        self._queued = False

    def added(self, record: StepResult) -> None:
        """A record created during the run (a nested step's)."""
        self.counts[record.status] += 1

    def moved(self, record: StepResult, before: StepStatus) -> None:
        """A record changed status (or only its details): update counts, render soon."""
        if before is not record.status:
            self.counts[before] -= 1
            self.counts[record.status] += 1
            self._active.pop(record.id, None)
            if record.status in _ACTIVE:
                self._active[record.id] = None
            elif record.status is StepStatus.FAILED:
                self._failed[record.id] = None
            if record.status.settled:
                self._recent.append(record.id)
        self.changed()

    def changed(self) -> None:
        """Render the details once the current burst of work is done."""
        if not self._queued:
            self._queued = True
            asyncio.get_running_loop().call_soon(self.publish)

    def publish(self) -> None:
        """Render and publish the details now."""
        self._queued = False
        self._publish(self.render())

    def render(self) -> str:
        result = self._result
        dry = " (dry run: placeholders and estimates)" if result.dry_run else ""
        status = f"{result.status.value}{dry}"
        lines = [f"**{result.pipeline}** — {status} — {counts_line(self.counts)}", ""]
        steps = result.steps
        waiting = [steps[key] for key in self._active if steps[key].status is StepStatus.WAITING]
        for record in waiting[:LISTED]:
            lines.append(f"⏸ **{record.id}** — {record.reason}")
            if record.error:
                lines.append(f"  (failed: {record.error.type}: {record.error.message[:200]})")
            asked = self._asked.get(record.id)
            if asked is not None:
                lines += approval_lines(result.workflow_id, record.id, asked)
        if waiting:
            lines.append("")
        if len(steps) <= FULL_TABLE:
            lines += [details_row(record) for record in steps.values()]
            return "\n".join(lines)
        shown = dict.fromkeys(
            [*list(self._active)[:LISTED], *list(self._failed)[:LISTED], *self._recent]
        )
        lines += [details_row(steps[key]) for key in shown]
        lines.append(
            f"\n{len(shown)} of {len(steps)} steps shown (running, waiting, failed, latest); "
            "query `progress` for all of them."
        )
        return "\n".join(lines)
