"""A run's inbox: the messages other runs sent it (taskagent.messages), kept in its record, one
copy of each, and taken in arrival order by its `receive` steps."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.messages import PipelineMessage
    from taskagent.results import PipelineResult


class Inbox:
    def __init__(self, result: PipelineResult) -> None:
        self._result = result
        self._ids = {message.id for message in result.messages}
        self._taken = set(result.consumed)

    def add(self, message: PipelineMessage) -> bool:
        """Keep a message; False if a copy of it arrived before (a redelivery)."""
        if message.id in self._ids:
            return False
        self._ids.add(message.id)
        self._result.messages.append(message)
        return True

    async def take(self, topic: str | None) -> PipelineMessage:
        """The oldest message not yet taken (of `topic`, if given), once there is one."""
        await workflow.wait_condition(lambda: self._next(topic) is not None)
        message = self._next(topic)
        if message is None:  # unreachable: the condition held
            raise LookupError("no message")
        self._taken.add(message.id)
        self._result.consumed.append(message.id)
        return message

    def _next(self, topic: str | None) -> PipelineMessage | None:
        for message in self._result.messages:
            if message.id not in self._taken and (topic is None or message.topic == topic):
                return message
        return None
