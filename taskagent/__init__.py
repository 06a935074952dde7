"""TaskAgent: durable LLM-agent pipelines on Temporal.

Names load on first use (PEP 562), so that importing a contract module such as `taskagent.spec`
from workflow code pulls in nothing else: no registry, builder, tools or provider clients. Every
step kind's spec model and builder function is exported from the kinds registry.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from taskagent.kinds import KINDS

if TYPE_CHECKING:
    from taskagent.api import connect, result_of, run_pipeline, run_pipeline_sync
    from taskagent.builder import Pipeline
    from taskagent.errors import ErrorType, StepFailed
    from taskagent.functions import StepContext
    from taskagent.registry import Registry, RegistryError
    from taskagent.results import (
        PipelineResult,
        PipelineRunRequest,
        RunProgress,
        RunStatus,
        StepError,
        StepResult,
        StepStatus,
    )
    from taskagent.serialization import (
        load_spec_file,
        pipeline_json_schema,
        spec_to_json,
        spec_to_yaml,
    )
    from taskagent.spec import (
        Budget,
        FailurePolicy,
        OnError,
        PipelineSpec,
        RetrySpec,
        Trigger,
    )
    from taskagent.typed import RunResult
    from taskagent.validation import Problem, SpecError, check_input, validate_pipeline

_MODULES = {
    "connect": "api",
    "result_of": "api",
    "run_pipeline": "api",
    "run_pipeline_sync": "api",
    "RunResult": "typed",
    "Pipeline": "builder",
    "ErrorType": "errors",
    "StepFailed": "errors",
    "StepContext": "functions",
    "Registry": "registry",
    "RegistryError": "registry",
    "PipelineResult": "results",
    "PipelineRunRequest": "results",
    "RunProgress": "results",
    "RunStatus": "results",
    "StepError": "results",
    "StepResult": "results",
    "StepStatus": "results",
    "load_spec_file": "serialization",
    "pipeline_json_schema": "serialization",
    "spec_to_json": "serialization",
    "spec_to_yaml": "serialization",
    "Budget": "spec",
    "FailurePolicy": "spec",
    "OnError": "spec",
    "PipelineSpec": "spec",
    "RetrySpec": "spec",
    "Trigger": "spec",
    "Problem": "validation",
    "SpecError": "validation",
    "check_input": "validation",
    "validate_pipeline": "validation",
}
_KIND_EXPORTS: dict[str, Any] = {}
for _kind in KINDS:
    _KIND_EXPORTS[_kind.spec.__name__] = _kind.spec
    _KIND_EXPORTS[_kind.builder.__name__] = _kind.builder


def __getattr__(name: str) -> Any:
    if name in _KIND_EXPORTS:
        return _KIND_EXPORTS[name]
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "Budget",
    "ErrorType",
    "FailurePolicy",
    "OnError",
    "Pipeline",
    "PipelineResult",
    "PipelineRunRequest",
    "PipelineSpec",
    "Problem",
    "Registry",
    "RegistryError",
    "RetrySpec",
    "RunProgress",
    "RunResult",
    "RunStatus",
    "SpecError",
    "StepContext",
    "StepError",
    "StepFailed",
    "StepResult",
    "StepStatus",
    "Trigger",
    "check_input",
    "connect",
    "load_spec_file",
    "pipeline_json_schema",
    "result_of",
    "run_pipeline",
    "run_pipeline_sync",
    "spec_to_json",
    "spec_to_yaml",
    "validate_pipeline",
]
__all__ += sorted(_KIND_EXPORTS)  # every step kind: its spec model and builder
