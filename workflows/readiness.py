"""Which pending steps may start: dependency counting, in constant work per step.

Each pending step counts its unsettled dependencies; a settling step counts its dependents down.
Ready steps are offered in declaration order, in passes, exactly as the first engine (which
rescanned every pending step) offered them, so that the commands of runs it recorded come out in
the same order on replay: a step settled during a pass (skipped) makes its dependents declared
after it ready in the same pass, and those declared before it in the next one.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping, Sequence

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.spec import StepBase


class Readiness:
    """The pending top-level steps of a run and their unsettled dependencies."""

    def __init__(
        self,
        steps: Sequence[StepBase],
        deps: Mapping[str, list[str]],
        pending: Callable[[str], bool],
        settled: Callable[[str], bool],
    ) -> None:
        self._steps = steps
        self._order = {step.id: index for index, step in enumerate(steps)}
        self._dependents: dict[str, list[str]] = {step.id: [] for step in steps}
        self._waiting_on: dict[str, int] = {}
        self._ready: list[int] = []  # a heap of declaration indexes
        self._newly_ready: list[int] = []  # made ready since the last pass
        for step in steps:
            if not pending(step.id):
                continue
            for dep in deps[step.id]:
                self._dependents[dep].append(step.id)
            unsettled = sum(1 for dep in deps[step.id] if not settled(dep))
            self._waiting_on[step.id] = unsettled
            if unsettled == 0:
                self._ready.append(self._order[step.id])
        heapq.heapify(self._ready)

    def has_pending(self) -> bool:
        return bool(self._waiting_on)

    def settled(self, step_id: str) -> None:
        """A top-level step settled: its dependents have one dependency less to wait for."""
        for dependent in self._dependents.get(step_id, ()):
            if dependent in self._waiting_on:
                self._waiting_on[dependent] -= 1
                if self._waiting_on[dependent] == 0:
                    self._newly_ready.append(self._order[dependent])

    def offer(self, full: Callable[[], bool], start: Callable[[StepBase], None]) -> None:
        """Hand every ready step to `start`, in declaration order, until `full()` says stop.

        `start` either starts the step or settles it at once (a skip), which may make more steps
        ready during the pass.
        """
        for index in self._newly_ready:
            heapq.heappush(self._ready, index)
        self._newly_ready.clear()
        later: list[int] = []
        while self._ready or later:
            if not self._ready:  # the next pass
                self._ready, later = later, []
                heapq.heapify(self._ready)
            if full():
                break
            current = heapq.heappop(self._ready)
            step = self._steps[current]
            del self._waiting_on[step.id]
            start(step)
            for index in self._newly_ready:
                if index > current:
                    heapq.heappush(self._ready, index)
                else:
                    later.append(index)
            self._newly_ready.clear()
        for index in later:
            heapq.heappush(self._ready, index)

    def drain(self) -> Iterator[StepBase]:
        """The steps that never started, in declaration order; none is pending afterwards."""
        for step in self._steps:
            if step.id in self._waiting_on:
                del self._waiting_on[step.id]
                yield step
        self._ready.clear()
        self._newly_ready.clear()
