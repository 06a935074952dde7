"""The Python API: `run_pipeline` starts a run (or `result_of` attaches to one), follows it and
returns a typed result: each step's output as an instance of its registered type, the final
output too; a failed run is a result, not an exception; a run no worker serves says so; and
`local=True` runs with nothing else running."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pydantic import BaseModel
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from taskagent import (
    Pipeline,
    Registry,
    RunStatus,
    SpecError,
    result_of,
    run_pipeline,
    run_pipeline_sync,
)
from taskagent import pollers as pollers_module
from taskagent.events import EventKind, RunEvent
from taskagent.settings import Settings
from taskagent.testing import ScriptedAnswer, ScriptedProvider
from tests.support import eventually, running_worker, unique

research = Registry()


class CompanyQuery(BaseModel):
    company: str


class CompanyInfo(BaseModel):
    name: str
    employees: int


@research.model()
class Report(BaseModel):
    summary: str
    score: float


@research.function()
def search(query: CompanyQuery) -> CompanyInfo:
    return CompanyInfo(name=query.company, employees=120)


@research.function()
def refuse(query: CompanyQuery) -> CompanyInfo:
    raise ValueError(f"no data on {query.company}")


def report_pipeline(first: str = "search") -> Pipeline:
    return (
        Pipeline("company_report", model="scripted:analyst", input_model=CompanyQuery)
        .code("basic_info", first)
        .agent("report", "Report on the company.", depends_on=["basic_info"], output_schema=Report)
    )


def settings_for(task_queue: str) -> Settings:
    return Settings(TASKAGENT_TASK_QUEUE=task_queue)


async def test_run_pipeline_returns_typed_step_outputs_and_final_output(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    scripted = ScriptedProvider().enqueue(
        "analyst", ScriptedAnswer(content={"summary": "Sound.", "score": 4.5})
    )
    events: list[RunEvent] = []
    async with running_worker(env.client, research, task_queue, scripted=scripted):
        result = await run_pipeline(
            report_pipeline(),
            CompanyQuery(company="Acme"),
            registry=research,
            client=env.client,
            settings=settings_for(task_queue),
            on_event=events.append,
        )
        attached = await result_of(
            result.workflow_id, registry=research, client=env.client, settings=Settings()
        )
    assert result.ok and result.status is RunStatus.COMPLETED
    assert result.step_outputs["basic_info"] == CompanyInfo(name="Acme", employees=120)
    assert isinstance(result.final_output, Report) and result.final_output.score == 4.5
    assert result.result.steps["report"].output == {"summary": "Sound.", "score": 4.5}  # JSON
    assert attached.step_outputs == result.step_outputs
    kinds = [event.kind for event in events]
    assert kinds[0] == EventKind.RUN_STARTED and kinds[-1] == EventKind.RUN_COMPLETED
    assert EventKind.STEP_COMPLETED in kinds


async def test_a_failed_run_is_a_result_and_an_invalid_one_starts_nothing(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    async with running_worker(env.client, research, task_queue):
        failed = await run_pipeline(
            report_pipeline("refuse"),
            {"company": "Acme"},
            registry=research,
            client=env.client,
            settings=settings_for(task_queue),
        )
        with pytest.raises(SpecError, match="company"):
            await run_pipeline(
                report_pipeline(), {}, registry=research, client=env.client,
                settings=settings_for(task_queue),
            )  # fmt: skip
    assert not failed.ok and failed.status is RunStatus.FAILED
    assert failed.errors["basic_info"].startswith("ValueError: function 'refuse' raised")
    assert failed.step_outputs == {} and failed.final_output is None


async def test_a_run_no_worker_serves_says_so(
    env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(pollers_module, "CHECK_AFTER_SECONDS", 0.2)
    queue = unique("nobody")
    workflow_id = unique("unserved")
    waiting = asyncio.create_task(
        run_pipeline(
            report_pipeline(),
            {"company": "Acme"},
            registry=research,
            client=env.client,
            settings=settings_for(queue),
            workflow_id=workflow_id,
        )
    )
    with caplog.at_level(logging.WARNING, logger="taskagent"):
        await eventually(lambda: _said(caplog, f"no worker polls the task queue {queue!r}"))
    waiting.cancel()
    handle = env.client.get_workflow_handle(workflow_id)
    await handle.terminate("test over")
    assert (await handle.describe()).status is WorkflowExecutionStatus.TERMINATED
    assert f"TASKAGENT_TASK_QUEUE={queue} python worker.py" in caplog.text


async def _said(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return text in caplog.text


async def test_a_local_run_needs_nothing_else_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """`local=True`: an embedded dev server and an in-process worker, started and stopped by
    the call (here the sync convenience, as a script would call it)."""
    monkeypatch.setenv("TASKAGENT_DEFAULT_MODEL", "offline:default")
    pipeline = Pipeline("local_report", input_model=CompanyQuery).code("basic_info", "search")
    result = await asyncio.to_thread(
        run_pipeline_sync, pipeline, {"company": "Acme"}, registry=research, local=True
    )
    assert result.ok and result.final_output == CompanyInfo(name="Acme", employees=120)
