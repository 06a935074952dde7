"""Pipeline memory: typed values that steps remember, read by later steps and later runs as
`$memory.shared.<key>` and `$memory.<step>.<key>`, persisted in the database (SQLite and
PostgreSQL), checked before anything runs and when written."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from taskagent import Registry
from taskagent.errors import ErrorType
from taskagent.results import PipelineResult, carried_result
from taskagent.store import ConversationStore, Database
from taskagent.validation import SpecError, validate_pipeline
from tests.support import running_worker, start

memory_functions = Registry()


class Visits(BaseModel):
    visits: int | None = None
    last: str | None = None


@memory_functions.function(local=True)
def increment(value: Visits) -> int:
    return (value.visits or 0) + 1


@memory_functions.function(local=True)
def greet(value: Visits) -> str:
    return f"visit {value.visits}, after {value.last or 'nobody'}"


MEMORY = {
    "shared": {"visits": {"type": "integer", "minimum": 1}},
    "steps": {"greet": {"last": {"type": "string"}}},
}


def counter(name: str = "counter") -> dict[str, Any]:
    return {
        "name": name,
        "memory": MEMORY,
        "steps": [
            {
                "kind": "code",
                "id": "count",
                "function": "increment",
                "input": {"visits": "$memory.shared.visits"},
                "remember": {"shared.visits": "$steps.count.output"},
            },
            {
                "kind": "code",
                "id": "greet",
                "function": "greet",
                "depends_on": ["count"],
                "input": {"visits": "$memory.shared.visits", "last": "$memory.greet.last"},
                "remember": {"last": "$steps.greet.output"},
            },
        ],
    }


async def test_steps_remember_and_later_steps_and_runs_read_it_back(
    env: WorkflowEnvironment, task_queue: str, database: Database
) -> None:
    async with running_worker(
        env.client, memory_functions, task_queue, store=ConversationStore(database)
    ):
        first = await (await start(env.client, task_queue, counter())).result()
    assert first.steps["greet"].output == "visit 1, after nobody"  # the same run sees it at once
    # A new worker on a new connection to the same database: memory survives the restart, and
    # another pipeline shares the `shared` keys (its step memory is its own).
    restarted = Database(database.url)
    try:
        async with running_worker(
            env.client, memory_functions, task_queue, store=ConversationStore(restarted)
        ):
            second = await (await start(env.client, task_queue, counter())).result()
            other = await (await start(env.client, task_queue, counter("other"))).result()
    finally:
        restarted.close()
    assert second.steps["greet"].output == "visit 2, after visit 1, after nobody"
    assert other.steps["greet"].output == "visit 3, after nobody"
    store = ConversationStore(database)
    assert store.recall("shared") == {"visits": 3}
    assert store.recall("counter.greet") == {"last": "visit 2, after visit 1, after nobody"}


async def test_a_value_of_the_wrong_type_fails_the_step_and_is_not_written(
    env: WorkflowEnvironment, task_queue: str, database: Database
) -> None:
    spec = counter()
    spec["steps"][0]["remember"] = {"shared.visits": 0}  # below the declared minimum
    async with running_worker(
        env.client, memory_functions, task_queue, store=ConversationStore(database)
    ):
        handle = await start(env.client, task_queue, spec)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    result = carried_result(failed.value.cause)
    assert isinstance(result, PipelineResult)
    error = result.steps["count"].error
    assert error is not None and error.type == ErrorType.INVALID_MEMORY_VALUE
    assert "shared.visits" in error.message and "minimum" in error.message
    assert ConversationStore(database).recall("shared") == {}


def problems(spec: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as invalid:
        validate_pipeline(spec, memory_functions)
    return [f"{p.location}: {p.message}" for p in invalid.value.problems]


def test_memory_is_declared_with_types_and_checked_before_anything_runs() -> None:
    validate_pipeline(counter(), memory_functions)
    spec = counter()
    spec["steps"][0]["remember"] = {"shared.vists": "$steps.count.output"}
    spec["steps"][1]["input"] = {"visits": "$memory.shared.nope", "last": "$memory.greet"}
    spec["memory"] = {**MEMORY, "steps": {"great": {"x": {"type": "nonsense"}}}}
    found = problems(spec)
    assert any("memory.steps.great" in p and "no top-level step 'great'" in p for p in found)
    assert any("memory.great.x" in p for p in found)  # the schema itself is checked
    assert any("'shared.vists' is not declared" in p for p in found)
    assert any("memory key shared.nope is not declared" in p for p in found)
    assert any("'$memory.greet': name a key" in p for p in found)
    nested = counter()
    nested["steps"][1] = {
        "kind": "parallel",
        "id": "greet",
        "depends_on": ["count"],
        "branches": [
            {"kind": "code", "id": "inner", "function": "greet", "remember": {"last": 1}},
        ],
    }
    assert any("only top-level steps remember values" in p for p in problems(nested))
