"""Built-in tools: a clock, a calculator, read-only SQL and an allow-listed HTTP GET.

Each one shows the pattern: a pydantic model of its arguments with field descriptions, expected
failures raised as ToolError (the model reads them), anything transient left to Temporal's retries.
"""

from __future__ import annotations

import ast
import asyncio
import ipaddress
import json
import math
import re
import socket
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field
from simpleeval import FeatureNotAvailable, InvalidExpression, OperatorNotDefined, SimpleEval

from taskagent.isolation import run_isolated
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
        # In a child process, killed at the deadline: some SQLite work never yields to the
        # progress handler (printf with a huge width), and a thread cannot be stopped.
        return run_isolated(
            self._query,
            args.query,
            seconds=self._max_seconds + 1,
            what="the query",
            stopped=ToolError,
        )

    def _query(self, query: str) -> QueryRows:
        try:
            connection = sqlite3.connect(self._uri, uri=True)
        except sqlite3.Error as err:
            raise RuntimeError(f"cannot open the SQLite database: {err}") from err
        try:
            return self._run(connection, query)
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


Resolver = Callable[[str, int], Awaitable[list[str]]]
"""The addresses a host name resolves to (the default asks the system's resolver)."""
_DEFAULT_PORTS = {"http": 80, "https": 443}


async def _resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class HttpGet:
    """GET on allow-listed hosts and ports only, every hop checked and pinned.

    An entry is `host` (its scheme's default port: 80 or 443) or `host:port`. A name must
    resolve to public addresses only: a name that resolves to a private, loopback, link-local or
    otherwise reserved address is refused (an internal service is allowed by its address,
    `10.0.0.5:8080`, never by a name). The connection then goes to the address that was
    checked, with the name in the Host header and TLS, so that a second, different answer from
    DNS (rebinding) is never used. Redirects are checked the same way, hop by hop.
    """

    def __init__(
        self,
        allow_hosts: Sequence[str],
        *,
        max_bytes: int = 100_000,
        resolver: Resolver = _resolve,
        public: Callable[[ipaddress.IPv4Address | ipaddress.IPv6Address], bool] = (
            lambda address: address.is_global
        ),
    ) -> None:
        self.allowed = frozenset(_entry(host) for host in allow_hosts if host.strip())
        self.allow_hosts = frozenset(
            host if port is None else f"{host}:{port}" for host, port in self.allowed
        )
        self._max_bytes = max_bytes
        self._timeout = 10.0
        self._max_redirects = 3
        self._resolver = resolver
        self._public = public

    def check(self, url: str) -> httpx.URL:
        """The parsed URL when its host and port may be fetched; ToolError naming the reason
        otherwise (before any network access)."""
        import httpx2 as httpx  # pydantic's fork of httpx (what openai uses): loaded when used

        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as err:
            raise ToolError(f"invalid URL {url!r}: {err}") from None
        if parsed.scheme not in ("http", "https"):
            raise ToolError(f"only http and https URLs are allowed, not {parsed.scheme or url!r}")
        if parsed.userinfo:
            raise ToolError("URLs with credentials are not allowed")
        host = parsed.host.rstrip(".").lower()
        port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
        default = port == _DEFAULT_PORTS[parsed.scheme]
        if (host, port) not in self.allowed and not (default and (host, None) in self.allowed):
            if not any(allowed == host for allowed, _ in self.allowed):
                raise ToolError(f"host {parsed.host!r} is not on the allow-list")
            raise ToolError(f"port {port} of {parsed.host!r} is not on the allow-list")
        return parsed

    async def address(self, url: httpx.URL) -> str:
        """The address to connect to for `url`'s host: itself if it is an address (listed as
        such), else the first of what the name resolves to, all of which must be public."""
        host = url.host.rstrip(".").lower()
        if _literal(host) is not None:
            return host
        port = url.port or _DEFAULT_PORTS[url.scheme]
        try:
            found = await self._resolver(host, port)
        except OSError as err:
            raise ToolError(f"cannot resolve {host!r}: {err}") from None
        if not found:
            raise ToolError(f"{host!r} resolves to no address")
        for address in found:
            ip = _literal(address)
            if ip is None or not self._public(ip):
                raise ToolError(
                    f"{host!r} resolves to {address}, which is not a public address: allow an "
                    "internal service by its address, never by a name"
                )
        return found[0]

    async def get(self, args: HttpGetArgs) -> HttpPage:
        import httpx2 as httpx

        url = self.check(args.url)  # before any network access
        # trust_env=False: no proxies or .netrc credentials from the worker's environment.
        async with (
            asyncio.timeout(self._timeout),
            httpx.AsyncClient(timeout=self._timeout, trust_env=False) as client,
        ):
            for _ in range(self._max_redirects + 1):
                address = await self.address(url)
                pinned = url.copy_with(host=address)
                headers = {**_HEADERS, "Host": _authority(url)}
                request = client.build_request(
                    "GET", pinned, headers=headers, extensions={"sni_hostname": url.host}
                )
                response = await client.send(request, stream=True)
                try:
                    if not response.has_redirect_location:
                        return await self._page(response, url)
                    url = self.check(str(url.join(response.headers["location"])))
                finally:
                    await response.aclose()
        raise ToolError(f"more than {self._max_redirects} redirects")

    async def _page(self, response: Any, url: httpx.URL) -> HttpPage:
        status = response.status_code
        if status >= 500:
            raise RuntimeError(f"HTTP {status} from {url}")  # transient: retried
        if status >= 400:
            raise ToolError(f"HTTP {status} {response.reason_phrase} from {url}")
        content_type = response.headers.get("content-type", "")
        if content_type and not _TEXT_TYPES.match(content_type.lower()):
            raise ToolError(f"{url} is {content_type}, not text")
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > self._max_bytes:
                break
        body = bytes(data[: self._max_bytes]).decode(response.encoding or "utf-8", "replace")
        return HttpPage(
            url=str(url),
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


def _entry(text: str) -> tuple[str, int | None]:
    """An allow-list entry: `host` or `host:port` (`[::1]:8080` for an IPv6 address)."""
    text = text.strip().lower()
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and (not host.count(":") or host.endswith("]")):
        return host.strip("[]").rstrip("."), int(port)
    return text.strip("[]").rstrip("."), None


def _authority(url: httpx.URL) -> str:
    """The Host header of `url`: its host, and its port if not the scheme's default."""
    host = url.host if ":" not in url.host else f"[{url.host}]"
    default = url.port is None or url.port == _DEFAULT_PORTS.get(url.scheme)
    return host if default else f"{host}:{url.port}"
