"""Roles and the audit trail: a run carries who started it and their roles; a tool that requires a
role the run lacks is refused like a tool outside the allow-list (by the agent loop and by the
tool activity itself), and every call and refusal is in the run's audit trail."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.tools import ToolActivities
from starter import parser
from taskagent import Pipeline, Registry
from taskagent.audit import AuditTrail
from taskagent.conversation.contracts import ConversationConfig
from taskagent.conversation.session import ChatSession
from taskagent.names import AUDIT_QUERY, PIPELINE_WORKFLOW
from taskagent.results import Identity, PipelineResult, PipelineRunRequest, ToolCallRequest
from taskagent.store import ConversationStore, Database, migrate
from taskagent.testing import ScriptedAnswer, ScriptedCall, ScriptedProvider
from taskagent.tools import UNKNOWN_TOOL
from tests.support import running_worker, unique

payroll = Registry()


class Employee(BaseModel):
    name: str


@payroll.tools.tool(roles=["finance", "hr"])
def salary(args: Employee) -> str:
    """The salary of an employee."""
    return f"{args.name}: 5,000"


PIPELINE = Pipeline("salaries", model="scripted:clerk").agent(
    "ask", "Find Ada's salary.", tools=["salary"]
)


async def run_as(env: WorkflowEnvironment, queue: str, identity: Identity) -> PipelineResult:
    scripted = ScriptedProvider().enqueue(
        "clerk",
        ScriptedAnswer(tool_calls=[ScriptedCall(name="salary", arguments={"name": "Ada"})]),
        ScriptedAnswer(content="done"),
    )
    request = PipelineRunRequest(
        pipeline=PIPELINE.build().model_dump(mode="json", exclude_defaults=True), identity=identity
    )
    async with running_worker(env.client, payroll, queue, scripted=scripted):
        handle = await env.client.start_workflow(
            PIPELINE_WORKFLOW,
            request,
            id=unique("wf"),
            task_queue=queue,
            result_type=PipelineResult,
        )
        result = await handle.result()
        trail = await handle.query(AUDIT_QUERY, result_type=AuditTrail)
    assert trail.started_by == identity and trail.workflow_id == handle.id
    assert [(c.step, c.tool) for c in trail.calls] == [("ask", "salary")]
    assert trail.calls[0].outcome == result.steps["ask"].tool_calls[0].outcome
    return result


async def test_a_tool_requiring_a_role_is_refused_to_a_run_without_it(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    result = await run_as(env, task_queue, Identity(user="bob", roles=["support"]))
    [call] = result.steps["ask"].tool_calls
    assert call.outcome == "refused"
    assert call.error == (
        "Refused: the tool 'salary' requires the role finance or hr, which 'bob' does not have."
    )
    assert result.started_by == Identity(user="bob", roles=["support"])


async def test_a_run_with_the_role_calls_the_tool(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    result = await run_as(env, task_queue, Identity(user="ada", roles=["hr"]))
    assert result.steps["ask"].tool_calls[0].outcome == "ok"


async def test_the_tool_activity_checks_the_role_itself() -> None:
    request = ToolCallRequest(
        tool="salary", arguments='{"name": "Ada"}', step_id="s", call_id="c", allowed=["salary"]
    )
    activities = ToolActivities(payroll.tools)
    refused = await ActivityEnvironment().run(activities.run, request)
    assert (refused.ok, refused.error_type) == (False, UNKNOWN_TOOL)
    assert "requires the role finance or hr" in refused.content
    allowed = request.model_copy(update={"roles": ["finance"]})
    assert (await ActivityEnvironment().run(activities.run, allowed)).ok


async def test_a_conversation_acts_with_the_roles_of_its_user(
    env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> None:
    """`starter.py chat --role hr` (a ChatSession with roles): the conversation's turns run with
    them; without them the same tool is refused."""
    assert parser().parse_args(["chat", "c1", "--role", "hr"]).role == ["hr"]
    ask = ScriptedAnswer(tool_calls=[ScriptedCall(name="salary", arguments={"name": "Ada"})])
    done = ScriptedAnswer(content="done")
    scripted = ScriptedProvider().enqueue("clerk", ask, done, ask, done)
    database = Database(f"sqlite:///{tmp_path}/conversations.db")
    migrate(database)
    config = ConversationConfig(model="scripted:clerk", tools=["salary"])
    try:
        store = ConversationStore(database)
        async with running_worker(env.client, payroll, task_queue, scripted=scripted, store=store):
            for roles in (["hr"], []):
                session = ChatSession(
                    env.client,
                    task_queue,
                    unique("conv"),
                    user="ada",
                    roles=roles,
                    config=config,
                    stream=False,
                    out=Console(file=StringIO()),
                    notes=Console(file=StringIO()),
                )
                assert await session.say("What is Ada's salary?") is not None
    finally:
        database.close()
    answers = [
        next(m.content for m in request.messages if m.role == "tool")
        for request in scripted.requests["clerk"][1::2]
    ]
    assert answers[0] == "Ada: 5,000"
    assert answers[1] == (
        "Refused: the tool 'salary' requires the role finance or hr, which 'ada' does not have."
    )
