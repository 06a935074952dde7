"""Stable names of workflow types, activities and queries: never change them once released."""

PIPELINE_WORKFLOW = "PipelineWorkflow"
DEFAULT_TASK_QUEUE = "taskagent"

RESOLVE_PIPELINE_ACTIVITY = "taskagent.resolve_pipeline"
CODE_STEP_ACTIVITY = "taskagent.code_step"
LLM_CALL_ACTIVITY = "taskagent.llm_call"
CHECK_OUTPUT_ACTIVITY = "taskagent.check_output"
TOOL_CALL_ACTIVITY = "taskagent.tool_call"

STEP_NOTICE_SIGNAL = "step_notice"
"""From an activity to its run: what a step waits for (shown in the progress query)."""

PROGRESS_QUERY = "progress"
"""Light: statuses, timings, errors and cost (RunProgress)."""
FULL_PROGRESS_QUERY = "progress_full"

RATE_LIMIT_WORKFLOW = "RateLimitWorkflow"
"""One per limited model and task queue: hands out request slots to every worker."""
RESERVE_UPDATE = "reserve"
SETTLE_SIGNAL = "settle"
RELEASE_SIGNAL = "release"
