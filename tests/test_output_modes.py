"""Structured output as each server takes it: configured, detected, remembered (see
taskagent.llm.capabilities), against fake servers that refuse what the real ones refuse."""

from __future__ import annotations

from typing import Any

import pytest

from taskagent.llm import Message, ModelRequest, ProviderError, ToolSpec
from taskagent.llm.capabilities import Capabilities, OutputMode
from taskagent.llm.gemini_provider import GeminiProvider
from taskagent.llm.openai_provider import OpenAIProvider
from tests.fake_llm import FakeLLM

SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
TOOL = ToolSpec(name="lookup", description="Look a word up.")


def ask(**kwargs: Any) -> ModelRequest:
    messages = [Message(role="user", content="Answer as JSON.")]
    return ModelRequest(model="openai:local", messages=messages, output_schema=SCHEMA, **kwargs)


def formats(llm: FakeLLM) -> list[Any]:
    return [body.get("response_format") for body in llm.openai.requests]


async def test_a_server_that_rejects_json_schema_gets_json_mode_with_the_schema(
    llm: FakeLLM, openai_provider: OpenAIProvider
):
    llm.openai.like_llama_cpp_python()
    llm.openai.reply_json({"answer": 1}).reply_json({"answer": 2})

    first = await openai_provider.complete(ask(), "qwen2.5")
    second = await openai_provider.complete(ask(), "qwen2.5")

    assert (first.content, second.content) == ('{"answer": 1}', '{"answer": 2}')
    assert [f["type"] for f in formats(llm)] == ["json_schema", "json_object", "json_object"]
    assert formats(llm)[1] == {"type": "json_object", "schema": SCHEMA}  # remembered after once
    assert first.output_mode == second.output_mode == "json_object"


async def test_modes_step_down_one_per_call_to_prompt_only(
    llm: FakeLLM, openai_provider: OpenAIProvider
):
    llm.openai.formats = set()  # a server that takes no response_format at all
    llm.openai.reply_json({"answer": 3})

    for _ in range(2):  # each call tries one weaker mode, then gives up with the server's error
        with pytest.raises(ProviderError) as caught:
            await openai_provider.complete(ask(), "tiny")
        assert caught.value.kind == "server_error"
    answer = await openai_provider.complete(ask(), "tiny")

    assert answer.output_mode == "prompt" and answer.content == '{"answer": 3}'
    assert formats(llm)[-1] is None
    assert openai_provider.capabilities.mode("tiny") is OutputMode.PROMPT
    assert openai_provider.capabilities.mode("other") is OutputMode.JSON_SCHEMA  # per model


async def test_other_server_errors_are_not_taken_for_a_format_problem(
    llm: FakeLLM, openai_provider: OpenAIProvider
):
    llm.openai.fail(500, "the GPU fell over")

    with pytest.raises(ProviderError):
        await openai_provider.complete(ask(), "model")

    assert len(llm.openai.requests) == 1
    assert openai_provider.capabilities.mode("model") is OutputMode.JSON_SCHEMA


async def test_a_configured_mode_is_used_from_the_first_call(llm: FakeLLM):
    capabilities = Capabilities("openai", configured={"qwen": OutputMode.JSON})
    provider = OpenAIProvider("unused", base_url=llm.openai_base_url, capabilities=capabilities)
    llm.openai.reply_json({"answer": 4})

    await provider.complete(ask(), "qwen")
    await provider.aclose()

    assert formats(llm) == [{"type": "json_object"}]


async def test_tools_and_structured_output_go_together_where_the_server_takes_both(
    llm: FakeLLM, openai_provider: OpenAIProvider
):
    llm.openai.reply_tool_call("lookup", {"w": "x"})

    await openai_provider.complete(ask(tools=[TOOL]), "gpt-4o-mini")

    sent = llm.openai.last
    assert sent["tools"][0]["function"]["name"] == "lookup"
    assert sent["response_format"]["type"] == "json_schema"


async def test_a_server_that_refuses_tools_with_a_format_keeps_the_format_without_tools(
    llm: FakeLLM, openai_provider: OpenAIProvider
):
    llm.openai.format_with_tools = False
    llm.openai.rejection = (400, "response_format is not supported together with tools")
    llm.openai.reply_tool_call("lookup", {"w": "x"}).reply_json({"answer": 5})

    await openai_provider.complete(ask(tools=[TOOL]), "m")
    await openai_provider.complete(ask(), "m")

    assert [
        ("tools" in b, (b.get("response_format") or {}).get("type")) for b in llm.openai.requests
    ] == [(True, "json_schema"), (True, None), (False, "json_schema")]


async def test_gemini_sends_no_json_beside_tools_unless_the_model_takes_it(
    llm: FakeLLM, gemini_provider: GeminiProvider
):
    llm.gemini.json_with_tools = True
    llm.gemini.reply_tool_call("lookup", {"w": "x"})
    llm.gemini.reply_tool_call("lookup", {"w": "y"})
    gemini_provider.capabilities.tools_configured["gemini-3-pro"] = True

    await gemini_provider.complete(ask(tools=[TOOL]), "gemini-2.5-flash")
    await gemini_provider.complete(ask(tools=[TOOL]), "gemini-3-pro")

    configs = [body.get("generationConfig", {}) for body in llm.gemini.requests]
    assert "responseMimeType" not in configs[0]
    assert configs[1]["responseJsonSchema"] == SCHEMA


async def test_gemini_learns_that_a_model_refuses_json_beside_tools(
    llm: FakeLLM, gemini_provider: GeminiProvider
):
    gemini_provider.capabilities.tools_default = True
    llm.gemini.reply_tool_call("lookup", {"w": "x"})

    answer = await gemini_provider.complete(ask(tools=[TOOL]), "gemini-2.5-flash")

    assert answer.tool_calls[0].name == "lookup" and answer.output_mode == "prompt"
    configs = [body.get("generationConfig", {}) for body in llm.gemini.requests]
    assert "responseMimeType" in configs[0] and "responseMimeType" not in configs[1]
