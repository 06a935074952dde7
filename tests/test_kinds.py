"""The kinds registry: each kind declared once, and the engine and the builder iterate it."""

from __future__ import annotations

import ast
from datetime import timedelta

import pytest

import taskagent
from taskagent import Pipeline, SpecError, StepStatus, validate_pipeline
from taskagent.kinds import KINDS, MODULES
from taskagent.spec import PipelineSpec
from tests.support import ROOT, probes, running_worker, start
from workflows.executors import executor


def test_every_kind_is_declared_once_and_found_everywhere():
    names = [kind.name for kind in KINDS]
    assert len(names) == len(set(names)) == len(MODULES)
    assert all(callable(executor(name)) for name in names)  # the engine runs every kind
    union = PipelineSpec.model_json_schema()["$defs"]
    for kind in KINDS:
        assert kind.spec.__name__ in union  # the Step union and the published schema
        assert getattr(taskagent, kind.spec.__name__) is kind.spec  # the exports
        assert getattr(taskagent, kind.builder.__name__) is kind.builder
        assert callable(getattr(Pipeline("p"), kind.method_name))  # the fluent builder


def test_the_engine_and_the_kinds_do_not_import_each_other():
    """Executors see only the StepContext protocol; the engine finds them via the registry."""
    for path in sorted((ROOT / "workflows" / "kinds").glob("*.py")):
        imported = {
            node.module
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert not {"workflows.engine", "workflows.step_run", "workflows.pipeline"} & imported, path


def test_executors_write_no_records_and_no_ledger():
    """Only the engine writes step records and the cost ledger; executors report through ctx."""
    forbidden = (".result.", ".cost.", "StepResult(", "CostLedger", ".steps[")
    for path in sorted((ROOT / "workflows" / "kinds").glob("*.py")):
        text = path.read_text()
        assert not [token for token in forbidden if token in text], path


def test_a_wait_step_needs_a_positive_duration():
    for duration in (0, -5, "-PT1M", "P999999999D"):
        spec = {"name": "p", "steps": [{"id": "pause", "kind": "wait", "duration": duration}]}
        with pytest.raises(SpecError, match=r"step 'pause'\.duration: Value error, must be"):
            validate_pipeline(spec, probes)


async def test_a_wait_step_is_a_durable_timer_that_passes_its_input_on(skipping_env, task_queue):
    pipeline = (
        Pipeline("cooling", timeout=timedelta(days=1))
        .code("first", "echo", input={"order": 7})
        .wait("cool_down", "PT1H", depends_on=["first"])
        .code("then", "echo", depends_on=["cool_down"])
    )
    async with running_worker(skipping_env.client, probes, task_queue):
        handle = await start(
            skipping_env.client, task_queue, pipeline, execution_timeout=timedelta(days=2)
        )
        result = await handle.result()
    pause = result.steps["cool_down"]
    assert pause.status is StepStatus.COMPLETED and pause.output == {"order": 7}
    assert pause.duration_ms is not None and pause.duration_ms >= 3_600_000
    assert result.output == {"order": 7}
