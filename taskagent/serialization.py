"""JSON and YAML import and export of pipeline specs, and the published JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from taskagent.spec import PipelineSpec

SCHEMA_ID = "https://taskagent.dev/schemas/pipeline.schema.json"


class SpecFileError(ValueError):
    """A spec file that cannot be read or parsed."""


def spec_to_data(spec: PipelineSpec) -> dict[str, Any]:
    """Plain JSON-compatible data, without fields left at their defaults."""
    return spec.model_dump(mode="json", exclude_defaults=True)


def spec_to_json(spec: PipelineSpec) -> str:
    return json.dumps(spec_to_data(spec), indent=2) + "\n"


def spec_to_yaml(spec: PipelineSpec) -> str:
    import yaml  # loaded when used: a worker without YAML specs never needs it

    return str(yaml.safe_dump(spec_to_data(spec), sort_keys=False, allow_unicode=True))


def parse_spec_text(text: str, *, fmt: str) -> Any:
    """Raw data from JSON or YAML text (validate it with `validate_pipeline`)."""
    if fmt == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise SpecFileError(f"not valid JSON: {err}") from err
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise SpecFileError(f"not valid YAML: {err}") from err


def load_spec_file(path: Path) -> Any:
    """Raw data of a .json, .yaml or .yml spec file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SpecFileError(f"cannot read {path}: {err.strerror}") from err
    try:
        return parse_spec_text(text, fmt="json" if path.suffix == ".json" else "yaml")
    except SpecFileError as err:
        raise SpecFileError(f"{path}: {err}") from err


def pipeline_json_schema() -> dict[str, Any]:
    """The JSON Schema of a pipeline spec, for editor completion of hand-written specs."""
    schema = PipelineSpec.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def pipeline_json_schema_text() -> str:
    return json.dumps(pipeline_json_schema(), indent=2, sort_keys=True) + "\n"
