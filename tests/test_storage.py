"""TaskAgent's data converter: compact JSON that any pydantic converter reads, cheap to build."""

from __future__ import annotations

import json

from temporalio.contrib.pydantic import pydantic_data_converter

from taskagent.results import PipelineResult, StepResult, StepStatus
from taskagent.storage import COMPACT_CONVERTER, CompactPayloadConverter
from worker import build_id


def test_contracts_are_written_without_their_defaults_and_read_back_whole():
    result = PipelineResult(pipeline="p", workflow_id="w", run_id="r")
    result.steps["a"] = StepResult(id="a", kind="code", status=StepStatus.COMPLETED, output=3)
    result.cost.record("a", "offline:x", 10, 5, 0.0)
    (payload,) = COMPACT_CONVERTER.payload_converter.to_payloads([result])
    data = json.loads(payload.data)
    assert data["steps"] == {"a": {"id": "a", "kind": "code", "status": "COMPLETED", "output": 3}}
    assert "output" not in data and "finished_at" not in data  # None: the default
    assert data["cost"]["total"] == {"calls": 1, "input_tokens": 10, "output_tokens": 5}
    for reader in (COMPACT_CONVERTER, pydantic_data_converter):  # any pydantic reader
        (back,) = reader.payload_converter.from_payloads([payload], [PipelineResult])
        assert back == result


def test_building_the_converter_is_cheap_and_shares_the_type_adapter_cache():
    """Temporal builds a payload converter per activation and per stored payload."""
    first, second = CompactPayloadConverter(), CompactPayloadConverter()
    json_first = first.converters[b"json/plain"]
    assert json_first is second.converters[b"json/plain"]


def test_the_worker_names_its_build_after_taskagents_code():
    """An explicit build id: Temporal would otherwise hash every loaded module at start."""
    first = build_id.__wrapped__()
    assert first == build_id() and first.startswith("taskagent-")
