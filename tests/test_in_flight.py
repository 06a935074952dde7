"""A run keeps at most `max_in_flight` activities and children in flight (workflows/window.py).

Past that, a burst of finished calls passes the Temporal server's limit of 100 buffered events,
which force-fails workflow tasks (measured: 2,000 independent steps, up to 21 of them).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from taskagent import Pipeline, StepStatus
from tests.support import patches, probes, running_worker, start
from workflows.window import DEFAULT_IN_FLIGHT, WINDOW_PATCH

SCHEDULED = (EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,)
SETTLED = (
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
)


def most_in_flight(history: WorkflowHistory) -> int:
    """The most activities scheduled and not yet settled at any point of the history."""
    in_flight = most = 0
    for event in history.events:
        in_flight += (event.event_type in SCHEDULED) - (event.event_type in SETTLED)
        most = max(most, in_flight)
    return most


def independent(width: int, **fields: object) -> Pipeline:
    pipeline = Pipeline("wide", **fields)  # type: ignore[arg-type]
    for n in range(width):
        pipeline.code(f"s{n}", "echo", input=n)
    return pipeline


async def test_a_wide_run_keeps_at_most_50_activities_in_flight(env, task_queue):
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, independent(2 * DEFAULT_IN_FLIGHT + 20))
        result = await handle.result()
        history = await handle.fetch_history()
    assert all(r.status is StepStatus.COMPLETED for r in result.steps.values())
    assert most_in_flight(history) == DEFAULT_IN_FLIGHT
    assert any(WINDOW_PATCH in marker for marker in patches(history))


async def test_a_narrow_run_records_no_marker(env, task_queue):
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, independent(3))
        await handle.result()
        assert patches(await handle.fetch_history()) == []


async def test_the_window_holds_for_nested_branches_and_is_set_per_pipeline(env, task_queue):
    branches = [{"id": f"b{n}", "kind": "code", "function": "echo"} for n in range(12)]
    pipeline = independent(6, max_in_flight=4).add(
        {"id": "fan", "kind": "parallel", "branches": branches, "merge": "list"}
    )
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, pipeline, {"x": 1})
        result = await handle.result()
        history = await handle.fetch_history()
    assert result.steps["fan"].status is StepStatus.COMPLETED
    assert len(result.steps["fan"].output) == 12
    assert most_in_flight(history) == 4


def scheduling_tasks(history: WorkflowHistory) -> dict[str, tuple[datetime, datetime]]:
    """Each step's activity, by its Web UI label: when the workflow task that scheduled it
    started, and when the next one did (the workflow's clock lies between the two)."""
    tasks: list[datetime] = []
    scheduled_in: dict[str, int] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            tasks.append(event.event_time.ToDatetime(tzinfo=UTC))
        elif event.event_type in SCHEDULED:
            label = json.loads(event.user_metadata.summary.data)
            scheduled_in[label.split(" · ")[0]] = len(tasks) - 1
    tasks.append(datetime.max.replace(tzinfo=UTC))
    return {key: (tasks[n], tasks[n + 1]) for key, n in scheduled_in.items()}


async def test_a_step_that_waits_for_a_slot_starts_when_it_gets_one(env, task_queue):
    """Its record's start and duration are those of its work, not of the queue."""
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, independent(12, max_in_flight=3))
        result = await handle.result()
        history = await handle.fetch_history()
    tasks = scheduling_tasks(history)
    assert tasks.keys() == result.steps.keys()
    for key, (began, next_began) in tasks.items():
        started_at = result.steps[key].started_at
        assert started_at is not None and began <= started_at < next_began, key
    assert len({began for began, _ in tasks.values()}) > 1  # some steps waited
