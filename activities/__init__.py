"""Every side effect of TaskAgent lives here, in classes built with their dependencies."""

from activities.code import CodeActivities
from activities.llm import LlmActivities
from activities.pipelines import PipelineActivities
from activities.tools import ToolActivities

__all__ = ["CodeActivities", "LlmActivities", "PipelineActivities", "ToolActivities"]
