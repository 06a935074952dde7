"""The custom search attributes every run sets, so that runs can be found by what they did:

    temporal workflow list --query 'TaskAgentPipeline="research" AND TaskAgentCostUsd > 0.01'

Pure (passed through the workflow sandbox). The dev server that `make server` starts registers
them; other servers need `temporal operator search-attribute create` (see REGISTER_COMMAND). A
worker whose server lacks them runs pipelines without setting them.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from taskagent.results import PipelineResult

PIPELINE = SearchAttributeKey.for_keyword("TaskAgentPipeline")
STATUS = SearchAttributeKey.for_keyword("TaskAgentStatus")
COST_USD = SearchAttributeKey.for_float("TaskAgentCostUsd")
TOKENS = SearchAttributeKey.for_int("TaskAgentTokens")
FAILED_STEPS = SearchAttributeKey.for_int("TaskAgentFailedSteps")
KEYS: tuple[SearchAttributeKey[Any], ...] = (
    PIPELINE,
    STATUS,
    COST_USD,
    TOKENS,
    FAILED_STEPS,
)
CLI_TYPES = {"KEYWORD": "Keyword", "DOUBLE": "Double", "INT": "Int"}
"""The type names of the `temporal` CLI, by SearchAttributeIndexedValueType."""


def cli_type(key: SearchAttributeKey[Any]) -> str:
    return CLI_TYPES[key.indexed_value_type.name]


REGISTER_COMMAND = " && ".join(
    f"temporal operator search-attribute create --name {key.name} --type {cli_type(key)}"
    for key in KEYS
)


def dev_server_flags() -> str:
    """The `temporal server start-dev` flags that register the attributes."""
    return " ".join(f"--search-attribute {key.name}={cli_type(key)}" for key in KEYS)


def updates(result: PipelineResult) -> list[SearchAttributeUpdate[Any]]:
    """What a run's search attributes say, from its result record."""
    total = result.cost.total
    spent = not result.dry_run  # a dry run's ledger holds estimates: it spent nothing
    return [
        PIPELINE.value_set(result.pipeline),
        STATUS.value_set(result.status.value),
        COST_USD.value_set(total.cost_usd if spent else 0.0),
        TOKENS.value_set(total.tokens if spent else 0),
        FAILED_STEPS.value_set(len(result.failed_steps())),
    ]
