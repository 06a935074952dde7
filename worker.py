"""The TaskAgent worker: serves PipelineWorkflow, its activities and the registered pipelines.

    python worker.py            # configured by TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
                                # TASKAGENT_TASK_QUEUE, TASKAGENT_MODULES, TASKAGENT_PIPELINE_DIR

SIGINT or SIGTERM stops polling and lets in-flight activities finish (graceful shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
import temporalio
from temporalio.client import Client, Plugin
from temporalio.envconfig import ClientConfig, ClientConnectConfig
from temporalio.runtime import Runtime
from temporalio.worker import Interceptor, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import activities
import taskagent
import workflows
from activities import CodeActivities, LlmActivities, PipelineActivities, ToolActivities
from activities.deltas import DeltaStreams
from activities.messages import MessageActivities
from activities.notices import StepNotices
from activities.rate_limits import RateLimiter
from activities.search_attributes import SearchAttributeCheck
from taskagent import code_cache
from taskagent.conversation.schedule import ensure_archive_schedule
from taskagent.encryption import EncryptionError
from taskagent.llm.factory import ProviderFactory
from taskagent.llm.models_file import ModelsFileError
from taskagent.llm.pricing import PriceTable
from taskagent.logging import configure_logging, redact_with
from taskagent.redaction import Redactor
from taskagent.registry import Registry, RegistryError
from taskagent.settings import Settings
from taskagent.storage import data_converter
from taskagent.telemetry.interceptor import ScopeInterceptor
from taskagent.telemetry.setup import TelemetryError, configure_metrics, configure_tracing
from taskagent.tools import builtin_tools
from workflows import (
    ArchiveIdleConversations,
    ConversationWorkflow,
    PipelineWorkflow,
    RateLimitWorkflow,
    TopicWorkflow,
)

if TYPE_CHECKING:
    from activities.conversations import StoredMessages
    from taskagent.store import ConversationStore, Database

log = structlog.get_logger("taskagent.worker")

GRACEFUL_SHUTDOWN = timedelta(seconds=30)
HEARTBEAT_THROTTLE = timedelta(seconds=1)
MAX_INLINE_OUTPUT = 2_000_000
"""Without external storage, a larger step output would exceed Temporal's payload limit."""


def build_registry(settings: Settings) -> Registry:
    """Load the configured modules and spec folder; refuse invalid pipelines."""
    registry = Registry()
    registry.tools.include(
        builtin_tools(sqlite_path=settings.sqlite_path, http_allow_hosts=settings.allowed_hosts())
    )
    registry.load_modules(settings.module_names())
    if settings.pipeline_dir is not None:
        registry.load_folder(settings.pipeline_dir)
    errors = registry.check()
    if errors:
        raise RegistryError("\n".join(str(err) for err in errors))
    return registry


@functools.cache
def build_id() -> str:
    """An id of the code this worker runs: TaskAgent's packages and the Temporal SDK's version.

    Temporal would otherwise hash the bytecode of every loaded module at worker start, compiling
    the ones without bytecode caches: hundreds of milliseconds of start-up for a figure that only
    has to change when the code does.
    """
    digest = hashlib.sha256(temporalio.__version__.encode())
    for package in (taskagent, workflows, activities):
        root = Path(str(package.__file__)).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root.parent)).encode())
            digest.update(path.read_bytes())
    return f"taskagent-{digest.hexdigest()[:16]}"


def secrets_of(providers: ProviderFactory) -> Redactor:
    """What this process must never show: its environment's secrets and every provider key."""
    return Redactor.from_environment(os.environ, *providers.secrets())


def build_worker(
    client: Client,
    registry: Registry,
    task_queue: str,
    providers: ProviderFactory,
    prices: PriceTable | None = None,
    graceful_shutdown: timedelta = GRACEFUL_SHUTDOWN,
    *,
    interceptors: Sequence[Interceptor] = (),
    workflow_runner: WorkflowRunner | None = None,
    max_concurrent_activities: int | None = None,
    store: ConversationStore | None = None,
    redact: Redactor | None = None,
) -> Worker:
    """A worker with every workflow and activity wired to `registry` and `providers`.

    `workflow_runner` defaults to Temporal's sandbox with its default restrictions: workflow
    code needs no special configuration, and a `Replayer` built the same way replays its runs.
    """
    code_cache.install(workflows.__name__)  # the sandbox imports the workflow code per run
    stores_large = client.data_converter.external_storage is not None
    code = CodeActivities(registry, max_output_bytes=None if stores_large else MAX_INLINE_OUTPUT)
    pipelines = PipelineActivities(
        registry, providers.settings.default_model, SearchAttributeCheck(client)
    )
    limiter = RateLimiter(client, task_queue, providers.models.rate_limits())
    redact = redact or secrets_of(providers)
    llm = LlmActivities(
        providers,
        prices or PriceTable(),
        limiter=limiter,
        notices=StepNotices(client),
        deltas=DeltaStreams(client),
        stored=stored_messages(store),
        redact=redact,
    )
    tool_limits = RateLimiter(client, task_queue, registry.tools.rate_limits())
    tools = ToolActivities(registry.tools, redact, limiter=tool_limits)
    messages = MessageActivities(client)
    workflow_types: list[type] = [PipelineWorkflow, RateLimitWorkflow, TopicWorkflow]
    activity_functions: list[Callable[..., Any]] = [
        code.run,
        code.check_output,
        pipelines.resolve,
        llm.call,
        llm.dry_call,
        tools.run,
        messages.deliver,
        messages.subscribe,
    ]
    if store is not None:  # conversations need their database
        from activities.conversations import ConversationActivities
        from activities.memory import MemoryActivities

        conversations = ConversationActivities(store)
        memory = MemoryActivities(store)
        workflow_types += [ConversationWorkflow, ArchiveIdleConversations]
        activity_functions += [
            conversations.open,
            conversations.append,
            conversations.bookmark,
            conversations.archive,
            conversations.archive_idle,
            memory.read,
            memory.write,
        ]
    return Worker(
        client,
        task_queue=task_queue,
        workflows=workflow_types,
        activities=activity_functions,
        graceful_shutdown_timeout=graceful_shutdown,
        max_concurrent_activities=max_concurrent_activities,
        interceptors=[ScopeInterceptor(), *interceptors],
        workflow_runner=workflow_runner or SandboxedWorkflowRunner(),
        build_id=build_id(),
        # Cancellation reaches an activity in a heartbeat's response: keep that prompt.
        max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        default_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
    )


def stored_messages(store: ConversationStore | None) -> StoredMessages | None:
    """What lets model calls read a conversation's messages (none without a store)."""
    if store is None:
        return None
    from activities.conversations import StoredMessages

    return StoredMessages(store)


def open_database(url: str) -> Database:
    """The conversation and memory database, its schema brought up to date (SQLAlchemy and
    Alembic load here: a process that only starts runs, starter.py, never pays for them)."""
    from taskagent.store import Database, migrate

    database = Database(url)
    migrate(database)
    return database


def _hidden(url: str) -> str:
    """A database URL with its password hidden (for logs)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even a URL: show nothing of it
        return "<unparsable>"


def client_config(settings: Settings) -> ClientConnectConfig:
    """Temporal's standard client configuration: the TEMPORAL_* variables (TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*) over the profile named by
    TEMPORAL_PROFILE in TEMPORAL_CONFIG_FILE (or Temporal's default file), which carry TLS, mTLS
    certificates and API keys (Temporal Cloud); TaskAgent's defaults where nothing is set."""
    config = ClientConfig.load_client_connect_config()
    config.setdefault("target_host", settings.temporal_address)
    config.setdefault("namespace", settings.temporal_namespace)
    return config


async def connect(
    settings: Settings, plugins: Sequence[Plugin] = (), metrics: Runtime | None = None
) -> Client:
    """A client configured as `client_config` says, whose converter keeps large payloads out of
    the history (TASKAGENT_PAYLOAD_DIR); `plugins` trace what it starts and, on a worker, what
    the worker runs; `metrics` is the Temporal runtime that exports the worker's metrics."""
    return await Client.connect(
        **client_config(settings),
        data_converter=data_converter(
            settings.payload_dir, settings.payload_threshold, codec=settings.codec()
        ),
        plugins=plugins,
        runtime=metrics,
    )


async def main() -> int:
    settings = Settings()
    configure_logging(
        settings.log_format,
        settings.log_level,
        settings.log_content,
        Redactor.from_environment(os.environ),
    )
    try:
        plugins = configure_tracing("taskagent-worker")
        metrics = configure_metrics("taskagent-worker")
    except TelemetryError as err:
        log.error("invalid telemetry configuration", error=str(err))
        return 2
    try:
        registry = build_registry(settings)
    except RegistryError as err:
        log.error("invalid pipeline registry", error=str(err))
        return 2
    try:
        providers = ProviderFactory()
    except ModelsFileError as err:
        log.error("invalid TASKAGENT_MODELS", error=str(err))
        return 2
    redact = secrets_of(providers)
    redact_with(redact)  # the models file's keys too, from here on
    try:
        prices = PriceTable.from_config(settings.prices, providers.models.prices())
    except (OSError, ValueError) as err:
        log.error("invalid TASKAGENT_PRICES", error=str(err))
        return 2
    try:
        client = await connect(settings, plugins, metrics.runtime if metrics else None)
    except EncryptionError as err:
        log.error("invalid encryption keys", error=str(err))
        return 2
    except RuntimeError as err:
        address = client_config(settings).get("target_host")
        log.error("cannot connect to Temporal", address=address, error=str(err))
        return 1
    try:
        database = open_database(settings.database_url)
    except Exception as err:  # a bad URL or an unreachable server: say which, and stop
        log.error("cannot open the database", url=_hidden(settings.database_url), error=str(err))
        return 2
    from taskagent.store import ConversationStore

    store = ConversationStore(database)
    worker = build_worker(
        client, registry, settings.task_queue, providers, prices, store=store, redact=redact
    )
    if settings.archive_after_days:
        await ensure_archive_schedule(client, settings.task_queue, settings.archive_after_days)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker started",
        address=settings.temporal_address,
        namespace=settings.temporal_namespace,
        task_queue=settings.task_queue,
        pipelines=list(registry.pipeline_names()),
        functions=len(registry.function_names()),
        tools=list(registry.tool_names()),
        default_model=providers.settings.default_model,
        traces=bool(plugins),
        metrics=metrics.endpoint or "otlp" if metrics else None,
    )
    async with contextlib.AsyncExitStack() as stack:
        if metrics is not None:
            await stack.enter_async_context(metrics.exporter)
        async with worker:
            await stop.wait()
            log.info("shutting down: draining in-flight tasks", timeout_s=GRACEFUL_SHUTDOWN.seconds)
    await providers.aclose()
    database.close()
    log.info("worker stopped")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
