"""Named output models of agent steps.

A registered model is looked up by name inside the workflow for structural validation (its
fields and model validators run there, purely). The catalog is process-wide because workflow
code cannot receive objects from the worker: it is filled when modules register their models at
import time, exactly like the workflow code itself, and so is the same on every replay of the
same code.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_MODELS: dict[str, type[BaseModel]] = {}


def register_model(model: type[BaseModel], name: str | None = None) -> str:
    """Make `model` available by name; the same name may not name two different models."""
    key = name or model.__name__
    existing = _MODELS.get(key)
    if existing is not None and existing is not model and _qualname(existing) != _qualname(model):
        raise ValueError(
            f"output model {key!r} is registered twice: {_qualname(existing)}, {_qualname(model)}"
        )
    _MODELS[key] = model
    return key


def get_model(name: str) -> type[BaseModel] | None:
    return _MODELS.get(name)


def model_schema(name: str) -> dict[str, Any] | None:
    model = _MODELS.get(name)
    return model.model_json_schema() if model is not None else None


def _qualname(model: type[BaseModel]) -> str:
    return f"{model.__module__}.{model.__qualname__}"
