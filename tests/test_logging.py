"""Log lines as a user reads them: an expected failure is one line; a bug's traceback shows no
local variables (prompts, inputs and specs live there)."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import BaseModel
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.llm import LlmActivities
from activities.tools import ToolActivities
from taskagent import Registry
from taskagent.llm import Message, ModelRequest, ProviderFactory, ProviderSettings
from taskagent.llm.pricing import PriceTable
from taskagent.logging import configure_logging, is_expected
from taskagent.results import ModelCallRequest, ToolCallRequest
from taskagent.scope import LogScope


def failing(secret_prompt: str) -> None:
    raise KeyError(secret_prompt[:3])


def test_expected_failures_are_temporal_failures_with_no_bug_behind_them():
    assert is_expected(ApplicationError("bad input", type="InvalidStepInput"))
    try:
        try:
            failing("the whole prompt")
        except KeyError as err:
            raise ApplicationError("function raised KeyError", type="KeyError") from err
    except ApplicationError as wrapped:
        assert not is_expected(wrapped)
    assert not is_expected(ValueError("a bug"))


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_an_expected_failure_is_one_line_and_a_bug_shows_no_locals(fmt, capsys, restored):
    configure_logging(fmt, "INFO")
    log = logging.getLogger("temporalio.activity")
    try:
        raise ApplicationError("missing_credentials: no API key", type="missing_credentials")
    except ApplicationError:
        log.warning("Completing activity as failed", exc_info=True)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert "missing_credentials: missing_credentials: no API key" in lines[0]
    if fmt == "json":
        assert json.loads(lines[0])["error"].startswith("missing_credentials")

    try:
        failing("-".join(["SECRET", "PROMPT"]))  # the value appears in no source line
    except KeyError:
        log.warning("Completing activity as failed", exc_info=True)
    text = capsys.readouterr().err
    assert "Traceback" in text and "KeyError" in text
    assert "SECRET-PROMPT" not in text  # the local variable's value


def test_a_step_scope_travels_in_a_short_header_and_comes_back_whole():
    top = LogScope("outer", "outer", "wf-1").for_step("think")
    assert top.header("wf-1") == {"pipeline": "outer", "step": "think"}  # the rest is derived
    assert LogScope.from_header(top.header("wf-1"), "wf-1") == top
    child = LogScope("inner", "outer/child/inner", "wf-1").for_step("copy")
    assert LogScope.from_header(child.header("wf-1/child"), "wf-1/child") == child
    assert child.fields()["path"] == "outer/child/inner/copy"


class Sum(BaseModel):
    a: int
    b: int


@pytest.mark.parametrize("switched_on", [False, True])
async def test_prompts_answers_and_tool_content_are_logged_only_when_switched_on(
    switched_on, capsys, restored
):
    configure_logging("json", "INFO", content=switched_on)
    registry = Registry()

    @registry.tools.tool(description="Add two integers.")
    def add(args: Sum) -> str:
        return f"SUM-{args.a + args.b}"

    factory = ProviderFactory(ProviderSettings(TASKAGENT_DEFAULT_MODEL="offline:default"))
    llm = LlmActivities(factory, PriceTable())
    question = "PROMPT-MARKER: what does Acme make?"
    request = ModelRequest(
        model="offline:default", messages=[Message(role="user", content=question)]
    )
    answered = await ActivityEnvironment().run(
        llm.call, ModelCallRequest(request=request, step_id="s")
    )
    tools = ToolActivities(registry.tools)
    call = ToolCallRequest(
        tool="add", arguments='{"a": 2, "b": 40}', step_id="s", call_id="c1", allowed=["add"]
    )
    await ActivityEnvironment().run(tools.run, call)
    await factory.aclose()

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    model = next(line for line in lines if line["event"] == "model call")
    tool = next(line for line in lines if line["event"] == "tool call")
    assert (tool["tool"], tool["outcome"]) == ("add", "ok")
    text = json.dumps(lines)
    if switched_on:
        assert model["prompt"] == question and model["answer"] == answered.response.content
        assert tool["arguments"] == '{"a": 2, "b": 40}' and tool["result"] == "SUM-42"
    else:
        # (a timestamp may hold "40": look for the arguments themselves, and for their keys)
        assert "PROMPT-MARKER" not in text and "SUM-42" not in text
        assert '\\"b\\": 40' not in text and '"b": 40' not in text
        assert "prompt" not in model and "answer" not in model
        assert "arguments" not in tool and "result" not in tool
