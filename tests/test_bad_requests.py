"""Bad start requests: each fails its run fast and clearly, and none hurts the worker.

Acceptance tests for the engine rewrite, one per class of bad request that
scripts/fuzz_requests.py finds at scale. What a demanding user expects of every bad request: the
run is FAILED within 10 s (not RUNNING, not COMPLETED) by a non-retryable ApplicationError whose
type is `InvalidRequest` (the envelope: argument count, null, bytes, encoding, a malformed request
object, `resume` on a fresh run) or `InvalidPipeline` (the spec or the input), whose message names
the problem, with no WorkflowTaskFailed event in the history; and the worker stays responsive.

Nothing here may hang the suite: requests that could hang a worker run against worker.py as a
subprocess, and pure validation calls run in a child process with a time limit (a catastrophic
regex holds the GIL, so a thread running one could not be abandoned).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import RawValue
from temporalio.service import RPCError

from taskagent import SpecError, validate_pipeline
from taskagent.names import PIPELINE_WORKFLOW
from tests.support import ROOT, binary, probes, running_worker, unique, worker_process

FAST = 10.0
"""Seconds within which a bad request must have failed its run."""
RUNNING = WorkflowExecutionStatus.RUNNING
CYCLE = {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}}
REGEX = {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}}
EVIL = "a" * 40 + "!"
HUGE_CONDITION = "input.x == " + " * ".join(["9" * 4000] * 250)  # 1 MB: a 1M-digit product
HEALTHY = {"name": "healthy", "steps": [{"id": "ping", "kind": "code", "function": "echo"}]}
SHAPE = '{"pipeline":'
"""Every envelope error shows the shape of a good request."""


def now() -> datetime:
    return datetime.now(UTC)


def code(step_id: str, function: str = "echo", **fields: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": "code", "function": function, **fields}


def spec(*steps: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"name": "p", "steps": list(steps), **fields}


def request(pipeline: Any, data: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"pipeline": pipeline, "input": data or {}, **extra}


def with_x(schema: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A pipeline whose input field x has `schema`, and a step that reads `input.x.y`."""
    input_schema = {"type": "object", "properties": {"x": schema}, **fields}
    return spec(code("a", input={"v": "$input.x.y"}), input_schema=input_schema)


def agent(step_id: str, output_schema: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": "agent", "goal": "Answer.", "output_schema": output_schema}


# -- observing runs ------------------------------------------------------------------------------
@dataclass
class Closed:
    """How a run ended (or that it had not), read from its description and its history."""

    status: str
    seconds: float
    task_failures: list[str]
    history: str
    activities: int
    error_type: str = ""
    message: str = ""
    non_retryable: bool = False

    def __str__(self) -> str:
        failures = (
            f"; workflow task failures: {self.task_failures[:2]}" if self.task_failures else ""
        )
        error = f"{self.error_type}: {self.message[:300]!r}" if self.error_type else "no error"
        return f"{self.status} after {self.seconds:.1f} s, {error}{failures}"


@dataclass
class Hostile:
    """A hostile run on a worker process, and what it did to that worker."""

    run: Closed
    unhealthy: str | None = None
    ignored_sigterm: bool = False

    def problems(self, error_type: str, *names: str) -> list[str]:
        """Everything wrong: with the run (see assert_refused), then with the worker."""
        found = []
        try:
            assert_refused(self.run, error_type, *names)
        except AssertionError as err:
            found.append(str(err).splitlines()[0])  # without pytest's rewritten comparison
        if self.unhealthy:
            found.append(self.unhealthy)
        if self.ignored_sigterm:
            found.append("the worker ignored SIGTERM for 10 s")
        return found


@pytest.fixture
async def runs(env) -> AsyncIterator[list[str]]:
    """Ids of the runs a test starts; any still running at the end is terminated."""
    started: list[str] = []
    yield started
    for workflow_id in started:
        handle = env.client.get_workflow_handle(workflow_id)
        with contextlib.suppress(RPCError):
            if (await handle.describe()).status == RUNNING:
                await handle.terminate("test_bad_requests: left running")


async def start(env, queue: str, runs: list[str], *args: Any) -> str:
    """Start PipelineWorkflow with exactly these arguments (a Payload goes raw)."""
    workflow_id = unique("bad")
    runs.append(workflow_id)
    await env.client.start_workflow(
        PIPELINE_WORKFLOW,
        args=[RawValue(a) if isinstance(a, Payload) else a for a in args],
        id=workflow_id,
        task_queue=queue,
        execution_timeout=timedelta(minutes=10),
    )
    return workflow_id


def cli_start(env, queue: str, runs: list[str], options: list[str]) -> str:
    """`temporal workflow start` with these input options."""
    workflow_id = unique("cli")
    runs.append(workflow_id)
    address = env.client.service_client.config.target_host
    command = [binary("temporal"), "workflow", "start", "--address", address, "--type"]
    command += [PIPELINE_WORKFLOW, "--task-queue", queue, "--workflow-id", workflow_id]
    done = subprocess.run(command + options, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return workflow_id


def task_failure(attributes: Any) -> str:
    """A failed workflow task as its cause, the identity that failed it and its message."""
    cause = WorkflowTaskFailedCause.Name(attributes.cause)
    return f"{cause} by {attributes.identity}: {attributes.failure.message}"


async def outcome(env, workflow_id: str, wait: float = FAST + 5) -> Closed:
    """Wait up to `wait` seconds for the run to close, then read how it went."""
    handle = env.client.get_workflow_handle(workflow_id)
    deadline = time.monotonic() + wait
    while (description := await handle.describe()).status == RUNNING:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    history = await handle.fetch_history()
    kinds = [event.event_type for event in history.events]
    activity = (EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, EventType.EVENT_TYPE_MARKER_RECORDED)
    closed = Closed(
        status=description.status.name if description.status else "?",
        seconds=((description.close_time or now()) - description.start_time).total_seconds(),
        task_failures=[
            task_failure(event.workflow_task_failed_event_attributes)
            for event in history.events
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ],
        history=history.to_json(),
        activities=sum(kind in activity for kind in kinds),
    )
    if kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        failure = history.events[-1].workflow_execution_failed_event_attributes.failure
        closed.error_type = failure.application_failure_info.type
        closed.message = failure.message
        closed.non_retryable = failure.application_failure_info.non_retryable
    return closed


def assert_refused(closed: Closed, error_type: str, *names: str) -> None:
    """FAILED within 10 s, non-retryably, by `error_type`, with a message that names the
    problem (one of `names`), and no workflow task retried on the way."""
    assert closed.status == "FAILED", f"expected FAILED within {FAST:.0f} s: {closed}"
    assert closed.seconds <= FAST, f"failed too slowly: {closed}"
    assert closed.error_type == error_type, f"expected {error_type}: {closed}"
    assert closed.non_retryable, f"the error is retryable: {closed}"
    assert not closed.task_failures, f"a workflow task failed on the way: {closed}"
    assert any(name in closed.message for name in names), f"names none of {names}: {closed}"


# -- a worker process that a request may hang ------------------------------------------------------
@contextlib.contextmanager
def worker_subprocess(
    env, queue: str, folder: Path
) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """worker.py serving the probes on `queue`, with its output drained; killed at the end."""
    settings = {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TASKAGENT_TASK_QUEUE": queue,
        "TASKAGENT_MODULES": "tests.probe_module",
        "TASKAGENT_PIPELINE_DIR": str(folder / "no-pipelines"),
        "TASKAGENT_PAYLOAD_DIR": "",  # every payload in the history, where the test reads it
    }
    lines: list[str] = []
    with worker_process(settings) as process:
        stdout = process.stdout
        assert stdout is not None

        def drain() -> None:  # or a full pipe would block the worker's logging
            with contextlib.suppress(ValueError, OSError):  # closed when the worker is gone
                lines.extend(stdout)

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + 60
        while not any("worker started" in line for line in lines):
            assert process.poll() is None, "the worker exited:\n" + "".join(lines)
            assert time.monotonic() < deadline, "the worker did not start:\n" + "".join(lines)
            time.sleep(0.1)
        yield process, lines


async def healthy_run(env, queue: str, runs: list[str]) -> str | None:
    """Why the worker is not responsive, or None: a healthy pipeline completes within 10 s."""
    workflow_id = await start(env, queue, runs, request(HEALTHY, {"ping": 1}))
    closed = await outcome(env, workflow_id, wait=FAST)
    if closed.status == "COMPLETED" and closed.seconds <= FAST:
        return None
    return f"the worker is not responsive: a healthy pipeline is {closed}"


async def hostile(env, tmp_path: Path, runs: list[str], *args: Any) -> Hostile:
    """One hostile request on a fresh worker process; then a healthy run and SIGTERM on it."""
    queue = unique("hostile")
    with worker_subprocess(env, queue, tmp_path) as (process, _):
        found = Hostile(await outcome(env, await start(env, queue, runs, *args)))
        found.unhealthy = await healthy_run(env, queue, runs)
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, FAST)
        except subprocess.TimeoutExpired:
            found.ignored_sigterm = True
    return found


# -- the classes -----------------------------------------------------------------------------------
HANGS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "input schema $ref cycle": (
        request(spec(code("a", input="$input.x"), input_schema=CYCLE), {"x": 1}),
        ("$ref",),
    ),
    "output schema $ref cycle": (
        request(spec(agent("a", CYCLE), code("b", depends_on=["a"], input="$steps.a.output.x"))),
        ("$ref",),
    ),
    "catastrophic regex": (
        request(spec(code("a"), input_schema=REGEX), {"s": EVIL}),
        ("input.s", "pattern"),
    ),
    "2,500 unknown dependencies": (  # over the step limit: refused before anything else
        request(spec(*(code(f"s{i}", depends_on=[f"g{i}"]) for i in range(2500)))),
        ("at most 2000",),
    ),
    "2,000 unknown dependencies": (  # at the limit: every dependency checked, cheaply
        request(spec(*(code(f"s{i}", depends_on=[f"g{i}"]) for i in range(2000)))),
        ("'g0'", "and 1900 more"),
    ),
    "1 MB condition of huge integers": (
        request(spec(code("a", condition=HUGE_CONDITION)), {"x": 1}),
        ("condition",),
    ),
}


@pytest.mark.parametrize("name", list(HANGS))
async def test_requests_that_hung_the_worker_fail_fast_and_leave_it_responsive(
    env, tmp_path, runs, name
):
    args, names = HANGS[name]
    found = await hostile(env, tmp_path, runs, args)
    problems = found.problems("InvalidPipeline", *names)
    if problems:
        pytest.fail("\n".join(problems))


class _Schemas(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        _Schemas.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(json.dumps({"enum": ["REMOTE-SECRET-7c1d"]}).encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize("scheme", ["http", "file"])
async def test_schema_refs_outside_the_spec_are_never_fetched(env, tmp_path, runs, scheme):
    _Schemas.hits.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Schemas)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"enum": ["FILE-SECRET-4f9a"]}))
    ref = (
        f"http://127.0.0.1:{server.server_port}/schema.json"
        if scheme == "http"
        else secret.as_uri()
    )
    try:
        found = await hostile(env, tmp_path, runs, request(with_x({"$ref": ref}), {"x": {"y": 1}}))
    finally:
        server.shutdown()
        server.server_close()
    assert _Schemas.hits == [], f"the worker fetched {_Schemas.hits}"
    for token in ("REMOTE-SECRET-7c1d", "FILE-SECRET-4f9a"):
        assert token not in found.run.message, f"the error shows the referenced file: {found.run}"
        assert token not in found.run.history, "the history holds the referenced file's content"
    assert_refused(found.run, "InvalidPipeline", "$ref")


GOOD = request(HEALTHY, {"ping": 1})
ENVELOPES: dict[str, list[Any]] = {
    "no argument": [],
    "two arguments": [GOOD, {}],
    "three arguments": [GOOD, {}, {}],
    "null": [None],
    "bytes": [b"\x00\x01"],
    "protobuf encoding": [Payload(metadata={"encoding": b"binary/protobuf"}, data=b"\x08\x01")],
    "invalid JSON": [Payload(metadata={"encoding": b"json/plain"}, data=b"{nope")],
    "a string": ["healthy"],
    "a list": [[GOOD]],
    "misspelt field": [{"pipelin": HEALTHY}],
    "input not an object": [{"pipeline": HEALTHY, "input": "x"}],
}


@pytest.mark.parametrize("name", list(ENVELOPES))
async def test_envelope_problems_fail_fast_showing_the_expected_shape(env, runs, name):
    queue = unique("envelope")
    async with running_worker(env.client, probes, queue):
        closed = await outcome(env, await start(env, queue, runs, *ENVELOPES[name]))
    assert_refused(closed, "InvalidRequest", SHAPE)


CLI_ENVELOPES: dict[str, list[str]] = {
    "no --input": [],
    "--input null": ["--input", "null"],
    "two --input": ["--input", json.dumps(GOOD), "--input", "{}"],
    "binary/plain encoding": ["--input-meta", "encoding=binary/plain", "--input", "hello"],
}


@pytest.mark.parametrize("name", list(CLI_ENVELOPES))
async def test_envelope_problems_from_the_temporal_cli_fail_fast(env, runs, name):
    queue = unique("cli")
    async with running_worker(env.client, probes, queue):
        closed = await outcome(env, cli_start(env, queue, runs, CLI_ENVELOPES[name]))
    assert_refused(closed, "InvalidRequest", SHAPE)


LEGAL_BOOLEANS: dict[str, dict[str, Any]] = {
    "boolean property": with_x(True),
    "anyOf with a boolean": with_x({"anyOf": [True, {"type": "object"}]}),
    "boolean in $defs": with_x({"$ref": "#/$defs/t"}, **{"$defs": {"t": True}}),
}


@pytest.mark.parametrize("name", list(LEGAL_BOOLEANS))
async def test_legal_boolean_subschemas_run(env, runs, name):
    queue = unique("bool")
    async with running_worker(env.client, probes, queue):
        args = request(LEGAL_BOOLEANS[name], {"x": {"y": 1}})
        closed = await outcome(env, await start(env, queue, runs, args))
    assert closed.status == "COMPLETED" and closed.seconds <= FAST, str(closed)
    assert not closed.task_failures, str(closed)


CRASHES: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "$ref to a list": (with_x({"$ref": "#/required"}, required=[]), ("$ref",)),
    "$ref to a string": (with_x({"$ref": "#/type"}), ("$ref",)),
    "condition nested 5,000 deep": (
        spec(code("a", condition="not " * 5000 + "true")),
        ("condition",),
    ),
    "condition of 100,000 terms": (
        spec(code("a", condition=" + ".join(["input.n"] * 100_000) + " > 1")),
        ("condition",),
    ),
}


@pytest.mark.parametrize("name", list(CRASHES))
async def test_definitions_that_crashed_validation_fail_fast(env, runs, name):
    pipeline, names = CRASHES[name]
    queue = unique("crash")
    async with running_worker(env.client, probes, queue):
        closed = await outcome(env, await start(env, queue, runs, request(pipeline, {"x": 1})))
    assert_refused(closed, "InvalidPipeline", *names)


async def until_settled_or_stuck(env, workflow_id: str, seconds: float) -> Closed:
    """The run once it closes, a workflow task of it fails or times out, or `seconds` pass."""
    handle = env.client.get_workflow_handle(workflow_id)
    stuck = (
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    )
    deadline = time.monotonic() + seconds
    while (await handle.describe()).status == RUNNING and time.monotonic() < deadline:
        history = await handle.fetch_history()
        if any(event.event_type in stuck for event in history.events):
            break
        await asyncio.sleep(1)
    return await outcome(env, workflow_id, wait=0)


async def test_slow_1000_independent_steps_complete_without_a_workflow_task_failure(
    env, tmp_path, runs
):
    """About 30 s. On a worker process: a worker stuck on a huge workflow task cannot stop."""
    queue = unique("wide")
    pipeline = spec(*(code(f"s{i}", input={"i": i}) for i in range(1000)))
    with worker_subprocess(env, queue, tmp_path):
        workflow_id = await start(env, queue, runs, request(pipeline))
        closed = await until_settled_or_stuck(env, workflow_id, 240)
    assert not closed.task_failures, f"a workflow task failed (deadlock detector?): {closed}"
    assert closed.status == "COMPLETED", str(closed)


LARGE: dict[str, dict[str, Any]] = {
    "2,000 independent steps": spec(*(code(f"s{i}") for i in range(2000))),
    "4,000-step fan-out": spec(code("a"), *(code(f"s{i}", depends_on=["a"]) for i in range(4000))),
}


@pytest.mark.parametrize("name", list(LARGE))
async def test_thousands_of_steps_complete_or_are_refused_never_left_running(
    env, tmp_path, runs, name
):
    """Completion, or a refusal within 10 s naming a step limit. A run whose workflow tasks fail
    or time out meanwhile is stuck, and fails the test at once."""
    queue = unique("large")
    with worker_subprocess(env, queue, tmp_path):
        workflow_id = await start(env, queue, runs, request(LARGE[name]))
        closed = await until_settled_or_stuck(env, workflow_id, 300)
    if closed.status == "FAILED":
        assert_refused(closed, "InvalidPipeline", "limit")
    else:
        assert closed.status == "COMPLETED", f"stuck (workflow tasks fail or time out): {closed}"


MEANINGLESS: dict[str, tuple[dict[str, Any], str]] = {
    "pipeline timeout -5": (spec(code("a"), timeout=-5), "timeout"),
    "pipeline timeout -PT5S": (spec(code("a"), timeout="-PT5S"), "timeout"),
    "pipeline timeout P999999999D": (spec(code("a"), timeout="P999999999D"), "timeout"),
    "step timeout -5": (spec(code("a", timeout=-5)), "timeout"),
    "default step timeout -PT1S": (spec(code("a"), defaults={"timeout": "-PT1S"}), "timeout"),
    "approval wait -PT5S": (
        spec({"id": "ok", "kind": "approval", "wait": "-PT5S", "on_timeout": "approve"}),
        "wait",
    ),
    "retry initial_interval -1": (
        spec(code("a", retry={"initial_interval": -1})),
        "initial_interval",
    ),
    "retry max_interval -1": (spec(code("a", retry={"max_interval": -1})), "max_interval"),
    "retry max_interval < initial_interval": (
        spec(code("a", retry={"initial_interval": 10, "max_interval": 1})),
        "max_interval",
    ),
    "default retry max_interval < initial_interval": (
        spec(code("a"), defaults={"retry": {"initial_interval": "PT1M", "max_interval": 1}}),
        "max_interval",
    ),
    "bytes literal": (spec(code("a", condition='b"x" == input.a')), "condition"),
    "Ellipsis literal": (spec(code("a", condition="... == input.a")), "condition"),
    "complex literal": (spec(code("a", condition="1j == input.a")), "condition"),
}


@pytest.mark.parametrize("name", list(MEANINGLESS))
def test_validation_refuses_values_that_mean_nothing(name):
    data, field_name = MEANINGLESS[name]
    with pytest.raises(SpecError) as caught:
        validate_pipeline(data, probes)
    problems = [str(problem) for problem in caught.value.problems]
    assert any(field_name in problem for problem in problems), problems


@pytest.mark.parametrize(
    "name",
    [
        "pipeline timeout -5",
        "pipeline timeout -PT5S",
        "pipeline timeout P999999999D",
        "approval wait -PT5S",
        "retry max_interval < initial_interval",
        "bytes literal",
    ],
)
async def test_runs_with_values_that_mean_nothing_fail_fast(env, runs, name):
    data, field_name = MEANINGLESS[name]
    queue = unique("meaningless")
    async with running_worker(env.client, probes, queue):
        closed = await outcome(env, await start(env, queue, runs, request(data, {"a": "x"})))
    assert_refused(closed, "InvalidPipeline", field_name)


def forged(steps: list[dict[str, Any]], settled: list[str]) -> dict[str, Any]:
    """A `resume` state: a spec never validated, steps recorded COMPLETED with made-up outputs."""
    records = {
        step: {"id": step, "kind": "code", "status": "COMPLETED", "output": {"forged": True}}
        for step in settled
    }
    result = {"pipeline": "forged", "workflow_id": "w", "run_id": "r", "steps": records}
    return {"resolved": {"spec": {"name": "forged", "steps": steps}}, "result": result}


SWITCH = {"id": "s", "kind": "switch", "value": "input.x", "routes": {"y": "nowhere"}}
FORGED: dict[str, dict[str, Any]] = {
    "settled steps and outputs": forged([code("a"), code("b", depends_on=["a"])], ["a", "b"]),
    "a cycle": forged([code("a", depends_on=["b"]), code("b", depends_on=["a"])], []),
    "an unknown switch target": forged([SWITCH], []),
    "an unknown dependency": forged([code("a", depends_on=["ghost"])], []),
}


@pytest.mark.parametrize("name", list(FORGED))
async def test_resume_in_a_fresh_request_is_refused_and_nothing_runs(env, runs, name):
    queue = unique("resume")
    args = request(HEALTHY, {"x": "y"}, resume=FORGED[name])
    async with running_worker(env.client, probes, queue):
        closed = await outcome(env, await start(env, queue, runs, args))
    assert_refused(closed, "InvalidRequest", "resume")
    assert closed.activities == 0, "a step ran"


# -- pure validation, in a child process with a time limit ---------------------------------------
CHILD = """
import json, sys, time
from taskagent.validation import SpecError, check_input, validate_pipeline
from tests.support import probes

case = json.load(sys.stdin)
print("ready", flush=True)


def timed(call):
    started = time.monotonic()
    try:
        value = call()
        kind, detail = "ok", [str(p) for p in value] if isinstance(value, list) else None
    except SpecError as err:
        kind, detail = "SpecError", str(err)[:500]
    except BaseException as err:
        kind, detail = type(err).__name__, str(err)[:500]
    return {"kind": kind, "detail": detail, "seconds": time.monotonic() - started}


report = {"validate": None, "check_input": None}
spec = []
report["validate"] = timed(lambda: spec.append(validate_pipeline(case["data"], probes)))
if spec and case.get("value") is not None:
    report["check_input"] = timed(lambda: check_input(spec[0], case["value"]))
print(json.dumps(report), flush=True)
"""
LIMIT = 2.0


async def validate_in_child(data: dict[str, Any], value: Any = None) -> dict[str, Any]:
    """validate_pipeline (then check_input with `value`) in a child process, killed if it does
    not answer in time: {"validate": {kind, detail, seconds}, "check_input": ... or None}."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    try:
        child.stdin.write(json.dumps({"data": data, "value": value}).encode())
        await child.stdin.drain()
        child.stdin.close()
        ready = await asyncio.wait_for(child.stdout.readline(), 120)  # imports done
        assert ready.strip() == b"ready", (await child.stderr.read()).decode()
        output = b""
        with contextlib.suppress(TimeoutError):
            output = await asyncio.wait_for(child.stdout.read(), 2 * LIMIT + 1)
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()
    assert output.strip(), f"validation did not answer within {2 * LIMIT + 1:.0f} s (killed)"
    return json.loads(output)


HOSTILE_DEFINITIONS: dict[str, tuple[dict[str, Any], Any]] = {
    "input schema $ref cycle": (spec(code("a", input="$input.x"), input_schema=CYCLE), {"x": 1}),
    "property $ref cycle": (with_x({"$ref": "#/$defs/a"}, **{"$defs": CYCLE["$defs"]}), {"x": 1}),
    "output schema $ref cycle": (
        spec(agent("a", CYCLE), code("b", depends_on=["a"], input="$steps.a.output.x")),
        None,
    ),
    "$ref to a list": (with_x({"$ref": "#/required"}, required=[]), {"x": 1}),
    "$ref to a string": (with_x({"$ref": "#/type"}), {"x": 1}),
    "condition nested 5,000 deep": (spec(code("a", condition="not " * 5000 + "true")), None),
    "condition of 100,000 terms": (
        spec(code("a", condition=" + ".join(["input.n"] * 100_000) + " > 1")),
        None,
    ),
    "1 MB condition": (spec(code("a", condition=HUGE_CONDITION)), None),
    "2,500 unknown dependencies": (
        spec(*(code(f"s{i}", depends_on=[f"g{i}"]) for i in range(2500))),
        None,
    ),
    "catastrophic regex, 41 characters": (spec(code("a"), input_schema=REGEX), {"s": EVIL}),
}


@pytest.mark.parametrize("name", list(HOSTILE_DEFINITIONS))
async def test_validating_hostile_definitions_returns_or_raises_spec_error_within_2_s(name):
    data, value = HOSTILE_DEFINITIONS[name]
    report = await validate_in_child(data, value)
    for call in ("validate", "check_input"):
        done = report[call]
        if done is None:
            continue
        assert done["kind"] in ("ok", "SpecError"), (
            f"{call} raised {done['kind']}: {done['detail']}"
        )
        assert done["seconds"] <= LIMIT, f"{call} took {done['seconds']:.1f} s"


@pytest.mark.parametrize("name", list(LEGAL_BOOLEANS))
async def test_legal_boolean_subschemas_validate(name):
    report = await validate_in_child(LEGAL_BOOLEANS[name], {"x": {"y": 1}})
    assert report["validate"]["kind"] == "ok", report["validate"]
    checked = report["check_input"]
    assert checked["kind"] == "ok" and checked["detail"] == [], checked
    assert max(report["validate"]["seconds"], checked["seconds"]) <= LIMIT, report
