"""Pipeline memory, workflow side (see taskagent.memory): a run reads its memory once when it
starts (a local activity, recorded), steps' `remember` values are checked against their declared
types and written (a local activity, an upsert), and later steps of the run see them at once."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from workflows.database import DATABASE_RETRY, DATABASE_TIMEOUT

with workflow.unsafe.imports_passed_through():
    from taskagent.errors import ErrorType
    from taskagent.expressions import resolve_mapping
    from taskagent.kinds.context import StepFailure
    from taskagent.memory import (
        MemoryRead,
        MemorySpec,
        MemoryValues,
        MemoryWrite,
        database_scope,
        owner_and_key,
    )
    from taskagent.names import READ_MEMORY_ACTIVITY, WRITE_MEMORY_ACTIVITY
    from taskagent.schemas import schema_errors
    from taskagent.spec import StepBase


class RunMemory:
    """The memory one run reads and writes; `values` is what `$memory` references read."""

    def __init__(self, pipeline: str, spec: MemorySpec | None, write: bool = True) -> None:
        self._pipeline = pipeline
        self._spec = spec
        self._write = write
        """False in a dry run: values are checked and seen by later steps, never stored."""
        self.values: dict[str, dict[str, Any]] = {}

    async def load(self) -> None:
        """Read every declared owner's keys (nothing to do without a `memory` section)."""
        if self._spec is None:
            return
        scopes = {owner: database_scope(self._pipeline, owner) for owner in self._spec.owners()}
        read: MemoryValues = await workflow.execute_local_activity(
            READ_MEMORY_ACTIVITY,
            MemoryRead(scopes=scopes),
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
            result_type=MemoryValues,
            summary="read memory",
        )
        self.values.update(read.values)

    async def remember(self, step: StepBase, scope: dict[str, Any], key: str) -> None:
        """Save what a completed step remembers; a value of the wrong type fails the step."""
        if not step.remember or self._spec is None:
            return
        saved: dict[str, dict[str, Any]] = {}
        for name, template in step.remember.items():
            owner, field = owner_and_key(step.id, name)
            value = resolve_mapping(template, scope)
            schema = self._spec.key_schema(owner, field)
            errors = [
                f"{path or name}: {m}"
                for path, m in schema_errors(schema or {}, value, checked=True)
            ]
            if errors:
                raise StepFailure(
                    ErrorType.INVALID_MEMORY_VALUE,
                    f"step {key!r} cannot remember {name!r}: " + "; ".join(errors),
                )
            saved.setdefault(owner, {})[field] = value
        info = workflow.info()
        for owner, values in saved.items():
            if self._write:
                await workflow.execute_local_activity(
                    WRITE_MEMORY_ACTIVITY,
                    MemoryWrite(
                        scope=database_scope(self._pipeline, owner),
                        values=values,
                        by=f"{info.workflow_id}/{key}",
                        at=workflow.now(),
                    ),
                    start_to_close_timeout=DATABASE_TIMEOUT,
                    retry_policy=DATABASE_RETRY,
                    summary=f"{key} · remember {', '.join(values)}",
                )
            self.values.setdefault(owner, {}).update(values)
