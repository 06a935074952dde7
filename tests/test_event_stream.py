"""The run's event stream on a real Temporal server: typed events during and after a run, token
deltas from the providers' streaming APIs, approvals, and continue-as-new."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

from rich.console import Console
from temporalio.client import Client
from temporalio.contrib.workflow_streams import WorkflowStreamClient

from taskagent import Pipeline
from taskagent.event_view import EventView
from taskagent.events import DELTAS_TOPIC, TOPICS, EventKind, RunEvent
from taskagent.operator import ApprovalDecision
from tests.support import llm_harness, probes, running_worker, start
from tests.test_agents import agents
from tests.test_continue_as_new import long_pipeline, registry, short_history_env  # noqa: F401
from tests.test_operator import approval_pipeline

FAST = timedelta(milliseconds=20)
VALID = '{"label": "good", "score": 4}'


async def events_of(
    client: Client, workflow_id: str, topics: list[str] | None = None
) -> list[RunEvent]:
    """Every event of a run from offset 0, until the run has ended and the log is read."""
    stream = WorkflowStreamClient.create(client, workflow_id)
    return [
        item.data
        async for item in stream.subscribe(
            topics or TOPICS, result_type=RunEvent, poll_cooldown=FAST
        )
    ]


def kinds(events: list[RunEvent], step: str | None = None) -> list[str]:
    return [e.kind for e in events if step is None or e.step == step]


async def test_an_agent_run_streams_its_events_and_deltas_during_and_after(env, task_queue):
    pipeline = Pipeline("judge").agent(
        "judge", "Judge it.", output_schema="Verdict", tools=["add_numbers"], max_attempts=2
    )
    async with llm_harness(env, task_queue, agents) as harness:
        harness.llm.openai.reply_tool_call("add_numbers", {"a": 2, "b": 2})
        harness.llm.openai.reply_text('{"label": "meh", "score": 4} as asked')
        harness.llm.openai.reply_text(VALID, usage=(50, 9))
        handle = await harness.run(pipeline, stream=True)
        live = await events_of(env.client, handle.id)  # subscribed while the run goes on
        await handle.result()
        after = await events_of(env.client, handle.id)  # the run has ended: read by query

    assert [e.model_dump() for e in after] == [e.model_dump() for e in live]
    assert (
        kinds(live, None)[0] == EventKind.RUN_STARTED and live[-1].kind == EventKind.RUN_COMPLETED
    )
    steps = [k for k in kinds(live, "judge") if k != EventKind.DELTA]
    assert steps == [
        "step_started",
        "model_request",
        "model_response",
        "tool_completed",
        "model_request",
        "model_response",
        "validation_failed",
        "model_request",
        "model_response",
        "step_completed",
    ]
    requests = [e for e in live if e.kind == EventKind.MODEL_REQUEST]
    assert [(e.attempt, e.call, e.model) for e in requests] == [
        (1, 1, "openai:gpt-test"),
        (1, 2, "openai:gpt-test"),
        (2, 3, "openai:gpt-test"),
    ]
    rejected = next(e for e in live if e.kind == EventKind.VALIDATION_FAILED)
    assert rejected.attempt == 1 and rejected.errors and "label" in rejected.errors[0]
    last = [e for e in live if e.kind == EventKind.MODEL_RESPONSE][-1]
    assert (last.input_tokens, last.output_tokens, last.try_) == (50, 9, 1)
    tool = next(e for e in live if e.kind == EventKind.TOOL_COMPLETED)
    assert (tool.tool, tool.outcome) == ("add_numbers", "ok")
    # Deltas: the text of each answer as it came, tagged so that the rejected one can be dropped.
    deltas = [e for e in live if e.kind == EventKind.DELTA]
    by_attempt: dict[int | None, str] = {}
    for delta in deltas:
        assert delta.step == "judge" and delta.try_ == 1
        by_attempt[delta.attempt] = by_attempt.get(delta.attempt, "") + (delta.text or "")
    assert by_attempt == {1: '{"label": "meh", "score": 4} as asked', 2: VALID}
    # Each delta arrives before the model's response event that ends its call.
    answered = live.index(last)
    assert all(live.index(d) < answered for d in deltas if d.attempt == 2)


async def test_a_run_that_does_not_ask_to_stream_publishes_no_deltas(env, task_queue):
    pipeline = Pipeline("judge").agent("judge", "Judge it.", output_schema="Verdict")
    async with llm_harness(env, task_queue, agents) as harness:
        harness.llm.openai.reply_text(VALID)
        handle = await harness.run(pipeline)
        await handle.result()
        assert "stream" not in harness.llm.openai.last
        events = await events_of(env.client, handle.id)
        assert await events_of(env.client, handle.id, [DELTAS_TOPIC]) == []
    assert EventKind.MODEL_RESPONSE in kinds(events) and EventKind.DELTA not in kinds(events)


async def test_an_approval_is_announced_with_its_prompt_and_payload(env, task_queue):
    async with running_worker(env.client, probes, task_queue):
        handle = await start(env.client, task_queue, approval_pipeline(), {"amount": 120})
        stream = WorkflowStreamClient.create(env.client, handle.id)
        async for item in stream.subscribe(result_type=RunEvent, poll_cooldown=FAST):
            if item.data.kind == EventKind.STEP_WAITING:
                waiting = item.data
                break
        await handle.execute_update(
            "decide_approval", ApprovalDecision(step="approve", approved=True, by="lee")
        )
        await handle.result()
        events = await events_of(env.client, handle.id)
    assert waiting.step == "approve" and waiting.waiting_for == "approval"
    assert waiting.data == {"prompt": "Refund this?", "payload": {"amount": 120}}
    assert kinds(events, "approve") == [
        "step_started",
        "step_waiting",
        "step_resumed",
        "step_completed",
    ]


async def test_events_survive_continue_as_new(short_history_env, task_queue):  # noqa: F811
    client = short_history_env.client
    async with running_worker(client, registry(), task_queue):
        handle = await start(client, task_queue, long_pipeline())
        result, events = await asyncio.gather(handle.result(), events_of(client, handle.id))
        # Read after the chain ended, from its last run: the first run's events are still there.
        after = await events_of(client, handle.id)
    assert [e.model_dump() for e in after] == [e.model_dump() for e in events]
    assert result.run_id != handle.result_run_id  # it did continue as new
    assert EventKind.RUN_CONTINUED in kinds(events)
    completed = [e.step for e in events if e.kind == EventKind.STEP_COMPLETED]
    assert completed[:2] == ["brief", "pick"] and "s7" in completed
    assert events[0].kind == EventKind.RUN_STARTED and events[-1].kind == EventKind.RUN_COMPLETED


def test_the_terminal_view_writes_answers_as_they_come_and_marks_rejected_ones():
    text = io.StringIO()
    view = EventView(Console(file=text, width=200, color_system=None), "wf-1")
    for event in [
        RunEvent(kind="step_started", step="judge", step_kind="agent"),
        RunEvent(kind="delta", step="judge", attempt=1, call=1, try_=1, text='{"label": '),
        RunEvent(kind="delta", step="judge", attempt=1, call=1, try_=1, text='"meh"}'),
        RunEvent(kind="validation_failed", step="judge", attempt=1, errors=["label: no"]),
        RunEvent(kind="delta", step="judge", attempt=2, call=2, try_=1, text="{}"),
        RunEvent(kind="step_waiting", step="judge", waiting_for="operator", error="X: y"),
        RunEvent(kind="message_received", data={"sender": "other/tell", "topic": "news"}),
        RunEvent(kind="from_a_newer_release", step="judge"),
    ]:
        view.show(event)
    view.close()
    assert text.getvalue().splitlines() == [
        "  ▶ judge (agent)",
        '    judge ✎ {"label": "meh"}',
        "    judge answer 1 rejected: label: no",
        "    judge ✎ {}",
        "  ⏸ judge paused for an operator: X: y",
        "      python starter.py retry|skip|abort wf-1 judge",
        "  ✉ message from other/tell on topic news",
    ]
