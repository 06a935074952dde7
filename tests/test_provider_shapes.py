"""Odd answers of real servers, reproduced on the wire: normalised where unambiguous, otherwise
a classified error that says what came back. Nothing here may crash the provider layer with an
unclassified exception (Temporal would retry it as transient, and bill every attempt)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from taskagent.llm import Message, ModelRequest, ProviderError, ToolSpec
from taskagent.llm.gemini_provider import GeminiProvider
from taskagent.llm.openai_provider import OpenAIProvider
from tests.fake_llm import FakeLLM

ANSWER = '{"answer": 42}'


def ask(text: str = "Answer as JSON.") -> ModelRequest:
    messages = [Message(role="system", content="Be brief."), Message(role="user", content=text)]
    tool = ToolSpec(name="lookup", description="Look a word up.")
    return ModelRequest(model="test:model", messages=messages, tools=[tool])


@pytest.fixture(params=["openai", "gemini"])
async def wire(request: Any, llm: FakeLLM) -> AsyncIterator[tuple[Any, Any]]:
    """Each wire format in turn: its script on the fake server, and its provider."""
    if request.param == "openai":
        provider: Any = OpenAIProvider("sk-test", base_url=llm.openai_base_url, timeout=10)
    else:
        provider = GeminiProvider("test-key", base_url=llm.gemini_base_url, timeout=10)
    yield getattr(llm, request.param), provider
    await provider.aclose()


async def refused(provider: Any) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await provider.complete(ask(), "model")
    return caught.value


# -- normalised: what a server sends that means one thing ---------------------------------------


async def test_tool_arguments_sent_as_an_object_become_json_text(
    llm: FakeLLM, openai_provider: Any
):
    call = {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": {"w": 1}}}
    llm.openai.reply_message({"role": "assistant", "content": None, "tool_calls": [call]})

    answer = await openai_provider.complete(ask(), "model")

    assert [(c.id, c.name, c.arguments) for c in answer.tool_calls] == [
        ("c1", "lookup", '{"w": 1}')
    ]


async def test_tool_calls_without_ids_are_numbered(llm: FakeLLM, openai_provider: Any):
    calls = [
        {"type": "function", "function": {"name": "lookup", "arguments": '{"w": "a"}'}},
        {"type": "function", "function": {"name": "lookup", "arguments": ""}},
    ]
    llm.openai.reply_message({"role": "assistant", "content": None, "tool_calls": calls})

    answer = await openai_provider.complete(ask(), "model")

    assert [(c.id, c.arguments) for c in answer.tool_calls] == [
        ("call_0", '{"w": "a"}'),
        ("call_1", "{}"),
    ]


async def test_a_legacy_function_call_is_a_tool_call(llm: FakeLLM, openai_provider: Any):
    legacy = {"name": "lookup", "arguments": '{"w": "b"}'}
    llm.openai.reply_message({"role": "assistant", "content": None, "function_call": legacy})

    answer = await openai_provider.complete(ask(), "model")

    assert [(c.id, c.name, c.arguments) for c in answer.tool_calls] == [
        ("call_0", "lookup", '{"w": "b"}')
    ]


async def test_content_given_as_text_parts_is_joined(llm: FakeLLM, openai_provider: Any):
    parts = [{"type": "text", "text": '{"answer": '}, {"type": "text", "text": "42}"}]
    llm.openai.reply_message({"role": "assistant", "content": parts})

    assert (await openai_provider.complete(ask(), "model")).content == ANSWER


async def test_reasoning_before_the_answer_is_stripped(llm: FakeLLM, openai_provider: Any):
    llm.openai.reply_text("<think>Is it {a} or {b}? {a}.</think>\n" + ANSWER)

    assert (await openai_provider.complete(ask(), "model")).content == ANSWER


async def test_gemini_thought_parts_are_not_the_answer(llm: FakeLLM, gemini_provider: Any):
    llm.gemini.reply_parts([{"text": "Is it {a} or {b}?", "thought": True}, {"text": ANSWER}])

    assert (await gemini_provider.complete(ask(), "model")).content == ANSWER


async def test_truncated_answers_say_so(llm: FakeLLM, openai_provider: Any, gemini_provider: Any):
    llm.openai.reply_text('{"answer": "a long', finish_reason="length")
    llm.gemini.reply_text('{"answer": "a long', finish_reason="MAX_TOKENS")

    assert (await openai_provider.complete(ask(), "model")).finish_reason == "length"
    assert (await gemini_provider.complete(ask(), "model")).finish_reason == "length"


async def test_a_missing_usage_is_estimated_and_marked(wire: tuple[Any, Any]):
    script, provider = wire
    script.reply_text("x" * 400, usage=None)

    usage = (await provider.complete(ask("y" * 800), "model")).usage

    assert usage.estimated
    assert usage.output_tokens == 100
    assert usage.input_tokens > 200  # the messages and the tool's schema


# -- refused: what cannot be read, said with what came back ---------------------------------------


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"role": "assistant", "content": 42}, "choices[0].message.content"),
        ({"role": "assistant", "content": [{"type": "image_url"}]}, "choices[0].message.content"),
        ({"role": "assistant", "tool_calls": [{"id": "c"}]}, "tool_calls[0].function"),
        (
            {"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]},
            "tool_calls[0].function.name",
        ),
        (
            {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": 3}}]},
            "tool_calls[0].function.arguments",
        ),
        ({"role": "assistant", "tool_calls": "lookup"}, "choices[0].message.tool_calls"),
    ],
)
async def test_unreadable_shapes_name_the_field(
    llm: FakeLLM, openai_provider: Any, message: dict[str, Any], field: str
):
    llm.openai.reply_message(message)

    error = await refused(openai_provider)

    assert (error.kind, error.retryable) == ("invalid_response", False)
    assert field in str(error) and str(error).startswith("openai ")
    assert error.billed is not None and error.billed.usage.output_tokens == 7


async def test_a_message_missing_from_the_choice_is_named(llm: FakeLLM, openai_provider: Any):
    llm.openai.reply_raw({"choices": [{"index": 0, "text": "legacy completion"}]})

    error = await refused(openai_provider)

    assert error.kind == "invalid_response" and "choices[0].message" in str(error)


async def test_a_web_page_says_what_answered(wire: tuple[Any, Any]):
    script, provider = wire
    script.reply_html()

    error = await refused(provider)

    assert (error.kind, error.retryable) == ("invalid_response", False)
    assert "Proxy login" in str(error) and "base URL" in str(error).replace("BASE_URL", "base URL")
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    ("code", "kind", "retryable"),
    [(503, "server_error", True), (429, "rate_limited", True), ("bad_thing", "server_error", True)],
)
async def test_an_error_in_a_200_body_keeps_its_message(
    llm: FakeLLM, openai_provider: Any, code: Any, kind: str, retryable: bool
):
    llm.openai.reply_raw({"error": {"message": "upstream model overloaded", "code": code}})

    error = await refused(openai_provider)

    assert (error.kind, error.retryable) == (kind, retryable)
    assert "upstream model overloaded" in str(error) and "HTTP 200" in str(error)


async def test_a_refusal_fails_once_with_its_text_and_its_bill(llm: FakeLLM, openai_provider: Any):
    llm.openai.reply_refusal("I can't help with that request.", usage=(40, 9))

    error = await refused(openai_provider)

    assert (error.kind, error.retryable) == ("refused", False)
    assert "I can't help with that request." in str(error)
    assert error.billed is not None
    assert (error.billed.usage.input_tokens, error.billed.usage.output_tokens) == (40, 9)


async def test_filtered_answers_carry_their_bill(
    llm: FakeLLM, openai_provider: Any, gemini_provider: Any
):
    llm.openai.reply_text(None, finish_reason="content_filter", usage=(30, 2))
    llm.gemini.reply_parts([], finish_reason="SAFETY", usage=(31, 0))

    for provider, tokens in ((openai_provider, 30), (gemini_provider, 31)):
        error = await refused(provider)
        assert (error.kind, error.retryable) == ("content_filter", False)
        assert error.billed is not None and error.billed.usage.input_tokens == tokens


async def test_insufficient_quota_is_billing_not_a_rate_limit(llm: FakeLLM, openai_provider: Any):
    message = "You exceeded your current quota, please check your plan and billing details."
    body = {
        "error": {"message": message, "type": "insufficient_quota", "code": "insufficient_quota"}
    }
    llm.openai.fail(429, body=body)

    error = await refused(openai_provider)

    assert (error.kind, error.retryable, error.status) == ("insufficient_quota", False, 429)
    assert message in str(error)
