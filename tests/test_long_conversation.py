"""A 1,000-turn conversation on a real dev server: every run's history stays small, whatever the
conversation's length (message text lives in the database; runs continue as new)."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from taskagent import Registry
from taskagent.conversation.client import send_message
from taskagent.conversation.contracts import ChatMessage, ConversationConfig
from taskagent.store import ConversationStore, Database, migrate
from tests.support import running_worker, unique

TURNS = 1_000
PER_RUN = 100


async def test_a_thousand_turns_keep_every_run_history_small(
    env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> None:
    database = Database(f"sqlite:///{tmp_path}/conversations.db")
    migrate(database)
    store = ConversationStore(database)
    cid = unique("long")
    config = ConversationConfig(model="offline:default", continue_every=PER_RUN)
    text = "A question of about a hundred characters, as people type them into a support chat."
    try:
        async with running_worker(env.client, Registry(), task_queue, store=store):
            for n in range(1, TURNS + 1):
                reply = await send_message(
                    env.client, task_queue, cid, ChatMessage(content=f"{n}. {text}"), "ada", config
                )
                assert reply.turn == n
        runs = [run async for run in env.client.list_workflows(f"WorkflowId = '{cid}'")]
        runs.sort(key=lambda run: run.start_time)
        sizes, events, carried = [], [], []
        for run in runs:
            history = await env.client.get_workflow_handle(cid, run_id=run.run_id).fetch_history()
            sizes.append(sum(event.ByteSize() for event in history.events))
            events.append(len(history.events))
            carried.append(history.events[0].ByteSize())
        assert len(runs) == TURNS // PER_RUN + 1  # the last continuation waits for turn 1,001
        full = sizes[:-1]
        per_turn = max(full) / PER_RUN
        print(
            f"\n{TURNS} turns in {len(runs)} runs: at most {max(full):,} bytes and "
            f"{max(events[:-1])} events per run of {PER_RUN} turns ({per_turn:,.0f} bytes, "
            f"{max(events[:-1]) / PER_RUN:.1f} events per turn); a continuation's input: "
            f"{max(carried):,} bytes"
        )
        assert max(full) < 1_000_000  # Temporal warns at 10 MB and stops a run at 50 MB
        assert max(full) - min(full) < 0.2 * max(full)  # run 10 costs what run 1 did
        assert max(carried) < 16_000  # the carried state does not grow with the conversation
        assert len(store.messages(cid)) == 2 * TURNS
    finally:
        database.close()
