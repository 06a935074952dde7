"""Structural validation of model answers: parsing, schema and model validators. Pure code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema
from pydantic import ValidationError

from taskagent.llm.parsing import ParseError, extract_json
from taskagent.models import get_model


def check_answer(
    content: str | None,
    output_schema: str | Mapping[str, Any] | None,
    schemas: Mapping[str, Mapping[str, Any]],
) -> tuple[Any, list[str]]:
    """The validated output and no errors, or None and the exact errors for the model."""
    if output_schema is None:
        text = (content or "").strip()
        return (text, []) if text else (None, ["the answer is empty"])
    try:
        data = extract_json(content)
    except ParseError as err:
        return None, [str(err)]
    if isinstance(output_schema, str):
        model = get_model(output_schema)
        if model is not None:
            return _check_model(model, data)
        output_schema = schemas[output_schema]
    return _check_schema(output_schema, data)


def _check_model(model: Any, data: Any) -> tuple[Any, list[str]]:
    try:
        value = model.model_validate(data)
    except ValidationError as err:
        return None, [
            f"{_path(error['loc'])}: {error['msg']}"
            + (f" (got {error['input']!r})" if error["type"] != "missing" else "")
            for error in err.errors(include_url=False)
        ]
    return value.model_dump(mode="json"), []


def _check_schema(schema: Mapping[str, Any], data: Any) -> tuple[Any, list[str]]:
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [
        f"{_path(error.absolute_path)}: {error.message}"
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]
    return (None, errors) if errors else (data, [])


def _path(parts: Any) -> str:
    text = ".".join(str(part) for part in parts)
    return text or "output"
