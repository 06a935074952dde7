"""TopicWorkflow: one per topic (id `taskagent-topic-<topic>`), started by the first subscription
or publication. It keeps the topic's subscribers and forwards each message published to it to
every one of them by signal, from workflow code, so that a broadcast survives any crash. A
subscriber that has ended is dropped. The run continues as new when Temporal suggests it."""

from __future__ import annotations

import asyncio
from collections import deque

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from taskagent.messages import PipelineMessage, TopicState
    from taskagent.names import (
        PIPELINE_MESSAGE_SIGNAL,
        PUBLISH_SIGNAL,
        SUBSCRIBE_SIGNAL,
        TOPIC_WORKFLOW,
    )

SUBSCRIBERS_QUERY = "subscribers"


@workflow.defn(name=TOPIC_WORKFLOW)
class TopicWorkflow:
    """A topic's subscribers, and the delivery of what is published to them."""

    @workflow.init
    def __init__(self, state: TopicState) -> None:
        self._state = state
        self._subscribers: dict[str, None] = dict.fromkeys(state.subscribers)
        self._queue: deque[PipelineMessage] = deque()

    @workflow.run
    async def run(self, state: TopicState) -> None:
        while True:
            await workflow.wait_condition(
                lambda: bool(self._queue) or workflow.info().is_continue_as_new_suggested()
            )
            while self._queue:
                await self._deliver(self._queue.popleft())
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._queue:
                    workflow.continue_as_new(self._carried())

    @workflow.signal(name=SUBSCRIBE_SIGNAL)
    def subscribe(self, subscriber: str) -> None:
        self._subscribers[subscriber] = None

    @workflow.signal(name=PUBLISH_SIGNAL)
    def publish(self, message: PipelineMessage) -> None:
        self._queue.append(message)

    @workflow.query(name=SUBSCRIBERS_QUERY)
    def subscribers(self) -> list[str]:
        return list(self._subscribers)

    async def _deliver(self, message: PipelineMessage) -> None:
        sender = message.sender.rsplit("/", 1)[0]
        targets = [s for s in self._subscribers if s != sender]  # no echo to the sender
        outcomes = await asyncio.gather(
            *(self._signal(target, message) for target in targets), return_exceptions=True
        )
        for target, outcome in zip(targets, outcomes, strict=True):
            if isinstance(outcome, FailureError):  # the subscriber has ended
                self._subscribers.pop(target, None)
            elif isinstance(outcome, BaseException):
                raise outcome
        self._state.delivered += 1

    @staticmethod
    async def _signal(target: str, message: PipelineMessage) -> None:
        await workflow.get_external_workflow_handle(target).signal(PIPELINE_MESSAGE_SIGNAL, message)

    def _carried(self) -> TopicState:
        return self._state.model_copy(update={"subscribers": list(self._subscribers)})
