"""TaskAgent command line: run pipelines and follow them, validate specs, list, inspect runs.

python starter.py run company_research --input '{"company": "Acme"}'
python starter.py run --file examples/ticket_triage.yaml --input-file ticket.json
python starter.py watch <workflow-id>
python starter.py validate examples/ticket_triage.yaml
python starter.py list
python starter.py status <workflow-id>
python starter.py schema > schemas/pipeline.schema.json
python starter.py chat support-42 --user ada
python starter.py conversations list --user ada
python starter.py audit <workflow-id>
python starter.py codec-server --port 8081
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import os
import sys
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowHistory,
    WorkflowUpdateFailedError,
)
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.exceptions import ApplicationError, CancelledError, FailureError
from temporalio.service import RPCError, RPCStatusCode

from taskagent import runs
from taskagent.audit import AuditTrail
from taskagent.conversation import cli as chat_cli
from taskagent.encryption import EncryptionError, new_key_entry
from taskagent.errors import ErrorType
from taskagent.event_view import EventView
from taskagent.events import TOPICS, EventKind, RunEvent
from taskagent.names import AUDIT_QUERY, FULL_PROGRESS_QUERY, PROGRESS_QUERY
from taskagent.operator import (
    ABORT_STEP,
    DECIDE_APPROVAL,
    RETRY_STEP,
    SKIP_STEP,
    AbortStep,
    ApprovalDecision,
    OperatorReply,
    RetryStep,
    SkipStep,
)
from taskagent.pollers import warn_when_unserved
from taskagent.registry import Registry, RegistryError
from taskagent.render import ICONS, progress_line
from taskagent.results import Identity, PipelineResult, RunProgress, carried_result
from taskagent.serialization import (
    SpecFileError,
    load_spec_file,
    parse_spec_text,
    pipeline_json_schema_text,
    spec_to_json,
    spec_to_yaml,
)
from taskagent.settings import Settings
from taskagent.spec import PipelineSpec
from taskagent.validation import SpecError, validate_pipeline
from worker import build_registry, client_config, connect

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
out = Console()
err = Console(stderr=True, soft_wrap=True)


class UsageError(Exception):
    """Bad command-line input: printed without a traceback, exit code 2."""


# -- input -----------------------------------------------------------------------------------
def read_input(args: argparse.Namespace) -> dict[str, Any]:
    if args.input and args.input_file:
        raise UsageError("give --input or --input-file, not both")
    if args.input_file:
        path = Path(args.input_file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot read {path}: {error.strerror}") from None
        data = parse_spec_text(text, fmt="json" if path.suffix == ".json" else "yaml")
    elif args.input:
        try:
            data = json.loads(args.input)
        except json.JSONDecodeError as error:
            raise UsageError(f"--input is not valid JSON: {error}") from None
    else:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"the pipeline input must be a JSON object, not {type(data).__name__}")
    return data


def load_registry(settings: Settings) -> Registry:
    try:
        return build_registry(settings)
    except RegistryError as error:
        raise UsageError(f"the pipeline registry is invalid:\n{error}") from None


def target(args: argparse.Namespace, registry: Registry) -> str | PipelineSpec:
    """The pipeline to run: a name, or the spec of `--file` (checked here, before anything
    connects, so that its problems are told at once)."""
    if args.file:
        return validate_pipeline(load_spec_file(Path(args.file)), registry)
    if not args.pipeline:
        raise UsageError("name a registered pipeline or give --file SPEC")
    return str(args.pipeline)  # maybe only the worker knows it: it will say if not


# -- rendering -------------------------------------------------------------------------------
def progress_table(result: PipelineResult | RunProgress) -> Table:
    dry = " (DRY RUN)" if isinstance(result, PipelineResult) and result.dry_run else ""
    title = f"{result.pipeline}{dry} — {result.status.value} — {progress_line(result)}"
    table = Table(title=title)
    for column in ("step", "status", "attempts", "ms", "tokens", "USD", "note"):
        table.add_column(column)
    for key, step in result.steps.items():
        note = step.error.message if step.error else step.reason or ""
        if step.waiting:
            note = f"waiting: {step.waiting}"
        if step.cognitive_retries:
            note = f"{step.cognitive_retries} answer(s) corrected. {note}"
        usage = step.usage
        table.add_row(
            key,
            f"{ICONS[step.status]} {step.status.value}",
            str(step.attempts or ""),
            "" if step.duration_ms is None else f"{step.duration_ms:.0f}",
            f"{usage.tokens}" if usage else "",
            f"{usage.cost_usd:.6f}" if usage else "",
            note[:100],
        )
    total = result.cost.total if isinstance(result, PipelineResult) else result.cost
    if total.calls:
        table.caption = f"{total.calls} model calls · {total.tokens} tokens · ${total.cost_usd:.6f}"
        if dry:
            table.caption = f"estimated, had it run: {table.caption}"
    return table


def print_result(result: PipelineResult, as_json: bool, show_steps: bool = False) -> None:
    if as_json:
        out.print_json(result.model_dump_json())
        return
    if show_steps:
        for step in result.steps.values():
            if step.output is not None and step.parent is None:
                out.print(f"[bold]{step.id}[/bold] output")
                out.print_json(json.dumps(step.output, default=str))
    out.print(progress_table(result))
    out.print("[bold]output[/bold]")
    out.print_json(json.dumps(result.output, default=str))


# -- commands --------------------------------------------------------------------------------
async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    registry = load_registry(settings)
    data = read_input(args)
    pipeline = target(args, registry)
    client = await connect(settings)
    handle = await runs.start_run(
        client,
        settings.task_queue,
        registry,
        pipeline,
        data,
        workflow_id=args.id,
        stream=not args.no_stream,
        identity=Identity(user=args.as_user or getpass.getuser(), roles=args.role),
        dry_run=args.dry_run,
    )
    url = settings.run_url(handle.id, handle.result_run_id)
    err.print(f"started [bold]{handle.id}[/bold] — Web UI: {url}", soft_wrap=True)
    if args.dry_run:
        err.print("dry run: no model, tool or side effect; placeholder outputs, estimated cost")
    if args.no_follow:
        out.print(handle.id)
        return EXIT_OK
    code = await follow(client, handle, args, settings.task_queue)
    err.print(f"Web UI: {url}", soft_wrap=True)
    return code


async def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    """Follow a run (running or ended) through its event stream, then print its result."""
    client = await connect(settings)
    handle = client.get_workflow_handle(args.workflow_id, result_type=PipelineResult)
    description = await handle.describe()
    status = description.status.name if description.status else "?"
    err.print(
        f"watching [bold]{handle.id}[/bold] ({status})"
        f" — Web UI: {settings.run_url(handle.id, description.run_id)}",
        soft_wrap=True,
    )
    return await follow(client, handle, args, description.task_queue)


POLL_COOLDOWN = timedelta(milliseconds=200)
SETTLED_EVENTS = {
    EventKind.STEP_COMPLETED,
    EventKind.STEP_FAILED,
    EventKind.STEP_CANCELLED,
    EventKind.STEP_SKIPPED,
}
CHILD_START_WAIT_S = 10.0
"""How long a sub-pipeline step's child run may take to appear before it is not followed."""


async def show_events(
    client: Client, workflow_id: str, view: EventView, raw: bool, start: int = 0, under: str = ""
) -> None:
    """The events of a run and of the sub-pipelines it starts, each followed through its own
    stream as soon as its step starts; a sub-pipeline's steps show under their step's path
    (`company/search`), before the step's own end, and its JSON lines carry its workflow id."""
    children: dict[str, asyncio.Task[None]] = {}
    stream = WorkflowStreamClient.create(client, workflow_id)
    items = stream.subscribe(TOPICS, start, result_type=RunEvent, poll_cooldown=POLL_COOLDOWN)
    try:
        async for item in items:
            event = item.data
            step = event.step or ""
            if event.kind == EventKind.STEP_STARTED and event.step_kind == "pipeline":
                child = f"{workflow_id}/{step}"
                if await _exists(client, child):
                    path = f"{under}{step}/"
                    children[step] = asyncio.create_task(
                        show_events(client, child, view, raw, 0, path)
                    )
            elif step in children and event.kind in SETTLED_EVENTS:
                await children.pop(step)  # the sub-pipeline's events first, then its end
            if under and event.step:
                event = event.model_copy(update={"step": f"{under}{event.step}"})
            if raw:
                line = event.to_json()
                run = f'"workflow_id":{json.dumps(workflow_id)},' if under else ""
                sys.stdout.write(f'{{"offset":{item.offset},{run}{line[1:]}\n')
                sys.stdout.flush()
            else:
                view.show(event)
        await asyncio.gather(*children.values())
    finally:
        for task in children.values():
            task.cancel()


async def _exists(client: Client, workflow_id: str) -> bool:
    """Whether a run appears within CHILD_START_WAIT_S (a child starts just after its step)."""
    deadline = asyncio.get_running_loop().time() + CHILD_START_WAIT_S
    while True:
        try:
            await client.get_workflow_handle(workflow_id).describe()
            return True
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.1)


async def follow(
    client: Client,
    handle: WorkflowHandle[Any, PipelineResult],
    args: argparse.Namespace,
    task_queue: str,
) -> int:
    """Show the run's events as they come (`--events`: as JSON lines on stdout) until the run
    ends and its stream is read, saying so if no worker serves its task queue; print the
    result; the exit code."""
    view = EventView(err, handle.id)

    def say(text: str) -> None:
        err.print(f"[yellow]waiting:[/yellow] {text}", soft_wrap=True, highlight=False)

    watch = asyncio.create_task(warn_when_unserved(client, task_queue, say))
    try:
        await show_events(client, handle.id, view, args.events, getattr(args, "from_offset", 0))
    finally:
        watch.cancel()
        view.close()
    try:
        result = await handle.result()
    except WorkflowFailureError as failure:
        return report_failure(failure, args.json or args.events, args.show_steps, args.events)
    if not args.events:
        print_result(result, args.json, args.show_steps)
    return EXIT_OK


def report_failure(
    failure: WorkflowFailureError, as_json: bool, show_steps: bool = False, quiet: bool = False
) -> int:
    """Print a failed run's result (unless `quiet`) and its error; the exit code."""
    cause = failure.cause
    result = carried_result(failure.cause)
    if result is not None and isinstance(cause, ApplicationError):
        if not quiet:
            print_result(result, as_json, show_steps)
        err.print(f"[red]FAILED[/red] {cause.message}")
        return EXIT_FAILED
    if isinstance(cause, ApplicationError) and cause.type == ErrorType.INVALID_PIPELINE:
        err.print(f"[red]INVALID[/red] {cause.message}")
        return EXIT_INVALID
    if isinstance(cause, CancelledError):
        err.print(f"[yellow]CANCELLED[/yellow] {cause.message or 'the run was cancelled'}")
        return EXIT_FAILED
    err.print(f"[red]FAILED[/red] {cause.message if isinstance(cause, FailureError) else failure}")
    return EXIT_FAILED


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    registry = load_registry(settings)
    spec = validate_pipeline(load_spec_file(Path(args.file)), registry)
    out.print(f"[green]valid[/green] pipeline {spec.name!r}: {len(spec.steps)} steps")
    return EXIT_OK


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    registry = load_registry(settings)
    table = Table(title="registered pipelines")
    for column in ("name", "steps", "source", "description"):
        table.add_column(column)
    for name in registry.pipeline_names():
        description, source = registry.describe(name)
        table.add_row(name, str(len(registry.get_pipeline(name).steps)), source, description)
    out.print(table)
    return EXIT_OK


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    spec = load_registry(settings).get_pipeline(args.pipeline)
    sys.stdout.write(spec_to_yaml(spec) if args.format == "yaml" else spec_to_json(spec))
    return EXIT_OK


async def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    client: Client = await connect(settings)
    handle = client.get_workflow_handle(args.workflow_id, result_type=PipelineResult)
    description = await handle.describe()
    status = description.status
    err.print(
        f"{args.workflow_id}: {status.name if status else '?'} — "
        f"{settings.run_url(args.workflow_id, description.run_id)}"
    )
    if status not in (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.FAILED):
        # Running, or stopped from outside (cancelled, terminated, timed out): the steps come
        # from the run's own record, which a worker reads by replaying it.
        try:
            progress = await handle.query(FULL_PROGRESS_QUERY, result_type=PipelineResult)
        except RPCError as error:
            err.print(f"[yellow]no step records:[/yellow] {error.message}")
            return EXIT_OK if status == WorkflowExecutionStatus.RUNNING else EXIT_FAILED
        print_result(progress, args.json)
        return EXIT_OK if status == WorkflowExecutionStatus.RUNNING else EXIT_FAILED
    try:
        print_result(await handle.result(), args.json)
    except WorkflowFailureError as failure:
        return report_failure(failure, args.json)
    return EXIT_OK


def _json_arg(text: str | None, flag: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{flag} is not valid JSON: {error}") from None


async def cmd_operate(args: argparse.Namespace, settings: Settings) -> int:
    """retry, skip, abort, approve, reject: a validated update to a waiting step."""
    common = {"step": args.step, "comment": args.comment, "by": args.by, "at": datetime.now(UTC)}
    updates: dict[str, Callable[[], tuple[str, BaseModel]]] = {
        "retry": lambda: (
            RETRY_STEP,
            RetryStep(**common, input=_json_arg(args.input, "--input"), model=args.model),
        ),
        "skip": lambda: (SKIP_STEP, SkipStep(**common, output=_json_arg(args.output, "--output"))),
        "abort": lambda: (ABORT_STEP, AbortStep(**common)),
        "approve": lambda: (
            DECIDE_APPROVAL,
            ApprovalDecision(**common, approved=True, payload=_json_arg(args.payload, "--payload")),
        ),
        "reject": lambda: (DECIDE_APPROVAL, ApprovalDecision(**common, approved=False)),
    }
    name, update = updates[args.command]()
    client = await connect(settings)
    handle = client.get_workflow_handle(args.workflow_id)
    try:
        reply = await handle.execute_update(name, update, result_type=OperatorReply)
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        err.print(
            f"[red]refused:[/red] {cause.message if isinstance(cause, FailureError) else error}"
        )
        return EXIT_INVALID
    out.print(f"{reply.step}: {reply.action} — {reply.message}")
    return EXIT_OK


async def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the HTTP API (taskagent/service.py) until interrupted."""
    import uvicorn

    from taskagent.service import create_app

    registry = load_registry(settings)
    client = await connect(settings)
    app = create_app(client, settings, registry)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning")
    err.print(
        f"serving on http://{args.host}:{args.port} (task queue {settings.task_queue}): "
        "POST /runs, GET /runs/<id>, GET /runs/<id>/events",
        soft_wrap=True,
    )
    await uvicorn.Server(config).serve()
    return EXIT_OK


async def cmd_codec_server(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the codec server (taskagent/codec_server.py) until interrupted."""
    import uvicorn

    from taskagent.codec_server import codec_app

    codec = settings.codec()
    if codec is None:
        raise UsageError(
            "no encryption keys: set TASKAGENT_ENCRYPTION_KEYS (or TASKAGENT_ENCRYPTION_KEY_FILE); "
            "`python starter.py encryption-key` makes one"
        )
    origins = [settings.web_ui.rstrip("/"), *args.origin]
    app = codec_app(codec, origins, args.token or os.environ.get("TASKAGENT_CODEC_TOKEN"))
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning")
    err.print(
        f"codec server on http://{args.host}:{args.port} (keys {codec!r}) for {', '.join(origins)}"
        f" — Web UI: Codec Server endpoint http://{args.host}:{args.port}",
        soft_wrap=True,
    )
    await uvicorn.Server(config).serve()
    return EXIT_OK


async def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    """Print who started a run and every tool call of its agents, refusals included."""
    client = await connect(settings)
    trail = await client.get_workflow_handle(args.workflow_id).query(
        AUDIT_QUERY, result_type=AuditTrail
    )
    if args.json:
        sys.stdout.write(trail.model_dump_json(indent=2) + "\n")
        return EXIT_OK
    who = trail.started_by
    started = f"{who.user} (roles: {', '.join(who.roles) or 'none'})" if who else "unknown"
    out.print(f"[bold]{trail.workflow_id}[/bold] ({trail.pipeline}), started by {started}")
    table = Table("step", "tool", "outcome", "ms", "error")
    for call in trail.calls:
        table.add_row(
            call.step, call.tool, call.outcome, f"{call.duration_ms:.0f}", (call.error or "")[:80]
        )
    out.print(table)
    return EXIT_OK


def cmd_encryption_key(args: argparse.Namespace, settings: Settings) -> int:
    """Print a new key entry for TASKAGENT_ENCRYPTION_KEYS."""
    sys.stdout.write(new_key_entry() + "\n")
    return EXIT_OK


async def cmd_record(args: argparse.Namespace, settings: Settings) -> int:
    """Save a run's history as JSON, for replay tests."""
    client = await connect(settings)
    history = await client.get_workflow_handle(args.workflow_id).fetch_history()
    path = Path(args.out or f"tests/histories/{args.workflow_id}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(history.to_json() + "\n")
    out.print(f"recorded {len(history.events)} events of {args.workflow_id} to {path}")
    return EXIT_OK


async def step_records(handle: WorkflowHandle[Any, PipelineResult]) -> dict[str, Any]:
    """The step records of a run: from its result, its failure, or its progress query."""
    description = await handle.describe()
    if description.status == WorkflowExecutionStatus.COMPLETED:
        return dict((await handle.result()).steps)
    if description.status == WorkflowExecutionStatus.FAILED:
        try:
            await handle.result()
        except WorkflowFailureError as failure:
            cause = failure.cause
            if isinstance(cause, ApplicationError) and cause.details:
                with contextlib.suppress(ValueError):
                    return dict(PipelineResult.model_validate(cause.details[0]).steps)
    with contextlib.suppress(RPCError):  # a run stopped otherwise: ask a worker to replay it
        return dict((await handle.query(PROGRESS_QUERY, result_type=RunProgress)).steps)
    return {}


def step_task_event(history: WorkflowHistory, step: str, start_event: int | None) -> int:
    """The id of the WorkflowTaskCompleted event of the task that started `step`."""
    if start_event is not None:
        for event in history.events:
            if event.event_id > start_event and event.HasField(
                "workflow_task_completed_event_attributes"
            ):
                return event.event_id
    # Runs recorded before steps kept their start event: find the step's labelled command.
    for event in history.events:
        summary = (
            event.user_metadata.summary.data.decode() if event.HasField("user_metadata") else ""
        )
        label = json.loads(summary) if summary.startswith('"') else summary
        if not label.startswith(f"{step} · ") and label != f"sub-pipeline step {step}":
            continue
        for kind in (
            "activity_task_scheduled_event_attributes",
            "start_child_workflow_execution_initiated_event_attributes",
        ):
            if event.HasField(kind):
                return int(getattr(event, kind).workflow_task_completed_event_id)
        if event.HasField("marker_recorded_event_attributes"):
            return int(event.marker_recorded_event_attributes.workflow_task_completed_event_id)
    raise UsageError(f"no step {step!r} started in this run (only steps that ran can be re-run)")


async def cmd_rerun(args: argparse.Namespace, settings: Settings) -> int:
    """Reset a run to just before a step started: that step and what follows run again."""
    client = await connect(settings)
    handle = client.get_workflow_handle(args.workflow_id, result_type=PipelineResult)
    history = await handle.fetch_history()
    records = await step_records(handle)
    record = records.get(args.step)
    start_event = record.start_event if record is not None else None
    event_id = step_task_event(history, args.step, start_event)
    run_id = history.events[0].workflow_execution_started_event_attributes.original_execution_run_id
    response = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=args.workflow_id, run_id=run_id),
            reason=args.reason or f"re-run from step {args.step}",
            workflow_task_finish_event_id=event_id,
            request_id=str(uuid.uuid4()),
        )
    )
    out.print(
        f"reset {args.workflow_id} to event {event_id} (before step {args.step!r}); "
        f"new run {response.run_id}"
    )
    err.print(f"Web UI: {settings.run_url(args.workflow_id, response.run_id)}", soft_wrap=True)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
    sys.stdout.write(pipeline_json_schema_text())
    return EXIT_OK


# -- entry point -----------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="starter.py", description=__doc__.split("\n")[0])
    commands = root.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start a pipeline run and follow its progress")
    run.add_argument("pipeline", nargs="?", help="name of a registered pipeline")
    run.add_argument("--file", help="a JSON or YAML spec file instead of a registered name")
    run.add_argument("--input", help="pipeline input as a JSON object")
    run.add_argument("--input-file", help="pipeline input from a JSON or YAML file")
    run.add_argument("--id", help="workflow id (default: <pipeline>-<random>)")
    run.add_argument("--no-follow", action="store_true", help="print the workflow id and exit")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument("--show-steps", action="store_true", help="print every step's output")
    run.add_argument(
        "--no-stream", action="store_true", help="do not publish the models' answers as they come"
    )
    run.add_argument("--events", action="store_true", help="print the events as JSON lines")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="call no model or tool and skip side effects: placeholder outputs, estimated cost",
    )
    run.add_argument("--as", dest="as_user", help="who starts the run (default: your login)")
    run.add_argument(
        "--role", action="append", default=[], help="a role of yours (tools may require one)"
    )

    watch = commands.add_parser("watch", help="follow a run's events, then print its result")
    watch.add_argument("workflow_id")
    watch.add_argument("--from", dest="from_offset", type=int, default=0, help="event offset")
    watch.add_argument("--json", action="store_true", help="print the result as JSON")
    watch.add_argument("--show-steps", action="store_true", help="print every step's output")
    watch.add_argument("--events", action="store_true", help="print the events as JSON lines")

    validate = commands.add_parser("validate", help="check a spec file without running it")
    validate.add_argument("file")

    commands.add_parser("list", help="list the registered pipelines")

    export = commands.add_parser("export", help="print a registered pipeline as YAML or JSON")
    export.add_argument("pipeline")
    export.add_argument("--format", choices=("yaml", "json"), default="yaml")

    status = commands.add_parser("status", help="show a run's status and steps")
    status.add_argument("workflow_id")
    status.add_argument("--json", action="store_true")

    commands.add_parser("schema", help="print the JSON Schema of pipeline specs")

    helps = {
        "retry": "run a paused step again (optionally with another --input or --model)",
        "skip": "complete a paused step with the --output given",
        "abort": "fail a paused step and stop the run",
        "approve": "approve a waiting approval step (optionally with an edited --payload)",
        "reject": "reject a waiting approval step",
    }
    for name, text in helps.items():
        operate = commands.add_parser(name, help=text)
        operate.add_argument("workflow_id")
        operate.add_argument("step")
        operate.add_argument("--comment", default="")
        operate.add_argument("--by", default="", help="who acts, for the record")
        if name == "retry":
            operate.add_argument("--input", help="replacement input, JSON")
            operate.add_argument("--model", help="provider:model for agent and router steps")
        if name == "skip":
            operate.add_argument("--output", required=True, help="the step's output, JSON")
        if name == "approve":
            operate.add_argument("--payload", help="an edited payload, JSON")

    rerun = commands.add_parser(
        "rerun", help="reset a run to just before a step: that step and what follows run again"
    )
    rerun.add_argument("workflow_id")
    rerun.add_argument("--from", dest="step", required=True, help="the step to run again")
    rerun.add_argument("--reason", default="")

    serve = commands.add_parser(
        "serve", help="serve the HTTP API: start runs, read their status, stream their events"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)

    chat_cli.add_parsers(commands)

    codec = commands.add_parser(
        "codec-server", help="decrypt payloads for the Web UI and the temporal CLI"
    )
    codec.add_argument("--host", default="127.0.0.1")
    codec.add_argument("--port", type=int, default=8081)
    codec.add_argument("--origin", action="append", default=[], help="another allowed origin")
    codec.add_argument(
        "--token", help="require Authorization: Bearer <token> (or TASKAGENT_CODEC_TOKEN)"
    )
    commands.add_parser("encryption-key", help="print a new key for TASKAGENT_ENCRYPTION_KEYS")
    audit = commands.add_parser(
        "audit", help="who started a run, and every tool call of its agents (refusals too)"
    )
    audit.add_argument("workflow_id")
    audit.add_argument("--json", action="store_true")

    record = commands.add_parser("record", help="save a run's history for replay tests")
    record.add_argument("workflow_id")
    record.add_argument("--out", help="file (default: tests/histories/<workflow-id>.json)")
    return root


Command = Callable[[argparse.Namespace, Settings], int | Coroutine[Any, Any, int]]
COMMANDS: dict[str, Command] = {
    "run": cmd_run,
    "watch": cmd_watch,
    "serve": cmd_serve,
    "validate": cmd_validate,
    "list": cmd_list,
    "export": cmd_export,
    "status": cmd_status,
    "schema": cmd_schema,
    "record": cmd_record,
    "rerun": cmd_rerun,
    "codec-server": cmd_codec_server,
    "encryption-key": cmd_encryption_key,
    "audit": cmd_audit,
    "chat": lambda args, settings: chat_cli.cmd_chat(args, settings, connect, out, err),
    "conversations": lambda args, settings: chat_cli.cmd_conversations(
        args, settings, connect, out, err
    ),
    **dict.fromkeys(("retry", "skip", "abort", "approve", "reject"), cmd_operate),
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    command = COMMANDS[args.command]
    try:
        result = command(args, settings)
        if isinstance(result, int):
            return result
        return asyncio.run(result)
    except (SpecError, SpecFileError, UsageError, EncryptionError) as error:
        err.print(f"[red]error:[/red] {error}", highlight=False)
        return EXIT_INVALID
    except RuntimeError as error:
        if "connect" in str(error).lower():
            err.print(
                f"[red]error:[/red] cannot reach Temporal at "
                f"{client_config(settings).get('target_host')}: {error}. Start it with `make "
                "server`, or set TEMPORAL_ADDRESS (or a profile: TEMPORAL_PROFILE)."
            )
            return EXIT_FAILED
        raise
    except RPCError as error:
        err.print(f"[red]error:[/red] {error.message}")
        return EXIT_FAILED


def exit_now(code: int) -> NoReturn:
    """Exit with `code` once the output is flushed, skipping the interpreter's finalisation:
    the Temporal client's native runtime can race it at exit and abort (SIGABRT or SIGSEGV)
    after the result was printed, so that a script would see a crash for a finished run."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
