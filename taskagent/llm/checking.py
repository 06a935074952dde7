"""Structural validation of model answers against a recorded JSON Schema. Pure code.

Inside the workflow only the JSON Schema recorded in the run's history is used, so the verdict is
the same on every worker and every replay. A registered pydantic model's own validators (user code)
run afterwards in an activity; see `validation_errors` below, shared with that activity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from taskagent.llm.parsing import ParseError, extract_json
from taskagent.schemas import schema_errors


def check_answer(
    content: str | None,
    schema: Mapping[str, Any] | None,
    extract: Callable[[str | None], Any] = extract_json,
) -> tuple[Any, list[str]]:
    """The parsed output and no errors, or None and the exact errors for the model.

    `extract` is the JSON parser (the frozen first one, to replay runs recorded with it)."""
    if schema is None:
        text = (content or "").strip()
        return (text, []) if text else (None, ["the answer is empty"])
    try:
        data = extract(content)
    except ParseError as err:
        return None, [str(err)]
    errors = [
        f"{path or 'output'}: {message}"
        for path, message in schema_errors(schema, data, checked=True)
    ]
    return (None, errors) if errors else (data, [])


def validation_errors(err: ValidationError) -> list[str]:
    """A pydantic error as the lines a model can act on."""
    return [
        f"{_path(error['loc'])}: {error['msg']}"
        + (f" (got {error['input']!r})" if error["type"] != "missing" else "")
        for error in err.errors(include_url=False)
    ]


def _path(parts: Any) -> str:
    text = ".".join(str(part) for part in parts)
    return text or "output"
