"""Large step outputs stay out of the history (claim check); without a store they fail cleanly."""

from __future__ import annotations

from temporalio.client import Client

from taskagent import Pipeline, PipelineResult, StepStatus
from taskagent.storage import data_converter
from tests.support import failed_result, probes, running_worker, start

FIVE_MB = 5_000_000


async def test_a_five_megabyte_output_completes_and_the_history_stays_small(
    env, task_queue, tmp_path
):
    client = await Client.connect(
        env.client.service_client.config.target_host,
        data_converter=data_converter(tmp_path / "payloads", threshold=64 * 1024),
    )
    pipeline = (
        Pipeline("large")
        .code("produce", "big", input=FIVE_MB)
        .code("measure", "length", depends_on=["produce"])
    )
    async with running_worker(client, probes, task_queue):
        handle = await start(client, task_queue, pipeline)
        result: PipelineResult = await handle.result()
        description = await handle.describe()
    assert result.steps["measure"].output == FIVE_MB
    assert len(result.steps["produce"].output) == FIVE_MB
    history_bytes = description.raw_description.workflow_execution_info.history_size_bytes
    assert history_bytes < 200_000, f"history grew to {history_bytes} bytes"
    stored = list((tmp_path / "payloads").glob("*.payload"))
    assert stored and max(p.stat().st_size for p in stored) > FIVE_MB


async def test_without_a_store_a_too_large_output_fails_at_once(env, task_queue):
    pipeline = Pipeline("too_large").code("produce", "big", input=3_000_000)
    async with running_worker(env.client, probes, task_queue):
        result = await failed_result(await start(env.client, task_queue, pipeline))
    error = result.steps["produce"].error
    assert result.steps["produce"].status is StepStatus.FAILED
    assert error.type == "PayloadTooLarge" and error.non_retryable and error.attempts == 1
    assert "set TASKAGENT_PAYLOAD_DIR" in error.message
