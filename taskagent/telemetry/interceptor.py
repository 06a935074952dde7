"""Carries each step's scope from the workflow to its activities, where every log line gets it.

The workflow side stamps the scope current in the scheduling step (taskagent.scope.SCOPE) on each
activity as a header; the activity side makes it current there too (for the metrics activities
record and every log line it writes: see taskagent.logging), binds the activity's own ids to
structlog's context, and counts the steps that have an activity running on this worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadConverter
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    StartActivityInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from taskagent.scope import HEADER, SCOPE, LogScope
from taskagent.telemetry import instruments


def _stamped(headers: Mapping[str, Payload]) -> Mapping[str, Payload]:
    scope = SCOPE.get()
    if scope is None:
        return headers
    fields = scope.header(workflow.info().workflow_id)
    return {**headers, HEADER: PayloadConverter.default.to_payload(fields)}


def read_scope(headers: Mapping[str, Payload], workflow_id: str) -> LogScope | None:
    payload = headers.get(HEADER)
    if payload is None:
        return None
    fields = PayloadConverter.default.from_payload(payload, dict)
    return LogScope.from_header(fields, workflow_id) if isinstance(fields, dict) else None


class _Outbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> Any:
        input.headers = _stamped(input.headers)
        return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> Any:
        input.headers = _stamped(input.headers)
        return super().start_local_activity(input)


class _WorkflowInbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound))


class _ActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        scope = read_scope(input.headers, info.workflow_id or "")
        # Each activity runs in its own asyncio task: what is set here stays with this activity
        # to its end, Temporal's own "Completing activity as failed" line included.
        SCOPE.set(scope)
        structlog.contextvars.bind_contextvars(
            workflow_id=info.workflow_id,
            run_id=info.workflow_run_id,
            activity=info.activity_type,
            attempt=info.attempt,
        )
        if scope is None or scope.step is None:
            return await super().execute_activity(input)
        labels = {"pipeline": scope.pipeline, "step": scope.step}
        instruments.active_steps().add(1, labels)
        try:
            return await super().execute_activity(input)
        finally:
            instruments.active_steps().add(-1, labels)


class ScopeInterceptor(Interceptor):
    """Worker interceptor: step scopes on activity headers, bound to the activity's log lines."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityInbound(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _WorkflowInbound
