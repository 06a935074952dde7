"""Where a piece of work sits in a run tree: what every log line and span of it carries.

Pure and passed through the workflow sandbox: the engine sets `SCOPE` around each step (a context
variable, so each step's asyncio task sees its own), the worker's interceptor reads it to label
the activities the step schedules and sets it there too, and every log line carries it.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, replace

HEADER = "taskagent-scope"
"""The activity header that carries a LogScope from the workflow to the activity."""


@dataclass(frozen=True)
class LogScope:
    """A run, or one step of it. `path` names the pipeline, its parent steps and child
    pipelines, as `main/router/billing`; `correlation_id` is shared by a whole run tree."""

    pipeline: str
    path: str
    correlation_id: str
    step: str | None = None

    def for_step(self, key: str) -> LogScope:
        return replace(self, step=key, path=f"{self.path}/{key}")

    def fields(self) -> dict[str, str]:
        fields = {
            "pipeline": self.pipeline,
            "path": self.path,
            "correlation_id": self.correlation_id,
        }
        if self.step is not None:
            fields["step"] = self.step
        return fields

    def header(self, workflow_id: str) -> dict[str, str]:
        """The fields for an activity header of `workflow_id`'s run, without those the activity
        can derive (every activity's header is stored in the history: keep it short)."""
        fields = self.fields()
        if self.correlation_id == workflow_id:
            del fields["correlation_id"]
        if self.path == self._default_path():
            del fields["path"]
        return fields

    @classmethod
    def from_header(cls, fields: dict[str, str], workflow_id: str) -> LogScope:
        scope = cls(
            pipeline=fields.get("pipeline", ""),
            path=fields.get("path", ""),
            correlation_id=fields.get("correlation_id", workflow_id),
            step=fields.get("step"),
        )
        return scope if scope.path else replace(scope, path=scope._default_path())

    def _default_path(self) -> str:
        """A top-level run's path."""
        return self.pipeline if self.step is None else f"{self.pipeline}/{self.step}"


SCOPE: ContextVar[LogScope | None] = ContextVar("taskagent_scope", default=None)
