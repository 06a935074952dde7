"""One settings object, read from the environment at the entry points (worker.py, starter.py)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from taskagent.names import DEFAULT_TASK_QUEUE


class Settings(BaseSettings):
    """TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and TASKAGENT_* variables."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    temporal_address: str = Field("localhost:7233", alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field("default", alias="TEMPORAL_NAMESPACE")
    task_queue: str = Field(DEFAULT_TASK_QUEUE, alias="TASKAGENT_TASK_QUEUE")
    modules: str = Field(
        "examples.pipelines",
        alias="TASKAGENT_MODULES",
        description="Comma-separated modules whose `registry` the worker serves.",
    )
    pipeline_dir: Path = Field(Path("pipelines"), alias="TASKAGENT_PIPELINE_DIR")
    web_ui: str = Field("http://localhost:8233", alias="TASKAGENT_WEB_UI")
    log_format: str = Field("console", alias="TASKAGENT_LOG_FORMAT", pattern="^(console|json)$")
    log_level: str = Field("INFO", alias="TASKAGENT_LOG_LEVEL")

    def module_names(self) -> list[str]:
        return [name.strip() for name in self.modules.split(",") if name.strip()]

    def run_url(self, workflow_id: str, run_id: str | None = None) -> str:
        """The Web UI address of a run."""
        base = f"{self.web_ui}/namespaces/{self.temporal_namespace}/workflows/{workflow_id}"
        return f"{base}/{run_id}/history" if run_id else base
