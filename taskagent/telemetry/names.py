"""Names of TaskAgent's metrics and span attributes: stable, documented in the README.

Metric names are given without the `_total` suffix of counters, which the Prometheus exporter
adds (`taskagent_step_executions` is scraped as `taskagent_step_executions_total`).
"""

from __future__ import annotations

from enum import StrEnum

STEP_EXECUTIONS = "taskagent_step_executions"
STEP_DURATION = "taskagent_step_duration_seconds"
STEP_RETRIES = "taskagent_step_retries"
LLM_TOKENS = "taskagent_llm_tokens"
LLM_COST = "taskagent_llm_cost_usd"
TOOL_CALLS = "taskagent_tool_calls"
ACTIVE_STEPS = "taskagent_active_steps"
BREAKER_STATE = "taskagent_circuit_breaker_state"

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class Attr(StrEnum):
    """Span attributes: the OpenTelemetry GenAI conventions where they apply, ours otherwise."""

    PIPELINE = "taskagent.pipeline"
    STEP = "taskagent.step"
    KIND = "taskagent.step.kind"
    PATH = "taskagent.path"
    CORRELATION_ID = "taskagent.correlation_id"
    STATUS = "taskagent.status"
    ATTEMPTS = "taskagent.attempts"
    COGNITIVE_RETRIES = "taskagent.cognitive_retries"
    TRANSIENT_RETRIES = "taskagent.transient_retries"
    COST_USD = "taskagent.cost_usd"
    DRY_RUN = "taskagent.dry_run"
    """A dry run's model call: its cost is an estimate, nothing was spent."""
    FAILED_STEPS = "taskagent.failed_steps"
    WORKFLOW_ID = "temporal.workflow_id"
    RUN_ID = "temporal.run_id"
    TOOL = "gen_ai.tool.name"
    VALIDATOR = "taskagent.validator"
    VALIDATION_ERRORS = "taskagent.validation.errors"
    OPERATION = "gen_ai.operation.name"
    PROVIDER = "gen_ai.provider.name"
    REQUEST_MODEL = "gen_ai.request.model"
    RESPONSE_MODEL = "gen_ai.response.model"
    FINISH_REASONS = "gen_ai.response.finish_reasons"
    INPUT_TOKENS = "gen_ai.usage.input_tokens"
    OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
