"""Resolving what a run executes: a registered name or an inline spec, validated whole."""

from __future__ import annotations

from temporalio import activity

from taskagent.errors import invalid_pipeline
from taskagent.names import RESOLVE_PIPELINE_ACTIVITY
from taskagent.registry import Registry
from taskagent.results import ResolvedPipeline, ResolveRequest
from taskagent.validation import SpecError, check_input, validate_pipeline


class PipelineActivities:
    """Activities that read the worker's registry of pipelines and functions."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    @activity.defn(name=RESOLVE_PIPELINE_ACTIVITY)
    async def resolve(self, request: ResolveRequest) -> ResolvedPipeline:
        """The validated spec of the run, or a non-retryable error naming every problem."""
        try:
            if isinstance(request.pipeline, str):
                spec = self._registry.get_pipeline(request.pipeline)
            else:
                spec = validate_pipeline(request.pipeline, self._registry)
        except SpecError as err:
            raise invalid_pipeline(str(err), [str(p) for p in err.problems]) from None
        problems = check_input(spec, request.input)
        if problems:
            lines = "\n".join(f"  - {p}" for p in problems)
            message = f"input of pipeline {spec.name!r} is invalid ({len(problems)} problems):\n"
            raise invalid_pipeline(message + lines, [str(p) for p in problems])
        return ResolvedPipeline(spec=spec)
