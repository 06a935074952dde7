"""The workflow sandbox guards the orchestration: what passes through it, and what may not.

Workflow code (everything under workflows/) is imported inside Temporal's sandbox, re-imported for
every run, and checked there. Only third-party libraries and TaskAgent's contracts and pure
helpers pass through, and importing the workflows loads no I/O machinery.
"""

from __future__ import annotations

import ast
import importlib.machinery
import json
import subprocess
import sys
from pathlib import Path

import pytest

import workflows.engine
from taskagent import Pipeline
from taskagent.kinds import MODULES
from tests.support import ROOT, probes, running_worker, start

PASSED_THROUGH_TASKAGENT = {
    "taskagent",
    "taskagent.audit",
    "taskagent.conversation",
    "taskagent.conversation.context",
    "taskagent.conversation.contracts",
    "taskagent.conversation.window",
    "taskagent.errors",
    "taskagent.events",
    "taskagent.expressions",
    "taskagent.graph",
    "taskagent.kinds",
    "taskagent.kinds.base",
    "taskagent.kinds.context",
    *(f"taskagent.kinds.{name}" for name in MODULES),
    "taskagent.llm",
    "taskagent.llm.checking",
    "taskagent.llm.parsing",
    "taskagent.llm.parsing_v1",
    "taskagent.llm.prompts",
    "taskagent.llm.refs",
    "taskagent.llm.types",
    "taskagent.memory",
    "taskagent.messages",
    "taskagent.names",
    "taskagent.operator",
    "taskagent.ratelimit",
    "taskagent.render",
    "taskagent.results",
    "taskagent.schemas",
    "taskagent.scope",
    "taskagent.search",
    "taskagent.telemetry",
    "taskagent.telemetry.instruments",
    "taskagent.telemetry.names",
    *(
        f"taskagent.schemas.{name}"
        for name in (
            "analysis",
            "engine",
            "instances",
            "keywords",
            "limits",
            "paths",
            "prepared",
            "regex",
        )
    ),
    "taskagent.spec",
}
"""Contracts and pure helpers: the only TaskAgent modules workflow code may load."""
THIRD_PARTY = {
    "annotated_types",
    "attr",
    "attrs",
    "google",  # google.protobuf, for temporalio (google.genai is refused below)
    "grpc",  # temporalio's generated service stubs import it when installed (the OTLP exporter)
    "cython_runtime",  # grpc's
    "idna",
    "json_repair",
    "jsonschema",
    "jsonschema_specifications",
    "nexusrpc",
    "opentelemetry",  # step spans
    "pydantic",
    "pydantic_core",
    "re2",
    "referencing",
    "rpds",
    "simpleeval",
    "temporalio",
    "typing_extensions",
    "typing_inspection",
}
REFUSED = {
    "httpx",
    "httpx2",
    "openai",
    "google.genai",
    "yaml",
    "sqlite3",
    "structlog",
    "rich",
    "pydantic_settings",
    "urllib.request",
    "http.client",
    "taskagent.builder",
    "taskagent.registry",
    "taskagent.validation",
    "taskagent.settings",
    "taskagent.storage",
    "taskagent.tools",
    "taskagent.llm.factory",
}
SANDBOX_RULES = {"TID251", "PTH123"}


def loaded_by_importing_workflows() -> list[str]:
    code = (
        "import importlib, json, sys; before = set(sys.modules); import workflows; "
        "[getattr(workflows, name) for name in workflows.__all__]; "  # each type, on demand
        "from taskagent.kinds import KINDS; "
        "[importlib.import_module(kind.executor) for kind in KINDS]; "  # loaded by runs on demand
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return list(json.loads(done.stdout))


def test_importing_the_workflows_loads_only_allowed_modules():
    loaded = loaded_by_importing_workflows()
    assert "workflows.engine" in loaded and "workflows.kinds.agent" in loaded
    refused = sorted(
        name for name in loaded if any(name == r or name.startswith(f"{r}.") for r in REFUSED)
    )
    assert refused == []
    unexpected = []
    for name in loaded:
        top = name.split(".")[0]
        if (
            name.startswith("workflows")
            or top in THIRD_PARTY
            or top.startswith(("_sysconfig", "_cython"))
        ):
            continue
        if top == "taskagent":
            if name not in PASSED_THROUGH_TASKAGENT:
                unexpected.append(name)
        elif top not in sys.stdlib_module_names:
            unexpected.append(name)
    assert unexpected == []


def passed_through_in_workflow_code() -> dict[str, list[str]]:
    """Modules each workflow file imports inside `workflow.unsafe.imports_passed_through()`."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "workflows").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.With):
                continue
            if "imports_passed_through" not in ast.unparse(node.items[0].context_expr):
                continue
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    found.setdefault(str(path.relative_to(ROOT)), []).append(statement.module)
                elif isinstance(statement, ast.Import):
                    names = [alias.name for alias in statement.names]
                    found.setdefault(str(path.relative_to(ROOT)), []).extend(names)
    return found


def test_workflow_code_passes_through_only_contracts_and_pure_helpers():
    found = passed_through_in_workflow_code()
    assert found, "no passthrough block found: the check would prove nothing"
    offenders = {
        path: [
            m
            for m in modules
            if m not in PASSED_THROUGH_TASKAGENT and m.split(".")[0] not in THIRD_PARTY
        ]
        for path, modules in found.items()
    }
    assert {path: mods for path, mods in offenders.items() if mods} == {}


async def test_the_engine_runs_inside_the_sandbox(env, task_queue, monkeypatch):
    """Each run imports its own copy of the engine: a change to the host's copy reaches no run,
    and the passed-through TaskAgent modules stay the host's (no sandbox copy leaks out)."""

    def broken(*args: object, **kwargs: object) -> None:
        raise AssertionError("the host's engine ran: workflow code is not sandboxed")

    monkeypatch.setattr(workflows.engine.PipelineRun, "_start_ready", broken)
    pipeline = Pipeline("sandboxed").code("a", "echo", input=1).code("b", "echo", depends_on=["a"])
    async with running_worker(env.client, probes, task_queue):
        result = await (await start(env.client, task_queue, pipeline)).result()
    assert result.output == 1
    for name, module in list(sys.modules.items()):
        parent, _, child = name.rpartition(".")
        if name.startswith("taskagent") and parent in sys.modules:
            attribute = getattr(sys.modules[parent], child, module)
            assert attribute is module, f"{parent}.{child} was replaced by a sandbox copy"


BANNED_SNIPPET = """\
import os
import random
import time
import uuid
from datetime import datetime


def step() -> None:
    datetime.now()
    random.random()
    uuid.uuid4()
    os.getenv("HOME")
    time.sleep(1)
    open("data.txt")
"""


@pytest.mark.parametrize(
    "path", ["workflows/engine.py", "workflows/kinds/code.py", "taskagent/expressions.py"]
)
def test_the_lint_rule_bans_clocks_randomness_and_io_in_workflow_code(path: str):
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run(
        [str(ruff), "check", "--output-format", "json", "--stdin-filename", path, "-"],
        cwd=ROOT,
        input=BANNED_SNIPPET,
        capture_output=True,
        text=True,
    )
    hits = json.loads(done.stdout)
    banned = {hit["location"]["row"] for hit in hits if hit["code"] in SANDBOX_RULES}
    # The imports of os, random and time; datetime.now(), uuid.uuid4() and open().
    assert banned >= {1, 2, 3, 9, 11, 14}


def test_the_lint_rule_leaves_activities_alone():
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run(
        [str(ruff), "check", "--output-format", "json", "--stdin-filename", "activities/x.py", "-"],
        cwd=ROOT,
        input=BANNED_SNIPPET,
        capture_output=True,
        text=True,
    )
    assert not [hit for hit in json.loads(done.stdout) if hit["code"] in SANDBOX_RULES]


async def test_a_run_imports_the_workflow_code_without_reading_a_file(env, task_queue):
    """The worker keeps the compiled workflow code (taskagent/code_cache.py): a run executes
    the modules afresh, but reads neither their source nor their bytecode."""
    read: list[str] = []
    original = importlib.machinery.SourceFileLoader.get_data

    def get_data(self: importlib.machinery.SourceFileLoader, path: str) -> bytes:
        read.append(path)
        return original(self, path)

    pipeline = Pipeline("cached").code("a", "echo", input=1)
    async with running_worker(env.client, probes, task_queue):
        await (await start(env.client, task_queue, pipeline)).result()  # the first run compiles
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(importlib.machinery.SourceFileLoader, "get_data", get_data)
            result = await (await start(env.client, task_queue, pipeline)).result()
    assert result.output == 1
    workflow_folder = str(ROOT / "workflows")
    assert [path for path in read if path.startswith(workflow_folder)] == []


def test_a_pipeline_run_loads_no_other_workflow_type():
    """The sandbox imports a run's workflow module (and this package) again for every run: a
    pipeline's run must not pay for the conversation, topic and archive workflows' modules."""
    code = "import json, sys; import workflows.pipeline; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout))
    assert "workflows.engine" in loaded
    others = {"workflows.conversation", "workflows.turns", "workflows.topic", "workflows.archive"}
    assert not loaded & others
