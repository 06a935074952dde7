"""The conversation commands of `starter.py`: `chat` and `conversations list|show|export|archive`.

`chat` talks through Temporal (update-with-start); the `conversations` commands read the
database that the workers write (TASKAGENT_DATABASE_URL), except `archive`, which asks a
running conversation to archive itself and end its run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from taskagent.conversation.contracts import ConversationConfig
from taskagent.conversation.session import ChatSession, chat_loop
from taskagent.names import ARCHIVE_UPDATE
from taskagent.settings import Settings

if TYPE_CHECKING:
    from taskagent.store import ConversationStore

Connect = Callable[[Settings], Awaitable[Client]]


def add_parsers(commands: Any) -> None:
    chat = commands.add_parser("chat", help="talk with a conversation (started if new)")
    chat.add_argument("conversation_id")
    chat.add_argument("--user", default="anonymous", help="whose conversation it is")
    chat.add_argument(
        "--role",
        action="append",
        default=[],
        help="a role of the user's (tools may require one); set when the conversation's run starts",
    )
    chat.add_argument("--model", help="provider:model (a new conversation's)")
    chat.add_argument("--system", help="system prompt (a new conversation's)")
    chat.add_argument("--pipeline", help="a registered turn pipeline (a new conversation's)")
    chat.add_argument("--message", "-m", help="send this one message, print the reply, exit")
    chat.add_argument(
        "--no-stream", action="store_true", help="print each reply whole when it is ready"
    )
    conversations = commands.add_parser("conversations", help="list, show, export, archive")
    actions = conversations.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="a user's conversations, latest first")
    listing.add_argument("--user", default="anonymous")
    listing.add_argument("--archived", action="store_true", help="include archived ones")
    listing.add_argument("--json", action="store_true")
    for name, text in (
        ("show", "print a conversation's messages"),
        ("export", "print a conversation as JSON"),
        ("archive", "archive a conversation"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("conversation_id")


async def cmd_chat(
    args: argparse.Namespace, settings: Settings, connect: Connect, out: Console, err: Console
) -> int:
    config = ConversationConfig(model=args.model, pipeline=args.pipeline)
    if args.system:
        config.system_prompt = args.system
    session = ChatSession(
        await connect(settings),
        settings.task_queue,
        args.conversation_id,
        user=args.user,
        roles=args.role,
        config=config,
        stream=not args.no_stream,
        out=out,
        notes=err,
    )
    if args.message:
        return 0 if await session.say(args.message) is not None else 1
    interactive = sys.stdin.isatty()
    if interactive:
        err.print(f"conversation [bold]{args.conversation_id}[/bold] — /exit to leave")
    return await chat_loop(session, interactive)


async def cmd_conversations(
    args: argparse.Namespace, settings: Settings, connect: Connect, out: Console, err: Console
) -> int:
    from taskagent.store import ConversationStore, Database, migrate  # only these commands

    database = Database(settings.database_url)
    try:
        migrate(database)
        store = ConversationStore(database)
        if args.action == "list":
            return _list(store, args, out)
        if args.action == "archive":
            return await _archive(store, args.conversation_id, await connect(settings), out)
        if store.get(args.conversation_id) is None:
            err.print(f"[red]error:[/red] no conversation {args.conversation_id!r}")
            return 1
        if args.action == "export":
            sys.stdout.write(json.dumps(store.export(args.conversation_id), indent=2) + "\n")
            return 0
        for message in store.messages(args.conversation_id):
            out.print(f"[bold]{message.role}[/bold] [dim]#{message.seq}[/dim]")
            out.print(message.content or "", markup=False, highlight=False)
        return 0
    finally:
        database.close()


def _list(store: ConversationStore, args: argparse.Namespace, out: Console) -> int:
    found = store.for_user(args.user, archived=args.archived)
    if args.json:
        rows = [c.model_dump(mode="json") for c in found]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    table = Table("id", "title", "last activity", "archived")
    for c in found:
        archived = c.archived_at.strftime("%Y-%m-%d") if c.archived_at else ""
        table.add_row(c.id, c.title or "", c.last_activity_at.strftime("%Y-%m-%d %H:%M"), archived)
    out.print(table)
    return 0


async def _archive(
    store: ConversationStore, conversation_id: str, client: Client, out: Console
) -> int:
    """Through the running workflow if there is one (its run ends), else in the database."""
    handle = client.get_workflow_handle(conversation_id)
    try:
        running = (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        running = False
    if running:
        await handle.execute_update(ARCHIVE_UPDATE, result_type=bool)
    elif (
        not store.archive(conversation_id, datetime.now(UTC)) and store.get(conversation_id) is None
    ):
        out.print(f"no conversation {conversation_id!r}")
        return 1
    out.print(f"archived {conversation_id}")
    return 0
