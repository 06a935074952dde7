"""Secrets never leave the worker: provider and tool messages that echo a credential are
redacted before they become a step error, a history event, a log line or the starter's output."""

from __future__ import annotations

import logging

import structlog
from temporalio.testing import WorkflowEnvironment

from taskagent import Pipeline, Registry
from taskagent.logging import configure_logging
from taskagent.redaction import Redactor
from tests.support import failed_result, history_text, llm_harness

OPENAI_KEY = "sk-proj-LeakCanary0123456789abcdef"
GEMINI_KEY = "AIzaSyLeakCanary0123456789abcdefghijklm"


async def test_a_provider_echoing_the_key_in_a_401_leaks_nothing(
    env: WorkflowEnvironment, task_queue: str, capsys
) -> None:
    pipeline = Pipeline("leaky").agent("ask", "Answer.", model="openai:gpt-test")
    async with llm_harness(env, task_queue, Registry(), OPENAI_API_KEY=OPENAI_KEY) as harness:
        harness.llm.openai.fail(
            401,
            f"Incorrect API key provided: Bearer {OPENAI_KEY}. You can find your API key at ...",
        )
        handle = await harness.run(pipeline)
        result = await failed_result(handle)
        history = history_text(await handle.fetch_history())
    error = result.steps["ask"].error
    assert error is not None and error.type == "unauthorized"
    assert "Incorrect API key provided" in error.message
    assert OPENAI_KEY not in error.message and "[redacted]" in error.message
    assert OPENAI_KEY not in history
    captured = capsys.readouterr()
    assert OPENAI_KEY not in captured.out + captured.err


def test_the_redactor_hides_configured_values_and_credential_shapes() -> None:
    redact = Redactor.from_environment(
        {"LOCAL_LLM_KEY": "local-secret-value", "TASKAGENT_LOG_LEVEL": "INFO", "PGPASSWORD": "pw"}
    )
    assert redact("sent local-secret-value, level INFO") == "sent [redacted], level INFO"
    assert redact(f"Incorrect API key provided: Bearer {OPENAI_KEY}.") == (
        "Incorrect API key provided: Bearer [redacted]."
    )
    assert redact(f"API key not valid: {GEMINI_KEY}") == "API key not valid: [redacted]"
    assert redact("GET /v1beta/models/m?key=abc123def456&alt=sse") == (
        "GET /v1beta/models/m?key=[redacted]&alt=sse"
    )
    assert redact('{"api_key": "abcdefgh12345678"}') == '{"api_key": "[redacted]"}'
    harmless = "monkey=bananas1234, the keyboard, pw, short key=abc"
    assert redact(harmless) == harmless  # values under 8 characters are not secrets
    assert redact.values_only(f"a tool result quoting sk-{'x' * 20}") == (
        f"a tool result quoting sk-{'x' * 20}"
    )
    assert redact.values_only("local-secret-value") == "[redacted]"


def test_log_lines_never_show_a_secret(capsys) -> None:
    configure_logging("json", "INFO", redact=Redactor([OPENAI_KEY]))
    try:
        structlog.get_logger("test").warning("echoed", detail=f"sent {OPENAI_KEY} again")
        logging.getLogger("temporalio.activity").warning("failed: Bearer %s", OPENAI_KEY)
    finally:
        configure_logging()
    err = capsys.readouterr().err
    assert OPENAI_KEY not in err and err.count("[redacted]") == 2
