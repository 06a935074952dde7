"""Pipeline memory (the TAgent seed's "persistent memory between steps"): typed values that steps
save and that later steps, and later runs, read as `$memory.shared.<key>` (every pipeline's) or
`$memory.<step>.<key>` (one step's own memory in this pipeline). Values live in the database
(taskagent.store, table `memory`), so they survive restarts. A pure contract module.

    memory:
      shared: {last_company: {type: string}}
      steps: {research: {visits: {type: integer}}}
    steps:
      - kind: code
        id: research
        remember:
          shared.last_company: $steps.research.output.name
          visits: $steps.research.output.visits
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from taskagent.kinds.base import SpecModel

SHARED = "shared"
SHARED_PREFIX = f"{SHARED}."


class MemorySpec(SpecModel):
    """The memory a pipeline uses, each key with the JSON Schema its values must satisfy."""

    shared: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Keys every pipeline shares: `$memory.shared.<key>`."
    )
    steps: dict[str, dict[str, dict[str, Any]]] = Field(
        default_factory=dict,
        description="Each step's own keys, in this pipeline: `$memory.<step>.<key>`.",
    )

    def key_schema(self, owner: str, key: str) -> dict[str, Any] | None:
        """The declared schema of `owner`'s key (`shared` or a step id); None if undeclared."""
        keys = self.shared if owner == SHARED else self.steps.get(owner, {})
        return keys.get(key)

    def owners(self) -> list[str]:
        return [SHARED, *self.steps]


def owner_and_key(step_id: str, name: str) -> tuple[str, str]:
    """Whose memory a remembered name is: `shared.<key>`, or the step's own `<key>`."""
    if name.startswith(SHARED_PREFIX):
        return SHARED, name[len(SHARED_PREFIX) :]
    return step_id, name


def database_scope(pipeline: str, owner: str) -> str:
    """Where an owner's keys are stored: `shared`, or `<pipeline>.<step>`."""
    return SHARED if owner == SHARED else f"{pipeline}.{owner}"


class _Contract(BaseModel):
    model_config = ConfigDict(extra="ignore")


class MemoryRead(_Contract):
    """Input of the memory-read activity: the database scope of each owner."""

    scopes: dict[str, str]


class MemoryValues(_Contract):
    values: dict[str, dict[str, Any]] = Field(default_factory=dict)


class MemoryWrite(_Contract):
    """Input of the memory-write activity: keys and values of one scope (the last write wins)."""

    scope: str
    values: dict[str, Any]
    by: str
    at: datetime
