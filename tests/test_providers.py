"""Providers through the real openai and google-genai clients against a fake HTTP server."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from datetime import date, datetime
from email.utils import formatdate
from enum import StrEnum
from typing import Any, Literal

import jsonschema
import pytest
from pydantic import AnyUrl, BaseModel, Field

from taskagent.llm import (
    Message,
    ModelRequest,
    ModelResponse,
    OfflineProvider,
    ProviderError,
    ProviderFactory,
    ProviderSettings,
    ToolCall,
    ToolSpec,
    parse_model,
    parse_retry_after,
)
from taskagent.llm.errors import classify_status
from taskagent.llm.gemini_provider import GeminiProvider
from taskagent.llm.openai_provider import OpenAIProvider
from taskagent.llm.usage import estimate_tokens
from taskagent.testing import ScriptedAnswer, ScriptedCall, ScriptedProvider
from tests.fake_llm import EXHAUSTED, TEST_KEY, FakeLLM

SECRET = TEST_KEY
WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather of a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


def ask(text: str = "What is the capital of France?", **kwargs: Any) -> ModelRequest:
    messages = [Message(role="system", content="Be brief."), Message(role="user", content=text)]
    return ModelRequest(model="test:model", messages=messages, **kwargs)


# -- OpenAI wire format ---------------------------------------------------------------------------


async def test_openai_text_usage_and_request_fields(llm: FakeLLM, openai_provider: OpenAIProvider):
    llm.openai.reply_text("Paris.", model="gpt-4o-mini-2024-07-18", usage=(21, 2))

    answer = await openai_provider.complete(
        ask(temperature=0.2, max_output_tokens=50), "gpt-4o-mini"
    )

    assert answer.content == "Paris."
    assert answer.tool_calls == []
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (21, 2)
    assert answer.model == "gpt-4o-mini-2024-07-18"
    assert answer.finish_reason == "stop"
    assert answer.latency_ms > 0
    body = llm.openai.last
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    assert (body["temperature"], body["max_tokens"]) == (0.2, 50)
    assert "tools" not in body and "response_format" not in body
    assert llm.openai.headers[-1]["Authorization"] == f"Bearer {SECRET}"


async def test_openai_structured_output_request(llm: FakeLLM, openai_provider: OpenAIProvider):
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    llm.openai.reply_json({"city": "Paris"})

    answer = await openai_provider.complete(
        ask(output_schema=schema, output_schema_name="capital"), "gpt-4o-mini"
    )

    assert json.loads(answer.content or "") == {"city": "Paris"}
    assert llm.openai.last["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "capital", "schema": schema, "strict": False},
    }


async def test_openai_tool_call_round_trip(llm: FakeLLM, openai_provider: OpenAIProvider):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    llm.openai.reply_tool_call("get_weather", {"city": "Paris"}, call_id="call_abc")
    llm.openai.reply_text("It is sunny in Paris.")
    request = ask("Weather in Paris?", tools=[WEATHER], output_schema=schema)

    first = await openai_provider.complete(request, "gpt-4o-mini")

    assert first.tool_calls == [
        ToolCall(id="call_abc", name="get_weather", arguments='{"city": "Paris"}')
    ]
    assert first.content is None and first.finish_reason == "tool_calls"
    sent = llm.openai.last
    assert sent["tools"] == [{"type": "function", "function": WEATHER.model_dump()}]
    assert sent["response_format"]["type"] == "json_schema"  # both, where the server takes both

    follow_up = request.model_copy(
        update={
            "messages": [
                *request.messages,
                Message(role="assistant", tool_calls=first.tool_calls),
                Message(role="tool", tool_call_id="call_abc", name="get_weather", content="sunny"),
            ]
        }
    )
    second = await openai_provider.complete(follow_up, "gpt-4o-mini")

    assert second.content == "It is sunny in Paris."
    assistant, tool = llm.openai.last["messages"][-2:]
    assert assistant["role"] == "assistant"
    assert assistant["tool_calls"] == [
        {
            "id": "call_abc",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    assert tool == {"role": "tool", "tool_call_id": "call_abc", "content": "sunny"}


async def test_openai_content_filter_is_not_retryable(
    llm: FakeLLM, openai_provider: OpenAIProvider
):
    llm.openai.reply_text(None, finish_reason="content_filter")

    with pytest.raises(ProviderError) as caught:
        await openai_provider.complete(ask(), "gpt-4o-mini")

    assert (caught.value.kind, caught.value.retryable) == ("content_filter", False)


# -- Gemini wire format ---------------------------------------------------------------------------


async def test_gemini_text_usage_and_request_fields(llm: FakeLLM, gemini_provider: GeminiProvider):
    llm.gemini.reply_text("Paris.", model="gemini-2.5-flash-001", usage=(17, 3))

    answer = await gemini_provider.complete(
        ask(temperature=0.2, max_output_tokens=50), "gemini-2.5-flash"
    )

    assert answer.content == "Paris."
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (17, 3)
    assert answer.model == "gemini-2.5-flash-001"
    assert answer.finish_reason == "stop"  # in the chat-completions vocabulary
    assert llm.gemini.paths == ["/v1beta/models/gemini-2.5-flash:generateContent"]
    assert llm.gemini.headers[-1]["x-goog-api-key"] == SECRET
    body = llm.gemini.last
    assert body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "What is the capital of France?"}]}
    ]
    assert body["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 50}
    assert "tools" not in body


async def test_gemini_structured_output_request(llm: FakeLLM, gemini_provider: GeminiProvider):
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    llm.gemini.reply_json({"city": "Paris"})

    answer = await gemini_provider.complete(ask(output_schema=schema), "gemini-2.5-flash")

    assert json.loads(answer.content or "") == {"city": "Paris"}
    config = llm.gemini.last["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == schema


async def test_gemini_tool_calls_without_ids_round_trip(
    llm: FakeLLM, gemini_provider: GeminiProvider
):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    llm.gemini.reply_tool_calls(
        [(None, "get_weather", {"city": "Paris"}), (None, "get_weather", {"city": "Rome"})]
    )
    llm.gemini.reply_text("Sunny in both.")
    request = ask("Weather in Paris and Rome?", tools=[WEATHER], output_schema=schema)

    first = await gemini_provider.complete(request, "gemini-2.5-flash")

    assert first.finish_reason == "tool_calls"
    assert [(c.id, c.name, json.loads(c.arguments)) for c in first.tool_calls] == [
        ("call_0", "get_weather", {"city": "Paris"}),
        ("call_1", "get_weather", {"city": "Rome"}),
    ]
    sent = llm.gemini.last
    declaration = sent["tools"][0]["functionDeclarations"][0]
    assert declaration["name"] == "get_weather"
    assert declaration["description"] == WEATHER.description
    assert WEATHER.parameters in (
        declaration.get("parametersJsonSchema"),
        declaration.get("parameters_json_schema"),
    )
    assert "responseMimeType" not in sent.get("generationConfig", {})

    results = [
        Message(role="tool", tool_call_id="call_0", content="sunny"),
        Message(role="tool", tool_call_id="call_1", name="get_weather", content="sunny too"),
    ]
    follow_up = request.model_copy(
        update={
            "messages": [
                *request.messages,
                Message(role="assistant", tool_calls=first.tool_calls),
                *results,
            ]
        }
    )
    second = await gemini_provider.complete(follow_up, "gemini-2.5-flash")

    assert second.content == "Sunny in both."
    model_turn, results_turn = llm.gemini.last["contents"][-2:]
    assert model_turn["role"] == "model"
    assert [p["functionCall"] for p in model_turn["parts"]] == [
        {"id": "call_0", "name": "get_weather", "args": {"city": "Paris"}},
        {"id": "call_1", "name": "get_weather", "args": {"city": "Rome"}},
    ]
    assert results_turn["role"] == "user"  # both results in one turn; names found from the calls
    assert [p["functionResponse"] for p in results_turn["parts"]] == [
        {"id": "call_0", "name": "get_weather", "response": {"result": "sunny"}},
        {"id": "call_1", "name": "get_weather", "response": {"result": "sunny too"}},
    ]


async def test_gemini_keeps_given_ids_and_thought_signatures(
    llm: FakeLLM, gemini_provider: GeminiProvider
):
    call = {"functionCall": {"id": "fc-7", "name": "get_weather", "args": {"city": "Oslo"}}}
    llm.gemini.reply_raw(
        {
            "candidates": [
                {"content": {"role": "model", "parts": [{**call, "thoughtSignature": "c2ln"}]}}
            ]
        }
    )
    llm.gemini.reply_text("Cold.")
    request = ask("Weather in Oslo?", tools=[WEATHER])

    first = await gemini_provider.complete(request, "gemini-3-flash")
    follow_up = [
        *request.messages,
        Message(role="assistant", tool_calls=first.tool_calls),
        Message(role="tool", tool_call_id="fc-7", content="-5 C"),
    ]
    await gemini_provider.complete(request.model_copy(update={"messages": follow_up}), "m")

    assert first.tool_calls[0].id == "fc-7"
    assert first.tool_calls[0].thought_signature == "c2ln"
    model_part = llm.gemini.last["contents"][-2]["parts"][0]
    assert model_part["thoughtSignature"] == "c2ln"
    assert model_part["functionCall"]["id"] == "fc-7"


@pytest.mark.parametrize(
    "script",
    [lambda s: s.reply_blocked("SAFETY"), lambda s: s.reply_text("", finish_reason="SAFETY")],
)
async def test_gemini_blocked_answers_are_not_retryable(
    llm: FakeLLM, gemini_provider: GeminiProvider, script: Any
):
    script(llm.gemini)

    with pytest.raises(ProviderError) as caught:
        await gemini_provider.complete(ask(), "gemini-2.5-flash")

    assert (caught.value.kind, caught.value.retryable) == ("content_filter", False)
    assert "SAFETY" in str(caught.value)


# -- Errors, in both wire formats: classified, and exactly one HTTP request per call --------------


@pytest.fixture(params=["openai", "gemini"])
async def wire(request: pytest.FixtureRequest, llm: FakeLLM) -> AsyncIterator[Any]:
    """(provider, script) of one wire format."""
    if request.param == "openai":
        provider: Any = OpenAIProvider(SECRET, base_url=llm.openai_base_url, timeout=10)
        script: Any = llm.openai
    else:
        provider = GeminiProvider(SECRET, base_url=llm.gemini_base_url, timeout=10)
        script = llm.gemini
    yield provider, script
    await provider.aclose()


async def fail_once(wire: Any, *args: Any, **kwargs: Any) -> ProviderError:
    provider, script = wire
    script.fail(*args, **kwargs)
    with pytest.raises(ProviderError) as caught:
        await provider.complete(ask(), "some-model")
    assert len(script.requests) == 1, "the client retried on its own"
    return caught.value


async def test_rate_limit_is_retryable_after_retry_after(wire: Any):
    error = await fail_once(wire, 429, "Slow down, please", headers={"Retry-After": "2"})

    assert (error.kind, error.retryable, error.retry_after, error.status) == (
        "rate_limited",
        True,
        2.0,
        429,
    )
    assert "Slow down, please" in str(error)


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retryable(wire: Any, status: int):
    error = await fail_once(wire, status, "The server had an error")

    assert (error.kind, error.retryable, error.status) == ("server_error", True, status)


async def test_unauthorized_is_not_retryable_and_carries_the_message(wire: Any):
    error = await fail_once(wire, 401, "Incorrect API key provided")

    assert (error.kind, error.retryable, error.status) == ("unauthorized", False, 401)
    assert "Incorrect API key provided" in str(error) and "401" in str(error)
    assert SECRET not in str(error)


CONTEXT_ERRORS = {  # what each provider answers to an over-long prompt
    "openai": (
        "This model's maximum context length is 128000 tokens. You requested 200000.",
        "context_length_exceeded",
    ),
    "gemini": (
        "The input token count (2000000) exceeds the maximum number of tokens allowed (1048576).",
        "INVALID_ARGUMENT",
    ),
}


async def test_context_length_is_not_retryable(wire: Any):
    message, code = CONTEXT_ERRORS[wire[0].name]
    error = await fail_once(wire, 400, message, code=code)

    assert (error.kind, error.retryable, error.status) == ("context_length", False, 400)
    assert message in str(error)


@pytest.mark.parametrize(
    ("status", "kind"), [(400, "bad_request"), (403, "forbidden"), (404, "not_found")]
)
async def test_client_errors_are_not_retryable(wire: Any, status: int, kind: str):
    error = await fail_once(wire, status, "nope")

    assert (error.kind, error.retryable, error.status) == (kind, False, status)


async def test_an_unscripted_call_fails_loudly(wire: Any):
    provider, script = wire

    with pytest.raises(ProviderError, match=EXHAUSTED):
        await provider.complete(ask(), "some-model")
    assert len(script.requests) == 1


@pytest.mark.parametrize("provider_class", [OpenAIProvider, GeminiProvider])
async def test_a_refused_connection_fails_at_once_as_retryable(provider_class: Any):
    with socket.socket() as sock:  # a port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}" + ("/v1" if provider_class is OpenAIProvider else "")
    provider = provider_class(SECRET, base_url=base_url, timeout=10)
    started = time.monotonic()
    try:
        with pytest.raises(ProviderError) as caught:
            # google-genai's aiohttp transport would wait 1-10 s and retry once if not told not to
            await asyncio.wait_for(provider.complete(ask(), "some-model"), timeout=5)
    finally:
        await provider.aclose()

    assert (caught.value.kind, caught.value.retryable) == ("connection", True)
    assert time.monotonic() - started < 1.0


async def test_gemini_retry_delay_from_the_error_details(llm: FakeLLM, gemini_provider: Any):
    retry_info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}
    error = {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}
    llm.gemini.fail(429, body={"error": {**error, "details": [retry_info]}})

    with pytest.raises(ProviderError) as caught:
        await gemini_provider.complete(ask(), "gemini-2.5-flash")

    assert (caught.value.kind, caught.value.retry_after) == ("rate_limited", 7.0)
    assert "Quota exceeded" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (408, "timeout", True),
        (409, "conflict", True),
        (413, "context_length", False),
        (422, "bad_request", False),
        (418, "bad_request", False),
        (502, "server_error", True),
    ],
)
def test_status_classification(status: int, kind: str, retryable: bool):
    error = classify_status("openai", status, "boom", retry_after=1.0)

    assert (error.kind, error.retryable, error.status) == (kind, retryable, status)
    assert error.retry_after == (1.0 if retryable else None)
    assert str(error) == f"openai HTTP {status}: boom"


def test_retry_after_forms():
    assert parse_retry_after({"retry-after-ms": "1500", "Retry-After": "9"}) == 1.5
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    in_a_minute = parse_retry_after({"Retry-After": formatdate(time.time() + 60, usegmt=True)})
    assert in_a_minute is not None and 55 <= in_a_minute <= 61
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


# -- Factory and settings -------------------------------------------------------------------------


def no_keys(**overrides: Any) -> ProviderSettings:
    keys = {
        "OPENAI_API_KEY": None,
        "GEMINI_API_KEY": None,
        "GOOGLE_API_KEY": None,
        "OPENAI_BASE_URL": None,
        "GEMINI_BASE_URL": None,
    }
    return ProviderSettings(**{**keys, **overrides})


@pytest.mark.parametrize(
    ("ref", "variable"),
    [("openai:gpt-4o-mini", "OPENAI_API_KEY"), ("gemini:flash", "GEMINI_API_KEY")],
)
def test_a_missing_key_names_the_variable_to_set(ref: str, variable: str):
    factory = ProviderFactory(no_keys())

    with pytest.raises(ProviderError) as caught:
        factory.resolve(ref)

    assert (caught.value.kind, caught.value.retryable) == ("missing_credentials", False)
    assert f"set {variable}" in str(caught.value) and ref in str(caught.value)


async def test_factory_builds_once_routes_and_never_shows_secrets():
    settings = no_keys(OPENAI_API_KEY=SECRET, GOOGLE_API_KEY=SECRET)
    factory = ProviderFactory(settings)
    try:
        openai_provider, model = factory.resolve("openai:gpt-4o-mini")
        assert model == "gpt-4o-mini" and factory.get("openai") is openai_provider
        gemini_provider = factory.get("gemini")  # GOOGLE_API_KEY stands in for GEMINI_API_KEY
        shown = " ".join(map(repr, [settings, factory, openai_provider, gemini_provider]))
        assert SECRET not in shown and SECRET not in str(settings.model_dump())
        answer = await factory.complete(offline_request("hi"))
        assert answer.model == "offline-1"
        with pytest.raises(ValueError, match="unknown provider 'test'"):
            await factory.complete(ask())
    finally:
        await factory.aclose()


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch):
    for name in ("TASKAGENT_DEFAULT_MODEL", "TASKAGENT_LLM_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    settings = ProviderSettings()
    assert (settings.default_model, settings.llm_timeout) == (None, 120.0)
    monkeypatch.setenv("TASKAGENT_LLM_TIMEOUT", "30")
    assert ProviderSettings().llm_timeout == 30.0


def test_parse_model():
    assert parse_model("openai:gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert parse_model("gemini:gemini-2.5-flash") == ("gemini", "gemini-2.5-flash")
    assert parse_model("offline:default") == ("offline", "default")
    with pytest.raises(ValueError, match=r"names no provider.*provider:model"):
        parse_model("gpt-4o-mini")
    with pytest.raises(ValueError, match="unknown provider 'anthropic'"):
        parse_model("anthropic:claude")
    with pytest.raises(ValueError, match="names no model"):
        parse_model("openai:")


# -- The offline model ----------------------------------------------------------------------------


class Priority(StrEnum):
    LOW = "low"
    HIGH = "high"


class Contact(BaseModel):
    name: str = Field(min_length=3, max_length=40)
    role: Literal["ceo", "cto", "founder"]
    website: AnyUrl | None = None
    seniority_years: int = Field(ge=1, le=40)


class Finding(BaseModel):
    title: str
    confidence: float = Field(gt=0, lt=1)
    priority: Priority
    score: int = Field(ge=0, le=100, multiple_of=5)
    tags: list[str] = Field(min_length=1, max_length=3)


class Node(BaseModel):
    label: str
    children: list[Node] = Field(default_factory=list)


class Report(BaseModel):
    company_name: str
    founded: date
    updated_at: datetime
    headcount: int = Field(gt=0)
    revenue_musd: float = Field(ge=0.5, le=2.5)
    ceo: Contact
    contacts: list[Contact] = Field(min_length=2, max_length=4)
    findings: list[Finding] = Field(min_length=3)
    owner: Contact | None
    tree: Node
    notes: dict[str, int]


def offline_request(text: str, **kwargs: Any) -> ModelRequest:
    return ModelRequest(
        model="offline:default", messages=[Message(role="user", content=text)], **kwargs
    )


async def test_offline_output_conforms_to_a_nested_pydantic_schema():
    schema = Report.model_json_schema()
    assert "$defs" in schema

    answer = await OfflineProvider().complete(
        offline_request("Research Acme Robotics in Berlin", output_schema=schema), "default"
    )

    value = json.loads(answer.content or "")
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(value)
    report = Report.model_validate(value)
    assert report.company_name.startswith("Company name: ")
    assert any(word in report.company_name for word in ("acme", "robotics", "berlin", "research"))
    assert answer.model == "offline-1" and answer.finish_reason == "stop"
    assert answer.usage.input_tokens == estimate_tokens("Research Acme Robotics in Berlin")
    assert answer.usage.output_tokens == estimate_tokens(answer.content or "")
    assert not answer.usage.estimated  # the offline model's own count


async def test_offline_is_deterministic():
    provider = OfflineProvider()
    schema = Report.model_json_schema()
    first = await provider.complete(offline_request("Acme", output_schema=schema), "x")
    again = await provider.complete(offline_request("Acme", output_schema=schema), "x")
    other = await provider.complete(offline_request("Globex", output_schema=schema), "x")

    assert first == again
    assert first.content != other.content
    text = await provider.complete(offline_request("Summarise Acme's year"), "x")
    assert text.content == "Offline answer to: Summarise Acme's year"
    assert text == await provider.complete(offline_request("Summarise Acme's year"), "x")


async def test_offline_calls_the_first_offered_tool_once_with_its_required_arguments():
    tools = [
        ToolSpec(
            name="lookup",
            parameters={
                "type": "object",
                "properties": {"company": {"type": "string"}, "limit": {"type": "integer"}},
                "required": ["company"],
            },
        ),
        ToolSpec(name="current_time"),
    ]
    provider = OfflineProvider()
    request = offline_request("Who is Acme?", tools=tools)

    first = await provider.complete(request, "default")
    assert first.content is None and first.finish_reason == "tool_calls"
    [call] = first.tool_calls
    assert call.name == "lookup"
    assert json.loads(call.arguments) == {"company": "Company: acme"}  # optional ones left out
    assert first == await provider.complete(request, "default")

    answered = request.model_copy(
        update={
            "messages": [
                *request.messages,
                Message(role="assistant", tool_calls=first.tool_calls),
                Message(role="tool", tool_call_id=call.id, name="lookup", content="Acme: robots"),
            ]
        }
    )
    final = await provider.complete(answered, "default")
    assert final.tool_calls == [] and final.content == "Offline answer to: Who is Acme?"


async def test_the_scripted_model_plays_what_was_enqueued_per_name_then_the_offline_answer():
    def echo(request: ModelRequest) -> ModelResponse:
        return ModelResponse(content=f"{len(request.messages)} messages")

    scripted = ScriptedProvider()
    scripted.enqueue(
        "research",
        ScriptedAnswer(tool_calls=[ScriptedCall(name="search", arguments={"q": "acme"})]),
        ScriptedAnswer(content={"company": "Acme"}),
        echo,
    )
    scripted.enqueue("other", ScriptedAnswer(content="other's"))
    request = offline_request("Who is Acme?")

    played = [await scripted.complete(request, "research") for _ in range(3)]

    assert [c.name for c in played[0].tool_calls] == ["search"]
    assert json.loads(played[0].tool_calls[0].arguments) == {"q": "acme"}
    assert played[0].finish_reason == "tool_calls" and played[0].usage.output_tokens > 0
    assert json.loads(played[1].content or "") == {"company": "Acme"}
    assert played[2].content == "1 messages"
    assert scripted.pending("research") == 0 and scripted.pending() == 1
    exhausted = await scripted.complete(request, "research")
    assert exhausted.content == "Offline answer to: Who is Acme?"
    assert len(scripted.requests["research"]) == 4
    assert (await scripted.complete(request, "other")).content == "other's"


async def test_a_worker_without_a_scripted_provider_refuses_scripted_models():
    with pytest.raises(ValueError, match="scripted model is a test double"):
        ProviderFactory(ProviderSettings()).get("scripted", "judge")
