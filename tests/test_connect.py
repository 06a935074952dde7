"""Worker and starter connect with Temporal's standard client configuration: TEMPORAL_*
variables and profiles (which also carry TLS, mTLS certificates and API keys)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from taskagent.settings import Settings
from tests.support import starter, unique, worker_process
from worker import client_config


def test_variables_and_profiles_configure_the_client(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "temporal.toml"
    config.write_text(
        '[profile.cloud]\naddress = "acme.tmprl.cloud:7233"\nnamespace = "acme.a1b2c"\n'
        'api_key = "profile-key-123456"\n'
    )
    assert client_config(Settings()) == {"target_host": "localhost:7233", "namespace": "default"}
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(config))
    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")
    found = client_config(Settings())
    assert (found["target_host"], found["namespace"]) == ("acme.tmprl.cloud:7233", "acme.a1b2c")
    assert found["api_key"] == "profile-key-123456" and found["tls"]  # an API key implies TLS
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "staging")  # a variable overrides the profile
    assert client_config(Settings())["namespace"] == "staging"


async def test_a_worker_and_the_starter_run_a_pipeline_through_a_profile(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    address = env.client.service_client.config.target_host
    config = tmp_path / "temporal.toml"
    config.write_text(f'[profile.local]\naddress = "{address}"\nnamespace = "default"\n')
    queue = unique("profile")
    variables = {
        "TEMPORAL_CONFIG_FILE": str(config),
        "TEMPORAL_PROFILE": "local",
        "TASKAGENT_TASK_QUEUE": queue,
        "TASKAGENT_ARCHIVE_AFTER_DAYS": "0",
    }
    with worker_process(variables):
        done = await asyncio.to_thread(
            starter,
            "run",
            "ticket_triage",
            "--json",
            "--no-stream",
            "--input",
            '{"text": "refund my invoice!"}',
            extra_env=variables,
        )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "COMPLETED"
