"""What a run records of its pipeline: every output schema once, however many steps share it."""

from __future__ import annotations

from pydantic import BaseModel

from activities import PipelineActivities
from taskagent import Pipeline, Registry
from taskagent.results import ResolvedPipeline, ResolveRequest


class Verdict(BaseModel):
    label: str
    score: int


def registry() -> Registry:
    found = Registry()

    @found.function()
    def add(a: float, b: float) -> float:
        return a + b

    @found.function()
    def pair(a: float, b: float) -> tuple[float, float]:
        return a, b

    found.model()(Verdict)
    return found


def resolve(pipeline: Pipeline, catalog: Registry):
    spec = pipeline.build().model_dump(mode="json", exclude_defaults=True)
    activities = PipelineActivities(catalog, "offline:default")
    return activities._resolve(ResolveRequest(pipeline=spec, input={}))


def test_every_output_schema_is_recorded_once():
    catalog = registry()
    pipeline = Pipeline("shared")
    for n in range(3):  # three steps calling one function
        pipeline.code(f"sum{n}", "add", input={"a": n, "b": 1})
    pipeline.code("only", "pair", input={"a": 1, "b": 2})
    pipeline.agent("judge", "Judge it.", output_schema="Verdict")
    pipeline.agent("again", "Judge it again.", output_schema="Verdict")
    resolved = resolve(pipeline, catalog)

    add, pair = (catalog.get_function(name).output_schema() for name in ("add", "pair"))
    verdict = catalog.model_schema("Verdict")
    assert resolved.schemas == {"Verdict": verdict, "output of sum0": add}
    assert resolved.output_schemas == {"only": pair}  # a schema of its own stays with its step
    assert all(resolved.output_schema(f"sum{n}") == add for n in range(3))
    assert resolved.output_schema("judge") == resolved.output_schema("again") == verdict
    assert resolved.output_schema("only") == pair
    assert resolved.output_schema("nothing") is None


def test_a_resolution_recorded_before_schemas_were_shared_still_reads():
    """Runs in flight recorded every step's schema with the step."""
    old = ResolvedPipeline.model_validate(
        {
            "spec": {"name": "p", "steps": [{"id": "a", "kind": "code", "function": "f"}]},
            "output_schemas": {"a": {"type": "number"}},
        }
    )
    assert old.output_schema("a") == {"type": "number"}
