"""Conversations through real processes: a worker SIGKILLed mid-turn, the CLIs (the `temporal`
binary's update-with-start and query, `starter.py chat` and `conversations`)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from taskagent import Registry
from taskagent.conversation.client import send_message
from taskagent.conversation.contracts import ChatMessage, ConversationConfig
from taskagent.store import ConversationStore, Database, migrate
from tests.fake_llm import FakeLLM
from tests.support import ROOT, binary, eventually, running_worker, starter, unique, worker_process


def stored(database: Path, conversation_id: str) -> list[tuple[int, str, str | None]]:
    db = Database(f"sqlite:///{database}")
    try:
        migrate(db)
        messages = ConversationStore(db).messages(conversation_id)
        return [(m.seq, m.role, m.content) for m in messages]
    finally:
        db.close()


async def test_a_worker_killed_mid_turn_replies_once_and_stores_once(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    queue, cid = unique("chat-crash"), unique("conv")
    database = tmp_path / "conversations.db"
    async with FakeLLM() as llm:
        llm.openai.reply_text("an answer lost with its worker").reply_text("the answer")
        settings = {
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "TASKAGENT_TASK_QUEUE": queue,
            "TASKAGENT_PIPELINE_DIR": str(tmp_path / "none"),
            "TASKAGENT_DATABASE_URL": f"sqlite:///{database}",
            "TASKAGENT_ARCHIVE_AFTER_DAYS": "0",
            "OPENAI_API_KEY": "chat-crash-key",
            "OPENAI_BASE_URL": llm.openai_base_url,
        }
        config = ConversationConfig(model="openai:gpt-chat")
        llm.hold()
        with worker_process(settings) as first:
            turn = asyncio.create_task(
                send_message(env.client, queue, cid, ChatMessage(content="Hello?"), "ada", config)
            )

            async def in_flight() -> bool:
                return len(llm.openai.requests) == 1

            await eventually(in_flight, timeout=30)
            first.kill()
            await asyncio.to_thread(first.wait, 10)
        llm.release()
        assert stored(database, cid) == [(0, "user", "Hello?")]  # stored before the call
        with worker_process(settings):
            reply = await asyncio.wait_for(turn, 60)  # the same update, answered by the new worker
    assert (reply.content, reply.turn, reply.seq) == ("the answer", 1, 1)
    assert len(llm.openai.requests) == 2
    assert stored(database, cid) == [(0, "user", "Hello?"), (1, "assistant", "the answer")]


def run_cli(
    args: list[str], env_vars: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=ROOT,
        env={**os.environ, **env_vars},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_conversations_from_the_command_lines(
    env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> None:
    database = tmp_path / "conversations.db"
    address = env.client.service_client.config.target_host
    cli_env = {
        "TEMPORAL_ADDRESS": address,
        "TASKAGENT_TASK_QUEUE": task_queue,
        "TASKAGENT_DATABASE_URL": f"sqlite:///{database}",
        "TASKAGENT_PIPELINE_DIR": str(tmp_path / "none"),
    }
    db = Database(cli_env["TASKAGENT_DATABASE_URL"])
    migrate(db)
    cid = unique("conv")
    try:
        async with running_worker(env.client, Registry(), task_queue, store=ConversationStore(db)):
            temporal = [binary("temporal"), "workflow", "--address", address]
            started = await asyncio.to_thread(
                run_cli,
                [
                    *temporal[:2],
                    "execute-update-with-start",
                    *temporal[2:],
                    "--workflow-id",
                    cid,
                    "--type",
                    "ConversationWorkflow",
                    "--task-queue",
                    task_queue,
                    "--id-conflict-policy",
                    "UseExisting",
                    "--input",
                    '{"user": "ada"}',
                    "--update-name",
                    "send_message",
                    "--update-input",
                    '{"content": "Hi from the temporal CLI"}',
                    "--output",
                    "json",
                ],
                {},
            )
            assert started.returncode == 0, started.stderr
            assert "Offline answer to: Hi from the temporal CLI" in started.stdout
            chat = await asyncio.to_thread(
                starter,
                "chat",
                cid,
                "--user",
                "ada",
                extra_env=cli_env,
                stdin="And a second message\n\n/exit\nnot sent\n",
            )
            assert chat.returncode == 0, chat.stderr
            assert chat.stdout.count("Offline answer to: And a second message") == 1
            queried = await asyncio.to_thread(
                run_cli,
                [
                    *temporal[:2],
                    "query",
                    *temporal[2:],
                    "--workflow-id",
                    cid,
                    "--name",
                    "messages",
                    "--output",
                    "json",
                ],
                {},
            )
            assert queried.returncode == 0, queried.stderr
            shown = json.loads(queried.stdout)["queryResult"][0]
            assert [(m["seq"], m["role"]) for m in shown] == [
                (0, "user"),
                (1, "assistant"),
                (2, "user"),
                (3, "assistant"),
            ]
            listing = await asyncio.to_thread(
                starter, "conversations", "list", "--user", "ada", "--json", extra_env=cli_env
            )
            rows: list[dict[str, Any]] = json.loads(listing.stdout)
            assert [(r["id"], r["title"]) for r in rows] == [(cid, "Hi from the temporal CLI")]
            exported = await asyncio.to_thread(
                starter, "conversations", "export", cid, extra_env=cli_env
            )
            assert [m["content"] for m in json.loads(exported.stdout)["messages"]][2] == (
                "And a second message"
            )
            archived = await asyncio.to_thread(
                starter, "conversations", "archive", cid, extra_env=cli_env
            )
            assert archived.returncode == 0 and f"archived {cid}" in archived.stdout
            handle = env.client.get_workflow_handle(cid)
            await handle.result()  # the archive ended the run
            listing = await asyncio.to_thread(
                starter, "conversations", "list", "--user", "ada", "--json", extra_env=cli_env
            )
            assert json.loads(listing.stdout) == []
    finally:
        db.close()
