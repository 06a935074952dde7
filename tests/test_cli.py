"""Starting runs from the `temporal` CLI, and worker.py plus starter.py as a user runs them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from taskagent.results import PipelineResult
from tests.support import (
    ROOT,
    binary,
    example_registry,
    running_worker,
    starter,
    unique,
    worker_process,
)


def temporal_cli(env, *args: str) -> subprocess.CompletedProcess[str]:
    address = env.client.service_client.config.target_host
    return subprocess.run(
        [binary("temporal"), *args, "--address", address],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def cli_start(env, task_queue: str, *payloads: str, workflow_type: str = "PipelineWorkflow") -> str:
    """`temporal workflow start` with one `--input` per payload (none, one or several)."""
    workflow_id = unique("cli")
    inputs = [arg for payload in payloads for arg in ("--input", payload)]
    done = temporal_cli(
        env,
        "workflow",
        "start",
        "--type",
        workflow_type,
        "--task-queue",
        task_queue,
        "--workflow-id",
        workflow_id,
        *inputs,
    )
    assert done.returncode == 0, done.stderr
    return workflow_id


async def failure_of(env, workflow_id: str) -> ApplicationError:
    handle = env.client.get_workflow_handle(workflow_id)
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    history = await handle.fetch_history()
    kinds = [event.event_type for event in history.events]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds, "a workflow task was retried"
    assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def test_temporal_cli_start_runs_a_registered_pipeline(env, task_queue):
    payload = json.dumps({"pipeline": "company_facts", "input": {"company": "Acme"}})
    async with running_worker(env.client, example_registry(), task_queue):
        workflow_id = cli_start(env, task_queue, payload)
        result = await env.client.get_workflow_handle(
            workflow_id, result_type=PipelineResult
        ).result()
    assert result.status.value == "COMPLETED"
    assert result.output["company"]["name"] == "Acme"
    assert list(result.steps) == ["search", "reputation", "social", "report"]


async def test_temporal_cli_start_with_an_invalid_inline_spec_fails_at_once(env, task_queue):
    spec = {
        "name": "broken",
        "steps": [
            {"id": "a", "kind": "code", "function": "web_search", "depends_on": ["b"]},
            {"id": "b", "kind": "code", "function": "web_serch", "depends_on": ["a"]},
            {"id": "c", "kind": "magic"},
        ],
    }
    async with running_worker(env.client, example_registry(), task_queue):
        workflow_id = cli_start(env, task_queue, json.dumps({"pipeline": spec, "input": {}}))
        error = await failure_of(env, workflow_id)
    assert error.type == "InvalidPipeline" and error.non_retryable
    assert "pipeline 'broken' is invalid (3 problems)" in error.message
    assert "dependency cycle: " in error.message
    assert "unknown function 'web_serch' (did you mean 'web_search'?)" in error.message
    assert "unknown step kind 'magic'" in error.message


async def test_temporal_cli_start_with_malformed_request_fails_at_once(env, task_queue):
    async with running_worker(env.client, example_registry(), task_queue):
        workflow_id = cli_start(env, task_queue, '{"pipelin": "company_research"}')
        error = await failure_of(env, workflow_id)
    assert error.type == "InvalidRequest" and error.non_retryable
    assert "pipeline: Field required" in error.message
    assert "pipelin: unknown field" in error.message
    assert '{"pipeline":' in error.message  # the expected shape


@pytest.mark.parametrize(
    ("payloads", "said"),
    [
        ((), "PipelineWorkflow got 0 arguments"),
        (('{"pipeline": "company_facts"}', "{}"), "PipelineWorkflow got 2 arguments"),
        (("null",), "the argument is null"),
        (('"company_facts"',), "the argument is a JSON str"),
        (('{"pipeline": "company_facts", "inputs": {"company": "Acme"}}',), "'inputs'"),
    ],
    ids=["no input", "two inputs", "null", "a string", "an unknown field"],
)
async def test_temporal_cli_start_with_a_bad_envelope_fails_at_once(
    env, task_queue, payloads, said
):
    async with running_worker(env.client, example_registry(), task_queue):
        error = await failure_of(env, cli_start(env, task_queue, *payloads))
    assert error.type == "InvalidRequest" and error.non_retryable
    assert said in error.message
    assert '{"pipeline":' in error.message  # the expected shape


async def test_an_unknown_workflow_type_on_the_queue_fails_at_once(env, task_queue):
    async with running_worker(env.client, example_registry(), task_queue):
        workflow_id = cli_start(env, task_queue, "{}", workflow_type="PipelineWorkflw")
        error = await failure_of(env, workflow_id)
    assert error.type == "UnknownWorkflowType"
    assert "'PipelineWorkflw'" in error.message and "'PipelineWorkflow'" in error.message


async def test_input_violating_the_input_schema_fails_at_once(env, task_queue):
    payload = json.dumps({"pipeline": "company_research", "input": {"company": ""}})
    async with running_worker(env.client, example_registry(), task_queue):
        error = await failure_of(env, cli_start(env, task_queue, payload))
    assert error.type == "InvalidPipeline"
    assert "input of pipeline 'company_research' is invalid" in error.message
    assert "input.company" in error.message


async def test_unknown_pipeline_name_fails_at_once(env, task_queue):
    payload = json.dumps({"pipeline": "company_reserch", "input": {}})
    async with running_worker(env.client, example_registry(), task_queue):
        error = await failure_of(env, cli_start(env, task_queue, payload))
    assert "no pipeline named 'company_reserch' is registered" in error.message


def test_starter_validates_lists_exports_and_prints_the_schema(tmp_path):
    valid = starter("validate", "examples/ticket_triage.yaml")
    assert valid.returncode == 0, valid.stderr
    assert "valid pipeline 'ticket_triage': 7 steps" in valid.stdout

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nsteps:\n  - {id: a, kind: code, function: nope, depends_on: [a]}\n")
    invalid = starter("validate", str(bad))
    assert invalid.returncode == 2
    assert "pipeline 'bad' is invalid (2 problems)" in invalid.stderr
    assert "dependency cycle: a -> a" in invalid.stderr

    listed = starter("list")
    assert listed.returncode == 0
    for name in ("company_research", "contact_enrichment", "ticket_triage"):
        assert name in listed.stdout

    exported = starter("export", "ticket_triage", "--format", "json")
    assert json.loads(exported.stdout)["steps"][1]["routes"]["billing"] == ["billing"]

    schema = starter("schema")
    assert schema.stdout == (ROOT / "schemas" / "pipeline.schema.json").read_text()


async def test_worker_and_starter_end_to_end(env):
    """worker.py and starter.py as processes: run, follow, status, graceful SIGTERM."""
    queue = unique("e2e")
    settings = {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TASKAGENT_TASK_QUEUE": queue,
    }
    with worker_process(settings) as worker:
        run = starter(
            "run",
            "ticket_triage",
            "--input",
            '{"text": "refund my invoice!"}',
            "--json",
            "--id",
            f"{queue}-run",
            "--as",
            "ada",
            "--role",
            "support",
            extra_env=settings,
        )
        assert run.returncode == 0, run.stderr
        result = PipelineResult.model_validate_json(run.stdout)
        assert result.output["reply"]["team"] == "billing"
        audit = starter("audit", f"{queue}-run", "--json", extra_env=settings)
        trail = json.loads(audit.stdout)
        assert trail["started_by"] == {"user": "ada", "roles": ["support"]}
        assert result.output["paged"] == "COMPLETED"
        assert f"/workflows/{queue}-run/" in run.stderr
        # Followed through the run's event stream: steps as they start and settle.
        assert "ticket_triage started" in run.stderr and "✓ classify" in run.stderr
        assert "↷ technical: not selected by switch 'route'" in run.stderr

        # A sub-pipeline's steps are followed too, under their step's path.
        nested = starter(
            "run",
            "contact_enrichment",
            "--input",
            '{"email": "ada@example.org", "company": "Analytical Engines"}',
            extra_env=settings,
        )
        assert nested.returncode == 0, nested.stderr
        assert "company_facts started" in nested.stderr
        assert "✓ company/search" in nested.stderr and "✓ company/report" in nested.stderr
        assert nested.stderr.index("✓ company/report") < nested.stderr.index("✓ company "), (
            nested.stderr
        )

        watched = starter("watch", f"{queue}-run", "--events", extra_env=settings)
        assert watched.returncode == 0, watched.stderr
        events = [json.loads(line) for line in watched.stdout.splitlines()]
        assert [e["offset"] for e in events] == list(range(len(events)))
        assert events[0]["kind"] == "run_started" and events[-1]["kind"] == "run_completed"
        assert {"step_started", "step_completed", "step_skipped"} <= {e["kind"] for e in events}

        status = starter("status", f"{queue}-run", "--json", extra_env=settings)
        assert status.returncode == 0, status.stderr
        assert PipelineResult.model_validate_json(status.stdout).status.value == "COMPLETED"

        # A dry run: labelled, placeholders, estimates (its table says so).
        dry = starter(
            "run",
            "company_research",
            "--input",
            '{"company": "Acme"}',
            "--dry-run",
            extra_env=settings,
        )
        assert dry.returncode == 0, dry.stderr
        assert "started dry-company_research-" in dry.stderr
        assert "(DRY RUN)" in dry.stdout and "estimated, had it run:" in dry.stdout
        assert "dry run: placeholder answer" in dry.stdout

        failing = starter("run", "ticket_triage", "--input", '{"text": ""}', extra_env=settings)
        assert failing.returncode == 2
        assert "input.text" in failing.stderr
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=40)
    assert worker.returncode == 0, output
    assert "worker started" in output and "worker stopped" in output


def test_starting_runs_loads_no_database_library():
    """starter.py (and a worker's build) load SQLAlchemy and Alembic only where the store is
    used: every `starter.py run` would otherwise pay about half a second for them."""
    code = "import sys, starter; print(sorted(m for m in sys.modules if m.split('.')[0] in "
    code += "('sqlalchemy', 'alembic')))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


async def test_a_run_no_worker_serves_is_reported(env):
    """`starter.py run` on a task queue that no worker polls says so, and how to start one,
    instead of waiting in silence."""
    queue = unique("nobody")
    settings = {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TASKAGENT_TASK_QUEUE": queue,
        "COLUMNS": "200",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "starter.py", "run", "ticket_triage", "--input", '{"text": "hi"}',
        "--id", f"{queue}-run", cwd=ROOT, env={**os.environ, **settings},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    said = ""
    try:
        while "no worker polls" not in said:
            line = await asyncio.wait_for(process.stderr.readline(), 30)
            assert line, f"starter.py ended without saying so: {said}"
            said += line.decode()
    finally:
        process.kill()
        await process.wait()
        await env.client.get_workflow_handle(f"{queue}-run").terminate("test over")
    assert f"no worker polls the task queue {queue!r}" in said
    assert f"TASKAGENT_TASK_QUEUE={queue} python worker.py" in said
