"""Traces and metrics of a worker, configured by the standard OpenTelemetry variables.

Traces: `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) exports OTLP, over HTTP unless
`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`; `OTEL_TRACES_EXPORTER` lists exporters (`otlp`, `console`,
`none`); `OTEL_SERVICE_NAME` names the service. Nothing is exported when nothing is configured.

Metrics, TaskAgent's and the Temporal SDK's alike, go through one OpenTelemetry meter provider:
in Prometheus format on `TASKAGENT_METRICS_PORT`, and over OTLP when an endpoint is set
(`OTEL_METRICS_EXPORTER=none` turns that off).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the exporters load only when the environment asks for them (start-up time)
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import SpanExporter
    from temporalio.contrib.opentelemetry import (
        MetricsExporter,
        OpenTelemetryPlugin,
        ReplaySafeTracerProvider,
    )
    from temporalio.runtime import Runtime

BUFFER_SIZE = 10_000


class TelemetryError(ValueError):
    """An OTEL_* or TASKAGENT_METRICS_* variable that cannot be used."""


def _env(name: str, environ: Mapping[str, str]) -> str:
    return environ.get(name, "").strip()


def _protocol(signal: str, environ: Mapping[str, str]) -> str:
    protocol = _env(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL", environ) or _env(
        "OTEL_EXPORTER_OTLP_PROTOCOL", environ
    )
    protocol = protocol or "http/protobuf"
    if protocol not in ("grpc", "http/protobuf"):
        raise TelemetryError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: use 'grpc' or 'http/protobuf'"
        )
    return protocol


def _otlp_endpoint(signal: str, environ: Mapping[str, str]) -> str:
    return _env(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT", environ) or _env(
        "OTEL_EXPORTER_OTLP_ENDPOINT", environ
    )


def _resource(service_name: str, environ: Mapping[str, str]) -> Resource:
    from opentelemetry.sdk.resources import Resource

    return Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME") or service_name})


def span_exporters(environ: Mapping[str, str] = os.environ) -> list[SpanExporter]:
    """The exporters the environment asks for; none when it asks for nothing."""
    named = _env("OTEL_TRACES_EXPORTER", environ)
    if named:
        names = [name.strip() for name in named.split(",") if name.strip()]
    else:
        names = ["otlp"] if _otlp_endpoint("TRACES", environ) else []
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "none":
            continue
        if name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        elif name == "otlp":
            if _protocol("TRACES", environ) == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

                exporters.append(OTLPSpanExporter())
            else:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter as HttpSpanExporter,
                )

                exporters.append(HttpSpanExporter())
        else:
            raise TelemetryError(
                f"OTEL_TRACES_EXPORTER={named!r}: TaskAgent knows 'otlp', 'console' and 'none'"
            )
    return exporters


def tracer_provider(
    service_name: str, exporters: Sequence[SpanExporter]
) -> ReplaySafeTracerProvider:
    """Temporal's replay-safe provider (deterministic ids in workflows, no span ended twice),
    set as the process's global provider, exporting to `exporters`."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )
    from temporalio.contrib.opentelemetry import create_tracer_provider

    provider = create_tracer_provider(resource=_resource(service_name, os.environ))
    for exporter in exporters:
        processor = (
            SimpleSpanProcessor(exporter)
            if isinstance(exporter, ConsoleSpanExporter)
            else BatchSpanProcessor(exporter)
        )
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    return provider


def configure_tracing(
    service_name: str, environ: Mapping[str, str] = os.environ
) -> list[OpenTelemetryPlugin]:
    """The client plugins that trace runs, when the environment configures an exporter."""
    exporters = span_exporters(environ)
    if not exporters:
        return []
    from temporalio.contrib.opentelemetry import OpenTelemetryPlugin

    tracer_provider(service_name, exporters)
    return [OpenTelemetryPlugin()]


@dataclass
class Metrics:
    """The worker's metrics: Temporal's runtime feeding its SDK metrics into the same
    OpenTelemetry pipeline as TaskAgent's own. Run `exporter` for as long as the worker runs."""

    runtime: Runtime
    exporter: MetricsExporter
    endpoint: str | None
    """Where Prometheus scrapes, if it does."""


def metric_readers(
    environ: Mapping[str, str] = os.environ,
) -> tuple[list[MetricReader], int | None]:
    """Prometheus on TASKAGENT_METRICS_PORT (served from TASKAGENT_METRICS_HOST, default
    127.0.0.1), OTLP when an endpoint is set; nothing otherwise."""
    readers: list[MetricReader] = []
    port_text = _env("TASKAGENT_METRICS_PORT", environ)
    port = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise TelemetryError(f"TASKAGENT_METRICS_PORT={port_text!r} is not a port number")
        port = int(port_text)
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        readers.append(PrometheusMetricReader())
    named = _env("OTEL_METRICS_EXPORTER", environ)
    if _otlp_endpoint("METRICS", environ) and named in ("", "otlp"):
        if _protocol("METRICS", environ) == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

            exporter: MetricExporter = OTLPMetricExporter()
        else:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter as HttpMetricExporter,
            )

            exporter = HttpMetricExporter()
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        readers.append(PeriodicExportingMetricReader(exporter))
    return readers, port


def configure_metrics(service_name: str, environ: Mapping[str, str] = os.environ) -> Metrics | None:
    """The worker's metrics pipeline, installed as the process's (replay-safe) meter provider;
    None when nothing asks for metrics. Starts the Prometheus endpoint."""
    readers, port = metric_readers(environ)
    if not readers:
        return None
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from prometheus_client import start_http_server
    from temporalio.contrib.opentelemetry import MetricsExporter, ReplaySafeMeterProvider
    from temporalio.runtime import (
        MetricBuffer,
        MetricBufferDurationFormat,
        Runtime,
        TelemetryConfig,
    )

    provider = MeterProvider(metric_readers=readers, resource=_resource(service_name, environ))
    endpoint = None
    if port is not None:
        host = _env("TASKAGENT_METRICS_HOST", environ) or "127.0.0.1"
        endpoint = f"http://{host}:{port}/metrics"
        try:
            start_http_server(port, addr=host)
        except OSError as err:
            raise TelemetryError(f"cannot serve metrics on {host}:{port}: {err}") from None
    metrics.set_meter_provider(ReplaySafeMeterProvider(provider))
    buffer = MetricBuffer(BUFFER_SIZE, MetricBufferDurationFormat.SECONDS)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    return Metrics(runtime, MetricsExporter(buffer, provider), endpoint)
