"""Quick response, then asynchronous processing (seed 12.4): a small HTTP service over Temporal.

    POST /runs                 {"pipeline": "<name or spec>", "input": {...}}  -> 202, the run's id
    GET  /runs/{id}            its status, and its result (or progress) so far
    GET  /runs/{id}/events     its events as Server-Sent Events, resumable (Last-Event-ID, ?from=)

A Starlette application, served by uvicorn (`python starter.py serve`). The service keeps no state
of its own: runs live in Temporal, events in each run's stream, so any number of service
processes can answer for the same runs, and a restarted one picks up where the clients are.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.client import Client
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.service import RPCError, RPCStatusCode

from taskagent.events import TOPICS, RunEvent
from taskagent.registry import Registry
from taskagent.results import Identity
from taskagent.runs import run_state, start_run
from taskagent.settings import Settings
from taskagent.validation import SpecError

POLL_COOLDOWN = timedelta(milliseconds=200)
KEEPALIVE_S = 15
"""A comment line this often keeps proxies from closing a quiet event stream."""


def create_app(client: Client, settings: Settings, registry: Registry) -> Starlette:
    """The service's ASGI application, starting runs on `settings.task_queue`."""

    async def post_run(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError as err:
            return _problem(400, f"the body is not JSON: {err}")
        if not isinstance(body, dict) or not isinstance(body.get("pipeline"), str | dict):
            return _problem(400, 'expected {"pipeline": "<name or spec>", "input": {...}}')
        data = body.get("input", {})
        if not isinstance(data, dict):
            return _problem(400, "`input` must be a JSON object")
        dry_run = body.get("dry_run", False)
        if not isinstance(dry_run, bool):
            return _problem(400, "`dry_run` must be true or false")
        try:
            handle = await start_run(
                client,
                settings.task_queue,
                registry,
                body["pipeline"],
                data,
                workflow_id=body.get("id"),
                stream=bool(body.get("stream", True)),
                identity=identity_of(request),
                dry_run=dry_run,
            )
        except SpecError as err:
            return _problem(422, str(err), [str(p) for p in err.problems])
        except RPCError as err:
            if err.status == RPCStatusCode.ALREADY_EXISTS:
                return _problem(409, err.message)
            raise
        run = f"/runs/{handle.id}"
        return JSONResponse(
            {
                "workflow_id": handle.id,
                "run_id": handle.result_run_id,
                "status_url": run,
                "events_url": f"{run}/events",
                "web_ui": settings.run_url(handle.id, handle.result_run_id),
            },
            status_code=202,
            headers={"Location": run},
        )

    async def get_run(request: Request) -> Response:
        try:
            return JSONResponse(await run_state(client, request.path_params["workflow_id"]))
        except RPCError as err:
            return _not_found(err)

    async def get_events(request: Request) -> Response:
        workflow_id = request.path_params["workflow_id"]
        try:
            await client.get_workflow_handle(workflow_id).describe()
        except RPCError as err:
            return _not_found(err)
        start = _start_offset(request)
        if start is None:
            return _problem(400, "`from` and Last-Event-ID must be offsets (integers >= 0)")
        return EventSourceResponse(_events(client, workflow_id, start), ping=KEEPALIVE_S)

    return Starlette(
        routes=[
            Route("/runs", post_run, methods=["POST"]),
            Route("/runs/{workflow_id:path}/events", get_events, methods=["GET"]),
            Route("/runs/{workflow_id:path}", get_run, methods=["GET"]),
        ]
    )


async def _events(client: Client, workflow_id: str, start: int) -> AsyncIterator[ServerSentEvent]:
    """The run's events from `start`, each with its offset as id; `end` once the run has ended
    and its stream is read."""
    stream = WorkflowStreamClient.create(client, workflow_id)
    items = stream.subscribe(TOPICS, start, result_type=RunEvent, poll_cooldown=POLL_COOLDOWN)
    async for item in items:
        yield ServerSentEvent(item.data.to_json(), event=item.data.kind, id=str(item.offset))
    yield ServerSentEvent("{}", event="end")


def _start_offset(request: Request) -> int | None:
    """Where a (re)connecting client resumes: after its Last-Event-ID, else at `?from=`."""
    last = request.headers.get("last-event-id")
    text = request.query_params.get("from", "0") if last is None else last
    try:
        value = int(text)
    except ValueError:
        return None
    if value < 0:
        return None
    return value + 1 if last is not None else value


def _problem(status: int, detail: str, problems: list[str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": detail}
    if problems is not None:
        body["problems"] = problems
    return JSONResponse(body, status_code=status)


def _not_found(err: RPCError) -> JSONResponse:
    if err.status == RPCStatusCode.NOT_FOUND:
        return _problem(404, err.message)
    raise err


USER_HEADER = "x-taskagent-user"
ROLES_HEADER = "x-taskagent-roles"


def identity_of(request: Request) -> Identity:
    """Who starts a run through the API, as the headers say (`X-TaskAgent-User`, and
    `X-TaskAgent-Roles`: comma-separated). Trust them only behind a proxy that authenticates
    its users and sets these headers itself, removing any a client sent."""
    roles = [role.strip() for role in request.headers.get(ROLES_HEADER, "").split(",")]
    return Identity(
        user=request.headers.get(USER_HEADER, "anonymous"), roles=[r for r in roles if r]
    )
