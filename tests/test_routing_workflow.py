"""Conditions, switch routing, parallel merges and child pipelines on a real dev server."""

from __future__ import annotations

from taskagent import Pipeline, PipelineResult, Registry, StepStatus, code
from tests.support import example_registry, failed_result, probes, running_worker, start


def statuses(result: PipelineResult) -> dict[str, StepStatus]:
    return {key: step.status for key, step in result.steps.items()}


async def test_condition_skips_a_step_and_its_dependents(env, task_queue):
    pipeline = (
        Pipeline("conditional")
        .code("score", "add", input={"a": "$input.a", "b": "$input.b"})
        .code("deep_dive", "echo", depends_on=["score"], condition="steps.score.output > 10")
        .code("after_dive", "echo", depends_on=["deep_dive"])
        .code(
            "either",
            "echo",
            depends_on=["deep_dive", "score"],
            trigger="any_completed",
            input={"dive": "$steps.deep_dive.status"},
        )
        .code("always", "echo", depends_on=["score"], condition="input.a >= 1 and not input.off")
    )
    async with running_worker(env.client, probes, task_queue):
        low = await (await start(env.client, task_queue, pipeline, {"a": 1, "b": 2})).result()
        high = await (await start(env.client, task_queue, pipeline, {"a": 9, "b": 2})).result()
    assert statuses(low) == {
        "score": StepStatus.COMPLETED,
        "deep_dive": StepStatus.SKIPPED,
        "after_dive": StepStatus.SKIPPED,
        "either": StepStatus.COMPLETED,
        "always": StepStatus.COMPLETED,
    }
    assert low.steps["deep_dive"].reason == "condition is false: steps.score.output > 10"
    assert low.steps["after_dive"].reason == "dependency deep_dive is SKIPPED"
    assert low.steps["either"].output == {"dive": "SKIPPED"}
    assert statuses(high)["deep_dive"] is StepStatus.COMPLETED
    assert statuses(high)["after_dive"] is StepStatus.COMPLETED


async def test_switch_runs_the_chosen_route_only(env, task_queue):
    async with running_worker(env.client, example_registry(), task_queue):
        results = {}
        for text in ("please refund my invoice", "the app shows an error", "hello"):
            handle = await start(env.client, task_queue, "ticket_triage", {"text": text})
            results[text] = await handle.result()
    billing = results["please refund my invoice"]
    assert billing.steps["route"].output == {"value": "billing", "selected": ["billing"]}
    assert statuses(billing)["billing"] is StepStatus.COMPLETED
    assert statuses(billing)["technical"] is StepStatus.SKIPPED
    assert billing.steps["technical"].reason == "not selected by switch 'route' (value 'billing')"
    assert statuses(billing)["general"] is StepStatus.SKIPPED
    assert billing.output["reply"]["team"] == "billing"
    assert results["the app shows an error"].output["reply"]["team"] == "technical support"
    general = results["hello"]
    assert general.steps["route"].output["selected"] == ["general"]
    assert general.output == {
        "reply": {
            "team": "front desk",
            "message": "Your ticket was routed to the front desk team.",
        },
        "paged": "SKIPPED",
    }


async def test_switch_value_without_route_is_a_clear_error(env, task_queue):
    pipeline = (
        Pipeline("strict_switch")
        .code("pick", "echo", input={"choice": "$input.choice"})
        .switch("route", "steps.pick.output.choice", {"a": "run_a"}, depends_on=["pick"])
        .code("run_a", "echo")
    )
    async with running_worker(env.client, probes, task_queue):
        result = await failed_result(await start(env.client, task_queue, pipeline, {"choice": "z"}))
    error = result.steps["route"].error
    assert error.type == "NoRoute"
    assert error.message == "switch 'route': value 'z' has no route (routes: a)"
    assert statuses(result)["run_a"] is StepStatus.SKIPPED


async def test_parallel_branches_merge(env, task_queue):
    branches = [
        code("one", "add", input={"a": 1, "b": 0}),
        code("two", "add", input={"a": 2, "b": 0}),
        code("three", "add", input={"a": "$input.x", "b": 0}),
    ]
    pipeline = (
        Pipeline("fanout")
        .parallel("as_object", branches)
        .parallel("as_list", branches, merge="list")
        .parallel("summed", branches, merge="total")
        .parallel(
            "updated",
            [code("l", "echo", input={"k": 1, "a": 1}), code("r", "echo", input={"k": 2})],
            merge="update",
        )
    )
    async with running_worker(env.client, probes, task_queue):
        result = await (await start(env.client, task_queue, pipeline, {"x": 3})).result()
    assert result.steps["as_object"].output == {"one": 1.0, "two": 2.0, "three": 3.0}
    assert result.steps["as_list"].output == [1.0, 2.0, 3.0]
    assert result.steps["summed"].output == 6.0
    assert result.steps["updated"].output == {"k": 2, "a": 1}
    branch = result.steps["as_object/two"]
    assert branch.parent == "as_object" and branch.status is StepStatus.COMPLETED


async def test_failed_branch_fails_the_parallel_step(env, task_queue):
    pipeline = Pipeline("fanout_fail").parallel(
        "fan", [code("ok", "echo", input=1), code("bad", "fail", input="b")]
    )
    async with running_worker(env.client, probes, task_queue):
        result = await failed_result(await start(env.client, task_queue, pipeline))
    assert result.steps["fan/bad"].status is StepStatus.FAILED
    assert result.steps["fan"].error.type == "BranchFailed"
    assert "fan/bad: refused 'b'" in result.steps["fan"].error.message


async def test_child_pipelines_by_name_and_inline(env, task_queue):
    registry = Registry()
    registry.include(probes)
    registry.add_pipeline(
        Pipeline("adder", output="$steps.sum.output").code(
            "sum", "add", input={"a": "$input.a", "b": "$input.b"}
        )
    )
    inline = Pipeline("inline_child").code("twice", "add", input={"a": "$input.v", "b": "$input.v"})
    failing = Pipeline("failing_child").code("boom", "fail", input="child")
    pipeline = (
        Pipeline("parent", on_failure="continue")
        .pipeline("named", "adder", input={"a": 2, "b": "$input.b"})
        .pipeline("inline", inline, depends_on=["named"], input={"v": "$steps.named.output"})
        .pipeline("broken", failing)
    )
    async with running_worker(env.client, registry, task_queue):
        handle = await start(env.client, task_queue, pipeline, {"b": 5})
        result = await failed_result(handle)
        child = await env.client.get_workflow_handle(f"{handle.id}/named").describe()
    assert result.steps["named"].output == 7.0
    assert result.steps["inline"].output == 14.0
    broken = result.steps["broken"].error
    assert broken.type == "PipelineFailed"
    assert "pipeline 'failing_child' failed: boom: Refused: refused 'child'" in broken.message
    assert child.workflow_type == "PipelineWorkflow"
    assert child.parent_id == handle.id
