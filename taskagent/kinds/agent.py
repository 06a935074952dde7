"""The `agent` kind: an LLM agent whose output never moves on until it is valid.

Also the model fields that agent and router steps share (`LlmStepBase`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from taskagent.kinds.base import (
    STRICT,
    Catalog,
    CheckContext,
    ResolveContext,
    SchemaOf,
    StepBase,
    StepKind,
)


class LlmStepBase(StepBase):
    """What agent and router steps share: the model and how it is asked."""

    model: str | None = Field(
        None, description="`provider:model`, e.g. `openai:gpt-4o-mini`. Default: the pipeline's."
    )
    system_prompt: str = ""
    goal: str = Field("", description="What the step must achieve.")
    constraints: list[str] = Field(default_factory=list)
    temperature: float | None = Field(None, ge=0, le=2)
    max_output_tokens: int | None = Field(None, ge=1)
    max_attempts: int = Field(
        3, ge=1, le=10, description="Answers the model may give before validation gives up."
    )
    keep_conversation: bool = Field(
        False,
        description="Keep the conversation (without failed attempts) in the step's result. Off "
        "by default: it rides in every progress query and in the run's history.",
    )


class AgentStep(LlmStepBase):
    """An LLM agent whose output never moves on until it is valid."""

    kind: Literal["agent"]
    output_schema: str | dict[str, Any] | None = Field(
        None,
        description="A registered output model's name or an inline JSON Schema; none: free text.",
    )
    validators: list[str] = Field(
        default_factory=list,
        description="Registered functions that check the output; each returns a list of errors.",
    )
    tools: list[str] = Field(default_factory=list, description="The tools this agent may call.")
    max_tool_rounds: int = Field(10, ge=1, le=100)


def agent(step_id: str, goal: str, **fields: Any) -> AgentStep:
    """An LLM agent step; `output_schema` names a registered model (or give a model class)."""
    schema = fields.get("output_schema")
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        fields["output_schema"] = schema.__name__
    data = {"kind": "agent", "id": step_id, "goal": goal, **fields}
    return AgentStep.model_validate(data, context=STRICT)


def check_model(step: LlmStepBase, ctx: CheckContext, where: str) -> None:
    """The checks agent and router steps share."""
    if step.model is not None:
        ctx.model(step.model, f"{where}.model")


def check_agent(step: AgentStep, ctx: CheckContext, where: str) -> None:
    check_model(step, ctx, where)
    if isinstance(step.output_schema, dict):
        ctx.json_schema(step.output_schema, f"{where}.output_schema")
    elif isinstance(step.output_schema, str):
        ctx.output_model(step.output_schema, f"{where}.output_schema")
    for name in step.validators:
        ctx.function(name, f"{where}.validators")
    for tool in step.tools:
        ctx.tool(tool, f"{where}.tools")


def agent_output_schema(
    step: AgentStep, catalog: Catalog | None, _: SchemaOf
) -> dict[str, Any] | None:
    if isinstance(step.output_schema, dict):
        return step.output_schema
    if isinstance(step.output_schema, str):
        return catalog.model_schema(step.output_schema) if catalog is not None else None
    return {"type": "string"}


def agent_output_type(step: AgentStep, catalog: Catalog) -> TypeAdapter[Any] | None:
    """A registered output model's type (other outputs stay JSON)."""
    if not isinstance(step.output_schema, str):
        return None
    model = catalog.get_model(step.output_schema)
    return TypeAdapter(model) if model is not None else None


def resolve_agent(step: AgentStep, ctx: ResolveContext) -> None:
    for name in step.tools:
        ctx.tool(name)
    if isinstance(step.output_schema, str):
        ctx.output_model(step.output_schema)


KIND = StepKind(
    name="agent",
    spec=AgentStep,
    executor="workflows.kinds.agent",
    builder=agent,
    check=check_agent,
    output_schema=agent_output_schema,
    output_type=agent_output_type,
    resolve=resolve_agent,
)
