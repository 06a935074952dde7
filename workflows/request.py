"""Reading a run's start request from its raw payloads, and checking continuation state.

PipelineWorkflow takes its arguments undecoded, so that no request (no argument, three of them,
`null`, bytes, an encoding the converter does not know, a malformed object) can make the SDK fail
the workflow task forever: each fails the run at once with `InvalidRequest` and the expected shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from taskagent.errors import invalid_request
    from taskagent.kinds import keyed_steps
    from taskagent.results import REQUEST_SHAPE, PipelineRunRequest, ResumeState, StepStatus

EXPECTED = f"one argument, a JSON object: {REQUEST_SHAPE}"


def decode_request(args: Sequence[RawValue]) -> tuple[PipelineRunRequest, list[str]]:
    """The run's request and its unknown fields, or an InvalidRequest error that says what came
    and what is expected.

    Unknown fields are not refused here: this code runs again on every replay, and a deploy
    that adds or removes a field must not change its verdict. The resolve activity, whose
    verdict is recorded, refuses them in a new run.
    """
    if len(args) != 1:
        raise invalid_request(f"PipelineWorkflow got {len(args)} arguments; it takes {EXPECTED}")
    payload = args[0].payload
    encoding = payload.metadata.get("encoding", b"").decode(errors="replace")
    try:
        data = workflow.payload_converter().from_payload(payload)
    except Exception as err:  # any undecodable payload is the caller's mistake, not ours
        raise invalid_request(
            f"the argument could not be decoded (encoding {encoding!r}: {_first_line(err)}); "
            f"PipelineWorkflow takes {EXPECTED}"
        ) from None
    if not isinstance(data, dict):
        raise invalid_request(
            f"the argument is {_describe(data)}; PipelineWorkflow takes {EXPECTED}"
        )
    unknown = sorted(key for key in data if key not in PipelineRunRequest.model_fields)
    try:
        request = PipelineRunRequest.model_validate(data)
    except ValidationError as err:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}"
            for e in err.errors(include_url=False)[:10]
        ]
        problems += [f"{key}: unknown field" for key in unknown]
        raise invalid_request(
            f"the request is malformed ({'; '.join(problems)}); expected {EXPECTED}"
        ) from None
    if request.resume is not None:
        check_resume(request.resume)
    return request, unknown


def check_resume(state: ResumeState) -> None:
    """Refuse continuation state outside a continued run, or state that does not fit its spec."""
    if workflow.info().continued_run_id is None:
        raise invalid_request(
            "`resume` is set only by a run that continues as new; a new run cannot carry it. "
            f"Start a run with {EXPECTED}"
        )
    known = {key for key, _ in keyed_steps(state.resolved.spec.steps)}
    unknown = sorted(set(state.result.steps) - known)
    if unknown:
        raise invalid_request(f"`resume` holds records of unknown steps: {', '.join(unknown)}")
    unsettled = sorted(
        key
        for key, record in state.result.steps.items()
        if record.status not in (StepStatus.PENDING,) and not record.status.settled
    )
    if unsettled:
        raise invalid_request(f"`resume` holds steps still in flight: {', '.join(unsettled)}")
    top_level = {step.id for step in state.resolved.spec.steps}
    strays = sorted(set(state.deselected) - top_level)
    if strays:
        raise invalid_request(f"`resume` deselects unknown steps: {', '.join(strays)}")


def _describe(data: Any) -> str:
    if data is None:
        return "null"
    if isinstance(data, bytes | bytearray):
        return f"{len(data)} bytes"
    return f"a JSON {type(data).__name__}"


def _first_line(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text.splitlines()[0][:200]
