"""Tools: their schemas, the tool-call activity's outcomes, and the built-in tools' limits."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from pydantic import BaseModel, Field
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.tools import ToolActivities
from taskagent.isolation import run_isolated
from taskagent.tools import (
    INVALID_ARGUMENTS,
    INVALID_TOOL_OUTPUT,
    TOOL_ERROR,
    UNKNOWN_TOOL,
    ToolCallRequest,
    ToolCallResult,
    ToolCatalog,
    ToolError,
    builtin_tools,
    describe_tool,
)
from taskagent.tools.builtins import HttpGet, HttpGetArgs, SqliteQuery, SqlQueryArgs


class Address(BaseModel):
    city: str = Field(description="City name.")


class BookArgs(BaseModel):
    """Arguments of a lookup."""

    title: str = Field(description="The book's title.")
    copies: int = Field(1, ge=1, description="How many copies.")
    address: Address | None = None


class Booking(BaseModel):
    title: str
    copies: int


class Counter:
    """A catalog of probe tools that count how often they ran."""

    def __init__(self) -> None:
        self.calls = 0
        self.catalog = ToolCatalog()
        self.catalog.tool()(self.book)
        self.catalog.tool()(self.fail)
        self.catalog.tool()(self.flaky)
        self.catalog.tool()(self.broken)

    async def book(self, args: BookArgs) -> Booking:
        """Book copies of a title."""
        self.calls += 1
        return Booking(title=args.title, copies=args.copies)

    def fail(self, args: BookArgs) -> str:
        self.calls += 1
        raise ToolError(f"no book titled {args.title!r}")

    def flaky(self, args: BookArgs) -> str:
        self.calls += 1
        raise ConnectionError("connection reset")

    def broken(self, args: BookArgs) -> int:
        return "not a number"  # type: ignore[return-value]


async def call(
    catalog: ToolCatalog, tool: str, arguments: Any, allowed: list[str] | None = None
) -> ToolCallResult:
    """The tool activity's answer to a call from a step allowed `allowed` (default: the tool)."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    request = ToolCallRequest(
        tool=tool, arguments=text, step_id="agent", call_id="c1", allowed=allowed or [tool]
    )
    return await ActivityEnvironment().run(ToolActivities(catalog).run, request)


async def test_the_activity_itself_refuses_a_tool_outside_the_steps_allow_list() -> None:
    refused = await call(builtin_tools(), "calculator", {"expression": "1+1"}, ["current_time"])
    assert (refused.ok, refused.error_type) == (False, UNKNOWN_TOOL)
    assert "not allowed to step 'agent' (allowed: current_time)" in refused.content
    unlisted = ToolCallRequest(
        tool="calculator", arguments='{"expression": "1"}', step_id="s", call_id="c"
    )
    legacy = await ActivityEnvironment().run(ToolActivities(builtin_tools()).run, unlisted)
    assert (legacy.ok, legacy.error_type) == (False, UNKNOWN_TOOL)  # no allow-list: nothing


async def test_a_tool_heartbeats_while_it_runs() -> None:
    """So that a worker's crash mid-tool is noticed in seconds, and a cancellation arrives."""
    beats: list[Any] = []
    enough = asyncio.Event()

    def beat(*details: Any) -> None:
        beats.append(details)
        if len(beats) >= 3:
            enough.set()

    environment = ActivityEnvironment()
    environment.on_heartbeat = beat
    catalog = ToolCatalog()

    @catalog.tool()
    async def slow(args: BookArgs) -> str:
        """Finishes once the activity has heartbeaten three times."""
        await enough.wait()
        return args.title

    request = ToolCallRequest(
        tool="slow", arguments='{"title": "x"}', step_id="s", call_id="c", allowed=["slow"]
    )
    activities = ToolActivities(catalog, heartbeat_every=0.01)
    result = await environment.run(activities.run, request)
    assert result.ok and beats[0] == ("running tool slow",)


# -- registry ----------------------------------------------------------------------------------
def test_spec_is_the_json_schema_of_the_arguments() -> None:
    spec = Counter().catalog.get("book").spec()  # type: ignore[union-attr]
    assert spec.name == "book"
    assert spec.description == "Book copies of a title."
    params = spec.parameters
    assert params["type"] == "object"
    assert params["required"] == ["title"]
    # `title` the field survives; `title` the schema keyword does not.
    assert params["properties"]["title"] == {"type": "string", "description": "The book's title."}
    assert params["properties"]["copies"]["minimum"] == 1
    assert params["$defs"]["Address"]["properties"]["city"]["description"] == "City name."
    assert '"title": "' not in json.dumps(params)


def test_describe_tool_rejects_bad_signatures() -> None:
    class Opaque:
        pass

    def no_args() -> str:
        return ""

    def two_args(a: BookArgs, b: BookArgs) -> str:
        return ""

    def plain(a: dict[str, Any]) -> str:
        return ""

    def opaque(a: BookArgs) -> Opaque:
        return Opaque()

    for func in (no_args, two_args, plain, opaque):
        with pytest.raises(TypeError, match=func.__name__):
            describe_tool(func)
    with pytest.raises(ValueError, match="tool name"):
        describe_tool(Counter().book, name="has space")


def test_catalog_names_duplicates_and_include() -> None:
    probes = Counter()
    catalog = ToolCatalog()
    catalog.include(probes.catalog)
    catalog.include(probes.catalog)  # the same functions again: no conflict
    assert catalog.names() == ["book", "broken", "fail", "flaky"]
    with pytest.raises(ValueError, match="registered twice"):
        catalog.add(describe_tool(Counter().book))
    assert [spec.name for spec in catalog.specs(["fail", "book"])] == ["fail", "book"]


# -- the activity ------------------------------------------------------------------------------
async def test_valid_call_returns_the_output_as_json() -> None:
    probes = Counter()
    result = await call(probes.catalog, "book", {"title": "Dune", "copies": 2})
    assert result.ok and result.error_type is None
    assert json.loads(result.content) == {"title": "Dune", "copies": 2}
    assert result.result_size == len(result.content)
    assert (result.call_id, result.tool, result.attempt) == ("c1", "book", 1)
    assert result.duration_ms >= 0
    assert probes.calls == 1


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"title": "Dune",', ["Invalid JSON"]),
        ({"copies": "many"}, ["title: Field required", "copies: Input should be a valid integer"]),
        ({"title": "Dune", "copies": 0}, ["copies: Input should be greater than or equal to 1"]),
        ({"title": "Dune", "address": {}}, ["address.city: Field required"]),
        ("[]", ["Input should be an object"]),
    ],
)
async def test_invalid_arguments_never_run_the_tool(arguments: Any, expected: list[str]) -> None:
    probes = Counter()
    result = await call(probes.catalog, "book", arguments)
    assert not result.ok
    assert result.error_type == INVALID_ARGUMENTS
    assert result.content.startswith("invalid arguments for book: ")
    for fragment in expected:
        assert fragment in result.content
    assert probes.calls == 0


async def test_unknown_tool_is_a_result_not_an_exception() -> None:
    result = await call(Counter().catalog, "rm_rf", {})
    assert (result.ok, result.error_type) == (False, UNKNOWN_TOOL)
    assert "rm_rf" in result.content
    assert "book" not in result.content  # other tools are not advertised


async def test_tool_error_goes_back_to_the_model() -> None:
    result = await call(Counter().catalog, "fail", {"title": "Dune"})
    assert (result.ok, result.error_type) == (False, TOOL_ERROR)
    assert result.content == "no book titled 'Dune'"


async def test_transient_exception_is_retryable() -> None:
    with pytest.raises(ApplicationError) as caught:
        await call(Counter().catalog, "flaky", {"title": "Dune"})
    assert not caught.value.non_retryable
    assert caught.value.type == "ConnectionError"
    assert caught.value.details == (1,)
    assert "connection reset" in caught.value.message


async def test_output_that_breaks_the_annotation_is_not_retried() -> None:
    with pytest.raises(ApplicationError) as caught:
        await call(Counter().catalog, "broken", {"title": "Dune"})
    assert caught.value.non_retryable
    assert caught.value.type == INVALID_TOOL_OUTPUT


async def test_tool_timeout_bounds_each_attempt() -> None:
    async def stuck(args: BookArgs) -> str:
        await asyncio.Event().wait()
        return "never"

    catalog = ToolCatalog()
    catalog.add(describe_tool(stuck, timeout=timedelta(milliseconds=50)))
    with pytest.raises(ApplicationError) as caught:
        await call(catalog, "stuck", {"title": "Dune"})
    assert (caught.value.type, caught.value.non_retryable) == ("TimeoutError", False)


# -- current_time and calculator ---------------------------------------------------------------
async def test_current_time_in_a_zone() -> None:
    result = await call(builtin_tools(), "current_time", {"tz": "Asia/Tokyo"})
    assert result.ok
    moment = datetime.fromisoformat(result.content)
    assert moment.utcoffset() == datetime.now(ZoneInfo("Asia/Tokyo")).utcoffset()
    default = await call(builtin_tools(), "current_time", "")
    assert datetime.fromisoformat(default.content).utcoffset() == timedelta(0)


async def test_current_time_with_an_unknown_zone() -> None:
    result = await call(builtin_tools(), "current_time", {"tz": "Mars/Olympus"})
    assert (result.ok, result.error_type) == (False, TOOL_ERROR)
    assert "Mars/Olympus" in result.content


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", "7"),
        ("sqrt(16) + max(1, 2)", "6.0"),
        ("2 ** 10", "1024"),
        ("round(pi, 2)", "3.14"),
        ("round(123456, -400)", "0"),
    ],
)
async def test_calculator(expression: str, value: str) -> None:
    result = await call(builtin_tools(), "calculator", {"expression": expression})
    assert (result.ok, result.content) == (True, value)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os')", "'__import__' not defined"),
        ("(1).__class__", "only numbers"),
        ("pi.real", "only numbers"),
        ("2 ** 1000000", "larger than"),
        ("9 ** 9 ** 9", "larger than"),
        ("pow(10, 10 ** 6)", "larger than"),
        ("'a' * 3", "only numbers"),
        ("1 / 0", "division by zero"),
        ("x = 1", "not a valid expression"),
        # CPython would compute 10**(10**8) holding the GIL: the worker froze for 663 s.
        ("round(1, -10**8)", "at most 400 digits"),
        ("round(2.5, 10**9)", "at most 400 digits"),
    ],
)
async def test_calculator_refuses(expression: str, reason: str) -> None:
    result = await call(builtin_tools(), "calculator", {"expression": expression})
    assert (result.ok, result.error_type) == (False, TOOL_ERROR)
    assert reason in result.content


async def test_calculator_bounds_the_input() -> None:
    result = await call(builtin_tools(), "calculator", {"expression": "1+" * 150 + "1"})
    assert (result.ok, result.error_type) == (False, INVALID_ARGUMENTS)


# -- sql_query ---------------------------------------------------------------------------------
@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "library.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT, year INT)")
        connection.executemany(
            "INSERT INTO books (title, year) VALUES (?, ?)", [("Dune", 1965), ("Emma", 1815)]
        )
    connection.close()
    return path


async def test_sql_select_returns_rows_as_json(database: Path) -> None:
    catalog = builtin_tools(sqlite_path=database)
    result = await call(
        catalog, "sql_query", {"query": "SELECT title, year FROM books ORDER BY year"}
    )
    assert result.ok
    assert json.loads(result.content) == {
        "columns": ["title", "year"],
        "rows": [{"title": "Emma", "year": 1815}, {"title": "Dune", "year": 1965}],
        "truncated": False,
    }
    many = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n"
    capped = json.loads((await call(catalog, "sql_query", {"query": many})).content)
    assert (len(capped["rows"]), capped["truncated"]) == (200, True)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("DELETE FROM books", "not DELETE"),
        ("DROP TABLE books", "not DROP"),
        ("INSERT INTO books (title) VALUES ('x')", "not INSERT"),
        ("  /* sneaky */ UPDATE books SET year = 0", "not UPDATE"),
        ("PRAGMA journal_mode=DELETE", "not PRAGMA"),
        ("ATTACH DATABASE 'other.db' AS other", "not ATTACH"),
        ("SELECT 1; DELETE FROM books", "one statement"),
        ("WITH doomed AS (SELECT 1) DELETE FROM books", "read-only"),
        ("SELECT * FROM missing", "no such table"),
    ],
)
async def test_sql_refuses_anything_but_reading(database: Path, query: str, reason: str) -> None:
    before = (database.read_bytes(), database.stat().st_mtime_ns)
    result = await call(builtin_tools(sqlite_path=database), "sql_query", {"query": query})
    assert (result.ok, result.error_type) == (False, TOOL_ERROR)
    assert reason in result.content
    assert (database.read_bytes(), database.stat().st_mtime_ns) == before
    assert not (database.parent / "other.db").exists()


def test_sql_runaway_query_is_stopped(database: Path) -> None:
    forever = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
    with pytest.raises(ToolError, match="ran longer than"):
        SqliteQuery(database, max_seconds=0.05).query(SqlQueryArgs(query=forever))


def test_sql_work_that_ignores_its_deadline_is_killed_with_its_process(database: Path) -> None:
    """SQLite's printf never yields to the progress handler: this ran 14 s past a 1 s limit."""
    bomb = "SELECT length(printf('%.*c', 2000000000, 'x'))"
    with pytest.raises(ToolError, match=r"the query ran longer than 1\.2 s and was stopped"):
        SqliteQuery(database, max_seconds=0.2).query(SqlQueryArgs(query=bomb))
    # The worker goes on: the next query answers.
    rows = SqliteQuery(database).query(SqlQueryArgs(query="SELECT 1 AS one")).rows
    assert rows == [{"one": 1}]


def test_isolated_work_is_bounded_in_memory() -> None:
    with pytest.raises(ToolError, match="ran out of memory"):
        run_isolated(bytearray, 2 << 30, seconds=10, what="the allocation", stopped=ToolError)


def test_sql_query_needs_a_database() -> None:
    assert builtin_tools().names() == ["calculator", "current_time"]


# -- http_get ----------------------------------------------------------------------------------
@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello from the test server")

    async def away(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://blocked.invalid/")

    async def missing(request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    async def big(request: web.Request) -> web.Response:
        return web.Response(text="x" * 300_000)

    async def host(request: web.Request) -> web.Response:
        return web.Response(text=f"Host: {request.headers['Host']}")

    app = web.Application()
    app.add_routes(
        [
            web.get("/hello", hello),
            web.get("/away", away),
            web.get("/missing", missing),
            web.get("/big", big),
            web.get("/host", host),
        ]
    )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def test_http_get_is_off_by_default() -> None:
    assert "http_get" not in builtin_tools()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://blocked.invalid/", "host 'blocked.invalid' is not on the allow-list"),
        ("https://127.0.0.1.blocked.invalid/", "is not on the allow-list"),
        ("http://127.0.0.1@blocked.invalid/", "credentials"),
        ("file:///etc/passwd", "only http and https"),
        ("127.0.0.1/x", "only http and https"),
    ],
)
async def test_http_get_refuses_urls_off_the_list(url: str, reason: str) -> None:
    # .invalid never resolves: reaching the network would raise, not return a ToolError.
    result = await call(builtin_tools(http_allow_hosts=["127.0.0.1"]), "http_get", {"url": url})
    assert (result.ok, result.error_type) == (False, TOOL_ERROR)
    assert reason in result.content


def allowing(server: str) -> ToolCatalog:
    """The built-in tools with http_get allowed on the test server's address and port."""
    return builtin_tools(http_allow_hosts=[server.removeprefix("http://")])


async def test_http_get_fetches_allowed_hosts(server: str) -> None:
    catalog = allowing(server)
    result = await call(catalog, "http_get", {"url": f"{server}/hello"})
    assert result.ok
    page = json.loads(result.content)
    assert (page["status"], page["body"], page["truncated"]) == (
        200,
        "hello from the test server",
        False,
    )
    big = json.loads((await call(catalog, "http_get", {"url": f"{server}/big"})).content)
    assert (len(big["body"]), big["truncated"]) == (100_000, True)


async def test_http_get_checks_redirects_and_statuses(server: str) -> None:
    catalog = allowing(server)
    away = await call(catalog, "http_get", {"url": f"{server}/away"})
    assert (away.ok, away.error_type) == (False, TOOL_ERROR)
    assert "'blocked.invalid' is not on the allow-list" in away.content
    missing = await call(catalog, "http_get", {"url": f"{server}/missing"})
    assert (missing.ok, missing.error_type) == (False, TOOL_ERROR)
    assert "HTTP 404" in missing.content


async def test_http_get_allows_a_host_on_its_listed_port_only(server: str) -> None:
    """With 127.0.0.1 allowed, a model reached the Temporal server's gRPC port: no longer."""
    temporal = await call(allowing(server), "http_get", {"url": "http://127.0.0.1:7233/"})
    assert (temporal.ok, temporal.error_type) == (False, TOOL_ERROR)
    assert "port 7233 of '127.0.0.1' is not on the allow-list" in temporal.content
    plain = builtin_tools(http_allow_hosts=["127.0.0.1"])  # no port: 80 and 443 only
    refused = await call(plain, "http_get", {"url": f"{server}/hello"})
    assert "is not on the allow-list" in refused.content


async def test_http_get_refuses_a_name_that_resolves_to_a_private_address(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    catalog = builtin_tools(http_allow_hosts=[f"localhost:{port}"])
    result = await call(catalog, "http_get", {"url": f"http://localhost:{port}/hello"})
    assert (result.ok, result.error_type) == (False, TOOL_ERROR)
    assert "'localhost' resolves to" in result.content and "not a public address" in result.content
    for address in ("10.0.0.7", "169.254.169.254", "192.168.1.1", "::1", "fd00::1"):
        fetch = HttpGet([f"intranet.test:{port}"], resolver=fixed(["93.184.215.14", address]))
        with pytest.raises(ToolError, match="not a public address"):
            await fetch.get(HttpGetArgs(url=f"http://intranet.test:{port}/hello"))


async def test_http_get_connects_to_the_address_it_checked(server: str) -> None:
    """The name is resolved once per hop, checked, and the connection pinned to that address
    (the name goes in the Host header): a rebinding DNS answer is never used."""
    port = server.rsplit(":", 1)[1]
    answers = iter([["127.0.0.1"], ["10.9.9.9"]])  # the second answer would be a rebinding

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    fetch = HttpGet([f"pinned.test:{port}"], resolver=rebinding, public=lambda ip: True)
    page = await fetch.get(HttpGetArgs(url=f"http://pinned.test:{port}/host"))
    assert (page.body, page.url) == (f"Host: pinned.test:{port}", f"http://pinned.test:{port}/host")


def fixed(addresses: list[str]) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        return addresses

    return resolve


@pytest.mark.parametrize(
    "expression",
    [
        "round(10 ** 1000, -300)",
        "max(9 ** 9 ** 2, 2)",
        "exp(10 ** 8)",
        "log(10 ** 1200)",
        "sqrt(10 ** 1200)",
        "pow(2, 4095) * 2",
        "10 ** 1200 % 7 + 10 ** 1200 // 3",
        "round(1e308, -308) + round(-1e-308, 400)",
        "2 ** -100000",
    ],
)
async def test_no_calculator_input_holds_the_worker(expression: str) -> None:
    """Hostile but admitted inputs each answer (a value or an error) at once: every integer is
    bounded, and so is every function's work on one. (Big-integer work holds the GIL: no timeout
    could stop it, which is why the bounds are in the inputs.)"""
    result = await call(builtin_tools(), "calculator", {"expression": expression})
    assert result.ok or result.error_type == TOOL_ERROR
