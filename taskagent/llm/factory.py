"""Provider construction: model references, credentials from the environment, cached clients."""

from __future__ import annotations

import os
from collections.abc import Sequence

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from taskagent.llm.breaker import BreakerSettings, CircuitBreaker
from taskagent.llm.errors import MISSING_CREDENTIALS
from taskagent.llm.models_file import ModelsFile, ProviderEntry
from taskagent.llm.refs import PROVIDERS, SCRIPTED, parse_model
from taskagent.llm.types import (
    DeltaSink,
    ModelRequest,
    ModelResponse,
    Provider,
    ProviderError,
)

__all__ = ["PROVIDERS", "ProviderFactory", "ProviderSettings", "parse_model"]  # refs re-exported


NO_DEFAULT_MODEL = (
    "the worker has no default model: set `model` on the pipeline or the step (e.g. "
    "openai:gpt-4o-mini), or TASKAGENT_DEFAULT_MODEL in the worker's environment; the offline "
    "demo model is opt-in: TASKAGENT_DEFAULT_MODEL=offline:default (what `make demo` sets)"
)


class ProviderSettings(BaseSettings):
    """Provider keys, base URLs and defaults, from the worker's environment only."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    gemini_api_key: SecretStr | None = Field(None, alias="GEMINI_API_KEY")
    google_api_key: SecretStr | None = Field(None, alias="GOOGLE_API_KEY")
    gemini_base_url: str | None = Field(None, alias="GEMINI_BASE_URL")
    default_model: str | None = Field(None, alias="TASKAGENT_DEFAULT_MODEL")
    llm_timeout: float = Field(120.0, alias="TASKAGENT_LLM_TIMEOUT", gt=0)
    models_file: str | None = Field(None, alias="TASKAGENT_MODELS")
    breaker_failures: int = Field(5, alias="TASKAGENT_BREAKER_FAILURES", ge=1)
    breaker_open_seconds: float = Field(30.0, alias="TASKAGENT_BREAKER_OPEN_SECONDS", gt=0)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object, info: ValidationInfo) -> object:
        """`VAR=` (as docker compose passes `${VAR:-}`) counts as not set."""
        if value == "":
            return cls.model_fields[info.field_name or ""].default
        return value


class ProviderFactory:
    """Builds each provider once, on first use, and closes them all in `aclose`."""

    def __init__(
        self, settings: ProviderSettings | None = None, *, extra: Sequence[Provider] = ()
    ) -> None:
        """`extra`: providers built by the caller, such as a test's `ScriptedProvider`.

        Raises ModelsFileError when the model configuration file is invalid."""
        self.settings = settings if settings is not None else ProviderSettings()
        path = self.settings.models_file
        self.models = ModelsFile.load(path) if path else ModelsFile()
        self._extra = {provider.name: provider for provider in extra}
        self._providers: dict[str, Provider] = dict(self._extra)
        self._breakers: dict[str, CircuitBreaker] = {}

    def __repr__(self) -> str:
        return f"ProviderFactory(built={sorted(self._providers)})"

    def secrets(self) -> list[str]:
        """Every key this factory may send: what error messages and logs must never show."""
        s = self.settings
        keys = [s.openai_api_key, s.gemini_api_key, s.google_api_key]
        values = [key.get_secret_value() for key in keys if key is not None]
        names = {entry.api_key_env for entry in self.models.providers.values()}
        names |= {entry.api_key_env for entry in self.models.models.values()}
        names.discard(None)
        return values + [os.environ.get(name or "", "") for name in sorted(names, key=str)]

    def get(self, provider_name: str, model: str | None = None) -> Provider:
        """The provider named `openai`, `gemini` or `offline` for `model`: the client of the
        model's own server when the model configuration gives it one, else the provider's.

        Raises ProviderError(kind="missing_credentials") when its key is not set, and
        ValueError for an unknown name.
        """
        name, own = self._server(provider_name, model)
        if name not in self._providers:
            self._providers[name] = self._build(provider_name, model, own)
        return self._providers[name]

    def breaker(self, provider_name: str, model: str | None = None) -> CircuitBreaker:
        """The circuit breaker of the server that serves `model`, shared by every call this
        worker makes to that server."""
        name, _ = self._server(provider_name, model)
        breaker = self._breakers.get(name)
        if breaker is None:
            s = self.settings
            settings = BreakerSettings(s.breaker_failures, s.breaker_open_seconds)
            breaker = self._breakers[name] = CircuitBreaker(name, settings)
        return breaker

    def _server(self, provider_name: str, model: str | None) -> tuple[str, ProviderEntry | None]:
        """The name of the server that serves `model` (`openai`, or `openai@<base URL>#<key
        variable>` for a model with its own server), and that own server if it has one."""
        own = self.models.endpoint(provider_name, model)
        if own is None:
            return provider_name, None
        return f"{provider_name}@{own.base_url or ''}#{own.api_key_env or ''}", own

    def resolve(self, ref: str | None = None) -> tuple[Provider, str]:
        """The provider and bare model name of `provider:model` (default: the default model)."""
        ref = ref or self.settings.default_model
        if ref is None:
            raise ValueError(f"no model named, and {NO_DEFAULT_MODEL}")
        provider_name, model = parse_model(ref)
        return self.get(provider_name, model), model

    async def complete(
        self, request: ModelRequest, on_delta: DeltaSink | None = None
    ) -> ModelResponse:
        """Route a request to the provider its `model` names."""
        provider, model = self.resolve(request.model)
        return await provider.complete(request, model, on_delta)

    async def aclose(self) -> None:
        """Close every provider built so far; the factory can build them again afterwards."""
        providers, self._providers = self._providers, dict(self._extra)
        for name, provider in providers.items():
            if name in self._extra:
                continue  # its caller's to close
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()

    def _build(self, provider_name: str, model: str | None, own: ProviderEntry | None) -> Provider:
        # SDKs are imported on first use: each costs most of a second to import.
        s = self.settings
        use = f"{provider_name}:{model}" if model else f"{provider_name} models"
        if provider_name == "offline":
            from taskagent.llm.offline import OfflineProvider

            return OfflineProvider()
        if provider_name == SCRIPTED:
            raise ValueError(
                f"{use}: the scripted model is a test double that a test registers on the "
                "worker (ProviderFactory(extra=[ScriptedProvider()])); this worker has none"
            )
        # A model's own server wins over OPENAI_BASE_URL, which wins over its provider's.
        entry = own or self.models.provider(provider_name)
        if provider_name == "openai":
            from taskagent.llm.openai_provider import OpenAIProvider

            key = _key(entry.api_key_env, use, "OPENAI_API_KEY", s.openai_api_key)
            return OpenAIProvider(
                key,
                base_url=entry.base_url if own else s.openai_base_url or entry.base_url,
                timeout=s.llm_timeout,
                capabilities=self.models.capabilities("openai"),
            )
        if provider_name == "gemini":
            from taskagent.llm.gemini_provider import GeminiProvider

            key = _key(
                entry.api_key_env,
                use,
                "GEMINI_API_KEY (or GOOGLE_API_KEY)",
                s.gemini_api_key,
                s.google_api_key,
            )
            return GeminiProvider(
                key,
                base_url=entry.base_url if own else s.gemini_base_url or entry.base_url,
                timeout=s.llm_timeout,
                # Gemini 2.x models refuse a response schema beside function declarations.
                capabilities=self.models.capabilities("gemini", tools_default=False),
            )
        raise ValueError(f"unknown provider {provider_name!r} (providers: {', '.join(PROVIDERS)})")


def _key(variable: str | None, use: str, default_name: str, *defaults: SecretStr | None) -> str:
    """The key in the variable the model configuration file names, else in the provider's own
    variables (`defaults`, from the settings); a missing key names the variable to set."""
    if variable is not None:
        key = (os.environ.get(variable) or "").strip() or None
    else:
        key = next((k for k in map(_secret, defaults) if k is not None), None)
    if key is None:
        raise _missing(variable or default_name, use)
    return key


def _secret(value: SecretStr | None) -> str | None:
    secret = value.get_secret_value().strip() if value is not None else ""
    return secret or None


def _missing(variable: str, use: str) -> ProviderError:
    return ProviderError(
        f"no API key: set {variable} in the worker's environment to use {use}",
        kind=MISSING_CREDENTIALS,
        retryable=False,
    )
