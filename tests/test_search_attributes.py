"""Runs are found by what they did: custom search attributes, queried with the `temporal` CLI."""

from __future__ import annotations

import json

from activities.search_attributes import SearchAttributeCheck
from taskagent import Pipeline
from taskagent.search import REGISTER_COMMAND
from tests.support import eventually, failed_result, probes, running_worker, start, unique
from tests.test_cli import temporal_cli


def listed(env, query: str) -> list[dict]:
    done = temporal_cli(env, "workflow", "list", "--query", query, "--output", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout or "[]")


async def test_runs_are_listed_by_pipeline_status_cost_tokens_and_failed_steps(env, task_queue):
    name = unique("indexed")
    good = Pipeline(name).agent("think", "Say something.")
    bad = Pipeline(name).code("boom", "fail", input={"why": "test"})
    async with running_worker(env.client, probes, task_queue):
        done = await start(env.client, task_queue, good, {})
        await done.result()
        failed = await start(env.client, task_queue, bad, {})
        await failed_result(failed)

    found: dict[str, list[dict]] = {}

    async def indexed() -> bool:  # visibility is eventually consistent
        found["completed"] = listed(
            env,
            f'TaskAgentPipeline="{name}" AND TaskAgentStatus="COMPLETED" '
            "AND TaskAgentTokens > 0 AND TaskAgentCostUsd >= 0",
        )
        found["failed"] = listed(env, f'TaskAgentPipeline="{name}" AND TaskAgentFailedSteps = 1')
        return bool(found["completed"] and found["failed"])

    await eventually(indexed, 15)
    assert [run["execution"]["workflowId"] for run in found["completed"]] == [done.id]
    assert [run["execution"]["workflowId"] for run in found["failed"]] == [failed.id]


def test_the_register_command_names_every_attribute_with_its_cli_type():
    assert REGISTER_COMMAND.count("temporal operator search-attribute create") == 5
    assert "--name TaskAgentCostUsd --type Double" in REGISTER_COMMAND
    assert "--name TaskAgentPipeline --type Keyword" in REGISTER_COMMAND


async def test_a_worker_knows_whether_its_server_has_the_attributes(env, skipping_env):
    assert await SearchAttributeCheck(env.client).registered() is True
    # The time-skipping test server has none: its runs go unindexed rather than fail.
    assert await SearchAttributeCheck(skipping_env.client).registered() is False
