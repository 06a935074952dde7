"""TaskAgent: durable LLM-agent pipelines on Temporal."""

from taskagent.builder import Pipeline, code, parallel, subpipeline, switch
from taskagent.errors import StepFailed
from taskagent.functions import StepContext
from taskagent.registry import Registry, RegistryError
from taskagent.results import (
    PipelineResult,
    PipelineRunRequest,
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
    CodeStep,
    FailurePolicy,
    ParallelStep,
    PipelineSpec,
    RetrySpec,
    SubPipelineStep,
    SwitchStep,
    Trigger,
)
from taskagent.validation import Problem, SpecError, check_input, validate_pipeline

__all__ = [
    "CodeStep",
    "FailurePolicy",
    "ParallelStep",
    "Pipeline",
    "PipelineResult",
    "PipelineRunRequest",
    "PipelineSpec",
    "Problem",
    "Registry",
    "RegistryError",
    "RetrySpec",
    "RunStatus",
    "SpecError",
    "StepContext",
    "StepError",
    "StepFailed",
    "StepResult",
    "StepStatus",
    "SubPipelineStep",
    "SwitchStep",
    "Trigger",
    "check_input",
    "code",
    "load_spec_file",
    "parallel",
    "pipeline_json_schema",
    "spec_to_json",
    "spec_to_yaml",
    "subpipeline",
    "switch",
    "validate_pipeline",
]
