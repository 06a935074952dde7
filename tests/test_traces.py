"""Traces of runs, on a real Temporal server: one span per run, step, model call, tool call and
validator, nested as the run tree is, and never duplicated when a new worker replays a run."""

from __future__ import annotations

import functools
from collections import Counter
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel
from temporalio.client import Client
from temporalio.contrib.opentelemetry import OpenTelemetryPlugin, ReplaySafeTracerProvider

from taskagent import Pipeline
from taskagent.registry import Registry
from taskagent.telemetry.setup import span_exporters, tracer_provider
from tests.support import probes, running_worker, start
from tests.test_operator import approved_after_a_worker_restart


@functools.cache
def provider() -> tuple[ReplaySafeTracerProvider, InMemorySpanExporter]:
    """The process's one tracer provider (OpenTelemetry allows one), exporting to memory."""
    memory = InMemorySpanExporter()
    return tracer_provider("taskagent-test", [memory]), memory


def finished_spans() -> tuple[ReadableSpan, ...]:
    traces, memory = provider()
    traces.force_flush()
    return memory.get_finished_spans()


def traced(client: Client) -> Client:
    """The test server's client with tracing on, as worker.py connects when OTEL_* is set."""
    provider()
    config = client.config()
    config["plugins"] = [OpenTelemetryPlugin()]
    return Client(**config)


def spans_of(workflow_id: str) -> list[ReadableSpan]:
    """The finished spans of one run tree (its trace)."""
    spans = finished_spans()
    roots = [
        s for s in spans if s.attributes and s.attributes.get("temporal.workflow_id") == workflow_id
    ]
    assert roots, f"no span of {workflow_id}"
    trace = roots[0].context.trace_id
    return [s for s in spans if s.context.trace_id == trace]


def named(spans: list[ReadableSpan], repeated: str = "") -> dict[str, ReadableSpan]:
    """The spans by name; only `repeated` may occur more than once (the last one is kept)."""
    counts = Counter(s.name for s in spans)
    duplicated = {name: n for name, n in counts.items() if n > 1 and name != repeated}
    assert not duplicated, f"spans exported more than once: {duplicated}"
    return {s.name: s for s in spans}


def parent_of(span: ReadableSpan, spans: dict[str, ReadableSpan]) -> str | None:
    by_id = {s.context.span_id: name for name, s in spans.items()}
    return by_id.get(span.parent.span_id) if span.parent else None


class Sum(BaseModel):
    total: int


tools = Registry()
tools.include(probes)


@tools.tools.tool(description="Add two integers.")
def add_numbers(args: Sum) -> str:
    return str(args.total)


@tools.function()
def non_empty(value: Any) -> list[str]:
    return [] if value else ["the answer is empty"]


def traced_pipeline() -> Pipeline:
    inner = Pipeline("inner").code("copy", "echo", input="$input")
    return (
        Pipeline("outer")
        .code("first", "echo", input={"n": 1})
        .agent(
            "think",
            "Add the numbers.",
            depends_on=["first"],
            tools=["add_numbers"],
            validators=["non_empty"],
        )
        .add(
            {
                "kind": "pipeline",
                "id": "child",
                "pipeline": inner.build(),
                "input": {"answer": "$steps.think.output"},
                "depends_on": ["think"],
            }
        )
    )


def test_no_exporter_is_configured_without_otel_variables():
    assert span_exporters({}) == []
    assert [type(e).__name__ for e in span_exporters({"OTEL_TRACES_EXPORTER": "console"})] == [
        "ConsoleSpanExporter"
    ]
    otlp = span_exporters({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert [type(e).__module__ for e in otlp] == [
        "opentelemetry.exporter.otlp.proto.http.trace_exporter"
    ]
    grpc = span_exporters(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    )
    assert [type(e).__module__ for e in grpc] == [
        "opentelemetry.exporter.otlp.proto.grpc.trace_exporter"
    ]


async def test_a_run_traces_its_steps_model_calls_tools_validators_and_child(env, task_queue):
    client = traced(env.client)
    async with running_worker(client, tools, task_queue):
        handle = await start(client, task_queue, traced_pipeline(), {"x": 1})
        result = await handle.result()
    trace = spans_of(handle.id)
    spans = named(trace, repeated="chat offline:default")
    run = spans["pipeline outer"]
    assert run.attributes is not None
    assert run.attributes["temporal.run_id"] == result.run_id
    assert run.attributes["taskagent.status"] == "COMPLETED"
    assert result.trace_id == format(run.context.trace_id, "032x")
    for step in ("first", "think", "child"):
        assert parent_of(spans[f"step {step}"], spans) == "pipeline outer"
    think = spans["step think"].attributes or {}
    assert think["taskagent.status"] == "COMPLETED"
    assert think["taskagent.path"] == "outer/think"
    assert think["gen_ai.usage.input_tokens"] > 0
    chats = [s for s in trace if s.name == "chat offline:default"]
    assert len(chats) == 2  # the tool round, then the answer
    assert all(parent_of(chat, spans) == "step think" for chat in chats)
    chat = chats[-1]
    attributes = chat.attributes or {}
    assert attributes["gen_ai.request.model"] == "offline:default"
    assert attributes["gen_ai.usage.input_tokens"] > 0
    assert attributes["gen_ai.usage.output_tokens"] > 0
    assert "taskagent.cost_usd" in attributes
    assert parent_of(spans["execute_tool add_numbers"], spans) == "step think"
    assert parent_of(spans["validate non_empty"], spans) == "step think"
    assert parent_of(spans["validate schema"], spans) == "step think"
    # The child pipeline nests under the step that started it, with its own steps below it.
    assert parent_of(spans["pipeline inner"], spans) == "step child"
    assert parent_of(spans["step copy"], spans) == "pipeline inner"
    copy = spans["step copy"].attributes or {}
    assert copy["taskagent.path"] == "outer/child/inner/copy"
    assert copy["taskagent.correlation_id"] == handle.id


async def test_a_run_replayed_by_a_new_worker_exports_each_span_once(env, task_queue):
    # "draft" ends on the first worker; the second replays the run from its history (starting
    # "draft" and "approve" again, deterministically) and finishes it.
    handle, _ = await approved_after_a_worker_restart(traced(env.client), task_queue)
    spans = named(spans_of(handle.id))
    assert {"pipeline refund", "step draft", "step approve", "step pay"} <= set(spans)
    for step in ("draft", "approve", "pay"):
        assert parent_of(spans[f"step {step}"], spans) == "pipeline refund"
