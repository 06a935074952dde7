"""Record the reference histories under tests/histories/ that the suite replays.

    .venv/bin/python scripts/record_histories.py

Run it after adding a scenario, then commit the new JSON files. Existing files are kept: they
guard today's code against breaking runs recorded by yesterday's. Never re-record a history (with
--force) to make a replay failure go away: that failure means the change breaks running workflows.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from taskagent import Pipeline, Registry, ScriptedAnswer, code
from taskagent.operator import ApprovalDecision, RetryStep
from tests.support import (
    ROOT,
    binary,
    example_registry,
    probes,
    running_worker,
    start,
)
from tests.test_operator import approval_pipeline, wait_until_waiting

OUT = ROOT / "tests" / "histories"
VERDICT = {
    "type": "object",
    "properties": {"label": {"enum": ["good", "bad"]}, "score": {"type": "integer"}},
    "required": ["label", "score"],
}


async def retry_when_paused(handle: WorkflowHandle[Any, Any]) -> None:
    await wait_until_waiting(handle, "fragile")
    await handle.execute_update("retry_step", RetryStep(step="fragile", by="recorder"))


async def approve_edited(handle: WorkflowHandle[Any, Any]) -> None:
    await wait_until_waiting(handle, "approve")
    decision = ApprovalDecision(step="approve", approved=True, payload={"amount": 1}, by="rec")
    await handle.execute_update("decide_approval", decision)


INTERACTIONS = {"operator_pause_retry": retry_when_paused, "approval_edited": approve_edited}


def scenarios() -> dict[str, tuple[Any, dict[str, Any]]]:
    fanout = Pipeline("fanout").parallel(
        "fan",
        [code("one", "add", input={"a": 1, "b": 1}), code("two", "echo", input=2)],
        merge="object",
    )
    return {
        "dag_company_research": ("company_facts", {"company": "Acme"}),
        "switch_ticket_triage": ("ticket_triage", {"text": "urgent: the app shows an error!"}),
        "parallel_child_contact_enrichment": (
            "contact_enrichment",
            {"email": "ada@example.org", "company": "Analytical Engines"},
        ),
        "parallel_builtin_merge": (fanout, {}),
        "fail_fast_failure": (
            Pipeline("fails")
            .code("bad", "fail", input="x")
            .code("after", "echo", depends_on=["bad"]),
            {},
        ),
        "continue_failure": (
            Pipeline("continues", on_failure="continue")
            .code("bad", "fail", input="x")
            .code("ok", "add", input={"a": 1, "b": 2}),
            {},
        ),
        "invalid_spec": ({"name": "invalid", "steps": [{"id": "a", "kind": "nope"}]}, {}),
        "agents_tools_company_research": ("company_research", {"company": "Acme"}),
        "router_document_assistant": (
            "document_assistant",
            {"request": "Summarise this", "document": "Text."},
        ),
        "agent_validation_retry": (
            Pipeline("validation_retry").agent(
                "judge",
                "Judge the text.",
                output_schema=VERDICT,
                script=[
                    ScriptedAnswer(content={"label": "great", "score": 3}),
                    ScriptedAnswer(content={"label": "good", "score": 4}),
                ],
            ),
            {},
        ),
        "operator_pause_retry": (
            Pipeline("pausing", on_error="pause")
            .code(
                "fragile",
                "flaky",
                input={"name": "recorded-pause", "failures": 1},
                retry={"max_attempts": 1},
            )
            .code("after", "echo", depends_on=["fragile"]),
            {},
        ),
        "approval_edited": (approval_pipeline(), {"amount": 50}),
        "agent_budget_exceeded": (
            Pipeline("budget", budget={"tokens": 10})
            .agent("first", "One.")
            .agent("second", "Two.", depends_on=["first"]),
            {},
        ),
    }


async def record(client: Client, task_queue: str, name: str, pipeline: Any, data: dict) -> None:
    handle = await start(client, task_queue, pipeline, data, workflow_id=name)
    if name in INTERACTIONS:
        await INTERACTIONS[name](handle)
    with contextlib.suppress(WorkflowFailureError):  # failures are recorded scenarios too
        await handle.result()
    history = await handle.fetch_history()
    (OUT / f"{name}.json").write_text(history.to_json() + "\n")
    print(f"recorded {name}: {len(history.events)} events")


async def main() -> None:
    registry = Registry()
    registry.include(example_registry())
    registry.include(probes)
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter, dev_server_existing_path=binary("temporal")
    )
    try:
        async with running_worker(env.client, registry, "record-histories"):
            for name, (pipeline, data) in scenarios().items():
                if (OUT / f"{name}.json").exists() and "--force" not in sys.argv:
                    print(f"kept {name} (recorded earlier; --force re-records)")
                    continue
                await record(env.client, "record-histories", name, pipeline, data)
    finally:
        await env.shutdown()
    await asyncio.sleep(0.2)  # let the native runtime settle before interpreter exit


if __name__ == "__main__":
    asyncio.run(main())
