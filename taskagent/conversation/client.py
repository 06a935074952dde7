"""Talking to conversations from a client: a turn by update-with-start, its events as they come.

    reply = await send_message(client, "taskagent", "support-42", ChatMessage(content="Hi"))

The first message of a conversation starts its workflow; later ones reach the running one (or
start a new run, which reads the conversation back from the database, after an idle end).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowUpdateHandle,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.service import RPCError, RPCStatusCode

from taskagent.conversation.contracts import (
    ChatMessage,
    ChatReply,
    ConversationConfig,
    ConversationStart,
)
from taskagent.events import TOPICS, EventKind, RunEvent
from taskagent.names import CONVERSATION_WORKFLOW, SEND_MESSAGE_UPDATE

TURN_ENDS = {EventKind.TURN_COMPLETED, EventKind.TURN_FAILED}


def start_operation(
    conversation_id: str,
    task_queue: str,
    user: str = "anonymous",
    config: ConversationConfig | None = None,
    *,
    roles: Sequence[str] = (),
) -> WithStartWorkflowOperation[ConversationStart, object]:
    """The conversation's workflow, started if it is not running (its settings, its user and
    the user's `roles` then apply: tools may require a role)."""
    return WithStartWorkflowOperation(
        CONVERSATION_WORKFLOW,
        ConversationStart(user=user, roles=list(roles), config=config or ConversationConfig()),
        id=conversation_id,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=task_queue,
        static_summary=f"conversation {conversation_id} of {user}",
    )


async def send_message(
    client: Client,
    task_queue: str,
    conversation_id: str,
    message: ChatMessage,
    user: str = "anonymous",
    config: ConversationConfig | None = None,
    *,
    roles: Sequence[str] = (),
) -> ChatReply:
    """One turn: the validated reply (a WorkflowUpdateFailedError says why there is none)."""
    handle = await begin_message(
        client,
        task_queue,
        conversation_id,
        message,
        user,
        config,
        WorkflowUpdateStage.COMPLETED,
        roles=roles,
    )
    return await handle.result()


async def begin_message(
    client: Client,
    task_queue: str,
    conversation_id: str,
    message: ChatMessage,
    user: str = "anonymous",
    config: ConversationConfig | None = None,
    stage: WorkflowUpdateStage = WorkflowUpdateStage.ACCEPTED,
    *,
    roles: Sequence[str] = (),
) -> WorkflowUpdateHandle[ChatReply]:
    """A turn, accepted (or, at `stage` COMPLETED, answered): its handle gives the reply."""
    operation = start_operation(conversation_id, task_queue, user, config, roles=roles)
    return await client.start_update_with_start_workflow(
        SEND_MESSAGE_UPDATE,
        message,
        start_workflow_operation=operation,
        wait_for_stage=stage,
        result_type=ChatReply,
    )


async def event_offset(client: Client, conversation_id: str) -> int:
    """Where the next events of a conversation's running workflow go (0 for a new run)."""
    try:
        description = await client.get_workflow_handle(conversation_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return 0
        raise
    if description.status is not WorkflowExecutionStatus.RUNNING:
        return 0
    return await WorkflowStreamClient.create(client, conversation_id).get_offset()


async def turn_events(
    client: Client, conversation_id: str, message_id: str, offset: int
) -> AsyncIterator[RunEvent]:
    """The events of one turn (the message `message_id`), from its start to its end."""
    stream = WorkflowStreamClient.create(client, conversation_id)
    mine = False
    async for item in stream.subscribe(TOPICS, offset, result_type=RunEvent):
        event: RunEvent = item.data
        data = event.data if isinstance(event.data, dict) else {}
        if event.kind == EventKind.TURN_STARTED:
            mine = data.get("message_id") == message_id
        if not mine:
            continue
        yield event
        if event.kind in TURN_ENDS:
            return
