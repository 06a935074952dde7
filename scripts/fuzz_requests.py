"""Send seeded bad start requests to PipelineWorkflow and classify what happens to each.

    .venv/bin/python scripts/fuzz_requests.py --seed 1          # about 1,150 requests
    .venv/bin/python scripts/fuzz_requests.py --count 200 --cli 20 --address 127.0.0.1:7233

Starts a Temporal dev server (unless --address) and worker.py as a subprocess, so a hung worker
cannot hang this script. Requests go through the Python client (raw payloads included) and
`temporal workflow start`. A health-check run that must complete within 10 s tells a hung worker:
the worker is then killed (SIGTERM, then SIGKILL), its open runs terminated, and the cases in
flight tried one at a time to find the culprit. Requests known to be hostile run alone from the
start. Each outcome is classified; leftovers are terminated; a table and the worst cases follow.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import RawValue
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from taskagent.settings import Settings  # noqa: E402
from worker import build_registry  # noqa: E402

BIN = ROOT / ".venv" / "bin"
WORKFLOW = "PipelineWorkflow"
FAST = 10.0
RUNNING = WorkflowExecutionStatus.RUNNING
GOOD = ["failed fast, clean", "refused at start", "valid: ok"]
BAD = ["worker hung", "leaked $ref", "left RUNNING", "COMPLETED invalid", "failed slowly"]
BAD += ["unclear error", "valid but failed", "other"]
KINDS = ["wrong-type", "missing-field", "unknown-field", "bad-reference", "bad-duration"]
KINDS += ["hostile-schema", "hostile-condition"]

# -- what to send ----------------------------------------------------------------------------------
DEFS = {"a": {"$ref": "#/$defs/a"}, "t": True}
SCHEMAS: dict[str, tuple[str, Any]] = {  # name: (review class, the schema of input field x)
    "$ref cycle": ("worker-hang", {"$ref": "#/$defs/a"}),
    "catastrophic regex": ("worker-hang", {"type": "string", "pattern": "^(a+)+$"}),
    "output $ref cycle": ("worker-hang", None),
    "http $ref": ("security", "http"),
    "file $ref": ("security", "file"),
    "bool property": ("validation-crash", True),
    "bool anyOf": ("validation-crash", {"anyOf": [True, {"type": "object"}]}),
    "bool $defs": ("validation-crash", {"$ref": "#/$defs/t"}),
    "$ref to list": ("validation-crash", {"$ref": "#/required"}),
    "$ref to string": ("validation-crash", {"$ref": "#/type"}),
    "not a schema": ("hostile-schema", {"type": "nope"}),
}
CONDITIONS: dict[str, tuple[str, str]] = {  # name: (review class, condition)
    "5,000 deep": ("validation-crash", "not " * 5000 + "true"),
    "100,000 terms": ("validation-crash", " + ".join(["input.n"] * 100_000) + " > 1"),
    "1 MB of huge ints": ("worker-hang", "input.x == " + " * ".join(["9" * 4000] * 250)),
    "bytes literal": ("accepted-wrong", 'b"x" == input.x'),
    "ellipsis literal": ("accepted-wrong", "... == input.x"),
    "complex literal": ("accepted-wrong", "1j == input.x"),
    "import": ("hostile-condition", "__import__('os').system('id')"),
    "dunder": ("hostile-condition", "input.__class__"),
    "lambda": ("hostile-condition", "(lambda: 1)()"),
    "call": ("hostile-condition", "len(input) > 2"),
    "comprehension": ("hostile-condition", "[x for x in input]"),
    "walrus": ("hostile-condition", "(x := 1)"),
    "power": ("hostile-condition", "2 ** 99999999"),
    "string bomb": ("hostile-condition", "'a' * 1000000000 == input.x"),
    "division by zero": ("hostile-condition", "1 / 0 == input.x"),
    "unknown name": ("hostile-condition", "foo == 1"),
    "syntax": ("hostile-condition", "input.x =="),
    "5,000 digits": ("hostile-condition", "9" * 5000 + " == input.n"),
}
RISKY = {"$ref cycle", "catastrophic regex", "output $ref cycle", "1 MB of huge ints"}
VALID = {"bool property", "bool anyOf", "bool $defs"}
DURATIONS = [-5, "-PT5S", "P999999999D", "PT", "five minutes", "P1Y2X", 1e300, -0.001, "-P1D"]
ENVELOPES: dict[str, tuple[list[Any], tuple[str, ...]]] = {  # client arguments, hints
    "no argument": ([], ("argument",)),
    "two arguments": ([{"pipeline": "ticket_triage"}, {}], ("argument",)),
    "three arguments": ([{"pipeline": "ticket_triage"}, {}, {}], ("argument",)),
    "null": ([None], ("null", "none")),
    "bytes": ([b"\x00\x01"], ("bytes", "binary")),
    "protobuf encoding": ([Payload(metadata={"encoding": b"binary/protobuf"})], ("encoding",)),
    "yaml encoding": ([Payload(metadata={"encoding": b"text/yaml"}, data=b"a: b")], ("encoding",)),
    "invalid JSON": ([Payload(metadata={"encoding": b"json/plain"}, data=b"{no")], ("json",)),
    "a string": (["ticket_triage"], ("object",)),
    "a list": ([[1, 2]], ("object",)),
    "pipeline=5": ([{"pipeline": 5}], ("pipeline",)),
    "input string": ([{"pipeline": "ticket_triage", "input": "x"}], ("input",)),
    "typo": ([{"pipelin": "ticket_triage"}], ("pipelin",)),
}
CLI_ENVELOPES: dict[str, list[str]] = {
    "no --input": [],
    "null": ["-i", "null"],
    "two inputs": ["-i", "{}", "-i", "{}"],
    "a string": ["-i", '"ticket_triage"'],
    "a number": ["-i", "42"],
    "binary/plain": ["--input-meta", "encoding=binary/plain", "-i", "hello"],
    "yaml": ["--input-meta", "encoding=text/yaml", "-i", "pipeline: x"],
    "base64 garbage": ["--input-base64", "-i", "////"],
}
CONTACT = {"email": "ana@acme.io", "company": "Acme", "x": "a" * 40 + "!", "n": 1}


@dataclass
class Case:
    cls: str
    name: str
    args: list[Any] | None = None  # client arguments (a Payload goes raw); None: `cli` instead
    hints: tuple[str, ...] = ("pipeline",)  # a clear error names one of these
    cli: list[str] | None = None
    valid: bool = False
    risky: bool = False  # may hang the worker: run alone, with a health check
    deadline: float = 30.0
    leak_path: str | None = None  # the fake HTTP server must never see this path
    secret: str | None = None  # must appear nowhere in the history
    cleared: bool = False  # proven not to hang the worker when run alone


@dataclass
class Outcome:
    case: Case
    verdict: str
    elapsed: float = 0.0
    status: str = ""
    error: str = ""
    message: str = ""
    contract: bool = False  # FAILED fast, InvalidRequest/InvalidPipeline, non-retryable, no WFT


def code(step_id: str, function: str = "lead_score", **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": "code", "function": function, **extra}


def bases() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Valid requests to mutate: registered pipelines exported inline, and a few more."""
    registry = build_registry(Settings())
    dump = {"mode": "json", "exclude_defaults": True}
    ticket = registry.get_pipeline("ticket_triage").model_dump(**dump)  # type: ignore[arg-type]
    facts = registry.get_pipeline("company_facts").model_dump(**dump)  # type: ignore[arg-type]
    approve = {"id": "ok", "kind": "approval", "depends_on": ["a"], "on_timeout": "approve"}
    agent = {"id": "think", "kind": "agent", "goal": "Greet.", "output_schema": {"type": "object"}}
    return [
        (ticket, {"text": "refund please"}),
        (facts, {"company": "Acme"}),
        ({"name": "approve_it", "steps": [code("a"), {**approve, "wait": "PT1S"}]}, CONTACT),
        ({"name": "agentic", "steps": [agent, code("a")]}, CONTACT),
        ({"name": "p", "steps": [code("a")]}, CONTACT),
    ]


def hostile_schema(name: str, spec: dict[str, Any], fuzzer: Fuzzer) -> None:
    """Give input field x the schema `name`, and a condition that follows a path through it."""
    fragment = SCHEMAS[name][1]
    if fragment is None:  # an output schema instead
        cycle = {"$ref": "#/$defs/a", "$defs": DEFS}
        spec["steps"].append({"id": "loop", "kind": "agent", "output_schema": cycle})
        spec["steps"].append(code("after", depends_on=["loop"], input="$steps.loop.output.x"))
        return
    if fragment in ("http", "file"):
        fragment = {"$ref": fuzzer.remote_ref() if fragment == "http" else fuzzer.secret_file()}
    schema = spec.setdefault("input_schema", {"type": "object"})
    schema.setdefault("properties", {})["x"] = fragment
    schema.setdefault("required", [])
    schema["$defs"] = DEFS
    spec["steps"][0]["condition"] = "input.x.y == null"


def mutate(rng: random.Random, kind: str, request: dict[str, Any], fuzzer: Fuzzer) -> Case:
    """Break a valid request in one way of `kind`."""
    spec = request["pipeline"]
    steps: list[dict[str, Any]] = spec["steps"]
    step, first, last = rng.choice(steps), steps[0], steps[-1]
    ghost = f"ghost_{rng.randrange(10**6)}"
    if kind == "wrong-type":
        where, key, bad = rng.choice([
            (spec, "name", [5, [], None, "bad name!"]), (spec, "steps", [{}, "x", 3, []]),
            (spec, "max_concurrency", ["three", 0, 1.5]), (spec, "on_failure", ["maybe", 1]),
            (spec, "constraints", ["be nice", [1]]), (spec, "budget", ["lots", {"usd": -1}]),
            (spec, "input_schema", ["object", 5]), (step, "id", [5, "", "has space", "x" * 101]),
            (step, "kind", [5, "llm", None]), (step, "depends_on", ["a", 5, [5]]),
            (step, "condition", [5, [], "steps.("]), (step, "trigger", ["whenever", 3]),
            (step, "on_error", ["explode"]), (step, "retry", ["often", {"max_attempts": 0}]),
            (request, "input", ["x", 5, [1]]), (request, "pipeline", [5, None, ["p"]]),
        ])  # fmt: skip
        where[key] = rng.choice(bad)
        return Case(kind, f"{key}={where[key]!r}"[:60], hints=(key,))
    if kind == "missing-field":
        options = [(spec, "name"), (spec, "steps"), (step, "id"), (step, "kind")]
        options += [(s, k) for s in steps for k in ("function", "routes") if k in s]
        where, key = rng.choice(options)
        del where[key]
        return Case(kind, f"no {key}", hints=(key,))
    if kind == "unknown-field":
        rng.choice([request, spec, step, step.setdefault("retry", {})])[ghost] = 1
        return Case(kind, "unknown field", hints=(ghost,))
    if kind == "bad-duration":
        value, retry, defaults = rng.choice(DURATIONS), step.setdefault("retry", {}), {}
        where, key, label = rng.choice([
            (spec, "timeout", "pipeline"), (step, "timeout", "step"),
            (spec.setdefault("defaults", defaults), "timeout", "defaults"),
            (retry, "initial_interval", "retry"), (retry, "max_interval", "retry"),
        ])  # fmt: skip
        where[key] = value
        return Case(kind, f"{label} {key}={value!r}", hints=(key, "interval"))
    if kind == "hostile-schema":  # the ones that hang the worker cost a minute each: fewer
        name = rng.choices(list(SCHEMAS), [0.25 if n in RISKY else 1 for n in SCHEMAS])[0]
        hostile_schema(name, spec, fuzzer)
        request["input"]["x"] = CONTACT["x"]  # validated against the hostile schema
        return Case(kind, name, None, ("$ref", "input"), valid=name in VALID, risky=name in RISKY)
    if kind == "hostile-condition":
        name = rng.choices(list(CONDITIONS), [0.25 if n in RISKY else 1 for n in CONDITIONS])[0]
        step["condition"] = CONDITIONS[name][1]
        return Case(kind, name, hints=("condition",), risky=name in RISKY)
    variant = rng.choice(
        ["dependency", "input", "condition", "switch", "function", "pipeline", "cycle"]
    )
    if variant == "dependency":
        step.setdefault("depends_on", []).append(ghost)
    elif variant == "input":
        step["input"] = f"$steps.{ghost}.output"
    elif variant == "condition":
        step["condition"] = f"steps.{ghost}.output == 1"
    elif variant == "switch":
        steps.append({"id": "sw", "kind": "switch", "value": "input.x", "routes": {"a": ghost}})
    elif variant == "function":
        steps.append(code("fn", ghost))
    elif variant == "pipeline":
        steps.append({"id": "sub", "kind": "pipeline", "pipeline": ghost})
    elif first is not last:  # a cycle
        first["depends_on"], last["depends_on"], ghost = [last["id"]], [first["id"]], "cycle"
    else:
        steps.append(copy.deepcopy(first))
        variant, ghost = "duplicate", "duplicate"
    return Case("bad-reference", variant, hints=(ghost,))


def fixed_cases(fuzzer: Fuzzer) -> list[Case]:
    """Each class the review found, once, on the smallest pipeline."""

    def req(steps: list[dict[str, Any]], **fields: Any) -> list[Any]:
        return [{"pipeline": {"name": "p", "steps": steps, **fields}, "input": CONTACT}]

    cases = [Case("envelope", n, a, hints=h) for n, (a, h) in ENVELOPES.items()]
    hints = ("argument", "encoding", "object", "null")
    cases += [Case("envelope", f"cli {n}", None, hints, a) for n, a in CLI_ENVELOPES.items()]
    for name, (cls, _) in SCHEMAS.items():
        spec = {"name": "p", "steps": [code("a")]}
        hostile_schema(name, spec, fuzzer)
        request = [{"pipeline": spec, "input": CONTACT}]
        cases.append(
            Case(cls, name, request, ("$ref", "input"), None, name in VALID, name in RISKY)
        )
    for name, (cls, text) in CONDITIONS.items():
        cases.append(Case(cls, name, req([code("a", condition=text)]), ("condition",)))
        cases[-1].risky = name in RISKY
    unknown = [code(f"s{i}", depends_on=[f"g{i}"]) for i in range(2500)]
    cases.append(Case("worker-hang", "2,500 unknown deps", req(unknown), ("g0",), risky=True))
    for name, steps in [
        ("1,000 independent", [code(f"s{i}") for i in range(1000)]),
        ("2,000 independent", [code(f"s{i}") for i in range(2000)]),
        ("4,000 fan-out", [code("a"), *(code(f"s{i}", depends_on=["a"]) for i in range(4000))]),
    ]:
        cases.append(Case("large-valid", name, req(steps), valid=True, risky=True, deadline=60))
    for name, top, own in [
        ("timeout -5", {"timeout": -5}, {}), ("timeout -PT5S", {"timeout": "-PT5S"}, {}),
        ("timeout P999999999D", {"timeout": "P999999999D"}, {}),
        ("step timeout -5", {}, {"timeout": -5}),
        ("retry interval -1", {}, {"retry": {"initial_interval": -1}}),
        ("retry intervals inverted", {}, {"retry": {"initial_interval": 10, "max_interval": 1}}),
    ]:  # fmt: skip
        cases.append(Case("accepted-wrong", name, req([code("a", **own)], **top), ("timeout",)))
        cases[-1].hints += ("interval",)
    wait = {"id": "ok", "kind": "approval", "wait": "-PT5S", "on_timeout": "approve"}
    cases.append(Case("accepted-wrong", "approval wait -PT5S", req([wait]), ("wait",)))
    switch = {"id": "s", "kind": "switch", "value": "input.x", "routes": {"y": "nowhere"}}
    for name, steps, settled in [
        ("forged outputs", [code("a"), code("b", depends_on=["a"])], ["a", "b"]),
        ("forged cycle", [code("a", depends_on=["b"]), code("b", depends_on=["a"])], []),
        ("unknown switch target", [switch], []),
        ("unknown dependency", [code("a", depends_on=["ghost"])], []),
    ]:
        records = {
            s: {"id": s, "kind": "code", "status": "COMPLETED", "output": 1} for s in settled
        }
        result = {"pipeline": "f", "workflow_id": "w", "run_id": "r", "steps": records}
        resume = {"resolved": {"spec": {"name": "f", "steps": steps}}, "result": result}
        request = {"pipeline": "ticket_triage", "input": {"x": "y"}, "resume": resume}
        cases.append(Case("resume", name, [request], ("resume",)))
    return cases


def generate(seed: int, count: int, cli: int, fuzzer: Fuzzer) -> list[Case]:
    """The fixed cases, then `count` mutations via the client and the rest of `cli` via the CLI."""
    rng = random.Random(seed)
    cases, base = fixed_cases(fuzzer), bases()
    for index in range(count + cli - len(CLI_ENVELOPES)):
        spec, data = copy.deepcopy(rng.choice(base))
        request = {"pipeline": spec, "input": data}
        case = mutate(rng, rng.choices(KINDS, weights=[5, 4, 4, 6, 5, 3, 3])[0], request, fuzzer)
        if index < count:
            case.args = [request]
        else:
            case.cli, case.name = ["--input", json.dumps(request)], f"cli {case.name}"
        cases.append(case)
    for case in cases:  # which fake URL or secret file each request points at
        text = json.dumps(case.args or case.cli, default=str)
        case.leak_path = next((p for p in fuzzer.paths if p in text), None)
        case.secret = next((t for path, t in fuzzer.secrets.items() if path in text), None)
    return cases


# -- running them ----------------------------------------------------------------------------------
class FakeServer(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        FakeServer.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(json.dumps({"enum": [f"REMOTE{self.path}"]}).encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Fuzzer:
    def __init__(self, folder: Path, address: str, queue: str, window: int) -> None:
        self.folder, self.address, self.queue, self.window = folder, address, queue, window
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), FakeServer)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.paths: list[str] = []
        self.secrets: dict[str, str] = {}
        self.worker: subprocess.Popen[bytes] | None = None
        self.client: Client | None = None
        self.outcomes: list[Outcome] = []
        self.restarts = self.sigterm_ignored = 0

    def remote_ref(self) -> str:
        self.paths.append(path := f"/schema-{len(self.paths)}.json")
        return f"http://127.0.0.1:{self.http.server_port}{path}"

    def secret_file(self) -> str:
        path = self.folder / f"secret-{len(self.secrets)}.json"
        self.secrets[str(path)] = token = f"FILESECRET-{uuid.uuid4().hex[:12]}"
        path.write_text(json.dumps({"enum": [token]}))
        return path.as_uri()

    def start_worker(self) -> None:
        log = self.folder / f"worker-{self.restarts}.log"
        env = {**os.environ, "TEMPORAL_ADDRESS": self.address, "TASKAGENT_TASK_QUEUE": self.queue}
        env["TASKAGENT_PAYLOAD_DIR"] = str(self.folder / "payloads")
        env["TASKAGENT_LOG_FORMAT"] = "json"  # console logs render huge locals in tracebacks
        with log.open("wb") as out:
            command = [str(BIN / "python"), "worker.py"]
            self.worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
        deadline = time.monotonic() + 60
        while b"worker started" not in log.read_bytes():
            if self.worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start: see {log}")
            time.sleep(0.2)

    def stop_worker(self) -> None:
        """SIGTERM, then SIGKILL after 10 s (a hung worker ignores SIGTERM)."""
        if self.worker is None or self.worker.poll() is not None:
            return
        self.worker.send_signal(signal.SIGTERM)
        try:
            self.worker.wait(10)
        except subprocess.TimeoutExpired:
            self.sigterm_ignored += 1
            self.worker.kill()
            self.worker.wait(10)

    async def restart_worker(self, open_ids: list[str]) -> None:
        await self.terminate_all(open_ids)  # or the new worker replays them and hangs again
        self.stop_worker()
        self.restarts += 1
        await asyncio.to_thread(self.start_worker)

    async def terminate_all(self, workflow_ids: list[str]) -> None:
        for workflow_id in workflow_ids:
            await self.terminate(workflow_id)

    async def terminate(self, workflow_id: str) -> None:
        assert self.client is not None
        handle = self.client.get_workflow_handle(workflow_id)
        try:
            if (await handle.describe()).status == RUNNING:
                await handle.terminate("fuzz_requests: leftover")
        except Exception:  # closed meanwhile, or never started
            pass

    async def start(self, case: Case, workflow_id: str) -> str | None:
        """Start the case's run; why it was refused at once, if it was."""
        assert self.client is not None
        try:
            if case.cli is None:
                args = [RawValue(a) if isinstance(a, Payload) else a for a in case.args or []]
                await self.client.start_workflow(
                    WORKFLOW, args=args, id=workflow_id, task_queue=self.queue
                )
                return None
            options = ["--type", WORKFLOW, "--task-queue", self.queue, "--workflow-id", workflow_id]
            process = await asyncio.create_subprocess_exec(
                str(BIN / "temporal"), "workflow", "start", "--address", self.address, *options,
                *case.cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
            _, err = await process.communicate()
            return err.decode()[-300:] if process.returncode else None
        except Exception as err:
            return f"{type(err).__name__}: {err}"

    async def observe(self, case: Case, workflow_id: str) -> Outcome:
        """Start the case's run, wait until it closes or its deadline passes, classify it."""
        assert self.client is not None
        refused = await self.start(case, workflow_id)
        if refused is not None:
            return Outcome(case, "refused at start", message=refused)
        handle = self.client.get_workflow_handle(workflow_id)
        started = time.monotonic()
        while (description := await handle.describe()).status == RUNNING:
            if time.monotonic() - started > case.deadline:
                await handle.terminate("fuzz_requests: left running")
                break
            await asyncio.sleep(0.25)
        elapsed = time.monotonic() - started
        if description.close_time is not None:
            elapsed = (description.close_time - description.start_time).total_seconds()
        status = description.status.name if description.status else "?"
        history = await handle.fetch_history()
        outcome = Outcome(case, "", elapsed, status)
        task_failures = [
            e.workflow_task_failed_event_attributes.failure.message
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]
        last = history.events[-1]
        if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            failure = last.workflow_execution_failed_event_attributes.failure
            info = failure.application_failure_info
            outcome.error, outcome.message = info.type or "?", failure.message
            contract = info.type in ("InvalidRequest", "InvalidPipeline") and info.non_retryable
            outcome.contract = contract and elapsed <= FAST and not task_failures
        elif task_failures:
            outcome.message = f"workflow task failed: {task_failures[0]}"
        leaked = case.leak_path is not None and case.leak_path in FakeServer.hits
        leaked |= case.secret is not None and case.secret in history.to_json()
        outcome.verdict = verdict(case, outcome, leaked)
        return outcome

    async def healthy(self) -> bool:
        """A registered pipeline must complete within 10 s on the worker."""
        assert self.client is not None
        workflow_id = f"health-{uuid.uuid4().hex[:8]}"
        request = {"pipeline": "ticket_triage", "input": {"text": "are you alive?"}}
        handle = await self.client.start_workflow(
            WORKFLOW, request, id=workflow_id, task_queue=self.queue
        )
        deadline = time.monotonic() + FAST
        while time.monotonic() < deadline:
            if (status := (await handle.describe()).status) != RUNNING:
                return status == WorkflowExecutionStatus.COMPLETED
            await asyncio.sleep(0.25)
        await self.terminate(workflow_id)
        return False

    async def alone(self, case: Case, full: bool) -> Outcome | None:
        """Run one case with the worker to itself. Unless `full`, only to learn whether it hangs
        the worker (a busy worker gets a second chance): None when it does not."""
        workflow_id = f"fuzz-{uuid.uuid4().hex[:10]}"
        task = asyncio.create_task(self.observe(case, workflow_id))
        done, _ = await asyncio.wait([task], timeout=3)
        if not done and not full:
            hung = not await self.healthy() and not await self.healthy()
            task.cancel()
            await (self.restart_worker if hung else self.terminate_all)([workflow_id])
            return Outcome(case, "worker hung", status="RUNNING") if hung else None
        outcome = await task
        deaf = outcome.verdict != "refused at start" and not await self.healthy()
        if deaf and not await self.healthy():
            await self.restart_worker([])  # deaf after the run: hung, or busy with its leftovers
            outcome.verdict = "worker hung"
            outcome.message = f"deaf to 2 health checks after it; {outcome.message}"
        elif case.risky and outcome.elapsed > FAST:
            await self.restart_worker([])  # a clean worker for the next case
        return outcome

    async def sweep(self, cases: list[Case]) -> None:
        """Hostile cases alone, the others `window` at a time; find who hangs the worker."""
        queue = [c for c in cases if not c.risky]
        for case in cases:
            if case.risky and (outcome := await self.alone(case, full=True)) is not None:
                self.record(outcome)
        while queue:
            for suspect in await self.windowed(queue):
                outcome = await self.alone(suspect, full=False)
                self.record(outcome) if outcome is not None else queue.append(suspect)
                suspect.cleared = True  # does not hang the worker alone: never a suspect again

    async def windowed(self, queue: list[Case]) -> list[Case]:
        """Run cases `window` at a time; when the worker hangs (deaf to two health checks in a
        row), the cases in flight that might have done it."""
        running: dict[asyncio.Task[Outcome], tuple[Case, str]] = {}
        health: asyncio.Task[bool] | None = None
        next_check = time.monotonic() + 3
        while queue or running:
            while queue and len(running) < self.window:
                case, workflow_id = queue.pop(0), f"fuzz-{uuid.uuid4().hex[:10]}"
                running[asyncio.create_task(self.observe(case, workflow_id))] = (case, workflow_id)
            done, _ = await asyncio.wait(running, timeout=0.5, return_when="FIRST_COMPLETED")
            for task in done:
                running.pop(task)
                self.record(task.result())
            if health is None and time.monotonic() > next_check:
                health = asyncio.create_task(self.healthy())
            if health is not None and health.done():
                suspects = [case for case, _ in running.values() if not case.cleared]
                if not health.result() and suspects and not await self.healthy():
                    for task in running:
                        task.cancel()
                    await self.restart_worker([workflow_id for _, workflow_id in running.values()])
                    queue += [case for case, _ in running.values() if case.cleared]
                    return suspects
                health, next_check = None, time.monotonic() + 3
        if health is not None:
            health.cancel()
        return []

    def record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        case = outcome.case
        print(f"[{len(self.outcomes):4}] {case.cls:17} {outcome.verdict:18} "
              f"{outcome.elapsed:5.1f}s {case.name[:50]}", flush=True)  # fmt: skip


def verdict(case: Case, outcome: Outcome, leaked: bool) -> str:
    status, message = outcome.status, outcome.message.lower()
    if leaked:
        return "leaked $ref"
    if status == "RUNNING":
        return "left RUNNING"
    if case.valid:
        limit = status == "FAILED" and "limit" in message and outcome.elapsed <= FAST
        return "valid: ok" if status == "COMPLETED" or limit else "valid but failed"
    if status != "FAILED":
        return "COMPLETED invalid" if status == "COMPLETED" else "other"
    if outcome.elapsed > FAST:
        return "failed slowly"
    clear = any(hint.lower() in message for hint in case.hints)
    return "failed fast, clean" if clear else "unclear error"


SHORT = {"failed fast, clean": "fast+clear", "refused at start": "refused", "valid: ok": "valid ok",
         "worker hung": "HUNG", "leaked $ref": "LEAK", "left RUNNING": "RUNNING",
         "COMPLETED invalid": "COMPLETED", "failed slowly": "slow", "unclear error": "unclear",
         "valid but failed": "valid fail", "other": "other"}  # fmt: skip


def report(fuzzer: Fuzzer, examples: int) -> None:
    outcomes = fuzzer.outcomes
    columns = [v for v in GOOD + BAD if any(o.verdict == v for o in outcomes)]
    classes = sorted({o.case.cls for o in outcomes})
    header = "".join(f"{SHORT[c]:>11}" for c in columns)
    print(f"\n{'class':18}{header}{'total':>7}{'contract':>9}")
    for cls in [*classes, "ALL"]:
        mine = [o for o in outcomes if cls in ("ALL", o.case.cls)]
        cells = "".join(f"{sum(o.verdict == v for o in mine):>11}" for v in columns)
        print(f"{cls:18}{cells}{len(mine):>7}{sum(o.contract for o in mine):>9}")
    print("\n" + "; ".join(f"{SHORT[c]} = {c}" for c in columns))
    print("contract: FAILED within 10 s by a non-retryable InvalidRequest or InvalidPipeline, with")
    print("no WorkflowTaskFailed event (what tests/test_bad_requests.py asks of every bad request)")
    print(f"worker restarts: {fuzzer.restarts}; SIGTERM ignored: {fuzzer.sigterm_ignored}")
    worst = [o for o in outcomes if o.verdict in BAD]
    worst.sort(key=lambda o: (BAD.index(o.verdict), -o.elapsed))
    seen: set[tuple[str, str]] = set()
    print("\nworst examples (one per outcome and class):")
    for outcome in worst:
        key = (outcome.verdict, outcome.case.cls)
        if key in seen or len(seen) >= examples:
            continue
        seen.add(key)
        detail = outcome.message.splitlines()[0][:110] if outcome.message else ""
        print(f"- [{outcome.verdict}] {outcome.case.cls}: {outcome.case.name[:45]} "
              f"({outcome.elapsed:.1f} s, {outcome.error or outcome.status}) {detail}")  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=1050, help="mutations sent by the client")
    parser.add_argument("--cli", type=int, default=50, help="requests sent by the temporal CLI")
    parser.add_argument("--window", type=int, default=8, help="runs in flight at once")
    parser.add_argument("--address", help="an existing server (default: start a dev server)")
    parser.add_argument("--examples", type=int, default=30, help="worst cases to show")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fuzz-requests-"))
    server: subprocess.Popen[bytes] | None = None
    address = args.address
    if address is None:
        address = f"127.0.0.1:{free_port()}"
        command = [str(BIN / "temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
        command += ["--port", address.split(":")[1], "--log-level", "error"]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    quiet = Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter="ERROR")))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the worker and server too
    fuzzer = Fuzzer(folder, address, f"fuzz-{args.seed}-{uuid.uuid4().hex[:6]}", args.window)
    try:
        for attempt in range(120):
            try:
                fuzzer.client = await Client.connect(
                    address, data_converter=pydantic_data_converter, runtime=quiet
                )
                break
            except RuntimeError:
                if attempt == 119:
                    raise
                await asyncio.sleep(0.5)
        cases = generate(args.seed, args.count, args.cli, fuzzer)
        print(f"{len(cases)} requests (seed {args.seed}); files in {folder}", flush=True)
        await asyncio.to_thread(fuzzer.start_worker)
        await fuzzer.sweep(cases)
        report(fuzzer, args.examples)
    finally:
        fuzzer.stop_worker()
        fuzzer.http.shutdown()
        if server is not None:
            server.terminate()
            server.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
