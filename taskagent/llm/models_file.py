"""The model configuration file (`TASKAGENT_MODELS`): providers' endpoints and key variables,
each model's structured-output capabilities and price. Keys stay in the environment: the file
names the variable that holds each key, never the key.

    providers:
      openai:                       # models `openai:<name>`: any OpenAI-compatible server
        base_url: http://127.0.0.1:8080/v1
        api_key_env: LOCAL_LLM_KEY  # default: OPENAI_API_KEY
    models:
      openai:qwen2.5-7b-instruct:
        base_url: http://127.0.0.1:8000/v1   # this model's own server (default: its provider's)
        structured_output: json_object   # json_schema | json_object | json | prompt
        tools_with_structured_output: false
        price: [0, 0]                    # USD per million input and output tokens
        rate_limit: {requests: 60, tokens: 100000}   # per minute, across every worker

The worker validates the file when it starts and refuses to start, naming every problem, if it
is invalid. Without the file, every model starts in the strongest mode and learns (see
taskagent.llm.capabilities).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from taskagent.llm.capabilities import Capabilities, OutputMode
from taskagent.llm.pricing import Price
from taskagent.llm.refs import parse_model
from taskagent.ratelimit import RateLimits

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class ModelsFileError(ValueError):
    """The model configuration file cannot be read or is invalid; the message lists why."""


class ProviderEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(None, description="The API's base URL (OpenAI: ends in /v1).")
    api_key_env: str | None = Field(
        None, pattern=ENV_NAME, description="The environment variable that holds the key."
    )


class RateLimitEntry(RateLimits):
    """A model's limits as the file states them (window_seconds: 60 unless set)."""

    model_config = ConfigDict(extra="forbid")


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(
        None, description="This model's own server (its provider's when unset)."
    )
    api_key_env: str | None = Field(
        None, pattern=ENV_NAME, description="The variable that holds this model's server's key."
    )
    structured_output: OutputMode | None = Field(
        None, description="The mode to start in; default: the strongest, learned downwards."
    )
    tools_with_structured_output: bool | None = Field(
        None, description="Whether it takes tools and a response format in one call."
    )
    price: tuple[float, float] | None = Field(
        None, description="USD per million input and output tokens."
    )
    rate_limit: RateLimitEntry | None = Field(
        None, description="Requests and tokens per window, enforced across every worker."
    )

    @field_validator("price")
    @classmethod
    def _not_negative(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and min(value) < 0:
            raise ValueError("prices cannot be negative")
        return value


class ModelsFile(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid")

    providers: dict[str, ProviderEntry] = Field(default_factory=dict)
    models: dict[str, ModelEntry] = Field(default_factory=dict)

    @field_validator("providers")
    @classmethod
    def _known_providers(cls, value: dict[str, ProviderEntry]) -> dict[str, ProviderEntry]:
        for name in value:
            parse_model(f"{name}:model")  # raises ValueError naming the known providers
        return value

    @field_validator("models")
    @classmethod
    def _model_refs(cls, value: dict[str, ModelEntry]) -> dict[str, ModelEntry]:
        for ref in value:
            parse_model(ref)
        return value

    @classmethod
    def load(cls, path: str | Path) -> ModelsFile:
        """Read and validate the file; ModelsFileError lists every problem."""
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ModelsFileError(f"cannot read the model configuration {path}: {err}") from err
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            problems = [
                f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}"
                for e in err.errors(include_url=False)
            ]
            raise ModelsFileError(
                f"invalid model configuration {path}:\n  " + "\n  ".join(problems)
            ) from None

    def capabilities(self, provider: str, tools_default: bool = True) -> Capabilities:
        """The configured capabilities of `provider`'s models."""
        caps = Capabilities(provider, tools_default=tools_default)
        for ref, entry in self.models.items():
            name, model = parse_model(ref)
            if name != provider:
                continue
            if entry.structured_output is not None:
                caps.configured[model] = entry.structured_output
            if entry.tools_with_structured_output is not None:
                caps.tools_configured[model] = entry.tools_with_structured_output
        return caps

    def prices(self) -> dict[str, Price]:
        return {ref: Price(*m.price) for ref, m in self.models.items() if m.price is not None}

    def rate_limits(self) -> dict[str, RateLimits]:
        return {
            ref: RateLimits(**m.rate_limit.model_dump())
            for ref, m in self.models.items()
            if m.rate_limit is not None
        }

    def provider(self, name: str) -> ProviderEntry:
        return self.providers.get(name) or ProviderEntry()

    def endpoint(self, provider: str, model: str | None) -> ProviderEntry | None:
        """The model's own server, when it names one (base URL or key variable, the rest from
        its provider); None when it uses its provider's."""
        own = self.models.get(f"{provider}:{model}") if model else None
        if own is None or (own.base_url is None and own.api_key_env is None):
            return None
        shared = self.provider(provider)
        return ProviderEntry(
            base_url=own.base_url or shared.base_url,
            api_key_env=own.api_key_env or shared.api_key_env,
        )
