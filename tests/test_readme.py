"""Every Python example of the README runs as written, and every excerpt it quotes from the
repository is still there.

An example is a ```python block: it runs in a fresh namespace, as a script would (top-level
`await` as in `python -m asyncio` or a notebook), against a dev server and a worker of the
bundled examples on the task queue that TASKAGENT_TASK_QUEUE names, with the offline model. A
block after `<!-- excerpt: <path> -->` quotes that file: its lines (comments aside) appear there,
in order.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from taskagent.store import ConversationStore, Database, migrate
from tests.support import ROOT, example_registry, running_worker

BLOCK = re.compile(r"(?:<!-- excerpt: (?P<path>\S+) -->\n)?```python\n(?P<code>.*?)```", re.S)


@dataclass(frozen=True)
class Block:
    line: int
    code: str
    excerpt_of: str | None

    @property
    def label(self) -> str:
        return f"README.md:{self.line}"


def blocks() -> list[Block]:
    text = (ROOT / "README.md").read_text()
    return [
        Block(text[: found.start("code")].count("\n") + 1, found["code"], found["path"])
        for found in BLOCK.finditer(text)
    ]


EXAMPLES = [block for block in blocks() if block.excerpt_of is None]
EXCERPTS = [block for block in blocks() if block.excerpt_of is not None]


def code_lines(text: str) -> Iterator[str]:
    """Each non-blank line without its trailing comment and indentation."""
    for line in text.splitlines():
        code = line.split("  #")[0].strip()
        if code and not code.startswith("#"):
            yield code


@pytest.mark.parametrize("block", EXCERPTS, ids=lambda b: b.label)
def test_an_excerpt_is_still_in_its_file(block: Block) -> None:
    assert block.excerpt_of is not None
    source = iter(list(code_lines((ROOT / block.excerpt_of).read_text())))
    missing = [line for line in code_lines(block.code) if line not in source]
    assert missing == [], f"{block.label} quotes lines that {block.excerpt_of} lacks (in order)"


async def test_every_python_example_runs_as_written(
    env: WorkflowEnvironment,
    task_queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert len(EXAMPLES) >= 10
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("TASKAGENT_TASK_QUEUE", task_queue)
    monkeypatch.setenv("TASKAGENT_DEFAULT_MODEL", "offline:default")
    database = Database(f"sqlite:///{tmp_path}/taskagent.db")
    migrate(database)
    try:
        store = ConversationStore(database)
        async with running_worker(env.client, example_registry(), task_queue, store=store):
            printed = {block.line: await run_example(block) for block in EXAMPLES}
    finally:
        database.close()
    shown = "\n".join(printed.values())
    # What the examples print says what they say they print.
    assert "score=4.2 note='Acme is well reviewed'" in shown  # the first example's typed output
    assert "COMPLETED CompanyProfile" in shown  # run_pipeline_sync, local
    assert "run_completed" in shown  # the event stream of a finished run


async def run_example(block: Block) -> str:
    """Run one example as a script would: top-level awaits in this event loop, anything else in
    a thread (so that `run_pipeline_sync` may start its own)."""
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    code = compile(block.code, block.label, "exec", flags=flags)
    namespace: dict[str, object] = {"__name__": "__main__"}
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            if code.co_flags & inspect.CO_COROUTINE:
                await eval(code, namespace)
            else:
                await asyncio.to_thread(exec, code, namespace)
    except Exception as err:
        raise AssertionError(f"{block.label} failed: {type(err).__name__}: {err}") from err
    return printed.getvalue()
