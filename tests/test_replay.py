"""Every recorded history under tests/histories/ replays against today's workflow code.

A failure here means a change would break runs already in flight: guard it with
`workflow.patched` or make it a new workflow type (see the README's section on changing workflows).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows import PipelineWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
WORKFLOW_TYPES = {"PipelineWorkflow"}


def workflow_type(path: Path) -> str:
    first = json.loads(path.read_text())["events"][0]
    return first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]


def test_every_workflow_type_has_recorded_histories():
    recorded = {workflow_type(path) for path in HISTORIES}
    assert recorded >= WORKFLOW_TYPES, f"no recorded history for {WORKFLOW_TYPES - recorded}"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path):
    replayer = Replayer(workflows=[PipelineWorkflow], data_converter=pydantic_data_converter)
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
