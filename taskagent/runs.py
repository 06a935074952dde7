"""Starting a pipeline run as the starter and the HTTP service do: checked first, labelled for
the Web UI, and read back (result, failure or progress) in one place."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)

from taskagent.names import PIPELINE_WORKFLOW, PROGRESS_QUERY
from taskagent.registry import Registry
from taskagent.render import static_details, static_summary
from taskagent.results import (
    Identity,
    PipelineResult,
    PipelineRunRequest,
    RunProgress,
    carried_result,
)
from taskagent.spec import PipelineSpec
from taskagent.validation import SpecError, check_input, validate_pipeline

DRY_LABEL = "DRY RUN · "
"""The start of a dry run's Web UI summary."""


def resolve(
    registry: Registry, pipeline: str | dict[str, Any] | PipelineSpec
) -> tuple[Any, PipelineSpec | None]:
    """What to send as `pipeline` (a name, or an inline spec: checked here unless it already
    is a validated spec), and its spec if this process knows it (a name only the worker knows
    is checked by the worker)."""
    if isinstance(pipeline, dict | PipelineSpec):
        spec = (
            pipeline
            if isinstance(pipeline, PipelineSpec)
            else validate_pipeline(pipeline, registry)
        )
        return spec.model_dump(mode="json", exclude_defaults=True), spec
    if pipeline in registry.pipeline_names():
        return pipeline, registry.get_pipeline(pipeline)
    return pipeline, None


async def start_run(
    client: Client,
    task_queue: str,
    registry: Registry,
    pipeline: str | dict[str, Any] | PipelineSpec,
    data: dict[str, Any],
    *,
    workflow_id: str | None = None,
    stream: bool = True,
    identity: Identity | None = None,
    dry_run: bool = False,
) -> WorkflowHandle[Any, PipelineResult]:
    """Start a run for `identity` (who starts it, and their roles); SpecError if the spec or
    the input is invalid (nothing is started). A `dry_run` is labelled as one: its id starts
    with `dry-` and its Web UI summary says so."""
    sent, spec = resolve(registry, pipeline)
    if spec is not None:
        problems = check_input(spec, data)
        if problems:
            raise SpecError(spec.name, problems)
    name = spec.name if spec else str(pipeline)
    request = PipelineRunRequest(
        pipeline=sent, input=data, stream=stream, identity=identity, dry_run=dry_run
    )
    summary = static_summary(spec) if spec else f"pipeline {name}"
    prefix = "dry-" if dry_run else ""
    return await client.start_workflow(
        PIPELINE_WORKFLOW,
        request,
        id=workflow_id or f"{prefix}{name}-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
        result_type=PipelineResult,
        static_summary=f"{DRY_LABEL if dry_run else ''}{summary}",
        static_details=static_details(spec) if spec else None,
    )


async def run_state(client: Client, workflow_id: str) -> dict[str, Any]:
    """A run's status and, as far as it got, its result (JSON): what `GET /runs/{id}` answers."""
    handle = client.get_workflow_handle(workflow_id, result_type=PipelineResult)
    description = await handle.describe()
    status = description.status.name if description.status else "UNKNOWN"
    state: dict[str, Any] = {"workflow_id": handle.id, "run_id": description.run_id}
    if description.status == WorkflowExecutionStatus.RUNNING:
        progress = await handle.query(PROGRESS_QUERY, result_type=RunProgress)
        return {**state, "status": status, "progress": progress.model_dump(mode="json")}
    try:
        result = await handle.result()
    except WorkflowFailureError as failure:
        found = carried_result(failure.cause)
        cause = failure.cause
        error = getattr(cause, "message", None) or str(failure)
        if found is not None:
            state["result"] = found.model_dump(mode="json")
        return {**state, "status": status, "error": error}
    return {**state, "status": status, "result": result.model_dump(mode="json")}
