"""Stable names of workflow types, activities and queries: never change them once released."""

PIPELINE_WORKFLOW = "PipelineWorkflow"
DEFAULT_TASK_QUEUE = "taskagent"

RESOLVE_PIPELINE_ACTIVITY = "taskagent.resolve_pipeline"
CODE_STEP_ACTIVITY = "taskagent.code_step"
LLM_CALL_ACTIVITY = "taskagent.llm_call"
CHECK_OUTPUT_ACTIVITY = "taskagent.check_output"
TOOL_CALL_ACTIVITY = "taskagent.tool_call"

PROGRESS_QUERY = "progress"
"""Light: statuses, timings, errors and cost (RunProgress)."""
FULL_PROGRESS_QUERY = "progress_full"
