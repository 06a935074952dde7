"""The model configuration file: validated when the worker starts, and what it configures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from taskagent import Pipeline, Registry
from taskagent.llm.capabilities import OutputMode
from taskagent.llm.factory import ProviderFactory, ProviderSettings
from taskagent.llm.models_file import ModelsFile, ModelsFileError
from taskagent.llm.openai_provider import OpenAIProvider
from taskagent.llm.pricing import PriceTable
from tests.fake_llm import FakeLLM
from tests.support import ROOT, llm_harness

GOOD = """
providers:
  openai:
    base_url: http://127.0.0.1:9/v1
    api_key_env: LOCAL_LLM_KEY
models:
  openai:qwen2.5-7b-instruct:
    structured_output: json_object
    tools_with_structured_output: false
    price: [0.5, 1.5]
  gemini:gemini-3-pro:
    tools_with_structured_output: true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(text)
    return path


async def test_the_file_configures_endpoint_key_variable_modes_and_prices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LOCAL_LLM_KEY", "sk-local")
    factory = ProviderFactory(ProviderSettings(TASKAGENT_MODELS=str(write(tmp_path, GOOD))))

    provider = factory.get("openai")

    assert isinstance(provider, OpenAIProvider)
    assert repr(provider) == "OpenAIProvider(base_url='http://127.0.0.1:9/v1')"
    assert provider.capabilities.mode("qwen2.5-7b-instruct") is OutputMode.JSON_OBJECT
    assert not provider.capabilities.format_with_tools("qwen2.5-7b-instruct")
    assert provider.capabilities.mode("other") is OutputMode.JSON_SCHEMA
    assert factory.models.capabilities("gemini", False).format_with_tools("gemini-3-pro")
    prices = PriceTable.from_config(None, factory.models.prices())
    assert prices.cost("openai:qwen2.5-7b-instruct", 1_000_000, 1_000_000) == 2.0
    await factory.aclose()


def test_the_key_variable_the_file_names_is_the_one_asked_for(tmp_path: Path):
    factory = ProviderFactory(ProviderSettings(TASKAGENT_MODELS=str(write(tmp_path, GOOD))))

    with pytest.raises(Exception, match="set LOCAL_LLM_KEY in the worker's environment"):
        factory.get("openai", "qwen2.5-7b-instruct")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("models:\n  ollama:llama3: {}\n", "unknown provider 'ollama'"),
        ("models:\n  gpt-4o: {}\n", "names no provider"),
        (
            "models:\n  openai:m:\n    structured_output: grammar\n",
            "models.openai:m.structured_output",
        ),
        ("models:\n  openai:m:\n    price: [-1, 2]\n", "prices cannot be negative"),
        ("models:\n  openai:m:\n    rpm: 10\n", "models.openai:m.rpm: Extra inputs"),
        ("providers:\n  openai:\n    api_key: sk-123\n", "providers.openai.api_key"),
        ("providers:\n  openai:\n    api_key_env: sk-123\n", "providers.openai.api_key_env"),
        ("models: [1, 2\n", "cannot read the model configuration"),
    ],
)
def test_an_invalid_file_is_refused_naming_the_problem(tmp_path: Path, text: str, problem: str):
    with pytest.raises(ModelsFileError, match="model configuration") as caught:
        ModelsFile.load(write(tmp_path, text))
    assert problem in str(caught.value)


def test_the_worker_refuses_to_start_with_an_invalid_file(tmp_path: Path):
    path = write(tmp_path, "models:\n  openai:m:\n    structured_output: grammar\n")
    env = {"PATH": "/usr/bin:/bin", "TASKAGENT_MODELS": str(path), "TASKAGENT_LOG_FORMAT": "json"}

    done = subprocess.run(
        [sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 2
    assert "invalid TASKAGENT_MODELS" in done.stdout + done.stderr
    assert "structured_output" in done.stdout + done.stderr


async def test_a_model_with_its_own_server_is_called_there_beside_the_providers(
    env, task_queue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """OpenAI and a local OpenAI-compatible server in one run: each model goes to its server,
    with its key, and each server has its own circuit breaker."""
    monkeypatch.setenv("LOCAL_LLM_KEY", "key-local")
    async with FakeLLM() as local:
        models = {"models": {"openai:qwen": {"base_url": local.openai_base_url}}}
        models["models"]["openai:qwen"]["api_key_env"] = "LOCAL_LLM_KEY"
        path = write(tmp_path, yaml.safe_dump(models))
        pipeline = (
            Pipeline("two_servers")
            .agent("hosted", "Say hi.", model="openai:gpt-test")
            .agent("local", "Say hi.", model="openai:qwen")
        )
        async with llm_harness(env, task_queue, Registry(), TASKAGENT_MODELS=str(path)) as h:
            h.llm.openai.reply_text("From the hosted one.")
            local.openai.reply_text("From the local one.")
            result = await (await h.run(pipeline)).result()
            breakers = {h.providers.breaker("openai", m).provider for m in ("gpt-test", "qwen")}

    assert result.steps["hosted"].output == "From the hosted one."
    assert result.steps["local"].output == "From the local one."
    assert [r["model"] for r in h.llm.openai.requests] == ["gpt-test"]
    assert [r["model"] for r in local.openai.requests] == ["qwen"]
    assert h.llm.openai.headers[0]["Authorization"] == "Bearer test-openai-key"
    assert local.openai.headers[0]["Authorization"] == "Bearer key-local"
    assert len(breakers) == 2
