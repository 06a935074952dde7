"""Long pipelines continue as new when Temporal suggests it, carrying their state."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from taskagent import Pipeline, PipelineResult, StepStatus
from tests.support import binary, probes, running_worker, start

SUGGEST_AFTER_EVENTS = 40
CHAIN = 30


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


def long_pipeline() -> Pipeline:
    pipeline = (
        Pipeline("long_chain")
        .code("pick", "echo", input={"route": "a"})
        .switch(
            "route", "steps.pick.output.route", {"a": "end_a", "b": "end_b"}, depends_on=["pick"]
        )
        .code("s0", "add", depends_on=["pick"], input={"a": 0, "b": 1})
    )
    for n in range(1, CHAIN):
        pipeline.code(
            f"s{n}", "add", depends_on=[f"s{n - 1}"], input={"a": f"$steps.s{n - 1}.output", "b": 1}
        )
    last = f"s{CHAIN - 1}"
    return (
        pipeline.code("end_a", "echo", depends_on=[last], input={"total": f"$steps.{last}.output"})
        .code("end_b", "echo", depends_on=[last])
        .output("$steps.end_a.output")
    )


async def test_a_long_run_continues_as_new_and_keeps_its_state(short_history_env, task_queue):
    client = short_history_env.client
    async with running_worker(client, probes, task_queue):
        handle = await start(client, task_queue, long_pipeline())
        result: PipelineResult = await handle.result()  # follows the continuations
        first_run = await client.get_workflow_handle(
            handle.id, run_id=handle.result_run_id
        ).fetch_history()
    assert first_run.events[-1].event_type == (
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    )
    assert result.run_id != handle.result_run_id
    assert result.output == {"total": float(CHAIN)}
    assert result.steps["end_b"].status is StepStatus.SKIPPED  # the switch's decision carried over
    assert result.steps["end_b"].reason == "not selected by switch 'route' (value 'a')"
    assert all(result.steps[f"s{n}"].status is StepStatus.COMPLETED for n in range(CHAIN))
    assert result.started_at < result.steps["s0"].finished_at  # records from the first run
