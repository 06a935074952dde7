"""Re-running a finished run from a chosen step with `temporal workflow reset`."""

from __future__ import annotations

import asyncio

from taskagent import Pipeline, PipelineResult
from tests.support import CALLS, probes, running_worker, start, unique
from tests.test_cli import starter


async def test_rerun_from_a_step_runs_it_and_what_follows_again(env, task_queue):
    name = unique("rerun")
    pipeline = (
        Pipeline("rerunnable")
        .code("a", "flaky", input={"name": f"{name}-a", "failures": 0})
        .code("b", "flaky", depends_on=["a"], input={"name": f"{name}-b", "failures": 0})
        .code("c", "flaky", depends_on=["b"], input={"name": f"{name}-c", "failures": 0})
    )
    address = {"TEMPORAL_ADDRESS": env.client.service_client.config.target_host}
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, pipeline)
        first = await handle.result()
        done = await asyncio.to_thread(
            starter, "rerun", handle.id, "--from", "b", extra_env=address
        )
        assert done.returncode == 0, done.stderr
        assert "before step 'b'" in done.stdout
        latest = env.client.get_workflow_handle(handle.id, result_type=PipelineResult)
        second = await latest.result()
        unknown = await asyncio.to_thread(
            starter, "rerun", handle.id, "--from", "zzz", extra_env=address
        )
    assert second.run_id != first.run_id
    assert (CALLS[f"{name}-a"], CALLS[f"{name}-b"], CALLS[f"{name}-c"]) == (1, 2, 2)
    assert second.steps["a"].output == first.steps["a"].output
    assert unknown.returncode == 2 and "no step 'zzz' started in this run" in unknown.stderr
