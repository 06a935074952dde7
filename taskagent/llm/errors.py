"""Provider error classification, in one place: what Temporal retries and what fails at once.

Every failure of a provider call becomes a `ProviderError` whose `kind` is one of the constants
below. Retryable kinds: rate_limited, server_error, timeout, connection, conflict and unknown (an
exception nobody classified, retried as Temporal would). All others fail the call at once,
among them invalid_response (an answer whose shape cannot be understood: asking again gets the
same shape), refused and insufficient_quota.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import re
import time
from collections.abc import Mapping
from typing import Any

from taskagent.errors import ErrorType
from taskagent.llm.types import ModelResponse, ProviderError

RATE_LIMITED = ErrorType.RATE_LIMITED
SERVER_ERROR = ErrorType.SERVER_ERROR
TIMEOUT = ErrorType.TIMEOUT
CONNECTION = ErrorType.CONNECTION
CONFLICT = ErrorType.CONFLICT
INVALID_RESPONSE = ErrorType.INVALID_RESPONSE
BAD_REQUEST = ErrorType.BAD_REQUEST
UNAUTHORIZED = ErrorType.UNAUTHORIZED
FORBIDDEN = ErrorType.FORBIDDEN
NOT_FOUND = ErrorType.NOT_FOUND
CONTEXT_LENGTH = ErrorType.CONTEXT_LENGTH
CONTENT_FILTER = ErrorType.CONTENT_FILTER
REFUSED = ErrorType.REFUSED
INSUFFICIENT_QUOTA = ErrorType.INSUFFICIENT_QUOTA
MISSING_CREDENTIALS = ErrorType.MISSING_CREDENTIALS
UNKNOWN = ErrorType.UNKNOWN

_BY_STATUS: dict[int, tuple[ErrorType, bool]] = {
    400: (BAD_REQUEST, False),
    401: (UNAUTHORIZED, False),
    403: (FORBIDDEN, False),
    404: (NOT_FOUND, False),
    408: (TIMEOUT, True),
    409: (CONFLICT, True),
    413: (CONTEXT_LENGTH, False),
    422: (BAD_REQUEST, False),
    429: (RATE_LIMITED, True),
}
_CONTEXT_CODES = {"context_length_exceeded", "string_above_max_length"}
_CONTEXT_TEXT = re.compile(
    r"maximum context length|context length|context window|input token count"
    r"|exceeds the maximum number of tokens|too many tokens",
    re.IGNORECASE,
)
_MAX_MESSAGE = 2000
_FILTER_CODES = {"content_filter", "content_policy_violation"}
_QUOTA_CODES = {"insufficient_quota", "billing_hard_limit_reached", "billing_not_active"}
_SNIPPET = 300
_INVALID_KEY_TEXT = re.compile(r"api[ _]key not valid|API_KEY_INVALID", re.IGNORECASE)


def classify_status(
    provider: str,
    status: int,
    message: str,
    *,
    code: str | None = None,
    retry_after: float | None = None,
) -> ProviderError:
    """The ProviderError for an HTTP error answer; `code` is the provider's own error code."""
    if code in _CONTEXT_CODES or (status in (400, 413) and _CONTEXT_TEXT.search(message)):
        kind, retryable = CONTEXT_LENGTH, False
    elif code in _FILTER_CODES:
        kind, retryable = CONTENT_FILTER, False
    elif code in _QUOTA_CODES:
        # OpenAI answers 429 when the account is out of credit: waiting will not refill it.
        kind, retryable = INSUFFICIENT_QUOTA, False
    elif status == 400 and _INVALID_KEY_TEXT.search(message):
        kind, retryable = UNAUTHORIZED, False
    elif status >= 500:
        kind, retryable = SERVER_ERROR, True
    else:
        kind, retryable = _BY_STATUS.get(status, (BAD_REQUEST, False))
    if len(message) > _MAX_MESSAGE:  # an HTML error page, say
        message = message[:_MAX_MESSAGE] + "..."
    return ProviderError(
        f"{provider} HTTP {status}: {message}",
        kind=kind,
        retryable=retryable,
        status=status,
        retry_after=retry_after if retryable else None,
    )


def content_filtered(
    provider: str, detail: str, billed: ModelResponse | None = None
) -> ProviderError:
    """A refusal by the provider's safety system: retrying the same input will not help."""
    return ProviderError(
        f"{provider} blocked the answer ({detail})",
        kind=CONTENT_FILTER,
        retryable=False,
        billed=billed,
    )


def invalid_response(
    provider: str, problem: str, billed: ModelResponse | None = None
) -> ProviderError:
    """An answer whose shape cannot be understood: the same request gets the same shape."""
    return ProviderError(
        f"{provider} sent an answer TaskAgent cannot read: {problem}",
        kind=INVALID_RESPONSE,
        retryable=False,
        billed=billed,
    )


def snippet(value: object) -> str:
    """What came back, short enough for an error message."""
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "..."


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date."""
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    if (ms := _number(lowered.get("retry-after-ms"))) is not None:
        return max(ms / 1000.0, 0.0)
    value = lowered.get("retry-after")
    if value is None:
        return None
    if (seconds := _number(value)) is not None:
        return max(seconds, 0.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def classify_openai_error(exc: BaseException) -> ProviderError:
    """Classify an exception raised by the `openai` client."""
    import openai

    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, openai.APIStatusError):
        message, code = openai_detail(exc.body, exc.message)
        wait = parse_retry_after(exc.response.headers)
        return classify_status("openai", exc.status_code, message, code=code, retry_after=wait)
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(f"openai timeout: {exc}", kind=TIMEOUT, retryable=True)
    if type(exc) is openai.APIError and exc.body is not None:  # an error event in a stream
        return error_sent_as_answer(exc.body, "in the answer's stream")
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(f"openai connection error: {exc}", kind=CONNECTION, retryable=True)
    if isinstance(exc, openai.ContentFilterFinishReasonError):
        return content_filtered("openai", str(exc))
    return _transport_error("openai", exc)


def error_sent_as_answer(error: object, where: str) -> ProviderError:
    """An OpenAI-style error object that a server (or a proxy in front of it) sent with
    HTTP 200: classified by the HTTP status in its `code`, else as a server error."""
    message, code = openai_detail({"error": error}, snippet(error))
    raw = error.get("code") if isinstance(error, Mapping) else None
    status = raw if isinstance(raw, int) and 400 <= raw < 600 else 500
    return classify_status("openai", status, f"{message} (sent {where})", code=code)


def openai_detail(body: object, fallback: str) -> tuple[str, str | None]:
    """The message and code (or type) of an OpenAI-style error body."""
    error = body.get("error", body) if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return (str(body) if isinstance(body, str) and body else fallback), None
    message = error.get("message")
    code = error.get("code")
    if not isinstance(code, str):
        code = error.get("type")
    return (str(message) if message else fallback), (str(code) if code is not None else None)


def classify_gemini_error(exc: BaseException) -> ProviderError:
    """Classify an exception raised by the `google-genai` client."""
    from google.genai import errors as genai_errors

    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, genai_errors.APIError):
        message = exc.message or str(exc.details)
        if exc.status:
            message = f"{exc.status}: {message}"
        headers = getattr(exc.response, "headers", None)
        retry_after = parse_retry_after(headers) or _gemini_retry_delay(exc.details)
        return classify_status("gemini", exc.code, message, retry_after=retry_after)
    return _transport_error("gemini", exc)


def _gemini_retry_delay(details: Any) -> float | None:
    """`retryDelay` of a google.rpc.RetryInfo detail, e.g. "2s"."""
    error = details.get("error", details) if isinstance(details, Mapping) else None
    items = error.get("details") if isinstance(error, Mapping) else None
    for item in items if isinstance(items, list) else []:
        delay = item.get("retryDelay") if isinstance(item, Mapping) else None
        if isinstance(delay, str) and delay.endswith("s"):
            return _number(delay[:-1])
    return None


def _transport_error(provider: str, exc: BaseException) -> ProviderError:
    """Timeouts, dropped connections and unreadable answers of whichever HTTP stack was used."""
    name = type(exc).__name__
    text = f"{provider} {name}: {exc}" if str(exc) else f"{provider} {name}"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError) or "Timeout" in name:
        return ProviderError(text, kind=TIMEOUT, retryable=True)
    if isinstance(exc, ConnectionError | OSError) or _from_http_stack(exc):
        return ProviderError(text, kind=CONNECTION, retryable=True)
    if isinstance(exc, json.JSONDecodeError):
        return invalid_response(
            provider,
            f"the body is not JSON ({snippet(exc.doc)!r}); is the base URL the API's? "
            "A proxy or a web page answered",
        )
    if "Response" in name or "JSON" in name:
        return invalid_response(provider, text)
    if isinstance(exc, ValueError | TypeError):
        # The client refused the request before sending it: sending it again will not help.
        return ProviderError(text, kind=BAD_REQUEST, retryable=False)
    return ProviderError(text, kind=UNKNOWN, retryable=True)


def _from_http_stack(exc: BaseException) -> bool:
    module = type(exc).__module__
    return any(module == m or module.startswith(f"{m}.") for m in ("httpx", "httpx2", "aiohttp"))


def classify_error(provider: str, exc: BaseException) -> ProviderError:
    """Classify an exception of the named provider's client."""
    if provider == "gemini":
        return classify_gemini_error(exc)
    return classify_openai_error(exc)
