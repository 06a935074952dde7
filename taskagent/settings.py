"""One settings object, read from the environment at the entry points (worker.py, starter.py)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from taskagent.encryption import EncryptionCodec, codec_from
from taskagent.names import DEFAULT_TASK_QUEUE

DEFAULT_DATABASE_URL = "sqlite:///data/taskagent.db"


class Settings(BaseSettings):
    """TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and TASKAGENT_* variables."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    temporal_address: str = Field("localhost:7233", alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field("default", alias="TEMPORAL_NAMESPACE")
    task_queue: str = Field(DEFAULT_TASK_QUEUE, alias="TASKAGENT_TASK_QUEUE")
    modules: str = Field(
        "examples.pipelines,examples.research",
        alias="TASKAGENT_MODULES",
        description="Comma-separated modules whose `registry` the worker serves.",
    )
    pipeline_dir: Path | None = Field(
        Path("pipelines"),
        alias="TASKAGENT_PIPELINE_DIR",
        description="A folder of YAML and JSON pipeline specs the worker serves; empty: none.",
    )
    sqlite_path: Path | None = Field(
        None, alias="TASKAGENT_SQLITE_PATH", description="SQLite file of the sql_query tool."
    )
    http_allow_hosts: str = Field(
        "",
        alias="TASKAGENT_HTTP_ALLOW_HOSTS",
        description="`host` (ports 80 and 443) or `host:port` entries http_get may fetch "
        "(off if empty).",
    )
    prices: str | None = Field(None, alias="TASKAGENT_PRICES")
    payload_dir: Path | None = Field(
        Path("data/payloads"),
        alias="TASKAGENT_PAYLOAD_DIR",
        description="Where payloads over the threshold are stored; empty turns storage off.",
    )
    payload_threshold: int = Field(256 * 1024, alias="TASKAGENT_PAYLOAD_THRESHOLD", ge=1024)
    web_ui: str = Field("http://localhost:8233", alias="TASKAGENT_WEB_UI")
    log_format: str = Field("console", alias="TASKAGENT_LOG_FORMAT", pattern="^(console|json)$")
    log_level: str = Field("INFO", alias="TASKAGENT_LOG_LEVEL")
    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        alias="TASKAGENT_DATABASE_URL",
        description="Conversations and memory: SQLite (default, a file under data/) or "
        "`postgresql+psycopg://user:password@host/db`.",
    )
    archive_after_days: int = Field(
        30,
        alias="TASKAGENT_ARCHIVE_AFTER_DAYS",
        ge=0,
        description="Conversations idle this long are archived by a daily schedule (0: never).",
    )
    encryption_keys: SecretStr | None = Field(
        None,
        alias="TASKAGENT_ENCRYPTION_KEYS",
        description="Encrypt every payload: `id:base64key` entries, the first encrypting "
        "(see taskagent/encryption.py). Off if unset.",
    )
    encryption_key_file: Path | None = Field(
        None, alias="TASKAGENT_ENCRYPTION_KEY_FILE", description="The keys, from a file."
    )
    log_content: bool = Field(
        False,
        alias="TASKAGENT_LOG_CONTENT",
        description="Log prompts, answers and tool arguments and results (never by default).",
    )

    @field_validator(
        "payload_dir", "pipeline_dir", "encryption_keys", "encryption_key_file", mode="before"
    )
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return None if value == "" else value

    def codec(self) -> EncryptionCodec | None:
        """The payload codec the configuration asks for; EncryptionError says what is wrong."""
        keys = self.encryption_keys.get_secret_value() if self.encryption_keys else None
        return codec_from(keys, self.encryption_key_file)

    def allowed_hosts(self) -> list[str]:
        return [host.strip() for host in self.http_allow_hosts.split(",") if host.strip()]

    def module_names(self) -> list[str]:
        return [name.strip() for name in self.modules.split(",") if name.strip()]

    def run_url(self, workflow_id: str, run_id: str | None = None) -> str:
        """The Web UI address of a run: its User Metadata tab, where its summary, its pipeline
        and its live step list are."""
        base = f"{self.web_ui}/namespaces/{self.temporal_namespace}/workflows/{workflow_id}"
        return f"{base}/{run_id}/user-metadata" if run_id else base
