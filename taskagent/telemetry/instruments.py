"""TaskAgent's metric instruments, on the process's global OpenTelemetry meter provider.

Pure enough to pass through the workflow sandbox (one set of instruments for every run): the
worker installs Temporal's ReplaySafeMeterProvider, which drops what workflow code records while
replaying, so a step is counted once, at its live end. With no provider installed (tests,
`starter.py`), the instruments record nothing.
"""

from __future__ import annotations

from functools import cache

from opentelemetry import metrics
from opentelemetry.metrics import Counter, Histogram, UpDownCounter, _Gauge

from taskagent.telemetry.names import (
    ACTIVE_STEPS,
    BREAKER_STATE,
    DURATION_BUCKETS,
    LLM_COST,
    LLM_TOKENS,
    STEP_DURATION,
    STEP_EXECUTIONS,
    STEP_RETRIES,
    TOOL_CALLS,
)


def _meter() -> metrics.Meter:
    return metrics.get_meter("taskagent")


@cache
def step_executions() -> Counter:
    return _meter().create_counter(STEP_EXECUTIONS, description="Steps settled, by status")


@cache
def step_duration() -> Histogram:
    return _meter().create_histogram(
        STEP_DURATION,
        unit="s",
        description="How long steps take, from start to settled",
        explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
    )


@cache
def step_retries() -> Counter:
    return _meter().create_counter(
        STEP_RETRIES,
        description="Retries of steps: cognitive (an answer failed validation) or transient",
    )


@cache
def llm_tokens() -> Counter:
    return _meter().create_counter(LLM_TOKENS, description="Tokens of model calls, by direction")


@cache
def llm_cost() -> Counter:
    return _meter().create_counter(LLM_COST, description="Cost of model calls in USD")


@cache
def tool_calls() -> Counter:
    return _meter().create_counter(TOOL_CALLS, description="Tool calls, by outcome")


@cache
def active_steps() -> UpDownCounter:
    return _meter().create_up_down_counter(
        ACTIVE_STEPS, description="Steps with an activity running on this worker"
    )


@cache
def breaker_state() -> _Gauge:
    return _meter().create_gauge(
        BREAKER_STATE, description="Circuit breaker of each provider: 0 closed, 1 half-open, 2 open"
    )
