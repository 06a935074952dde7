"""Budgets hold under concurrency: each model call reserves an estimate before it starts, so N
concurrent agent steps cannot all pass the check and overspend by N calls."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from taskagent import Pipeline, Registry, StepStatus
from taskagent.testing import ScriptedAnswer, ScriptedProvider
from tests.support import failed_result, running_worker, start

STEPS = 8


def fan_out(budget: dict[str, float] | None) -> Pipeline:
    pipeline = Pipeline("fan_out_budget", model="scripted:judge", budget=budget)
    for n in range(STEPS):
        pipeline = pipeline.agent(f"a{n}", "Answer in a few words.")
    return pipeline


async def test_concurrent_agent_steps_overspend_by_one_call_at_most(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    answer = "word " * 80
    scripted = ScriptedProvider().enqueue("judge", *[ScriptedAnswer(content=answer)] * 40)
    async with running_worker(env.client, Registry(), task_queue, scripted=scripted):
        single = await (await start(env.client, task_queue, fan_out(None))).result()
        call = single.cost.total.tokens // STEPS  # what one call costs (all alike)
        budget = int(2.5 * call)
        result = await failed_result(
            await start(env.client, task_queue, fan_out({"tokens": budget}))
        )
    total = result.cost.total
    assert total.calls <= 3  # without reservations, all eight started at once
    assert total.tokens <= budget + call  # the overspend is at most one call's
    refused = [s for s in result.steps.values() if s.status is StepStatus.FAILED]
    assert len(refused) == STEPS - total.calls
    assert {s.error.type for s in refused if s.error} == {"BudgetExceeded"}
