"""Log lines as a user reads them: an expected failure is one line; a bug's traceback shows no
local variables (prompts, inputs and specs live there)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError

from taskagent.logging import configure_logging, is_expected
from taskagent.scope import LogScope


@pytest.fixture
def restored() -> Iterator[None]:
    """configure_logging changes process-wide state: put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()
        workflow.logger.workflow_info_on_message = True
        activity.logger.activity_info_on_message = True


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
