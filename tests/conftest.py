from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from taskagent import search
from taskagent.llm.gemini_provider import GeminiProvider
from taskagent.llm.openai_provider import OpenAIProvider
from taskagent.storage import data_converter
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
