"""Temporal's failure semantics, kept: known failures are step errors, bugs fail the workflow task,
every activity has a bounded retry policy, stored models survive deploys, error types are listed
once."""

from __future__ import annotations

import ast
from typing import Any

import pytest
from pydantic import BaseModel, field_validator
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import workflows.kinds.switch
from taskagent import ErrorType, Pipeline, Registry, StepContext, StepStatus, code
from taskagent.operator import RetryStep
from taskagent.results import PipelineRunRequest, ResolvedPipeline, ResumeState
from taskagent.spec import PipelineSpec
from taskagent.testing import ScriptedAnswer, ScriptedProvider
from tests.support import (
    ACTIVITY_POLICIES,
    CALLS,
    ROOT,
    eventually,
    example_registry,
    failed_result,
    probes,
    running_worker,
    start,
    unique,
    wait_for_step,
)


async def task_failures(handle: WorkflowHandle[Any, Any]) -> int:
    history = await handle.fetch_history()
    return sum(
        1 for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    )


async def test_a_bug_in_workflow_code_fails_the_task_and_a_fixed_deploy_resumes_the_run(
    env, task_queue, monkeypatch
):
    """A KeyError in an executor is a bug, not a step error: the run waits (RUNNING) for a fix,
    and the fixed worker finishes it without re-running what completed."""
    name = unique("bug")
    pipeline = (
        Pipeline("buggy")
        .code("pick", "flaky", input={"name": name, "failures": 0})
        .switch("route", "steps.pick.output.attempt", {"1": "done"}, depends_on=["pick"])
        .code("done", "echo", input="finished")
    )
    # The switch executor passes through the sandbox here, so that the test can break it.
    runner = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows.kinds.switch")
    )
    fixed = workflows.kinds.switch.execute

    async def buggy(ctx: Any, step: Any, value: Any) -> Any:
        return {}["no such key"]  # a bug: KeyError

    monkeypatch.setattr(workflows.kinds.switch, "execute", buggy)
    async with running_worker(env.client, probes, task_queue, workflow_runner=runner):
        handle = await start(env.client, task_queue, pipeline)

        async def task_failed() -> bool:
            return await task_failures(handle) > 0

        await eventually(task_failed, timeout=20)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    monkeypatch.setattr(workflows.kinds.switch, "execute", fixed)  # the fixed deploy
    async with running_worker(env.client, probes, task_queue, workflow_runner=runner):
        result = await handle.result()
    assert result.output == "finished"
    assert result.steps["route"].status is StepStatus.COMPLETED
    assert CALLS[name] == 1  # the step that completed before the bug did not run again


async def test_every_activity_call_has_a_bounded_retry_policy_and_a_label(env, task_queue):
    ACTIVITY_POLICIES.clear()
    registry = Registry()
    registry.include(example_registry())
    registry.include(probes)
    branches = [code("one", "echo", input=1), code("two", "echo", input=2)]
    fan = Pipeline("fan").parallel("fan", branches, merge="total")
    async with running_worker(env.client, registry, task_queue):
        for pipeline, data in [
            ("company_research", {"company": "Acme"}),  # agents, tools, output models
            ("contact_enrichment", {"email": "a@b.org", "company": "Acme"}),  # child pipelines
            ("document_assistant", {"request": "Summarise this", "document": "Text."}),
            (fan, {}),  # a merge function, a local activity
        ]:
            await (await start(env.client, task_queue, pipeline, data)).result()
    kinds = {activity for activity, _, _ in ACTIVITY_POLICIES}
    assert kinds >= {
        "taskagent.resolve_pipeline",
        "taskagent.code_step",
        "taskagent.llm_call",
        "taskagent.check_output",
        "taskagent.tool_call",
    }
    unbounded = [
        activity
        for activity, policy, _ in ACTIVITY_POLICIES
        if policy is None or not 1 <= policy.maximum_attempts <= 100
    ]
    assert unbounded == []
    # Each step's calls are labelled in the Web UI with the step and what the call does.
    steps = [entry for entry in ACTIVITY_POLICIES if entry[0] != "taskagent.resolve_pipeline"]
    assert [entry for entry in steps if not entry[2] or " · " not in entry[2]] == []


def test_workflow_code_schedules_activities_in_few_places_always_with_a_policy():
    """All step activities go through StepRun.activity (which always sets a policy); the others
    are the resolve activity and a conversation's store and summary calls, each with its own
    bounded policy."""
    calls: dict[str, list[str]] = {}
    for path in sorted((ROOT / "workflows").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
                if name in {"execute_activity", "execute_local_activity", "start_activity"}:
                    keywords = {k.arg for k in node.keywords}
                    label = f"{name}({'retry_policy' in keywords or '**' in ast.unparse(node)})"
                    calls.setdefault(str(path.relative_to(ROOT)), []).append(label)
    assert set(calls) == {
        "workflows/step_run.py",
        "workflows/pipeline.py",
        "workflows/turns.py",
        "workflows/conversation.py",
        "workflows/archive.py",
        "workflows/memory.py",
    }
    assert calls["workflows/pipeline.py"] == [
        "execute_activity(True)",
        "execute_local_activity(True)",
    ]
    for path in set(calls) - {"workflows/step_run.py", "workflows/pipeline.py"}:
        assert calls[path] and all(call.endswith("(True)") for call in calls[path]), path


broken_models = Registry()


@broken_models.model()
class Fragile(BaseModel):
    label: str

    @field_validator("label")
    @classmethod
    def _look_up(cls, value: str) -> str:
        return {"known": value}[value]  # a bug: KeyError for anything but "known"


async def test_an_output_validator_that_crashes_is_a_clear_non_retryable_step_error(
    env, task_queue
):
    pipeline = Pipeline("fragile", model="scripted:judge").agent(
        "judge", "Label it.", output_schema="Fragile"
    )
    scripted = ScriptedProvider().enqueue("judge", ScriptedAnswer(content={"label": "other"}))
    async with running_worker(env.client, broken_models, task_queue, scripted=scripted):
        result = await failed_result(await start(env.client, task_queue, pipeline))
    error = result.steps["judge"].error
    assert error is not None and error.type == ErrorType.VALIDATOR_ERROR
    assert error.non_retryable and error.attempts == 1
    assert "output model 'Fragile' raised KeyError" in error.message


async def test_an_operator_retry_with_a_new_input_gets_a_new_idempotency_key(env, task_queue):
    keys = Registry()
    seen: list[str] = []

    @keys.function()
    def charge(amount: int, context: StepContext) -> int:
        seen.append(context.idempotency_key)
        if amount < 0:
            raise ValueError("negative amount")
        return amount

    pipeline = Pipeline("charging", on_error="pause").code(
        "charge", "charge", input=-1, retry={"max_attempts": 2, "initial_interval": 0.01}
    )
    async with running_worker(env.client, keys, task_queue):
        handle = await start(env.client, task_queue, pipeline)
        await wait_for_step(handle, "charge", StepStatus.WAITING)
        await handle.execute_update("retry_step", RetryStep(step="charge", input=5))
        result = await handle.result()
    assert result.steps["charge"].output == 5
    first, retried, fixed = seen
    assert first == retried  # Temporal's retries of one execution share the key
    assert fixed != first and fixed.endswith("/charge#1")  # a new input is a new execution
    assert first == f"{handle.id}/{result.run_id}/charge"


def test_stored_models_tolerate_fields_from_another_release():
    spec = {
        "name": "p",
        "new_field": 1,
        "steps": [{"id": "a", "kind": "code", "function": "f", "hint": "x"}],
    }
    resolved = ResolvedPipeline.model_validate({"spec": spec, "unknown": True})
    assert resolved.spec.steps[0].id == "a"
    request = PipelineRunRequest.model_validate({"pipeline": "p", "priority": 3})
    assert request.pipeline == "p"
    assert RetryStep.model_validate({"step": "a", "reason_code": 7}).step == "a"
    result = {"pipeline": "p", "workflow_id": "w", "run_id": "r", "extra": 1}
    ResumeState.model_validate({"resolved": {"spec": spec}, "result": result, "new": 1})
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        PipelineSpec.model_validate(spec, context={"strict": True})  # a person's spec: strict


SOURCES = ["taskagent", "workflows", "activities"]
TYPE_ARGUMENTS = {"ApplicationError": "type", "StepError": "type", "ProviderError": "kind"}


def test_error_types_are_only_written_in_the_error_module():
    """Every error type TaskAgent emits comes from taskagent.errors.ErrorType."""
    literal: list[str] = []
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "errors.py" and path.parent.name == "taskagent":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                values = [k.value for k in node.keywords if k.arg == TYPE_ARGUMENTS.get(name, "")]
                if name in {"non_retryable", "StepFailure"}:
                    values += node.args[:2]
                literal += [
                    f"{path.relative_to(ROOT)}:{node.lineno}"
                    for value in values
                    if isinstance(value, ast.Constant) and isinstance(value.value, str)
                ]
    assert literal == []


def test_the_readme_lists_every_error_type():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Error types") :]
    missing = [kind.value for kind in ErrorType if f"`{kind.value}`" not in table]
    assert missing == []
