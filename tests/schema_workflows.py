"""A workflow that checks a schema and a value with taskagent.schema_paths, for
tests/test_schema_paths.py. Kept apart from the test so the workflow sandbox imports nothing but
Temporal and the module under test (passed through, as the engine's workflow modules do).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.schema_paths import check_schema, schema_errors


@workflow.defn(name="SchemaCheck")
class SchemaCheck:
    @workflow.run
    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        schema, value = request["schema"], request["value"]
        return {
            "problems": check_schema(schema),
            "errors": [list(error) for error in schema_errors(schema, value)],
        }
