"""Every recorded history under tests/histories/ replays against today's workflow code.

A failure here means a change would break runs already in flight: guard it with
`workflow.patched` or make it a new workflow type (see the README's section on changing workflows).

Histories recorded with the claim-check converter hold references to payloads kept in
tests/histories/payloads/; they replay with the same storage-aware converter, as a user's would.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from taskagent.names import (
    ARCHIVE_IDLE_WORKFLOW,
    CONVERSATION_WORKFLOW,
    PIPELINE_WORKFLOW,
    RATE_LIMIT_WORKFLOW,
    TOPIC_WORKFLOW,
)
from taskagent.storage import data_converter
from workflows import (
    ArchiveIdleConversations,
    ConversationWorkflow,
    PipelineWorkflow,
    RateLimitWorkflow,
    TopicWorkflow,
)

FOLDER = Path(__file__).parent / "histories"
HISTORIES = sorted(FOLDER.glob("*.json"))
WORKFLOW_TYPES = {
    PIPELINE_WORKFLOW,
    RATE_LIMIT_WORKFLOW,
    CONVERSATION_WORKFLOW,
    ARCHIVE_IDLE_WORKFLOW,
    TOPIC_WORKFLOW,
}
WORKFLOWS = [
    PipelineWorkflow,
    RateLimitWorkflow,
    ConversationWorkflow,
    ArchiveIdleConversations,
    TopicWorkflow,
]

PAYLOADS = FOLDER / "payloads"
"""Where the claim-checked histories' payloads are stored (committed with them)."""
CLAIM_CHECK_THRESHOLD = 8 * 1024
"""Bytes above which the claim-check histories' payloads were stored outside the history."""
CLAIM_CHECK_OUTPUT = 40_000
"""Characters of the large step output in `claim_check_payload` (the `big` probe)."""
CLAIM_CHECKED = {"claim_check_payload"}
"""Histories recorded with `data_converter(PAYLOADS, CLAIM_CHECK_THRESHOLD)`."""


def workflow_type(path: Path) -> str:
    first = json.loads(path.read_text())["events"][0]
    return first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]


def converter_for(path: Path, scratch: Path) -> DataConverter:
    """The converter the history was recorded with.

    The store is a copy of PAYLOADS: replay encodes the workflow's commands again, and a changed
    but compatible result (a new field, say) would otherwise add files to the committed folder.
    """
    if path.stem not in CLAIM_CHECKED:
        return pydantic_data_converter
    store = shutil.copytree(PAYLOADS, scratch / "payloads")
    return data_converter(store, threshold=CLAIM_CHECK_THRESHOLD)


def test_every_workflow_type_has_recorded_histories():
    recorded = {workflow_type(path) for path in HISTORIES}
    assert recorded >= WORKFLOW_TYPES, f"no recorded history for {WORKFLOW_TYPES - recorded}"


def payloads_of(node: Any) -> Iterator[dict[str, Any]]:
    """Every payload (a dict with `metadata`) anywhere in a history's JSON."""
    if isinstance(node, dict):
        if "metadata" in node and ("data" in node or "externalPayloads" in node):
            yield node
        for value in node.values():
            yield from payloads_of(value)
    elif isinstance(node, list):
        for value in node:
            yield from payloads_of(value)


def test_claim_checked_histories_hold_references_not_payloads():
    output = b"x" * CLAIM_CHECK_OUTPUT
    referenced = set()
    for name in sorted(CLAIM_CHECKED):
        text = (FOLDER / f"{name}.json").read_text()
        assert len(text) < CLAIM_CHECK_OUTPUT // 2, f"{name}.json holds {len(text)} characters"
        payloads = list(payloads_of(json.loads(text)))
        data = [base64.b64decode(p.get("data", "")) for p in payloads]
        assert not any(b"x" * 1000 in d for d in data), f"{name}.json holds the large output"
        references = [p for p in payloads if p.get("externalPayloads")]
        sizes = [int(e["sizeBytes"]) for p in references for e in p["externalPayloads"]]
        # the step's result, the next step's input and the run's result
        assert len(references) == 3 and min(sizes) > CLAIM_CHECK_OUTPUT, sizes
        for payload in references:
            reference = json.loads(base64.b64decode(payload["data"]))
            key = reference["claimData"]["sha256"]
            assert reference["driverName"] == "taskagent-local-files"
            stored = (PAYLOADS / f"{key}.payload").read_bytes()
            assert output in stored, f"payloads/{key}.payload does not hold the output"
            referenced.add(f"{key}.payload")
    stored_files = {path.name for path in PAYLOADS.iterdir()}
    assert stored_files == referenced, f"unreferenced payloads: {stored_files - referenced}"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path, tmp_path: Path):
    converter = converter_for(path, tmp_path)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter)
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
