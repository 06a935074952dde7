from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog
from temporalio import activity, workflow
from temporalio.testing import WorkflowEnvironment

from taskagent import search
from taskagent.llm.gemini_provider import GeminiProvider
from taskagent.llm.openai_provider import OpenAIProvider
from taskagent.logging import configure_logging
from taskagent.storage import data_converter
from taskagent.store import Database, migrate
from tests.databases import postgres_server
from tests.fake_llm import TEST_KEY, FakeLLM
from tests.support import binary, unique


@pytest.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (the pip-installed `temporal` binary), shared by the session."""
    environment = await WorkflowEnvironment.start_local(
        data_converter=data_converter(),
        dev_server_existing_path=binary("temporal"),
        search_attributes=search.KEYS,
    )
    try:
        yield environment
    finally:
        await environment.shutdown()


@pytest.fixture(scope="session")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server: durable timers fire as soon as nothing else runs."""
    environment = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(),
        test_server_existing_path=binary("temporal-test-server"),
    )
    try:
        yield environment
    finally:
        await environment.shutdown()


@pytest.fixture
def task_queue() -> str:
    return unique("tq")


CONFIGURATION_PREFIXES = ("OPENAI_", "GEMINI_", "GOOGLE_", "TASKAGENT_", "TEMPORAL_", "OTEL_")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No provider key, base URL or TaskAgent setting of the developer's shell reaches a test
    (nor the workers and CLIs it starts): each test sets what it needs."""
    for name in list(os.environ):
        if name.startswith(CONFIGURATION_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    """A fake LLM server speaking the OpenAI and Gemini wire formats."""
    async with FakeLLM() as server:
        yield server


@pytest.fixture
async def openai_provider(llm: FakeLLM) -> AsyncIterator[OpenAIProvider]:
    provider = OpenAIProvider(TEST_KEY, base_url=llm.openai_base_url, timeout=10)
    yield provider
    await provider.aclose()


@pytest.fixture
async def gemini_provider(llm: FakeLLM) -> AsyncIterator[GeminiProvider]:
    provider = GeminiProvider(TEST_KEY, base_url=llm.gemini_base_url, timeout=10)
    yield provider
    await provider.aclose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database: SQLite, and PostgreSQL (a real server the tests start) with a clean
    schema; each test that uses it runs on both."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path}/data/taskagent.db")
    else:
        db = Database(request.getfixturevalue("postgres_url"))
        with db.engine.begin() as connection:  # a clean schema for each test
            for table in ("memory", "bookmarks", "messages", "conversations", "alembic_version"):
                connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    migrate(db)
    yield db
    db.close()


@pytest.fixture
def restored() -> Iterator[None]:
    """configure_logging changes process-wide state: put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        configure_logging(content=False)  # the switch is process-wide too
        root.handlers[:] = handlers
        structlog.reset_defaults()
        workflow.logger.workflow_info_on_message = True
        activity.logger.activity_info_on_message = True
