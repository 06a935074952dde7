"""TaskAgent: durable LLM-agent pipelines on Temporal."""

from taskagent.builder import Pipeline, agent, code, parallel, router, subpipeline, switch
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
    AgentStep,
    Budget,
    CodeStep,
    FailurePolicy,
    ParallelStep,
    PipelineSpec,
    RetrySpec,
    RouterStep,
    ScriptedAnswer,
    ScriptedCall,
    SubPipelineStep,
    SwitchStep,
    Trigger,
)
from taskagent.validation import Problem, SpecError, check_input, validate_pipeline

__all__ = [
    "AgentStep",
    "Budget",
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
    "RouterStep",
    "RunStatus",
    "ScriptedAnswer",
    "ScriptedCall",
    "SpecError",
    "StepContext",
    "StepError",
    "StepFailed",
    "StepResult",
    "StepStatus",
    "SubPipelineStep",
    "SwitchStep",
    "Trigger",
    "agent",
    "check_input",
    "code",
    "load_spec_file",
    "parallel",
    "pipeline_json_schema",
    "router",
    "spec_to_json",
    "spec_to_yaml",
    "subpipeline",
    "switch",
    "validate_pipeline",
]
