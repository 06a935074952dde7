"""Resolving what a run executes: a registered name or an inline spec, validated whole.

Validation is CPU work on data anyone may send, so it runs in a thread, never on the worker's
event loop, and its own work is bounded (see taskagent.validation): no request can stop the
worker. Strictness lives here, in an activity whose result is recorded; the workflow only decodes
that result, leniently, so a stricter or looser deploy never changes a replay.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

from temporalio import activity

from activities.search_attributes import SearchAttributeCheck
from taskagent.errors import invalid_pipeline, invalid_request
from taskagent.kinds import keyed_steps, kind_of, output_schema
from taskagent.kinds.agent import LlmStepBase
from taskagent.llm.factory import NO_DEFAULT_MODEL
from taskagent.names import RESOLVE_PIPELINE_ACTIVITY
from taskagent.registry import Registry
from taskagent.results import REQUEST_SHAPE, ResolvedPipeline, ResolvedTool, ResolveRequest
from taskagent.spec import PipelineSpec
from taskagent.validation import SpecError, check_input, validate_pipeline


class PipelineActivities:
    """Activities that read the worker's registry of pipelines, functions, models and tools."""

    def __init__(
        self,
        registry: Registry,
        default_model: str | None,
        search: SearchAttributeCheck | None = None,
    ) -> None:
        self._registry = registry
        self._default_model = default_model
        self._resolved: dict[str, ResolvedPipeline] = {}
        self._search = search

    @activity.defn(name=RESOLVE_PIPELINE_ACTIVITY)
    async def resolve(self, request: ResolveRequest) -> ResolvedPipeline:
        """The validated spec of the run, or a non-retryable error naming every problem; with
        whether the run may set its search attributes."""
        resolved = await asyncio.to_thread(self._resolve, request)
        if self._search is not None and await self._search.registered():
            resolved = resolved.model_copy(update={"search_attributes": True})
        return resolved

    def _resolve(self, request: ResolveRequest) -> ResolvedPipeline:
        if request.unknown_fields:
            fields = ", ".join(repr(f) for f in request.unknown_fields)
            raise invalid_request(
                f"the request has unknown fields ({fields}); it takes {REQUEST_SHAPE}"
            )
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
        if not isinstance(request.pipeline, str):
            return self._resolution(spec)
        resolved = self._resolved.get(request.pipeline)
        if resolved is None or resolved.spec is not spec:
            resolved = self._resolved[request.pipeline] = self._resolution(spec)
        return resolved

    def _resolution(self, spec: PipelineSpec) -> ResolvedPipeline:
        """The spec with its default model fixed, plus what its steps need from the registry."""
        spec = spec.model_copy(update={"model": spec.model or self._default_model})
        if spec.model is None:
            _refuse_steps_without_a_model(spec)
        resolution = _Resolution(self._registry, ResolvedPipeline(spec=spec))
        schemas: dict[str, dict[str, Any]] = {}
        for key, step in keyed_steps(spec.steps):
            kind_of(step).resolve(step, resolution)
            schema = output_schema(step, self._registry)
            if schema:  # an empty schema ({}) allows anything: the same as none
                schemas[key] = schema
        _record_output_schemas(resolution.resolved, schemas)
        return resolution.resolved


def _refuse_steps_without_a_model(spec: PipelineSpec) -> None:
    """No model anywhere for a step that calls one: the run fails before anything runs."""
    needing = [
        key
        for key, step in keyed_steps(spec.steps)
        if isinstance(step, LlmStepBase) and step.model is None
    ]
    if needing:
        steps = ", ".join(repr(key) for key in needing)
        raise invalid_pipeline(
            f"pipeline {spec.name!r}: steps {steps} call a model and name none, and "
            f"{NO_DEFAULT_MODEL}",
            [f"steps.{key}.model: no model and no default" for key in needing],
        )


def _record_output_schemas(resolved: ResolvedPipeline, schemas: dict[str, dict[str, Any]]) -> None:
    """Each step's output schema, every distinct schema recorded once.

    A schema that is a named model's, or that several steps share (steps calling one function),
    goes once into `resolved.schemas` and the steps refer to it by name; the others stay with
    their step.
    """
    texts = {key: json.dumps(schema, sort_keys=True) for key, schema in schemas.items()}
    uses = Counter(texts.values())
    names = {json.dumps(schema, sort_keys=True): name for name, schema in resolved.schemas.items()}
    for key, schema in schemas.items():
        text = texts[key]
        name = names.get(text)
        if name is None and uses[text] > 1:
            name = names[text] = f"output of {key}"
            resolved.schemas[name] = schema
        if name is None:
            resolved.output_schemas[key] = schema
        else:
            resolved.output_schema_refs[key] = name


class _Resolution:
    """The ResolveContext the kinds fill in."""

    def __init__(self, registry: Registry, resolved: ResolvedPipeline) -> None:
        self.catalog = registry
        self.resolved = resolved

    def tool(self, name: str) -> None:
        tool = self.catalog.tools.get(name)
        if tool is not None:
            self.resolved.tools[name] = ResolvedTool(
                spec=tool.spec(), timeout=tool.timeout, retry=tool.retry, roles=list(tool.roles)
            )

    def output_model(self, name: str) -> None:
        schema = self.catalog.model_schema(name)
        if schema is not None:
            self.resolved.schemas[name] = schema

    def local_function(self, name: str) -> None:
        if name not in self.resolved.local_functions:
            self.resolved.local_functions.append(name)

    def side_effect_function(self, name: str) -> None:
        if name not in self.resolved.side_effect_functions:
            self.resolved.side_effect_functions.append(name)
