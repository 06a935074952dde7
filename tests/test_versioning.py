"""Replay catches an incompatible workflow change, and `workflow.patched` makes it safe.

The same mechanism guards PipelineWorkflow: see "Changing workflow code safely" in the README.
"""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, Worker
from temporalio.workflow import NondeterminismError

from tests.support import unique
from tests.versioned_workflows import (
    VersionOne,
    VersionTwoPatched,
    VersionTwoUnsafe,
    audit,
    fetch,
)


async def record(env, workflow_class: type, queue: str) -> WorkflowHistory:
    async with Worker(
        env.client, task_queue=queue, workflows=[workflow_class], activities=[fetch, audit]
    ):
        handle = await env.client.start_workflow(
            "Versioned", "acme", id=unique("versioned"), task_queue=queue
        )
        await handle.result()
        return await handle.fetch_history()


def replayer(workflow_class: type) -> Replayer:
    return Replayer(workflows=[workflow_class], data_converter=pydantic_data_converter)


async def test_incompatible_change_is_caught_and_the_patched_version_replays(env, task_queue):
    old_history = await record(env, VersionOne, task_queue)

    with pytest.raises(NondeterminismError):
        await replayer(VersionTwoUnsafe).replay_workflow(old_history)

    assert (await replayer(VersionTwoPatched).replay_workflow(old_history)).replay_failure is None

    new_history = await record(env, VersionTwoPatched, f"{task_queue}-v2")
    assert (await replayer(VersionTwoPatched).replay_workflow(new_history)).replay_failure is None
