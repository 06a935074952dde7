"""Long pipelines continue as new when Temporal suggests it, carrying their state."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from taskagent import Pipeline, PipelineResult, Registry, StepStatus
from tests.support import binary, example_registry, patches, probes, running_worker, start

SUGGEST_AFTER_EVENTS = 40
CHAIN = 8
DEADLINE_S = 600


@pytest.fixture(scope="module")
async def short_history_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server that suggests continue-as-new after only 40 history events."""
    environment = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=binary("temporal"),
        dev_server_extra_args=[
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={SUGGEST_AFTER_EVENTS}",
        ],
    )
    try:
        yield environment
    finally:
        await environment.shutdown()


def registry() -> Registry:
    combined = Registry()
    combined.include(example_registry())
    combined.include(probes)
    return combined


def long_pipeline() -> Pipeline:
    """An agent step (a ledger), a switch, then a chain of activities, under a deadline."""
    pipeline = (
        Pipeline("long_chain", timeout=DEADLINE_S)
        .agent("brief", "Summarise what Acme Robotics does.", model="offline:default")
        .code("pick", "echo", depends_on=["brief"], input={"route": "a"})
        .switch(
            "route", "steps.pick.output.route", {"a": "end_a", "b": "end_b"}, depends_on=["pick"]
        )
        .code("s0", "echo", depends_on=["pick"], input=0)
    )
    for n in range(1, CHAIN):
        pipeline.code(f"s{n}", "echo", depends_on=[f"s{n - 1}"], input=n)
    last = f"s{CHAIN - 1}"
    return (
        pipeline.code("end_a", "echo", depends_on=[last], input={"last": f"$steps.{last}.output"})
        .code("end_b", "echo", depends_on=[last])
        .output("$steps.end_a.output")
    )


async def histories(client: Client, workflow_id: str, first_run: str) -> list[WorkflowHistory]:
    """Every run of a chain of continuations, first to last."""
    runs = []
    run_id: str | None = first_run
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        runs.append(history)
        last = history.events[-1]
        attributes = last.workflow_execution_continued_as_new_event_attributes
        run_id = attributes.new_execution_run_id if attributes.new_execution_run_id else None
    return runs


def deadline_timers(history: WorkflowHistory) -> list[float]:
    return [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]


def scheduled_steps(history: WorkflowHistory) -> int:
    return sum(
        1 for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )


async def test_a_long_run_continues_as_new_and_keeps_its_state(short_history_env, task_queue):
    client = short_history_env.client
    async with running_worker(client, registry(), task_queue):
        handle = await start(client, task_queue, long_pipeline())
        result: PipelineResult = await handle.result()  # follows the continuations
        runs = await histories(client, handle.id, handle.result_run_id or "")
    assert len(runs) >= 2
    assert runs[0].events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert scheduled_steps(runs[-1]) > 0  # the continuation ran steps of its own
    assert result.run_id != handle.result_run_id
    assert result.output == {"last": CHAIN - 1}
    assert all(result.steps[f"s{n}"].status is StepStatus.COMPLETED for n in range(CHAIN))
    # The switch's decision carried over.
    assert result.steps["end_b"].status is StepStatus.SKIPPED
    assert result.steps["end_b"].reason == "not selected by switch 'route' (value 'a')"
    # The ledger carried over: the agent step ran in the first run only.
    assert result.cost.by_step["brief"].calls == 1
    assert result.cost.total.calls == 1 and result.cost.total.tokens > 0
    assert result.steps["brief"].usage is not None and result.steps["brief"].usage.calls == 1
    # The deadline carried over: each continuation waits only for what is left of it.
    first, *rest = [deadline_timers(run) for run in runs]
    assert len(first) == 1 and DEADLINE_S - 10 < first[0] <= DEADLINE_S
    assert all(len(timers) == 1 and timers[0] < first[0] for timers in rest)
    assert result.started_at is not None and result.started_at < result.steps["s0"].finished_at


async def test_a_suggestion_with_nothing_left_to_run_does_not_continue(
    short_history_env, task_queue
):
    pipeline = Pipeline("fan_out")
    for n in range(15):  # all start at once: nothing is pending when the suggestion comes
        pipeline.code(f"s{n}", "echo", input=n)
    client = short_history_env.client
    async with running_worker(client, probes, task_queue):
        handle = await start(client, task_queue, pipeline)
        result = await handle.result()
        runs = await histories(client, handle.id, handle.result_run_id or "")
    assert result.output == {f"s{n}": n for n in range(15)}
    # Temporal suggested continuing as new (the run took the patched decision) ...
    assert any("taskagent-no-empty-continuation" in marker for marker in patches(runs[0]))
    assert len(runs) == 1  # ... but with nothing left to do, the run did not continue
    assert runs[0].events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
