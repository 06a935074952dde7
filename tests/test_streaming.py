"""Streamed model calls through the real openai and google-genai clients against fake servers
that stream as the real ones do: the text arrives in pieces, the answer is the same whole answer
a non-streamed call gives, usage included wherever the server puts it."""

from __future__ import annotations

import json

import pytest

from taskagent.llm import Message, ModelRequest, ProviderError, ToolSpec
from taskagent.llm.gemini_provider import GeminiProvider
from taskagent.llm.openai_provider import OpenAIProvider, parse_completion
from taskagent.llm.openai_stream import CompletionAssembler
from tests.fake_llm import FakeLLM

LOOKUP = ToolSpec(
    name="lookup",
    description="Find a company.",
    parameters={"type": "object", "properties": {"name": {"type": "string"}}},
)
ANSWER = "Paris is the capital of France, on the Seine."


def ask(**kwargs: object) -> ModelRequest:
    messages = [Message(role="user", content="What is the capital of France?")]
    return ModelRequest(model="test:model", messages=messages, **kwargs)  # type: ignore[arg-type]


class Deltas(list[str]):
    def __call__(self, text: str) -> None:
        self.append(text)


async def test_openai_streams_text_and_reads_the_usage_chunk(
    llm: FakeLLM, openai_provider: OpenAIProvider
) -> None:
    llm.openai.reply_text(ANSWER, usage=(21, 12))
    deltas = Deltas()

    answer = await openai_provider.complete(ask(), "gpt-4o-mini", deltas)

    assert len(deltas) == len(ANSWER.split()) and "".join(deltas) == ANSWER
    assert answer.content == ANSWER and answer.finish_reason == "stop"
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (21, 12)
    assert not answer.usage.estimated
    assert llm.openai.last["stream"] is True
    assert llm.openai.last["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("where", ["last_chunk", None])
async def test_openai_stream_usage_in_the_last_chunk_or_nowhere(
    llm: FakeLLM, openai_provider: OpenAIProvider, where: str | None
) -> None:
    llm.openai.stream_usage = where
    llm.openai.reply_text(ANSWER, usage=(30, 9))

    answer = await openai_provider.complete(ask(), "gpt-4o-mini", Deltas())

    assert answer.content == ANSWER
    if where is None:  # llama.cpp builds and servers that never send it: estimated
        assert answer.usage.estimated and answer.usage.output_tokens > 0
    else:
        assert (answer.usage.input_tokens, answer.usage.output_tokens) == (30, 9)


async def test_openai_streamed_tool_calls_are_put_together(
    llm: FakeLLM, openai_provider: OpenAIProvider
) -> None:
    llm.openai.reply_tool_calls(
        [("call_a", "lookup", {"name": "Acme Corporation"}), ("call_b", "lookup", {"name": "X"})]
    )
    deltas = Deltas()

    answer = await openai_provider.complete(ask(tools=[LOOKUP]), "gpt-4o-mini", deltas)

    assert deltas == [] and answer.finish_reason == "tool_calls"
    assert [(c.id, c.name, json.loads(c.arguments)) for c in answer.tool_calls] == [
        ("call_a", "lookup", {"name": "Acme Corporation"}),
        ("call_b", "lookup", {"name": "X"}),
    ]


async def test_openai_server_refusing_stream_options_is_asked_without(
    llm: FakeLLM, openai_provider: OpenAIProvider
) -> None:
    llm.openai.rejects_stream_options = True
    llm.openai.reply_text(ANSWER)

    answer = await openai_provider.complete(ask(), "gpt-4o-mini", Deltas())

    assert answer.content == ANSWER
    assert len(llm.openai.requests) == 2 and "stream_options" not in llm.openai.last


async def test_openai_error_event_in_the_stream_is_classified(
    llm: FakeLLM, openai_provider: OpenAIProvider
) -> None:
    llm.openai.reply_stream_error(ANSWER, "the model server ran out of memory")
    deltas = Deltas()

    with pytest.raises(ProviderError) as caught:
        await openai_provider.complete(ask(), "gpt-4o-mini", deltas)

    assert caught.value.retryable and caught.value.status == 500
    assert "ran out of memory (sent in the answer's stream)" in str(caught.value)
    assert deltas and ANSWER.startswith("".join(deltas))  # what arrived before the error


def test_assembler_takes_the_odd_shapes_of_local_servers() -> None:
    assembler = CompletionAssembler()
    chunks = [
        {"model": "qwen", "choices": [{"delta": {"content": [{"type": "text", "text": "Hi"}]}}]},
        # Ollama: a whole tool call, its arguments as an object, no index, no id
        {"choices": [{"delta": {"tool_calls": [{"function": {"name": "f", "arguments": {}}}]}}]},
        {"choices": [{"delta": {}, "finish_reason": "tool_calls"}], "usage": None},
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}},
    ]
    texts = [assembler.add(chunk) for chunk in chunks]

    answer = parse_completion(assembler.body(), 1.0)
    assert texts == ["Hi", "", "", ""]
    assert answer.content == "Hi" and answer.model == "qwen"
    assert [(c.id, c.name, c.arguments) for c in answer.tool_calls] == [("call_0", "f", "{}")]
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (3, 4)


async def test_gemini_streams_text_and_reads_the_last_usage(
    llm: FakeLLM, gemini_provider: GeminiProvider
) -> None:
    llm.gemini.reply_text(ANSWER, usage=(40, 11))
    deltas = Deltas()

    answer = await gemini_provider.complete(ask(), "gemini-2.5-flash", deltas)

    assert len(deltas) == len(ANSWER.split()) and "".join(deltas) == ANSWER
    assert answer.content == ANSWER and answer.finish_reason == "stop"
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (40, 11)
    assert llm.gemini.paths[-1] == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"


async def test_gemini_streamed_function_call_and_blocked_prompt(
    llm: FakeLLM, gemini_provider: GeminiProvider
) -> None:
    llm.gemini.reply_tool_call("lookup", {"name": "Acme"})
    llm.gemini.reply_blocked("SAFETY")

    answer = await gemini_provider.complete(ask(tools=[LOOKUP]), "gemini-2.5-flash", Deltas())
    assert [(c.name, json.loads(c.arguments)) for c in answer.tool_calls] == [
        ("lookup", {"name": "Acme"})
    ]
    with pytest.raises(ProviderError, match="prompt blocked: SAFETY"):
        await gemini_provider.complete(ask(), "gemini-2.5-flash", Deltas())


async def test_structured_output_streams_and_parses_alike(
    llm: FakeLLM, openai_provider: OpenAIProvider, gemini_provider: GeminiProvider
) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    value = {"city": "Paris"}
    llm.openai.reply_json(value)
    llm.gemini.reply_json(value)

    for provider in (openai_provider, gemini_provider):
        answer = await provider.complete(ask(output_schema=schema), "m", Deltas())
        assert json.loads(answer.content or "") == value
        assert answer.output_mode == "json_schema"
