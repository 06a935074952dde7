"""Shared test helpers: binaries, a worker context, and a registry of probe functions."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowHistory
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import (
    Interceptor,
    StartActivityInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
    WorkflowRunner,
)

from taskagent import Pipeline, PipelineRunRequest, Registry, StepContext, StepFailed, StepStatus
from taskagent.llm.factory import ProviderFactory, ProviderSettings
from taskagent.names import PIPELINE_WORKFLOW, PROGRESS_QUERY
from taskagent.results import PipelineResult, RunProgress
from taskagent.settings import Settings
from taskagent.store import ConversationStore
from taskagent.testing import ScriptedProvider
from tests.fake_llm import FakeLLM
from worker import build_registry, build_worker

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


def binary(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{path} is missing: run `make venv` (pip install -e '.[dev]')"
    return str(path)


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll `check` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


ACTIVITY_POLICIES: list[tuple[str, RetryPolicy | None, str | None]] = []
"""(activity type, retry policy, Web UI summary) of every activity and local activity a test run
scheduled."""


class PolicyRecorder(Interceptor):
    """Records the retry policy and summary of every activity that workflow code schedules."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _RecordingInbound


class _RecordingInbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_RecordingOutbound(outbound))


class _RecordingOutbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> Any:
        ACTIVITY_POLICIES.append((input.activity, input.retry_policy, input.summary))
        return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> Any:
        ACTIVITY_POLICIES.append((input.activity, input.retry_policy, input.summary))
        return super().start_local_activity(input)


@asynccontextmanager
async def running_worker(
    client: Client,
    registry: Registry,
    task_queue: str,
    providers: ProviderFactory | None = None,
    workflow_runner: WorkflowRunner | None = None,
    scripted: ScriptedProvider | None = None,
    max_concurrent_activities: int | None = None,
    store: ConversationStore | None = None,
) -> AsyncIterator[None]:
    """A worker on `task_queue`; models are the offline one unless `providers` says otherwise,
    and `scripted:<name>` plays what a test enqueued on `scripted`.

    Every activity the run schedules is checked for a bounded retry policy (see ACTIVITY_POLICIES).
    """
    factory = providers or ProviderFactory(
        ProviderSettings(TASKAGENT_DEFAULT_MODEL="offline:default"),
        extra=[scripted] if scripted else [],
    )
    worker = build_worker(
        client,
        registry,
        task_queue,
        factory,
        graceful_shutdown=timedelta(seconds=0),
        interceptors=[PolicyRecorder()],
        workflow_runner=workflow_runner,
        max_concurrent_activities=max_concurrent_activities,
        store=store,
    )
    try:
        async with worker:
            yield
    finally:
        if providers is None:
            await factory.aclose()


async def start(
    client: Client,
    task_queue: str,
    pipeline: Any,
    data: dict[str, Any] | None = None,
    workflow_id: str | None = None,
    execution_timeout: timedelta = timedelta(seconds=60),
    stream: bool = False,
    dry_run: bool = False,
) -> WorkflowHandle[Any, PipelineResult]:
    if hasattr(pipeline, "build"):
        pipeline = pipeline.build()
    if hasattr(pipeline, "model_dump"):
        pipeline = pipeline.model_dump(mode="json", exclude_defaults=True)
    return await client.start_workflow(
        PIPELINE_WORKFLOW,
        PipelineRunRequest(pipeline=pipeline, input=data or {}, stream=stream, dry_run=dry_run),
        id=workflow_id or unique("wf"),
        task_queue=task_queue,
        result_type=PipelineResult,
        execution_timeout=execution_timeout,
    )


async def progress(handle: WorkflowHandle[Any, Any]) -> RunProgress:
    """The light progress of a run (query `progress`)."""
    return await handle.query(PROGRESS_QUERY, result_type=RunProgress)


async def wait_for_step(
    handle: WorkflowHandle[Any, Any], step: str, status: StepStatus, timeout: float = 30
) -> RunProgress:
    """Poll the progress query until `step` has `status`; the progress at that moment."""

    async def reached() -> bool:
        try:
            current = await progress(handle)
        except RPCError:  # no worker has picked the run up yet
            return False
        record = current.steps.get(step)
        return record is not None and record.status is status

    await eventually(reached, timeout)
    return await progress(handle)


@contextmanager
def worker_process(
    env_vars: dict[str, str], log: Path | None = None
) -> Iterator[subprocess.Popen[str]]:
    """worker.py as a separate process, killed at the end if still running; its database is
    a file of its own unless `env_vars` names one. Its output is piped (read it with
    communicate), or written to `log` for a talkative worker (a full pipe would block it)."""
    database = Path(tempfile.mkdtemp(prefix="taskagent-db-")) / "taskagent.db"
    defaults = {
        "TASKAGENT_DEFAULT_MODEL": "offline:default",
        "TASKAGENT_DATABASE_URL": f"sqlite:///{database}",
    }
    process = subprocess.Popen(
        [sys.executable, "worker.py"],
        cwd=ROOT,
        env={**os.environ, **defaults, **env_vars},
        stdout=log.open("w") if log is not None else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()
        shutil.rmtree(database.parent, ignore_errors=True)


@dataclass
class Harness:
    """A worker whose providers talk to a fake LLM server, and how to start runs on it."""

    llm: FakeLLM
    env: Any
    task_queue: str
    providers: ProviderFactory

    async def run(
        self, pipeline: Pipeline, data: dict[str, Any] | None = None, *, stream: bool = False
    ) -> WorkflowHandle[Any, PipelineResult]:
        return await start(self.env.client, self.task_queue, pipeline, data, stream=stream)


@asynccontextmanager
async def llm_harness(
    env: Any, task_queue: str, registry: Registry, **settings: Any
) -> AsyncIterator[Harness]:
    """A worker on `task_queue` serving `registry`, with OpenAI and Gemini keys set and their
    base URLs pointing at a fake LLM server (default model: `openai:gpt-test`); `settings` are
    more provider settings, by their variable names."""
    async with FakeLLM() as llm:
        defaults = {
            "OPENAI_API_KEY": "test-openai-key",
            "OPENAI_BASE_URL": llm.openai_base_url,
            "GEMINI_API_KEY": "test-gemini-key",
            "GEMINI_BASE_URL": llm.gemini_base_url,
            "TASKAGENT_DEFAULT_MODEL": "openai:gpt-test",
        }
        provider_settings = ProviderSettings(**{**defaults, **settings})
        factory = ProviderFactory(provider_settings)
        try:
            async with running_worker(env.client, registry, task_queue, providers=factory):
                yield Harness(llm, env, task_queue, factory)
        finally:
            await factory.aclose()


async def failed_result(handle: WorkflowHandle[Any, PipelineResult]) -> PipelineResult:
    """The PipelineResult carried by the PipelineFailed error of a failed run."""
    try:
        await handle.result()
    except WorkflowFailureError as failure:
        cause = failure.cause
        assert isinstance(cause, ApplicationError) and cause.type == "PipelineFailed", cause
        return PipelineResult.model_validate(cause.details[0])
    raise AssertionError("the run did not fail")


def patches(history: WorkflowHistory) -> list[str]:
    """The `workflow.patched` markers a run recorded, as their raw JSON."""
    return [
        event.marker_recorded_event_attributes.details["patch-data"].payloads[0].data.decode()
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and "patch-data" in event.marker_recorded_event_attributes.details
    ]


# -- probe functions ---------------------------------------------------------------------------
probes = Registry()
EVENTS: dict[str, asyncio.Event] = {}
BARRIERS: dict[str, asyncio.Barrier] = {}
INTERVALS: dict[str, tuple[float, float]] = {}
CALLS: dict[str, int] = {}
CANCELLED: set[str] = set()
"""Names of wait_for_signal activities that received their cancellation."""


def event(name: str) -> asyncio.Event:
    return EVENTS.setdefault(name, asyncio.Event())


class Signal(BaseModel):
    name: str
    tag: str = ""


class Gate(BaseModel):
    name: str
    parties: int = 2
    tag: str


class Numbers(BaseModel):
    a: float
    b: float


class Flaky(BaseModel):
    name: str
    failures: int


def _timed(tag: str, started: float) -> None:
    INTERVALS[tag] = (started, time.monotonic())


@probes.function()
async def echo(value: Any) -> Any:
    return value


@probes.function(local=True)
def add(numbers: Numbers) -> float:
    return numbers.a + numbers.b


@probes.function()
async def wait_for_signal(signal: Signal) -> dict[str, str]:
    """Block (heartbeating) until `signal.name` is set."""
    started = time.monotonic()
    gate = event(signal.name)
    try:
        while not gate.is_set():
            activity.heartbeat()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(gate.wait(), 0.2)
    except asyncio.CancelledError:
        CANCELLED.add(signal.name)
        raise
    _timed(signal.tag or signal.name, started)
    return {"waited_for": signal.name}


@probes.function()
async def send_signal(signal: Signal) -> dict[str, str]:
    started = time.monotonic()
    event(signal.name).set()
    _timed(signal.tag or signal.name, started)
    return {"sent": signal.name}


@probes.function()
async def meet(gate: Gate) -> dict[str, str]:
    """Returns only once `parties` steps are inside at the same time."""
    started = time.monotonic()
    barrier = BARRIERS.setdefault(gate.name, asyncio.Barrier(gate.parties))
    await asyncio.wait_for(barrier.wait(), 20)
    _timed(gate.tag, started)
    return {"met": gate.tag}


@probes.function()
async def fail(value: Any) -> Any:
    raise StepFailed(f"refused {value!r}", retryable=False, type="Refused")


@probes.function()
async def flaky(spec: Flaky, context: StepContext) -> dict[str, int]:
    CALLS[spec.name] = CALLS.get(spec.name, 0) + 1
    if CALLS[spec.name] <= spec.failures:  # calls, not attempts: an operator retry is attempt 1
        raise RuntimeError(f"transient failure {CALLS[spec.name]}")
    return {"attempt": context.attempt}


@probes.function(local=True)
def total(outputs: dict[str, float]) -> float:
    return sum(outputs.values())


def example_registry() -> Registry:
    """The registry the worker serves by default: built-in tools, example modules, spec files."""
    return build_registry(
        Settings(
            TASKAGENT_MODULES="examples.pipelines,examples.research",
            TASKAGENT_PIPELINE_DIR=ROOT / "pipelines",
        )
    )


@probes.function()
def big(size: int) -> str:
    """A large output: `size` characters."""
    return "x" * size


@probes.function()
def length(text: str) -> int:
    return len(text)


def history_text(history: WorkflowHistory) -> str:
    """Every payload of a history, decoded, one per line: what the history really holds."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            data = node.get("data")
            if "metadata" in node and isinstance(data, str):
                found.append(base64.b64decode(data).decode("utf-8", "replace"))
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(history.to_json_dict())
    return "\n".join(found)


@asynccontextmanager
async def serving_app(app: Any) -> AsyncIterator[str]:
    """An ASGI application served by uvicorn on a free loopback port; its base URL."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def starter(
    *args: str, extra_env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python starter.py ARGS` as a user runs it (wide output; blocking: from a test whose
    event loop serves a fake, call it through asyncio.to_thread)."""
    return subprocess.run(
        [sys.executable, "starter.py", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200", **(extra_env or {})},
    )
