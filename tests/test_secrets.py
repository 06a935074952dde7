"""Secrets never leave the worker: provider and tool messages that echo a credential are
redacted before they become a step error, a history event, a log line or the starter's output."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
from pathlib import Path

import pytest
import structlog
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from taskagent import Pipeline, Registry, StepStatus
from taskagent.llm.factory import ProviderFactory, ProviderSettings
from taskagent.logging import configure_logging, redact_with
from taskagent.redaction import Redactor
from tests.fake_llm import FakeLLM
from tests.support import (
    binary,
    failed_result,
    history_text,
    llm_harness,
    starter,
    unique,
    wait_for_step,
    worker_process,
)
from worker import secrets_of

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


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_log_lines_never_show_a_secret(fmt: str, capsys, restored) -> None:
    """In both formats: messages, fields, nested fields, objects' text and tracebacks (a bug's
    exception quoting a key, in our logs and in Temporal's)."""
    configure_logging(fmt, "INFO", redact=Redactor([OPENAI_KEY]))
    log = structlog.get_logger("test")
    log.warning("echoed", detail=f"sent {OPENAI_KEY} again")
    logging.getLogger("temporalio.activity").warning("failed: Bearer %s", OPENAI_KEY)
    log.warning("nested", request={"headers": [f"Bearer {OPENAI_KEY}"]}, error=KeyError(OPENAI_KEY))
    try:
        raise RuntimeError(f"the client was built with {OPENAI_KEY}")
    except RuntimeError:
        log.exception("a bug")
        logging.getLogger("temporalio.worker").exception("Failed activation")
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError" in err
    assert OPENAI_KEY not in err and err.count("[redacted]") >= 6


GOOD = """
name: good
model: openai:gpt-test
steps:
  - {kind: agent, id: ask, goal: "Tell the time.", tools: [current_time]}
  - kind: pipeline
    id: child
    depends_on: [ask]
    input: {question: $steps.ask.output}
    pipeline: {name: inner, model: openai:gpt-test, steps: [{kind: agent, id: think, goal: Think.}]}
"""
PAUSING = """
name: pausing
model: openai:gpt-test
on_error: pause
steps:
  - {kind: agent, id: ask, goal: Answer., retry: {max_attempts: 1}}
"""


async def test_no_secret_reaches_a_history_a_log_an_output_a_payload_or_the_database(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Runs that succeed (with a tool and a child pipeline), fail with a 401 that echoes the
    key, and pause and resume, with distinctive keys in the worker's environment; then every
    place a secret could end up is scanned."""
    queue = unique("secrets")
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "pausing.yaml").write_text(PAUSING)
    database = tmp_path / "conversations.db"
    async with FakeLLM() as llm:
        settings = {
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "TASKAGENT_TASK_QUEUE": queue,
            "TASKAGENT_PIPELINE_DIR": str(tmp_path / "none"),
            "TASKAGENT_PAYLOAD_DIR": str(tmp_path / "payloads"),
            "TASKAGENT_PAYLOAD_THRESHOLD": "1024",
            "TASKAGENT_DATABASE_URL": f"sqlite:///{database}",
            "TASKAGENT_LOG_FORMAT": "json",
            "TASKAGENT_ARCHIVE_AFTER_DAYS": "0",
            "OPENAI_API_KEY": OPENAI_KEY,
            "OPENAI_BASE_URL": llm.openai_base_url,
            "GEMINI_API_KEY": GEMINI_KEY,
            "TASKAGENT_LOG_CONTENT": "true",  # even with content logging on
        }
        llm.openai.reply_tool_call("current_time", {"tz": "UTC"})
        llm.openai.reply_text("It is noon.")
        llm.openai.reply_text("Thought.")
        llm.openai.fail(401, f"Incorrect API key provided: Bearer {OPENAI_KEY}. key={GEMINI_KEY}")
        llm.openai.fail(401, f"Incorrect API key provided: {OPENAI_KEY}")
        llm.openai.reply_text("Recovered.")
        outputs: list[str] = []
        log = tmp_path / "worker.log"
        with worker_process(settings, log) as worker:

            async def run(*args: str) -> subprocess.CompletedProcess[str]:
                # In a thread: the fake LLM answers on this event loop.
                done = await asyncio.to_thread(starter, *args, extra_env=settings)
                outputs.append(done.stdout + done.stderr)
                return done

            good = await run("run", "--file", str(tmp_path / "good.yaml"), "--id", f"{queue}-good")
            assert good.returncode == 0, good.stderr
            bad = await run("run", "--file", str(tmp_path / "good.yaml"), "--id", f"{queue}-bad")
            assert bad.returncode == 1 and "Incorrect API key provided" in bad.stderr
            await run(
                "run",
                "--file",
                str(tmp_path / "pausing.yaml"),
                "--id",
                f"{queue}-pause",
                "--no-follow",
            )
            handle = env.client.get_workflow_handle(f"{queue}-pause")
            await wait_for_step(handle, "ask", StepStatus.WAITING)
            assert (await run("retry", f"{queue}-pause", "ask")).returncode == 0
            assert (await run("watch", f"{queue}-pause")).returncode == 0
            assert (await run("status", f"{queue}-bad", "--json")).returncode == 1
            worker.send_signal(signal.SIGTERM)
            await asyncio.to_thread(worker.wait, 40)
        logs = log.read_text()
    ids = [f"{queue}-{name}" for name in ("good", "bad", "pause")] + [f"{queue}-good/child"]
    histories = []
    for workflow_id in ids:
        shown = await asyncio.to_thread(
            subprocess.run,
            [
                binary("temporal"),
                "workflow",
                "show",
                "-w",
                workflow_id,
                "-o",
                "json",
                "--address",
                settings["TEMPORAL_ADDRESS"],
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert shown.returncode == 0, shown.stderr
        histories.append(shown.stdout)
        histories.append(history_text(WorkflowHistory.from_json(workflow_id, shown.stdout)))
    stored = [path.read_bytes().decode("latin-1") for path in (tmp_path / "payloads").iterdir()]
    places = {
        "histories": "\n".join(histories),
        "logs": logs,
        "starter output": "\n".join(outputs),
        "payload store": "\n".join(stored),
        "database": database.read_bytes().decode("latin-1") if database.exists() else "",
    }
    assert "Incorrect API key provided" in places["histories"]  # the errors are there...
    assert '"event": "model call"' in logs or '"event":"model call"' in logs
    for place, text in places.items():
        for secret in (OPENAI_KEY, GEMINI_KEY):
            assert secret not in text, f"{secret[:12]}... found in the {place}"


def test_the_worker_hides_every_provider_key_in_its_logs_too(
    tmp_path: Path, monkeypatch, capsys, restored
) -> None:
    """A models file may name any variable for a key: its value is hidden like the others."""
    models = tmp_path / "models.yaml"
    models.write_text("providers:\n  openai:\n    api_key_env: LLAMA_ACCESS\n")
    monkeypatch.setenv("LLAMA_ACCESS", "llama-access-value-42")
    providers = ProviderFactory(ProviderSettings(TASKAGENT_MODELS=str(models)))
    configure_logging("json", "INFO", redact=Redactor.from_environment(os.environ))
    redact_with(secrets_of(providers))  # what the worker does once its providers exist
    structlog.get_logger("test").warning("echoed", detail="sent llama-access-value-42")
    err = capsys.readouterr().err
    assert "llama-access-value-42" not in err and "[redacted]" in err
