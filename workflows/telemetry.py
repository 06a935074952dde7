"""What every run and step leaves outside its record: a span, metrics, the scope its work logs with.

Opened and closed at the choke point (PipelineRun.run_step), so no step escapes it. Replay-safe:
spans come from the worker's replay-safe tracer provider (deterministic ids, no end while
replaying), metrics from its replay-safe meter provider (nothing recorded while replaying). A worker
crash and the replay that follows therefore neither duplicate nor lose a span or a count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import Span, StatusCode

    from taskagent import search
    from taskagent.results import PipelineResult, RunStatus, StepResult, StepStatus
    from taskagent.scope import SCOPE, LogScope
    from taskagent.telemetry import instruments
    from taskagent.telemetry.names import Attr


@contextmanager
def span(name: str, attributes: dict[str, str | int | float]) -> Iterator[Span]:
    """A span around workflow code, current for what runs inside (activities and children
    started there nest under it). Ended when the block ends, unless the workflow task fails:
    a bug's replay under a fixed deploy ends it then, once."""
    current = trace.get_tracer("taskagent.workflow").start_span(name, attributes=attributes)
    token = otel_context.attach(trace.set_span_in_context(current))
    try:
        yield current
    except GeneratorExit:
        # The worker evicted the run from its cache and the collector closes its coroutines:
        # the run goes on by replay, which ends the span. Nothing here is in the run's loop.
        raise
    except BaseException as err:
        otel_context.detach(token)
        if isinstance(err, asyncio.CancelledError):
            current.set_status(StatusCode.ERROR, "cancelled")
        elif not isinstance(err, workflow.ContinueAsNewError):
            if not workflow.is_failure_exception(err):
                raise  # a bug: the task fails, and a fixed deploy's replay ends the span
            current.set_status(StatusCode.ERROR, str(err))
        current.end()
        raise
    otel_context.detach(token)
    current.end()


@contextmanager
def validator(name: str) -> Iterator[list[str]]:
    """A validator's span: the block fills the list it gets with the validator's errors."""
    errors: list[str] = []
    with span(f"validate {name}", {Attr.VALIDATOR: name}) as current:
        yield errors
        current.set_attribute(Attr.VALIDATION_ERRORS, len(errors))
        if errors:
            current.set_status(StatusCode.ERROR, "; ".join(errors)[:1000])


def _attributes(scope: LogScope) -> dict[str, str | int | float]:
    return {
        Attr.PIPELINE: scope.pipeline,
        Attr.PATH: scope.path,
        Attr.CORRELATION_ID: scope.correlation_id,
    }


def trace_id(current: Span) -> str | None:
    context = current.get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


class RunTelemetry:
    """Spans and metrics of one run's steps, and the scope their activities log with."""

    def __init__(self, scope: LogScope) -> None:
        self.scope = scope
        self.indexed = False
        """The server has TaskAgent's search attributes (as the resolve activity found)."""

    def index(self, result: PipelineResult) -> None:
        """Set the run's search attributes from its record, if the server has them."""
        if self.indexed:
            workflow.upsert_search_attributes(search.updates(result))

    def run(self) -> AbstractContextManager[Span]:
        """The run's span, with its scope made current (for the activities the run itself
        schedules, and the steps, which narrow it)."""
        SCOPE.set(self.scope)
        info = workflow.info()
        attributes = {
            **_attributes(self.scope),
            Attr.WORKFLOW_ID: info.workflow_id,
            Attr.RUN_ID: info.run_id,
        }
        return span(f"pipeline {self.scope.pipeline}", attributes)

    @contextmanager
    def step(self, key: str, kind: str) -> Iterator[Span]:
        """The step's span and scope, current while it runs."""
        scope = self.scope.for_step(key)
        attributes = {**_attributes(scope), Attr.STEP: key, Attr.KIND: kind}
        token = SCOPE.set(scope)
        try:
            with span(f"step {key}", attributes) as current:
                yield current
        except GeneratorExit:
            raise  # evicted (see span): the context goes with the coroutine
        except BaseException:
            SCOPE.reset(token)
            raise
        SCOPE.reset(token)

    def settled(self, current: Span, record: StepResult) -> None:
        """Label the step's span with its outcome and count it: once, at its live end."""
        usage = record.usage
        current.set_attributes(
            {
                Attr.STATUS: record.status.value,
                Attr.ATTEMPTS: record.attempts,
                Attr.COGNITIVE_RETRIES: record.cognitive_retries,
                Attr.TRANSIENT_RETRIES: record.transient_retries,
                Attr.COST_USD: usage.cost_usd if usage else 0.0,
                Attr.INPUT_TOKENS: usage.input_tokens if usage else 0,
                Attr.OUTPUT_TOKENS: usage.output_tokens if usage else 0,
            }
        )
        if record.status is StepStatus.FAILED and record.error is not None:
            current.set_status(StatusCode.ERROR, f"{record.error.type}: {record.error.message}")
        labels = {
            "pipeline": self.scope.pipeline,
            "step": record.id,
            "kind": record.kind,
            "status": record.status.value.lower(),
        }
        instruments.step_executions().add(1, labels)
        if record.duration_ms is not None:
            instruments.step_duration().record(record.duration_ms / 1000, labels)
        del labels["status"]
        for retry, count in (
            ("cognitive", record.cognitive_retries),
            ("transient", record.transient_retries),
        ):
            if count:
                instruments.step_retries().add(count, {**labels, "retry": retry})

    def run_settled(self, current: Span, result: PipelineResult) -> None:
        """Label the run's span with its outcome and index a finished run."""
        if result.status is not RunStatus.RUNNING:
            self.index(result)
        current.set_attributes(
            {
                Attr.STATUS: result.status.value,
                Attr.COST_USD: result.cost.total.cost_usd,
                Attr.INPUT_TOKENS: result.cost.total.input_tokens,
                Attr.OUTPUT_TOKENS: result.cost.total.output_tokens,
                Attr.FAILED_STEPS: len(result.failed_steps()),
            }
        )
