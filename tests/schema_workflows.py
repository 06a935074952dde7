"""A workflow that checks a schema and a value with taskagent.schemas, for tests/test_schemas.py.
Kept apart from the test so the workflow sandbox imports nothing but Temporal and the package
under test (passed through, as the engine's workflow modules do).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from taskagent.schemas import check_schema, schema_errors


@workflow.defn(name="SchemaCheck")
class SchemaCheck:
    @workflow.run
    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        """With "checked", only the fast path for a checked schema runs (as in the engine)."""
        schema, value, checked = request["schema"], request["value"], request.get("checked", False)
        return {
            "problems": None if checked else check_schema(schema),
            "errors": [list(error) for error in schema_errors(schema, value, checked=checked)],
        }
