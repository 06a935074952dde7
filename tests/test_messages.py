"""Messages between running pipelines and conversations, on a real dev server: one to one by
workflow id, broadcast to a topic's subscribers, to a conversation; visible in both records."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from taskagent import Registry, StepStatus
from taskagent.conversation.client import send_message
from taskagent.conversation.contracts import ChatMessage, ConversationConfig
from taskagent.errors import ErrorType
from taskagent.messages import topic_workflow_id
from taskagent.results import carried_result
from taskagent.store import ConversationStore, Database
from taskagent.testing import ScriptedAnswer, ScriptedProvider
from tests.support import eventually, running_worker, start, unique, wait_for_step
from workflows.topic import SUBSCRIBERS_QUERY


def listener(topic: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "listener",
        "steps": [
            {"kind": "receive", "id": "inbox", "timeout": 60, **({"topic": topic} if topic else {})}
        ],
    }
    if topic:
        spec["subscribe"] = [topic]
    return spec


def talker(**target: str) -> dict[str, Any]:
    step = {"kind": "send", "id": "tell", "input": {"text": "$input.text"}, **target}
    return {"name": "talker", "steps": [step]}


async def test_a_pipeline_sends_to_a_running_pipeline_and_both_records_show_it(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    async with running_worker(env.client, Registry(), task_queue):
        receiving = await start(env.client, task_queue, listener())
        await wait_for_step(receiving, "inbox", StepStatus.RUNNING)
        sender = await start(
            env.client, task_queue, talker(to="$input.to"), {"to": receiving.id, "text": "hello"}
        )
        sent = await sender.result()
        received = await receiving.result()
    message = sent.steps["tell"].output
    assert (message["to"], message["payload"]) == (receiving.id, {"text": "hello"})
    got = received.steps["inbox"].output
    assert (got["id"], got["sender"], got["payload"]) == (
        message["id"],
        f"{sender.id}/tell",
        {"text": "hello"},
    )
    assert [m.id for m in received.messages] == [message["id"]] == received.consumed


async def test_a_broadcast_reaches_every_subscriber_but_not_others(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    topic = unique("alerts")
    async with running_worker(env.client, Registry(), task_queue):
        first = await start(env.client, task_queue, listener(topic))
        second = await start(env.client, task_queue, listener(topic))
        bystander = await start(env.client, task_queue, listener())
        topic_handle = env.client.get_workflow_handle(topic_workflow_id(topic))

        async def subscribed() -> bool:
            try:
                found = await topic_handle.query(SUBSCRIBERS_QUERY, result_type=list[str])
            except Exception:
                return False
            return set(found) == {first.id, second.id}

        await eventually(subscribed, timeout=30)
        sender = await start(env.client, task_queue, talker(topic=topic), {"text": "fire"})
        await sender.result()
        outputs = [(await h.result()).steps["inbox"].output for h in (first, second)]
        await wait_for_step(bystander, "inbox", StepStatus.RUNNING)
        await bystander.cancel()
        # The subscribers have ended: the next broadcast finds them gone, and drops them.
        await (await start(env.client, task_queue, talker(topic=topic), {"text": "x"})).result()

        async def dropped() -> bool:
            return await topic_handle.query(SUBSCRIBERS_QUERY, result_type=list[str]) == []

        await eventually(dropped, timeout=30)
    assert [o["payload"] for o in outputs] == [{"text": "fire"}, {"text": "fire"}]
    assert {o["topic"] for o in outputs} == {topic}
    await topic_handle.terminate("test over")


async def test_a_message_to_a_conversation_becomes_a_note_its_next_turn_sees(
    env: WorkflowEnvironment, task_queue: str, database: Database
) -> None:
    store = ConversationStore(database)
    scripted = ScriptedProvider().enqueue(
        "chat", ScriptedAnswer(content="Hello."), ScriptedAnswer(content="Noted, VIP.")
    )
    cid = unique("conv")
    config = ConversationConfig(model="scripted:chat")
    async with running_worker(env.client, Registry(), task_queue, scripted=scripted, store=store):
        await send_message(env.client, task_queue, cid, ChatMessage(content="Hi"), "ada", config)
        sender = await start(env.client, task_queue, talker(to=cid), {"text": "VIP customer"})
        await sender.result()

        async def noted() -> bool:
            return len(store.messages(cid)) == 3

        await eventually(noted, timeout=30)
        await send_message(
            env.client, task_queue, cid, ChatMessage(content="Who am I?"), "ada", config
        )
    note = f'Message from {sender.id}/tell: {{\n  "text": "VIP customer"\n}}'
    assert [(m.role, m.content) for m in store.messages(cid)][2] == ("system", note)
    seen = [(m.role, m.content) for m in scripted.requests["chat"][1].messages]
    assert ("system", note) in seen and seen[-1] == ("user", "Who am I?")


async def test_sending_to_no_running_workflow_fails_the_step_clearly(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    async with running_worker(env.client, Registry(), task_queue):
        handle = await start(env.client, task_queue, talker(to="nobody-here"), {"text": "hi"})
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    result = carried_result(failed.value.cause)
    assert result is not None
    error = result.steps["tell"].error
    assert error is not None and error.type == ErrorType.NO_RECEIVER
    assert "nobody-here" in error.message
