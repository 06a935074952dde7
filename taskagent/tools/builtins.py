"""Built-in tools: a clock, a calculator, read-only SQL and an allow-listed HTTP GET.

Each one shows the pattern: a pydantic model of its arguments with field descriptions, expected
failures raised as ToolError (the model reads them), anything transient left to Temporal's retries.
"""

from __future__ import annotations

import ast
import asyncio
import json
import math
import re
import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field
from simpleeval import FeatureNotAvailable, InvalidExpression, OperatorNotDefined, SimpleEval

from taskagent.tools.registry import ToolCatalog, ToolError, describe_tool

if TYPE_CHECKING:
    import httpx2 as httpx


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- current_time ----------------------------------------------------------------------------
class CurrentTimeArgs(_Args):
    tz: str = Field("UTC", description="IANA time zone name, e.g. UTC or Europe/Paris.")


def current_time(args: CurrentTimeArgs) -> str:
    """The current date and time in a time zone, as ISO 8601."""
    try:
        zone = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"unknown time zone {args.tz!r}: use an IANA name") from None
    return datetime.now(zone).isoformat(timespec="seconds")


# -- calculator ------------------------------------------------------------------------------
MAX_EXPRESSION_LENGTH = 200
MAX_INT_BITS = 4096  # about 1,200 digits: far below the 4,300 digits Python prints
_ALLOWED = (
    "numbers, + - * / // % **, parentheses, the constants pi and e and the functions sqrt, sin, "
    "cos, tan, log, exp, abs, round, min, max and pow"
)


class CalculatorArgs(_Args):
    expression: str = Field(
        max_length=MAX_EXPRESSION_LENGTH, description=f"Arithmetic expression of {_ALLOWED}."
    )


def _check_int_bits(bits: float) -> None:
    if bits > MAX_INT_BITS:
        raise ToolError(f"the result would be larger than {MAX_INT_BITS} bits")


def _multiply(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        _check_int_bits(abs(a).bit_length() + abs(b).bit_length() - 1)
    return a * b


def _power(base: Any, exponent: Any) -> Any:
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0:
        _check_int_bits(math.log2(abs(base)) * exponent)
    result = base**exponent
    if isinstance(result, complex):
        raise ToolError("the result is not a real number")
    return result


MAX_ROUND_DIGITS = 400


def _round(number: Any, ndigits: Any = None) -> Any:
    """round(), with its digits bounded: `round(1, -10**8)` would make CPython compute
    10**(10**8) while it holds the GIL, freezing the whole worker far past any timeout."""
    if ndigits is not None and isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise ToolError(
            f"round() takes at most {MAX_ROUND_DIGITS} digits either way, not {ndigits}"
        )
    return round(number, ndigits)


_OPERATORS: dict[type, Any] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: _multiply,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: _power,
    ast.USub: lambda a: -a,
    ast.UAdd: lambda a: +a,
}
_FUNCTIONS: dict[str, Any] = {
    **{name: getattr(math, name) for name in ("sqrt", "sin", "cos", "tan", "log", "exp")},
    **{"abs": abs, "round": _round, "min": min, "max": max, "pow": _power},
}
_NAMES = {"pi": math.pi, "e": math.e}


def _number(node: ast.Constant) -> Any:
    if isinstance(node.value, bool) or not isinstance(node.value, int | float):
        raise ToolError(f"only numbers are allowed, not {node.value!r}")
    return node.value


def calculator(args: CalculatorArgs) -> str:
    """Evaluate an arithmetic expression exactly as a calculator would."""
    evaluator = SimpleEval(operators=_OPERATORS, functions=_FUNCTIONS, names=_NAMES)
    # Numbers, names, calls and arithmetic only: no attributes, subscripts, strings or comparisons.
    evaluator.nodes = {
        ast.Name: evaluator._eval_name,
        ast.UnaryOp: evaluator._eval_unaryop,
        ast.BinOp: evaluator._eval_binop,
        ast.Call: evaluator._eval_call,
        ast.Constant: _number,
    }
    try:
        # mode="eval" admits one expression and no statements, so simpleeval never warns.
        tree = ast.parse(args.expression.strip(), mode="eval")
        result = evaluator.eval(args.expression, previously_parsed=tree.body)
    except ToolError:
        raise
    except SyntaxError as err:
        raise ToolError(f"{args.expression!r} is not a valid expression: {err.msg}") from None
    except (FeatureNotAvailable, OperatorNotDefined):
        raise ToolError(
            f"cannot evaluate {args.expression!r}: only {_ALLOWED} are allowed"
        ) from None
    except (InvalidExpression, ArithmeticError, ValueError, TypeError) as err:
        raise ToolError(f"cannot evaluate {args.expression!r}: {err}") from None
    if isinstance(result, bool) or not isinstance(result, int | float):
        raise ToolError(f"{args.expression!r} does not evaluate to a number")
    return str(result)


# -- sql_query -------------------------------------------------------------------------------
class SqlQueryArgs(_Args):
    query: str = Field(
        max_length=10_000,
        description="One read-only SQL statement (SELECT, or WITH ... SELECT) in SQLite syntax.",
    )


class QueryRows(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool = Field(False, description="More rows matched than were returned.")


MAX_SQL_VALUE_BYTES = 10_000_000
_LEADING_KEYWORD = re.compile(r"^(?:\s|--[^\n]*(?:\n|$)|/\*.*?\*/)*(\w*)", re.DOTALL)
_READ_ACTIONS = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)


def _authorize(action: int, *_: Any) -> int:
    return sqlite3.SQLITE_OK if action in _READ_ACTIONS else sqlite3.SQLITE_DENY


class SqliteQuery:
    """Read-only queries on one SQLite file, enforced by SQLite itself, not by parsing SQL.

    The file is opened read-only, with query_only on and an authorizer that permits reads alone;
    the keyword check only makes the refusal message clear. Rows, result size, value length and
    running time are capped.
    """

    def __init__(
        self, path: Path, *, max_rows: int = 200, max_chars: int = 100_000, max_seconds: float = 5
    ) -> None:
        self._uri = f"{Path(path).resolve().as_uri()}?mode=ro"
        self._max_rows = max_rows
        self._max_chars = max_chars
        self._max_seconds = max_seconds

    def query(self, args: SqlQueryArgs) -> QueryRows:
        """Run one read-only SQL query (SELECT or WITH) on the configured SQLite database.

        Rows come back as JSON objects keyed by column name: at most 200 rows and 100,000
        characters, so select the columns you need (substr() for long text). To see the tables:
        SELECT name, sql FROM sqlite_master.
        """
        match = _LEADING_KEYWORD.match(args.query)
        keyword = match.group(1).upper() if match else ""
        if keyword not in ("SELECT", "WITH"):
            raise ToolError(
                f"only a single SELECT or WITH statement is allowed, not {keyword or 'nothing'}: "
                "this database is read-only"
            )
        try:
            connection = sqlite3.connect(self._uri, uri=True)
        except sqlite3.Error as err:
            raise RuntimeError(f"cannot open the SQLite database: {err}") from err
        try:
            return self._run(connection, args.query)
        finally:
            connection.close()

    def _run(self, connection: sqlite3.Connection, query: str) -> QueryRows:
        connection.execute("PRAGMA query_only=ON")
        # Caps any one value at 10 MB: what randomblob(), zeroblob() or printf() may build.
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_SQL_VALUE_BYTES)
        connection.set_authorizer(_authorize)
        deadline = time.monotonic() + self._max_seconds
        connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            cursor = connection.execute(query)
            columns = _unique([d[0] for d in cursor.description or ()])
            fetched = cursor.fetchmany(self._max_rows + 1)
        except sqlite3.Error as err:
            if "locked" in str(err) or "busy" in str(err):
                raise  # another writer holds the file: worth a retry
            if time.monotonic() > deadline:
                raise ToolError(f"the query ran longer than {self._max_seconds} s") from None
            if "not authorized" in str(err):
                raise ToolError("the query is not allowed: this database is read-only") from None
            raise ToolError(f"SQL error: {err}") from None
        rows: list[dict[str, Any]] = []
        size = 0
        for values in fetched[: self._max_rows]:
            row = {
                k: v.hex() if isinstance(v, bytes) else v
                for k, v in zip(columns, values, strict=True)
            }
            size += len(json.dumps(row))
            if size > self._max_chars:  # the model's context is the scarce resource
                break
            rows.append(row)
        return QueryRows(columns=columns, rows=rows, truncated=len(rows) < len(fetched))


def _unique(names: list[str]) -> list[str]:
    """Column names made unique (`SELECT a, a` gives a, a_2): rows are keyed by them."""
    unique: list[str] = []
    for name in names:
        candidate, n = name, 1
        while candidate in unique:
            n += 1
            candidate = f"{name}_{n}"
        unique.append(candidate)
    return unique


# -- http_get --------------------------------------------------------------------------------
class HttpGetArgs(_Args):
    url: str = Field(max_length=2000, description="Absolute http or https URL to fetch.")


class HttpPage(BaseModel):
    url: str
    status: int
    content_type: str
    body: str
    truncated: bool = Field(False, description="The body was cut at the size limit.")


# identity: a compressed body could expand far past the size cap before it is cut.
_HEADERS = {"User-Agent": "taskagent", "Accept-Encoding": "identity"}
_TEXT_TYPES = re.compile(r"^(text/|application/([\w.+-]*\+)?(json|xml|javascript)\b)")


class HttpGet:
    """GET on allow-listed hosts only (exact host match), redirects checked hop by hop."""

    def __init__(self, allow_hosts: Sequence[str], *, max_bytes: int = 100_000) -> None:
        self.allow_hosts = frozenset(host.strip().lower().rstrip(".") for host in allow_hosts)
        self._max_bytes = max_bytes
        self._timeout = 10.0
        self._max_redirects = 3

    def check(self, url: str) -> httpx.URL:
        """The parsed URL when it may be fetched; ToolError naming the reason otherwise."""
        import httpx2 as httpx  # pydantic's fork of httpx (what openai uses): loaded when used

        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as err:
            raise ToolError(f"invalid URL {url!r}: {err}") from None
        if parsed.scheme not in ("http", "https"):
            raise ToolError(f"only http and https URLs are allowed, not {parsed.scheme or url!r}")
        if parsed.userinfo:
            raise ToolError("URLs with credentials are not allowed")
        if parsed.host.rstrip(".") not in self.allow_hosts:
            raise ToolError(f"host {parsed.host!r} is not on the allow-list")
        return parsed

    async def get(self, args: HttpGetArgs) -> HttpPage:
        import httpx2 as httpx

        url = self.check(args.url)  # before any network access
        # trust_env=False: no proxies or .netrc credentials from the worker's environment.
        async with (
            asyncio.timeout(self._timeout),
            httpx.AsyncClient(timeout=self._timeout, trust_env=False) as client,
        ):
            for _ in range(self._max_redirects + 1):
                request = client.build_request("GET", url, headers=_HEADERS)
                response = await client.send(request, stream=True)
                try:
                    if not response.has_redirect_location:
                        return await self._page(response)
                    url = self.check(str(url.join(response.headers["location"])))
                finally:
                    await response.aclose()
        raise ToolError(f"more than {self._max_redirects} redirects")

    async def _page(self, response: Any) -> HttpPage:
        status = response.status_code
        if status >= 500:
            raise RuntimeError(f"HTTP {status} from {response.url}")  # transient: retried
        if status >= 400:
            raise ToolError(f"HTTP {status} {response.reason_phrase} from {response.url}")
        content_type = response.headers.get("content-type", "")
        if content_type and not _TEXT_TYPES.match(content_type.lower()):
            raise ToolError(f"{response.url} is {content_type}, not text")
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > self._max_bytes:
                break
        body = bytes(data[: self._max_bytes]).decode(response.encoding or "utf-8", "replace")
        return HttpPage(
            url=str(response.url),
            status=status,
            content_type=content_type,
            body=body,
            truncated=len(data) > self._max_bytes,
        )


# -- the catalog -----------------------------------------------------------------------------
def builtin_tools(
    *, sqlite_path: Path | None = None, http_allow_hosts: Sequence[str] = ()
) -> ToolCatalog:
    """current_time and calculator; sql_query with a database; http_get with allowed hosts."""
    catalog = ToolCatalog()
    catalog.add(describe_tool(current_time, timeout=timedelta(seconds=5)))
    catalog.add(describe_tool(calculator, timeout=timedelta(seconds=5)))
    if sqlite_path is not None:
        catalog.add(describe_tool(SqliteQuery(sqlite_path).query, name="sql_query"))
    if http_allow_hosts:
        fetch = HttpGet(http_allow_hosts)
        description = (
            "Fetch a text page with HTTP GET; at most 100 KB of its body comes back. "
            f"Only these hosts are allowed: {', '.join(sorted(fetch.allow_hosts))}."
        )
        catalog.add(describe_tool(fetch.get, name="http_get", description=description))
    return catalog
