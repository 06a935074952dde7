"""Histories of conversations, memory and messages, for the replay suite: scenarios that need
the conversation store or several runs at once (called by record_histories.py).

- `conversation_first.json`, `conversation_last.json`: a conversation whose turns include an
  answer rejected and corrected, a summary, a failed turn, then continue-as-new after three turns
  (the first and the last run);
- `conversation_archived.json`: a conversation archived by its update, its run ended;
- `archive_idle.json`: a run of the daily schedule's workflow;
- `pipeline_memory.json`: a pipeline whose steps read and remember memory (same database);
- `message_receiver.json`, `message_sender.json`, `topic.json`: a pipeline subscribed to a topic
  receives a message sent to it directly and one broadcast on the topic (whose workflow is
  recorded too).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowHistory, WorkflowUpdateFailedError

from taskagent import Registry
from taskagent.conversation.client import send_message
from taskagent.conversation.contracts import (
    ArchiveIdle,
    ChatMessage,
    ConversationConfig,
)
from taskagent.conversation.window import WindowPolicy
from taskagent.messages import topic_workflow_id
from taskagent.names import ARCHIVE_IDLE_WORKFLOW, ARCHIVE_UPDATE
from taskagent.store import ConversationStore, Database, migrate
from taskagent.testing import ScriptedAnswer, ScriptedProvider
from tests.support import running_worker, start
from workflows.topic import SUBSCRIBERS_QUERY

NAMES = ("conversation", "conversation_archived", "archive_idle", "pipeline_memory", "messages")
MEMORY_PIPELINE = {
    "name": "memory_recorded",
    "memory": {"shared": {"n": {"type": "integer"}}, "steps": {"second": {"seen": {}}}},
    "steps": [
        {
            "kind": "code",
            "id": "first",
            "function": "echo",
            "input": {"n": 5, "before": "$memory.shared.n"},
            "remember": {"shared.n": "$steps.first.output.n"},
        },
        {
            "kind": "code",
            "id": "second",
            "function": "echo",
            "depends_on": ["first"],
            "input": {"n": "$memory.shared.n", "seen": "$memory.second.seen"},
            "remember": {"seen": "$steps.second.output"},
        },
    ],
}
ANSWER = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


def due(out: Path, force: bool, wanted: set[str]) -> list[str]:
    files = {
        "conversation": ["conversation_first", "conversation_last"],
        "conversation_archived": ["conversation_archived"],
        "archive_idle": ["archive_idle"],
        "pipeline_memory": ["pipeline_memory"],
        "messages": ["message_receiver", "message_sender", "topic"],
    }
    return [
        name
        for name in NAMES
        if (not wanted or name in wanted)
        and (force or not all((out / f"{f}.json").exists() for f in files[name]))
    ]


async def record_conversations(
    client: Client, task_queue: str, registry: Registry, out: Path, names: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{folder}/conversations.db")
        migrate(database)
        store = ConversationStore(database)
        scripted = ScriptedProvider()
        try:
            async with running_worker(client, registry, task_queue, scripted=scripted, store=store):
                if "conversation" in names:
                    await _conversation(client, task_queue, scripted, out)
                if "conversation_archived" in names:
                    await _archived(client, task_queue, scripted, out)
                if "archive_idle" in names:
                    store.open("idle", "ada", datetime.now(UTC) - timedelta(days=40))
                    handle = await client.start_workflow(
                        ARCHIVE_IDLE_WORKFLOW,
                        ArchiveIdle(idle_for=timedelta(days=30)),
                        id="recorded-archive-idle",
                        task_queue=task_queue,
                    )
                    await handle.result()
                    _save(out / "archive_idle.json", await handle.fetch_history())
                if "messages" in names:
                    await _messages(client, task_queue, out)
                if "pipeline_memory" in names:
                    run = await start(client, task_queue, MEMORY_PIPELINE, {})
                    await run.result()
                    _save(out / "pipeline_memory.json", await run.fetch_history())
        finally:
            database.close()


async def _conversation(
    client: Client, task_queue: str, scripted: ScriptedProvider, out: Path
) -> None:
    config = ConversationConfig(
        model="scripted:chat",
        summary_model="scripted:summariser",
        output_schema=ANSWER,
        max_attempts=2,
        summary_every=4,
        continue_every=3,
        window=WindowPolicy(keep_first=0, max_tokens=2000),
    )
    cid = "recorded-conversation"
    scripted.enqueue(
        "chat",
        ScriptedAnswer(content="not JSON"),
        ScriptedAnswer(content={"answer": "Hello Ada."}),
        ScriptedAnswer(content={"answer": "You are Ada."}),
        ScriptedAnswer(content="still not JSON"),
        ScriptedAnswer(content="nor this"),
        ScriptedAnswer(content={"answer": "Noted."}),
        ScriptedAnswer(content={"answer": "Goodbye."}),
    )
    scripted.enqueue("summariser", ScriptedAnswer(content="Ada introduced herself."))
    for text in ("I am Ada.", "Who am I?", "Tell me something odd.", "Remember tea.", "Bye."):
        with contextlib.suppress(WorkflowUpdateFailedError):  # the failed turn is recorded too
            await send_message(client, task_queue, cid, ChatMessage(content=text), "ada", config)
    runs = sorted(
        [run async for run in client.list_workflows(f"WorkflowId = '{cid}'")],
        key=lambda run: run.start_time,
    )
    for name, run in (("conversation_first", runs[0]), ("conversation_last", runs[-1])):
        handle = client.get_workflow_handle(cid, run_id=run.run_id)
        _save(out / f"{name}.json", await handle.fetch_history())
    await client.get_workflow_handle(cid).terminate("recorded")


async def _archived(client: Client, task_queue: str, scripted: ScriptedProvider, out: Path) -> None:
    cid = "recorded-conversation-archived"
    config = ConversationConfig(model="scripted:archived")
    scripted.enqueue("archived", ScriptedAnswer(content="Hi."))
    await send_message(
        client, task_queue, cid, ChatMessage(content="Hello", stream=True), "bob", config
    )
    handle = client.get_workflow_handle(cid)
    await handle.execute_update(ARCHIVE_UPDATE, result_type=bool)
    await handle.result()
    _save(out / "conversation_archived.json", await handle.fetch_history())


def _save(path: Path, history: WorkflowHistory) -> None:
    path.write_text(history.to_json() + "\n")
    print(f"recorded {path.name}: {len(history.events)} events")


async def _messages(client: Client, task_queue: str, out: Path) -> None:
    receiver = {
        "name": "receiver",
        "subscribe": ["recorded-news"],
        "steps": [
            {"kind": "receive", "id": "direct", "timeout": 60},
            {"kind": "receive", "id": "news", "topic": "recorded-news", "timeout": 60},
        ],
    }
    sender = {
        "name": "sender",
        "steps": [
            {"kind": "send", "id": "direct", "to": "$input.to", "input": {"text": "hi"}},
            {
                "kind": "send",
                "id": "news",
                "topic": "recorded-news",
                "depends_on": ["direct"],
                "input": {"text": "news"},
            },
        ],
    }
    receiving = await start(client, task_queue, receiver, {}, workflow_id="recorded-receiver")
    topic = client.get_workflow_handle(topic_workflow_id("recorded-news"))
    while True:  # the receiver is subscribed once the topic lists it
        with contextlib.suppress(Exception):
            if await topic.query(SUBSCRIBERS_QUERY, result_type=list[str]):
                break
        await asyncio.sleep(0.1)
    sending = await start(client, task_queue, sender, {"to": receiving.id})
    await sending.result()
    await receiving.result()
    _save(out / "message_receiver.json", await receiving.fetch_history())
    _save(out / "message_sender.json", await sending.fetch_history())
    _save(out / "topic.json", await topic.fetch_history())
    await topic.terminate("recorded")
