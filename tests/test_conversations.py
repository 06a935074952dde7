"""Conversations on a real dev server and a real database: turns by update-with-start and
update, the window by reference, retry cleanup, failed turns, summaries, continue-as-new."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from rich.console import Console
from temporalio.client import (
    Client,
    ScheduleActionStartWorkflow,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from taskagent import Pipeline, Registry
from taskagent.conversation.context import ContextScope
from taskagent.conversation.contracts import (
    ChatMessage,
    ChatReply,
    ConversationConfig,
    ConversationInfo,
    ConversationStart,
)
from taskagent.conversation.schedule import archive_schedule, ensure_archive_schedule
from taskagent.conversation.session import ChatSession
from taskagent.conversation.window import WindowPolicy
from taskagent.kinds.chat import chat
from taskagent.llm.types import ModelRequest
from taskagent.names import ARCHIVE_UPDATE, CONVERSATION_QUERY
from taskagent.store import ConversationStore, Database
from taskagent.testing import ScriptedAnswer, ScriptedCall, ScriptedProvider
from tests.support import (
    eventually,
    example_registry,
    history_text,
    running_worker,
    start,
    unique,
)
from workflows import ConversationWorkflow


@pytest.fixture
def store(database: Database) -> ConversationStore:
    """The conversations of a test: on SQLite, then on PostgreSQL (see conftest.database)."""
    return ConversationStore(database)


@pytest.fixture
async def chat_worker(
    env: WorkflowEnvironment, task_queue: str, store: ConversationStore
) -> AsyncIterator[ScriptedProvider]:
    scripted = ScriptedProvider()
    async with running_worker(env.client, Registry(), task_queue, scripted=scripted, store=store):
        yield scripted


async def say(
    client: Client,
    task_queue: str,
    conversation_id: str,
    text: str,
    config: ConversationConfig | None = None,
    **fields: Any,
) -> ChatReply:
    """One turn, as a client sends it: update-with-start (the first starts the workflow)."""
    start = WithStartWorkflowOperation(
        ConversationWorkflow.run,
        ConversationStart(user="ada", config=config or ConversationConfig(model="scripted:chat")),
        id=conversation_id,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=task_queue,
    )
    return await client.execute_update_with_start_workflow(
        ConversationWorkflow.send_message,
        ChatMessage(content=text, **fields),
        start_workflow_operation=start,
    )


def seen(request: ModelRequest) -> list[tuple[str, str]]:
    """What a model call carried, system messages and output instructions aside."""
    return [
        (m.role, (m.content or "").split("\n\n## Output")[0])
        for m in request.messages
        if m.role != "system"
    ]


async def info(handle: WorkflowHandle[Any, Any]) -> ConversationInfo:
    return await handle.query(CONVERSATION_QUERY, result_type=ConversationInfo)


async def test_turns_read_the_conversation_from_the_database(
    env: WorkflowEnvironment,
    task_queue: str,
    store: ConversationStore,
    chat_worker: ScriptedProvider,
) -> None:
    chat_worker.enqueue(
        "chat", ScriptedAnswer(content="Hello Ada!"), ScriptedAnswer(content="Ada.")
    )
    cid = unique("conv")
    first = await say(env.client, task_queue, cid, "Hi, I am Ada.")
    second = await say(env.client, task_queue, cid, "What is my name?")
    assert (first.content, first.turn, first.seq) == ("Hello Ada!", 1, 1)
    assert (second.content, second.turn, second.seq, second.window) == ("Ada.", 2, 3, [0, 1, 2])
    assert seen(chat_worker.requests["chat"][1]) == [
        ("user", "Hi, I am Ada."),
        ("assistant", "Hello Ada!"),
        ("user", "What is my name?"),
    ]
    stored = [(m.seq, m.role, m.content) for m in store.messages(cid)]
    assert stored == [
        (0, "user", "Hi, I am Ada."),
        (1, "assistant", "Hello Ada!"),
        (2, "user", "What is my name?"),
        (3, "assistant", "Ada."),
    ]
    conversation = store.get(cid)
    assert conversation is not None
    assert (conversation.user_id, conversation.title) == ("ada", "Hi, I am Ada.")
    handle = env.client.get_workflow_handle(cid)
    state = await info(handle)
    assert (state.turns, state.next_seq, [r.seq for r in state.window]) == (2, 4, [0, 1, 2, 3])
    # The history holds the text where it was said and answered, not in the model calls.
    history = history_text(await handle.fetch_history())
    assert history.count("Hi, I am Ada.") == 1  # the update's input
    assert history.count("Hello Ada!") == 2  # the model's answer, and the update's result


ANSWER = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}


async def test_failed_attempts_never_enter_the_kept_conversation(
    env: WorkflowEnvironment,
    task_queue: str,
    store: ConversationStore,
    chat_worker: ScriptedProvider,
) -> None:
    chat_worker.enqueue(
        "chat",
        ScriptedAnswer(content="Sure! The answer is 42."),  # not JSON: rejected, sent back
        ScriptedAnswer(content={"answer": "42"}),
        ScriptedAnswer(content={"answer": "Because."}),
    )
    config = ConversationConfig(model="scripted:chat", output_schema=ANSWER)
    cid = unique("conv")
    reply = await say(env.client, task_queue, cid, "What is the answer?", config)
    assert (reply.output, reply.attempts) == ({"answer": "42"}, 2)
    retry = chat_worker.requests["chat"][1]
    assert "Sure! The answer is 42." in [m.content for m in retry.messages]  # the feedback loop
    await say(env.client, task_queue, cid, "Why?", config)
    kept = seen(chat_worker.requests["chat"][2])
    assert [role for role, _ in kept] == ["user", "assistant", "user"]
    assert json.loads(kept[1][1]) == {"answer": "42"}
    assert "Sure!" not in json.dumps(kept)
    assert [m.role for m in store.messages(cid)] == ["user", "assistant", "user", "assistant"]


async def test_a_failed_turn_is_reported_kept_out_of_the_window_and_the_conversation_goes_on(
    env: WorkflowEnvironment,
    task_queue: str,
    store: ConversationStore,
    chat_worker: ScriptedProvider,
) -> None:
    chat_worker.enqueue(
        "chat",
        *[ScriptedAnswer(content="no JSON here") for _ in range(2)],
        ScriptedAnswer(content={"answer": "Hello."}),
    )
    config = ConversationConfig(model="scripted:chat", output_schema=ANSWER, max_attempts=2)
    cid = unique("conv")
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await say(env.client, task_queue, cid, "First try", config)
    assert "TurnFailed" in repr(failed.value.cause) or "no reply" in str(failed.value.cause)
    reply = await say(env.client, task_queue, cid, "Second try", config)
    assert (reply.turn, reply.window) == (2, [1])
    assert seen(chat_worker.requests["chat"][2]) == [("user", "Second try")]
    assert [(m.seq, m.role) for m in store.messages(cid)] == [
        (0, "user"),
        (1, "user"),
        (2, "assistant"),
    ]
    assert [(b.kind, b.message_seq) for b in store.bookmarks(cid)] == [("failed_turn", 0)]
    state = await info(env.client.get_workflow_handle(cid))
    assert (state.turns, state.failed_turns) == (1, 1)


async def test_summaries_every_k_messages_replace_the_older_messages(
    env: WorkflowEnvironment,
    task_queue: str,
    store: ConversationStore,
    chat_worker: ScriptedProvider,
) -> None:
    chat_worker.enqueue("summariser", ScriptedAnswer(content="S1"), ScriptedAnswer(content="S2"))
    config = ConversationConfig(
        model="scripted:chat",
        summary_model="scripted:summariser",
        summary_every=4,
        window=WindowPolicy(keep_first=0),
    )
    cid = unique("conv")
    for n in range(1, 5):
        chat_worker.enqueue("chat", ScriptedAnswer(content=f"A{n}"))
        await say(env.client, task_queue, cid, f"Q{n}", config)
    first, second = chat_worker.requests["summariser"]
    assert seen(first) == [("user", "Q1"), ("assistant", "A1"), ("user", "Write the summary now.")]
    assert [m.content for m in second.messages if m.role == "system"][1].endswith("S1")
    assert seen(second) == [
        ("user", "Q2"),
        ("assistant", "A2"),
        ("user", "Q3"),
        ("assistant", "A3"),
        ("user", "Write the summary now."),
    ]
    # Turn 4 saw the first summary and the messages after it, not Q1 and A1.
    last = chat_worker.requests["chat"][3]
    assert [m.content for m in last.messages if m.role == "system"][1].endswith("S1")
    assert [text for _, text in seen(last)] == ["Q2", "A2", "Q3", "A3", "Q4"]
    summaries = [(b.kind, b.message_seq, b.summary) for b in store.bookmarks(cid)]
    assert summaries == [("summary", 2, "S1"), ("summary", 6, "S2")]
    state = await info(env.client.get_workflow_handle(cid))
    assert state.summary is not None and state.summary.upto == 6
    assert [r.seq for r in state.window] == [6, 7]


async def test_the_run_continues_as_new_carrying_only_references(
    env: WorkflowEnvironment,
    task_queue: str,
    store: ConversationStore,
    chat_worker: ScriptedProvider,
) -> None:
    config = ConversationConfig(model="scripted:chat", continue_every=2)
    cid = unique("conv")
    for n in range(1, 6):
        chat_worker.enqueue("chat", ScriptedAnswer(content=f"A{n}"))
        reply = await say(env.client, task_queue, cid, f"Q{n}", config)
        assert (reply.turn, reply.seq) == (n, 2 * n - 1)
    handle = env.client.get_workflow_handle(cid)
    state = await info(handle)
    assert (state.turns, state.run_turns, state.next_seq) == (5, 1, 10)
    assert seen(chat_worker.requests["chat"][4])[-3:] == [
        ("user", "Q4"),
        ("assistant", "A4"),
        ("user", "Q5"),
    ]
    runs = [e async for e in env.client.list_workflows(f"WorkflowId = '{cid}'")]
    runs.sort(key=lambda run: run.start_time)
    assert len(runs) == 3
    # A continuation carries references, no text: the third run knows nothing of turns 1 to 4.
    third = env.client.get_workflow_handle(cid, run_id=runs[2].run_id)
    text = history_text(await third.fetch_history())
    assert not [word for word in ("Q1", "A1", "Q4", "A4") if word in text]
    assert "Q5" in text


async def test_archiving_ends_the_run_and_a_new_message_reopens_from_the_database(
    env: WorkflowEnvironment,
    task_queue: str,
    store: ConversationStore,
    chat_worker: ScriptedProvider,
) -> None:
    cid = unique("conv")
    chat_worker.enqueue("chat", ScriptedAnswer(content="A1"), ScriptedAnswer(content="A2"))
    await say(env.client, task_queue, cid, "Q1")
    handle = env.client.get_workflow_handle(cid, result_type=ConversationInfo)
    assert await handle.execute_update(ARCHIVE_UPDATE, result_type=bool)
    ended = await handle.result()
    assert ended.archived and ended.turns == 1
    archived = store.get(cid)
    assert archived is not None and archived.archived_at is not None
    assert [c.id for c in store.for_user("ada")] == []
    reply = await say(env.client, task_queue, cid, "Q2")  # a new run, the window from the database
    assert (reply.turn, reply.seq, reply.window) == (2, 3, [0, 1, 2])
    assert [text for _, text in seen(chat_worker.requests["chat"][1])] == ["Q1", "A1", "Q2"]
    assert [c.id for c in store.for_user("ada")] == [cid]


async def test_an_idle_conversation_ends_its_run_and_the_next_message_picks_up_the_summary(
    env: WorkflowEnvironment,
    task_queue: str,
    store: ConversationStore,
    chat_worker: ScriptedProvider,
) -> None:
    config = ConversationConfig(
        model="scripted:chat",
        summary_every=2,
        window=WindowPolicy(keep_first=0),
        idle_timeout=timedelta(seconds=1),
    )
    chat_worker.enqueue("chat", ScriptedAnswer(content="A1"), ScriptedAnswer(content="A2"))
    chat_worker.enqueue("chat", ScriptedAnswer(content="S1"))  # the summariser is the chat model
    cid = unique("conv")
    await say(env.client, task_queue, cid, "Q1", config)
    await say(env.client, task_queue, cid, "Q2", config)  # then a summary of Q1 and A1
    first_run = await env.client.get_workflow_handle(cid, result_type=ConversationInfo).result()
    assert first_run.summary is not None and first_run.summary.upto == 2
    chat_worker.enqueue("chat", ScriptedAnswer(content="A3"))
    reply = await say(env.client, task_queue, cid, "Q3", config)
    assert (reply.turn, reply.window, reply.summary_id) == (3, [2, 3, 4], f"{cid}/summary/2")
    last = chat_worker.requests["chat"][-2]  # the turn's (then came its summary's)
    assert [m.content for m in last.messages if m.role == "system"][1].endswith("S1")
    assert [text for _, text in seen(last)] == ["Q2", "A2", "Q3"]


async def test_the_daily_schedule_archives_idle_conversations(
    env: WorkflowEnvironment,
    task_queue: str,
    store: ConversationStore,
    chat_worker: ScriptedProvider,
) -> None:
    now = datetime.now(UTC)
    store.open("old", "ada", now - timedelta(days=40))
    store.open("recent", "ada", now - timedelta(days=2))
    schedule_id = unique("archive")
    await ensure_archive_schedule(env.client, task_queue, 30, schedule_id)
    await ensure_archive_schedule(env.client, task_queue, 30, schedule_id)  # already there: kept
    # Its runs are named after it: two schedules' runs never collide on a workflow id.
    action = archive_schedule(task_queue, 30, schedule_id).action
    assert isinstance(action, ScheduleActionStartWorkflow) and action.id == schedule_id
    handle = env.client.get_schedule_handle(schedule_id)
    try:
        await handle.trigger()

        async def archived() -> bool:
            found = store.get("old")
            return found is not None and found.archived_at is not None

        await eventually(archived, timeout=30)
        assert [c.id for c in store.for_user("ada")] == ["recent"]
    finally:
        await handle.delete()


async def test_a_turn_pipeline_scopes_each_branch_context(
    env: WorkflowEnvironment, task_queue: str, store: ConversationStore
) -> None:
    registry = Registry()
    turn = Pipeline("scoped_turn", model="scripted:chat").parallel(
        "answer",
        [
            chat("full", model="scripted:full"),
            chat("recent", model="scripted:recent", context=ContextScope(last=1)),
            chat("alone", model="scripted:alone", context=ContextScope(include=False)),
        ],
    )
    registry.add_pipeline(turn)
    scripted = ScriptedProvider()
    config = ConversationConfig(pipeline="scoped_turn")
    cid = unique("conv")
    async with running_worker(env.client, registry, task_queue, scripted=scripted, store=store):
        await say(env.client, task_queue, cid, "Q1", config)
        reply = await say(env.client, task_queue, cid, "Q2", config)
    assert set(reply.output) == {"full", "recent", "alone"}
    texts = {
        name: [t for _, t in seen(scripted.requests[name][1])]
        for name in ("full", "recent", "alone")
    }
    first_reply = store.messages(cid)[1].content
    assert texts == {
        "full": ["Q1", first_reply, "Q2"],
        "recent": [first_reply, "Q2"],
        "alone": ["Q2"],
    }


async def test_a_chat_step_outside_a_conversation_answers_its_input(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    scripted = ScriptedProvider().enqueue("chat", ScriptedAnswer(content="Bonjour"))
    pipeline = Pipeline("one_chat", model="scripted:chat").chat("greet", system_prompt="Be French.")
    async with running_worker(env.client, Registry(), task_queue, scripted=scripted):
        result = await (
            await start(env.client, task_queue, pipeline, {"message": "Hello"})
        ).result()
    assert result.output == "Bonjour"
    request = scripted.requests["chat"][0]
    assert [(m.role, m.content) for m in request.messages] == [
        ("system", "Be French."),
        ("user", "Hello"),
    ]


async def test_the_chat_session_streams_the_reply_and_notes_a_rejected_answer(
    env: WorkflowEnvironment,
    task_queue: str,
    store: ConversationStore,
    chat_worker: ScriptedProvider,
) -> None:
    chat_worker.enqueue(
        "chat", ScriptedAnswer(content="no JSON"), ScriptedAnswer(content={"answer": "ok"})
    )
    out, notes = StringIO(), StringIO()
    session = ChatSession(
        env.client,
        task_queue,
        unique("conv"),
        user="ada",
        config=ConversationConfig(model="scripted:chat", output_schema=ANSWER),
        stream=True,
        out=Console(file=out, width=200),
        notes=Console(file=notes, width=200),
    )
    reply = await session.say("Hi")
    assert reply is not None and reply.output == {"answer": "ok"}
    assert out.getvalue() == 'no JSON\n{"answer": "ok"}\n'  # both answers as they came
    assert "answer rejected" in notes.getvalue()


async def test_a_turn_calls_only_the_tools_the_conversation_allows(
    env: WorkflowEnvironment, task_queue: str, store: ConversationStore
) -> None:
    scripted = ScriptedProvider().enqueue(
        "chat",
        ScriptedAnswer(
            tool_calls=[ScriptedCall(name="calculator", arguments={"expression": "6*7"})]
        ),
        ScriptedAnswer(tool_calls=[ScriptedCall(name="current_time")]),  # not allowed
        ScriptedAnswer(content="It is 42."),
    )
    config = ConversationConfig(model="scripted:chat", tools=["calculator"])
    cid = unique("conv")
    async with running_worker(
        env.client, example_registry(), task_queue, scripted=scripted, store=store
    ):
        reply = await say(env.client, task_queue, cid, "What is six times seven?", config)
    assert reply.content == "It is 42."
    tools = [m for m in scripted.requests["chat"][2].messages if m.role == "tool"]
    assert [t.content for t in tools] == [
        "42",
        "Refused: the tool 'current_time' is not allowed here (allowed: calculator).",
    ]
    # The kept conversation holds the question and the reply, not the tool exchange.
    assert [m.role for m in store.messages(cid)] == ["user", "assistant"]
