"""Registries of named functions and pipelines, and loading them from modules and folders."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from taskagent.functions import FunctionInfo, describe_function
from taskagent.serialization import load_spec_file
from taskagent.spec import PipelineSpec
from taskagent.tools.registry import ToolCatalog
from taskagent.validation import Problem, SpecError, validate_pipeline

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=type[BaseModel])
SPEC_SUFFIXES = (".yaml", ".yml", ".json")


class RegistryError(ValueError):
    """A registration that conflicts with another, or a module or folder that cannot be loaded."""


class Registry:
    """Named functions, output models, tools and pipelines: what a worker serves.

    A module exposes one as `registry`; the worker merges the registries of every module listed
    in TASKAGENT_MODULES, then adds the spec files of TASKAGENT_PIPELINE_DIR.
    """

    def __init__(self) -> None:
        self._functions: dict[str, FunctionInfo] = {}
        self._models: dict[str, type[BaseModel]] = {}
        self.tools = ToolCatalog()
        """Tools agents may call: `@registry.tools.tool()` registers one."""
        self._pipelines: dict[str, Any] = {}
        self._sources: dict[str, str] = {}
        self._validated: dict[tuple[str, int, int, int, int], PipelineSpec] = {}
        self._schemas: dict[str, dict[str, Any]] = {}

    # -- functions -------------------------------------------------------------------------
    def function(
        self,
        name: str | None = None,
        *,
        local: bool = False,
        side_effects: bool = False,
        isolated: bool = False,
        max_memory_mb: int | None = None,
    ) -> Callable[[F], F]:
        """Register a function for code steps: `@registry.function()`.

        `local=True` declares it cheap: it then runs as a local activity by default.
        `side_effects=True` declares that it changes the world (pays, sends, writes): a dry run
        skips it and records why. `isolated=True` runs a synchronous function in a child process
        that is killed at the attempt's deadline, with CPU-time and memory limits
        (`max_memory_mb`, default 1024): for code that could run away (user-supplied
        expressions, parsers, native libraries), at a few milliseconds a call.
        """

        def decorate(func: F) -> F:
            info = describe_function(
                func,
                name=name,
                local=local,
                side_effects=side_effects,
                isolated=isolated,
                max_memory_mb=max_memory_mb,
            )
            self.add_function(info)
            func.__taskagent_name__ = info.name  # type: ignore[attr-defined]
            return func

        return decorate

    def add_function(self, info: FunctionInfo) -> None:
        if info.name in self._functions and self._functions[info.name].func is not info.func:
            raise RegistryError(f"function {info.name!r} is registered twice")
        self._functions[info.name] = info

    def get_function(self, name: str) -> FunctionInfo | None:
        return self._functions.get(name)

    def function_names(self) -> Sequence[str]:
        return sorted(self._functions)

    # -- output models and tools ---------------------------------------------------------
    def model(self, name: str | None = None) -> Callable[[M], M]:
        """Register a pydantic model as an agent step's output schema: `@registry.model()`."""

        def decorate(model: M) -> M:
            self.add_model(model, name)
            return model

        return decorate

    def add_model(self, model: type[BaseModel], name: str | None = None) -> str:
        key = name or model.__name__
        if self._models.get(key, model) is not model:
            raise RegistryError(f"output model {key!r} is registered twice")
        self._models[key] = model
        return key

    def get_model(self, name: str) -> type[BaseModel] | None:
        return self._models.get(name)

    def model_schema(self, name: str) -> dict[str, Any] | None:
        """The JSON Schema of a registered output model (generated once)."""
        schema = self._schemas.get(name)
        if schema is None:
            model = self._models.get(name)
            if model is None:
                return None
            schema = self._schemas[name] = model.model_json_schema()
        return schema

    def model_names(self) -> Sequence[str]:
        return sorted(self._models)

    def tool_names(self) -> Sequence[str]:
        return self.tools.names()

    # -- pipelines -------------------------------------------------------------------------
    def add_pipeline(self, pipeline: Any, *, source: str = "python") -> None:
        """Register a pipeline (a spec, a builder or plain data); it is validated by `check()`."""
        data = pipeline.build() if hasattr(pipeline, "build") else pipeline
        name = data.name if isinstance(data, PipelineSpec) else (data or {}).get("name")
        if not isinstance(name, str):
            raise RegistryError(f"pipeline from {source} has no name")
        if name in self._pipelines:
            raise RegistryError(
                f"pipeline {name!r} from {source} is already registered from {self._sources[name]}"
            )
        self._pipelines[name] = data
        self._sources[name] = source

    def pipeline_names(self) -> Sequence[str]:
        return sorted(self._pipelines)

    def get_pipeline(self, name: str) -> PipelineSpec:
        """The validated spec of a registered pipeline (validated once, then remembered)."""
        # Anything registered later may change the verdict: it is part of the key.
        sizes = (len(self._functions), len(self._models), len(self.tools), len(self._pipelines))
        key = (name, *sizes)
        spec = self._validated.get(key)
        if spec is None:
            if name not in self._pipelines:
                raise SpecError(name, [Problem("pipeline", self._unknown(name))])
            spec = self._validated[key] = validate_pipeline(self._pipelines[name], self)
        return spec

    def describe(self, name: str) -> tuple[str, str]:
        """(description, source) of a registered pipeline."""
        data = self._pipelines[name]
        description = (
            data.description if isinstance(data, PipelineSpec) else data.get("description", "")
        )
        return description or "", self._sources[name]

    def check(self) -> list[SpecError]:
        """Validate every registered pipeline; the errors of the invalid ones."""
        errors: list[SpecError] = []
        for name in self.pipeline_names():
            try:
                self.get_pipeline(name)
            except SpecError as err:
                errors.append(err)
        return errors

    def _unknown(self, name: str) -> str:
        known = ", ".join(self.pipeline_names()) or "none"
        return f"no pipeline named {name!r} is registered (registered: {known})"

    # -- composition -----------------------------------------------------------------------
    def include(self, other: Registry) -> None:
        """Add everything `other` registered."""
        for info in other._functions.values():
            self.add_function(info)
        for name, model in other._models.items():
            self.add_model(model, name)
        self.tools.include(other.tools)
        for name, data in other._pipelines.items():
            self.add_pipeline(data, source=other._sources[name])

    def load_modules(self, names: Iterable[str]) -> None:
        """Import modules and include the `registry` each one exposes."""
        for name in names:
            try:
                module = importlib.import_module(name)
            except ImportError as err:
                raise RegistryError(f"cannot import pipeline module {name!r}: {err}") from err
            found = getattr(module, "registry", None)
            if not isinstance(found, Registry):
                raise RegistryError(f"module {name!r} has no `registry = Registry()`")
            self.include(found)

    def load_folder(self, folder: Path) -> None:
        """Add every *.yaml, *.yml and *.json pipeline spec in `folder`."""
        if not folder.is_dir():
            return
        for path in sorted(folder.iterdir()):
            if path.suffix in SPEC_SUFFIXES:
                self.add_pipeline(load_spec_file(path), source=str(path))
