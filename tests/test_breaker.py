"""The circuit breaker of each provider: its state machine, and a worker whose provider fails
and recovers (a fake server on the wire)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from taskagent import Pipeline, Registry
from taskagent.llm import ProviderError
from taskagent.llm.breaker import BreakerSettings, BreakerState, CircuitBreaker
from tests.support import eventually, failed_result, llm_harness, progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def failure(kind: str = "server_error") -> ProviderError:
    return ProviderError(f"openai HTTP 503: {kind}", kind=kind, retryable=True, status=503)


def breaker(clock: Clock, failures: int = 3) -> CircuitBreaker:
    return CircuitBreaker("openai", BreakerSettings(failures, open_seconds=30), clock)


def test_it_opens_after_failures_in_a_row_and_then_fails_fast():
    clock = Clock()
    b = breaker(clock)
    for _ in range(3):
        b.before_call()
        b.failed(failure())
    assert b.state is BreakerState.OPEN

    clock.now += 10
    with pytest.raises(ProviderError) as caught:
        b.before_call()

    error = caught.value
    assert (error.kind, error.retryable, error.retry_after) == ("circuit_open", True, 20)
    assert "no request was sent" in str(error) and "3 failures in a row" in str(error)
    assert "HTTP 503" in str(error)


def test_any_answer_resets_the_count_and_client_errors_are_answers():
    b = breaker(Clock())
    b.failed(failure())
    b.failed(failure())
    b.failed(failure("bad_request"))  # the server answered: it is up
    b.failed(failure())
    b.failed(failure("timeout"))
    assert b.state is BreakerState.CLOSED
    b.succeeded()
    b.failed(failure("rate_limited"))  # a 429 is Retry-After's business, not the breaker's
    assert b.state is BreakerState.CLOSED


def test_half_open_lets_one_trial_through_which_closes_or_reopens_it():
    clock = Clock()
    b = breaker(clock, failures=1)
    b.failed(failure())
    clock.now += 30
    assert b.state is BreakerState.HALF_OPEN

    b.before_call()  # the trial
    with pytest.raises(ProviderError):
        b.before_call()  # only one at a time
    b.failed(failure())
    assert b.state is BreakerState.OPEN  # the trial failed: open for another 30 s

    clock.now += 30
    b.before_call()
    b.succeeded()
    assert b.state is BreakerState.CLOSED
    b.before_call()


def test_a_cancelled_trial_gives_its_slot_back():
    clock = Clock()
    b = breaker(clock, failures=1)
    b.failed(failure())
    clock.now += 30
    b.before_call()
    b.abandoned()
    b.before_call()  # another trial may go


async def test_a_failing_provider_is_not_called_while_open_and_is_used_again_after(env, task_queue):
    registry = Registry()
    pipeline = Pipeline("breaker", model="openai:gpt-test").agent(
        "ask",
        "Answer.",
        retry={"max_attempts": 8, "initial_interval": 0.05, "max_interval": 2},
    )
    # Open for 3 s: the retry 0.1 s after the second failure fails fast however slow the
    # machine (with 1 s, a slow CI run once sent its third attempt after the breaker closed).
    async with llm_harness(
        env, task_queue, registry, TASKAGENT_BREAKER_FAILURES=2, TASKAGENT_BREAKER_OPEN_SECONDS=3
    ) as h:
        h.llm.openai.fail(503, "overloaded").fail(503, "overloaded")
        h.llm.openai.reply_text("Back.")
        result = await (await h.run(pipeline)).result()
        state = h.providers.breaker("openai").state
    step = result.steps["ask"]
    assert step.output == "Back." and step.waiting is None  # what it waited for is over
    # attempts 1 and 2 failed and opened the breaker; the next ones failed fast without a
    # request until the trial, 3 s later, was answered and closed it.
    assert len(h.llm.openai.requests) == 3
    assert step.transient_retries >= 3
    assert h.llm.openai.times[2] - h.llm.openai.times[1] >= 2.9
    assert state is BreakerState.CLOSED


def asking(max_attempts: int, max_interval: float) -> Pipeline:
    retry = {"max_attempts": max_attempts, "initial_interval": 0.05, "max_interval": max_interval}
    return Pipeline("breaker", model="openai:gpt-test").agent("ask", "Answer.", retry=retry)


def opening_at_the_first_failure(env, task_queue: str, open_seconds: float) -> Any:
    return llm_harness(
        env,
        task_queue,
        Registry(),
        TASKAGENT_BREAKER_FAILURES=1,
        TASKAGENT_BREAKER_OPEN_SECONDS=open_seconds,
    )


async def test_a_step_that_runs_out_of_retries_while_open_says_why(env, task_queue):
    async with opening_at_the_first_failure(env, task_queue, 60) as h:
        h.llm.openai.fail(503, "overloaded")
        result = await failed_result(await h.run(asking(2, max_interval=0.1)))
    error = result.steps["ask"].error
    assert len(h.llm.openai.requests) == 1
    assert (error.type, error.attempts) == ("circuit_open", 2)
    assert "openai circuit breaker is open" in error.message and "overloaded" in error.message


async def test_the_progress_query_shows_the_open_breaker_while_the_step_waits(env, task_queue):
    async with opening_at_the_first_failure(env, task_queue, 20) as h:
        h.llm.openai.fail(503, "overloaded")
        handle = await h.run(asking(3, max_interval=20))

        async def waiting() -> str:
            step = (await progress(handle)).steps.get("ask")
            return (step.waiting if step else None) or ""

        async def breaker_shown() -> bool:
            return "circuit breaker is open" in await waiting()

        await eventually(breaker_shown)
        shown = await waiting()
        await handle.terminate("seen")
    assert "no request was sent" in shown and re.search(r"\(attempt 2; next in 1\d s\)", shown)
    assert len(h.llm.openai.requests) == 1
