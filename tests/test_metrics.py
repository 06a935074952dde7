"""Metrics: counted once per real execution (never again when a new worker replays a run), and
served by worker.py in Prometheus format on TASKAGENT_METRICS_PORT with the SDK's own."""

from __future__ import annotations

import functools
import json
import signal
import urllib.error
import urllib.request
from typing import Any

from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client.parser import text_string_to_metric_families
from temporalio.contrib.opentelemetry import ReplaySafeMeterProvider

from taskagent import Pipeline
from taskagent.registry import Registry
from taskagent.telemetry.setup import TelemetryError, metric_readers
from tests.support import (
    eventually,
    failed_result,
    llm_harness,
    running_worker,
    start,
    worker_process,
)
from tests.test_crash_recovery import free_port
from tests.test_operator import approved_after_a_worker_restart
from tests.test_traces import tools, traced_pipeline


@functools.cache
def reader() -> InMemoryMetricReader:
    """The process's one meter provider (OpenTelemetry allows one), as worker.py installs it."""
    memory = InMemoryMetricReader()
    metrics.set_meter_provider(ReplaySafeMeterProvider(MeterProvider(metric_readers=[memory])))
    return memory


def points(name: str) -> list[tuple[dict[str, Any], Any]]:
    """(labels, value) of every point of metric `name` so far (sums are cumulative)."""
    data = reader().get_metrics_data()
    found = []
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        value = getattr(point, "value", None)
                        found.append((dict(point.attributes or {}), value))
    return found


def total(name: str, **labels: str) -> float:
    return sum(
        value
        for attributes, value in points(name)
        if all(attributes.get(k) == v for k, v in labels.items())
    )


def test_metric_readers_follow_the_environment():
    assert metric_readers({}) == ([], None)
    readers, port = metric_readers({"TASKAGENT_METRICS_PORT": "9464"})
    assert port == 9464 and [type(r).__name__ for r in readers] == ["PrometheusMetricReader"]
    readers, port = metric_readers({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert port is None and [type(r).__name__ for r in readers] == ["PeriodicExportingMetricReader"]
    for value in ("http", "0", "70000"):
        try:
            metric_readers({"TASKAGENT_METRICS_PORT": value})
        except TelemetryError as err:
            assert "is not a port number" in str(err)
        else:
            raise AssertionError(f"TASKAGENT_METRICS_PORT={value} was accepted")


def completed(pipeline: str, steps: tuple[str, ...]) -> dict[str, float]:
    executions = "taskagent_step_executions"
    return {s: total(executions, pipeline=pipeline, step=s, status="completed") for s in steps}


async def test_steps_are_counted_once_even_when_a_new_worker_replays_the_run(env, task_queue):
    reader()
    steps = ("draft", "approve", "pay")
    before = completed("refund", steps)  # other tests run this pipeline too
    await approved_after_a_worker_restart(env.client, task_queue)
    after = completed("refund", steps)
    assert {step: after[step] - before[step] for step in steps} == dict.fromkeys(steps, 1)


async def test_model_calls_tokens_cost_and_tool_calls_are_counted(env, task_queue):
    reader()
    before = total("taskagent_tool_calls", pipeline="outer", tool="add_numbers", status="ok")
    async with running_worker(env.client, tools, task_queue):
        await (await start(env.client, task_queue, traced_pipeline(), {"x": 1})).result()
    after = total("taskagent_tool_calls", pipeline="outer", tool="add_numbers", status="ok")
    assert after == before + 1
    labels = {"pipeline": "outer", "step": "think", "model": "offline:default"}
    assert total("taskagent_llm_tokens", direction="input", **labels) > 0
    assert total("taskagent_llm_tokens", direction="output", **labels) > 0
    assert points("taskagent_llm_cost_usd")
    assert any(a.get("step") == "think" for a, _ in points("taskagent_step_duration_seconds"))


async def test_a_model_calls_transient_retries_are_counted_by_step(env, task_queue):
    reader()
    pipeline = Pipeline("retrying", model="openai:gpt-test").agent(
        "ask", "Answer.", retry={"max_attempts": 3, "initial_interval": 0.05}
    )
    labels = {"pipeline": "retrying", "step": "ask", "retry": "transient"}
    before = total("taskagent_step_retries", **labels)
    async with llm_harness(env, task_queue, Registry()) as h:
        h.llm.openai.fail(503, "overloaded").fail(503, "overloaded")
        h.llm.openai.reply_text("Back.")
        await (await h.run(pipeline)).result()
    assert total("taskagent_step_retries", **labels) - before == 2


def fetch(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = fetch(port)
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples


async def test_worker_serves_prometheus_metrics_and_one_json_line_per_expected_failure(
    env, task_queue
):
    port = free_port()
    marker = "MARKER-7f3c"
    settings = {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TASKAGENT_TASK_QUEUE": task_queue,
        "TASKAGENT_METRICS_PORT": str(port),
        "TASKAGENT_LOG_FORMAT": "json",
    }
    good = Pipeline("metered").agent("think", "Say something about the input.")
    bad = Pipeline("failing", model="openai:gpt-test").agent("think", "Answer.")
    with worker_process(settings) as process:

        async def serving() -> bool:
            assert process.poll() is None, "worker.py exited"
            try:
                return "temporal_" in fetch(port)
            except OSError:  # not serving yet
                return False

        await eventually(serving, 30)
        await (await start(env.client, task_queue, good, {"topic": marker})).result()
        failing = await start(env.client, task_queue, bad, {"topic": marker})
        await failed_result(failing)

        async def counted() -> bool:
            return "taskagent_step_executions_total" in scrape(port)

        await eventually(counted, 15)
        samples = scrape(port)
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]

    def value(name: str, **labels: str) -> float:
        return sum(
            v
            for found, v in samples.get(name, [])
            if all(found.get(k) == w for k, w in labels.items())
        )

    assert value("taskagent_step_executions_total", pipeline="metered", status="completed") == 1
    assert value("taskagent_step_executions_total", pipeline="failing", status="failed") == 1
    assert value("taskagent_step_duration_seconds_count", pipeline="metered", step="think") == 1
    assert value("taskagent_llm_tokens_total", pipeline="metered", direction="input") > 0
    assert "taskagent_llm_cost_usd_total" in samples
    assert "taskagent_active_steps" in samples
    assert any(name.startswith("temporal_") for name in samples)  # the SDK's own

    # Logs: JSON lines only; no run input in them; the failure is one line with its step.
    lines = [line for line in output.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert marker not in output
    failed = [r for r in records if r.get("event") == "Completing activity as failed"]
    assert failed, output
    for record in failed:
        assert record["pipeline"] == "failing" and record["step"] == "think"
        assert record["path"] == "failing/think" and record["correlation_id"] == failing.id
        assert "missing_credentials" in record["error"]
        assert "exception" not in record
    step_failed = [r for r in records if r.get("event") == "step failed"]
    assert step_failed and step_failed[0]["workflow_id"] == failing.id
    assert step_failed[0]["path"] == "failing/think"  # logged by workflow code, in its sandbox
