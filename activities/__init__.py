"""Every side effect of TaskAgent lives here, in classes built with their dependencies."""

from activities.code import CodeActivities
from activities.pipelines import PipelineActivities

__all__ = ["CodeActivities", "PipelineActivities"]
