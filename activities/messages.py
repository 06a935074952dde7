"""Delivering messages between runs (see taskagent.messages): a signal to one workflow, or a
publication to a topic's workflow (signal-with-start); subscriptions likewise."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from taskagent.errors import ErrorType, non_retryable
from taskagent.messages import DeliverMessage, Subscription, TopicState, topic_workflow_id
from taskagent.names import (
    DELIVER_MESSAGE_ACTIVITY,
    PIPELINE_MESSAGE_SIGNAL,
    PUBLISH_SIGNAL,
    SUBSCRIBE_ACTIVITY,
    SUBSCRIBE_SIGNAL,
    TOPIC_WORKFLOW,
)


class MessageActivities:
    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name=DELIVER_MESSAGE_ACTIVITY)
    async def deliver(self, request: DeliverMessage) -> None:
        message = request.message
        if message.topic is not None:
            await self._to_topic(message.topic, PUBLISH_SIGNAL, message)
            return
        target = message.to or ""
        try:
            await self._client.get_workflow_handle(target).signal(PIPELINE_MESSAGE_SIGNAL, message)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            raise non_retryable(
                f"no running workflow {target!r} to send the message to", ErrorType.NO_RECEIVER
            ) from None

    @activity.defn(name=SUBSCRIBE_ACTIVITY)
    async def subscribe(self, request: Subscription) -> None:
        for topic in request.topics:
            await self._to_topic(topic, SUBSCRIBE_SIGNAL, request.subscriber)

    async def _to_topic(self, topic: str, signal: str, arg: object) -> None:
        await self._client.start_workflow(
            TOPIC_WORKFLOW,
            TopicState(topic=topic),
            id=topic_workflow_id(topic),
            task_queue=activity.info().task_queue,
            start_signal=signal,
            start_signal_args=[arg],
            static_summary=f"topic {topic}",
        )
