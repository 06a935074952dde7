"""What activities count: tokens, cost, tool calls, breaker states, labelled with their step.

Counted where they happen, once per real attempt: activities are never replayed.
"""

from __future__ import annotations

from taskagent.scope import SCOPE
from taskagent.telemetry import instruments

BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}


def _labels(**extra: str) -> dict[str, str]:
    scope = SCOPE.get()
    labels = {"pipeline": scope.pipeline, "step": scope.step or ""} if scope else {}
    return {**labels, **extra}


def model_call(model: str, input_tokens: int, output_tokens: int, cost_usd: float) -> None:
    """A billed model answer, used or refused: its tokens and its cost."""
    instruments.llm_tokens().add(input_tokens, _labels(model=model, direction="input"))
    instruments.llm_tokens().add(output_tokens, _labels(model=model, direction="output"))
    instruments.llm_cost().add(cost_usd, _labels(model=model))


def tool_call(tool: str, outcome: str) -> None:
    instruments.tool_calls().add(1, _labels(tool=tool, status=outcome))


def breaker_moved(provider: str, state: str) -> None:
    instruments.breaker_state().set(BREAKER_VALUES.get(state, -1), {"provider": provider})
