"""The `router` kind: classifies its input into one of the described choices, with its reasoning."""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import Field

from taskagent.kinds.agent import LlmStepBase, check_model
from taskagent.kinds.base import STRICT, Catalog, SchemaOf, StepKind
from taskagent.llm.prompts import router_schema


class RouterStep(LlmStepBase):
    """Classifies its input into one of the described choices, with its reasoning."""

    kind: Literal["router"]
    choices: dict[str, str] = Field(
        min_length=2, description="Choice -> description (used as few-shot guidance)."
    )
    temperature: float | None = Field(0.2, ge=0, le=2)


def router(
    step_id: str, choices: dict[str, str] | type[Enum], goal: str = "", **fields: Any
) -> RouterStep:
    """A router step classifying its input into one of `choices` (value -> description).

    An Enum works too: its member names are the choices and its values their descriptions.
    """
    if isinstance(choices, type) and issubclass(choices, Enum):
        choices = {member.name: str(member.value) for member in choices}
    data = {"kind": "router", "id": step_id, "choices": choices, "goal": goal, **fields}
    return RouterStep.model_validate(data, context=STRICT)


def _output_schema(step: RouterStep, catalog: Catalog | None, _: SchemaOf) -> dict[str, Any]:
    return router_schema(list(step.choices))


KIND = StepKind(
    name="router",
    spec=RouterStep,
    executor="workflows.kinds.router",
    builder=router,
    check=check_model,
    output_schema=_output_schema,
)
