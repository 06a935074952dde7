"""Resolving what a run executes: a registered name or an inline spec, validated whole."""

from __future__ import annotations

from temporalio import activity

from taskagent.errors import invalid_pipeline
from taskagent.names import RESOLVE_PIPELINE_ACTIVITY
from taskagent.registry import Registry
from taskagent.results import ResolvedPipeline, ResolvedTool, ResolveRequest
from taskagent.spec import AgentStep, CodeStep, ParallelStep, PipelineSpec, StepBase
from taskagent.validation import SpecError, check_input, step_output_schema, validate_pipeline


class PipelineActivities:
    """Activities that read the worker's registry of pipelines, functions, models and tools."""

    def __init__(self, registry: Registry, default_model: str) -> None:
        self._registry = registry
        self._default_model = default_model

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
        return self._resolved(spec)

    def _resolved(self, spec: PipelineSpec) -> ResolvedPipeline:
        """The spec with its default model fixed, plus the tools and schemas its agents use."""
        spec = spec.model_copy(update={"model": spec.model or self._default_model})
        resolved = ResolvedPipeline(spec=spec)
        for key, step in _keyed_steps(spec):
            schema = step_output_schema(step, self._registry)
            if schema is not None:
                resolved.output_schemas[key] = schema
        for step in spec.all_steps():
            if isinstance(step, CodeStep):
                function = self._registry.get_function(step.function)
                if function is not None and function.local:
                    resolved.local_functions.append(step.function)
            if not isinstance(step, AgentStep):
                continue
            for name in step.tools:
                tool = self._registry.tools.get(name)
                if tool is not None:
                    resolved.tools[name] = ResolvedTool(
                        spec=tool.spec(), timeout=tool.timeout, retry=tool.retry
                    )
            if isinstance(step.output_schema, str):
                schema = self._registry.model_schema(step.output_schema)
                if schema is not None:
                    resolved.schemas[step.output_schema] = schema
        return resolved


def _keyed_steps(spec: PipelineSpec) -> list[tuple[str, StepBase]]:
    """Steps by the key their records have: `id`, or `parallel/branch` for branches."""
    keyed: list[tuple[str, StepBase]] = []
    for step in spec.steps:
        keyed.append((step.id, step))
        if isinstance(step, ParallelStep):
            keyed += [(f"{step.id}/{branch.id}", branch) for branch in step.branches]
    return keyed
