"""The HTTP service (`starter.py serve`): a real uvicorn server, a real HTTP client (aiohttp)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from taskagent.results import PipelineResult
from taskagent.service import create_app
from taskagent.settings import Settings
from tests.support import example_registry, running_worker, serving_app, unique

REGISTRY = example_registry()


@asynccontextmanager
async def serving(env: Any, task_queue: str) -> AsyncIterator[str]:
    """The service on a free loopback port, with a worker on `task_queue`; its base URL."""
    settings = Settings(TASKAGENT_TASK_QUEUE=task_queue)
    app = create_app(env.client, settings, REGISTRY)
    async with serving_app(app) as url, running_worker(env.client, REGISTRY, task_queue):
        yield url


async def read_events(response: aiohttp.ClientResponse) -> list[dict[str, Any]]:
    """The Server-Sent Events of a response, until its `end` event: id, event and data each."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if not line:
            if current.get("event") == "end":
                return events
            if "data" in current:
                events.append(current)
            current = {}
        elif line.startswith(":"):
            continue  # a keep-alive comment
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            current[field] = json.loads(value) if field == "data" else value
    raise AssertionError("the stream ended without its `end` event")


async def test_post_a_run_then_stream_its_events_and_read_its_result(env, task_queue):
    async with serving(env, task_queue) as base, aiohttp.ClientSession(base) as http:
        body = {"pipeline": "company_facts", "input": {"company": "Acme"}, "id": unique("svc")}
        async with http.post("/runs", json=body) as posted:
            assert posted.status == 202
            started = await posted.json()
        workflow_id = started["workflow_id"]
        assert workflow_id == body["id"]
        assert posted.headers["Location"] == f"/runs/{workflow_id}"
        assert started["events_url"] == f"/runs/{workflow_id}/events"
        assert f"/workflows/{workflow_id}/" in started["web_ui"]

        async with http.get(started["events_url"]) as streamed:
            assert streamed.status == 200
            assert streamed.headers["Content-Type"].startswith("text/event-stream")
            events = await read_events(streamed)  # during the run, until it has ended
        kinds = [e["event"] for e in events]
        assert kinds[0] == "run_started" and kinds[-1] == "run_completed"
        assert [int(e["id"]) for e in events] == list(range(len(events)))
        completed = [e["data"]["step"] for e in events if e["event"] == "step_completed"]
        assert completed[0] == "search" and completed[-1] == "report"  # the middle two: any order
        assert sorted(completed[1:3]) == ["reputation", "social"]
        assert all(e["data"]["kind"] == e["event"] for e in events)

        # A client that lost the connection resumes after the last event it saw.
        resume = {"Last-Event-ID": events[4]["id"]}
        async with http.get(started["events_url"], headers=resume) as again:
            assert [e["id"] for e in await read_events(again)] == [e["id"] for e in events[5:]]
        async with http.get(f"{started['events_url']}?from=3") as again:
            assert [e["id"] for e in await read_events(again)] == [e["id"] for e in events[3:]]

        async with http.get(started["status_url"]) as state:
            assert state.status == 200
            run = await state.json()
    assert run["status"] == "COMPLETED"
    assert run["result"]["output"]["company"]["name"] == "Acme"


async def test_post_a_dry_run(env, task_queue):
    async with serving(env, task_queue) as base, aiohttp.ClientSession(base) as http:
        body = {"pipeline": "company_research", "input": {"company": "Acme"}, "dry_run": True}
        async with http.post("/runs", json=body) as posted:
            assert posted.status == 202
            started = await posted.json()
        result = await env.client.get_workflow_handle(
            started["workflow_id"], result_type=PipelineResult
        ).result()
    assert started["workflow_id"].startswith("dry-company_research-") and result.dry_run
    assert result.cost.total.estimated_calls == result.cost.total.calls == 4


async def test_bad_requests_get_clear_answers(env, task_queue):
    async with serving(env, task_queue) as base, aiohttp.ClientSession(base) as http:
        async with http.post("/runs", data=b"{not json") as bad:
            assert bad.status == 400 and "not JSON" in (await bad.json())["error"]
        async with http.post("/runs", json={"input": {}}) as shapeless:
            assert shapeless.status == 400
        not_a_flag = {"pipeline": "company_facts", "input": {"company": "A"}, "dry_run": "yes"}
        async with http.post("/runs", json=not_a_flag) as flag:
            assert flag.status == 400 and "`dry_run` must be" in (await flag.json())["error"]
        async with http.post("/runs", json={"pipeline": "company_facts", "input": {}}) as invalid:
            assert invalid.status == 422
            answer = await invalid.json()
        assert any(p.startswith("input") and "company" in p for p in answer["problems"])
        for path in ("/runs/no-such-run", "/runs/no-such-run/events"):
            async with http.get(path) as missing:
                assert missing.status == 404, path
        async with http.get("/runs/x/events?from=-2") as negative:
            assert negative.status in (400, 404)
