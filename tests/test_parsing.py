"""The tolerant JSON extraction applied to every model answer, and the reasoning-block stripping.

Rows marked "new" are behaviours the parser did not have before reasoning blocks were stripped and
the last candidate preferred; the others hold the strategies it already had.
"""

from __future__ import annotations

from typing import Any

import pytest

from taskagent.llm.parsing import ParseError, extract_json, strip_reasoning

FOUND: list[tuple[str, str, Any]] = [
    # -- the whole text ------------------------------------------------------------------------
    ("whole object", '{"a": 1}', {"a": 1}),
    ("whole array", "[1, 2, 3]", [1, 2, 3]),
    ("surrounding whitespace", '\n  {"a": 1}\n\n', {"a": 1}),
    ("bare number", "42", 42),
    ("bare string", '"hello"', "hello"),
    ("bare true", "true", True),
    ("bare null", "null", None),
    (
        "nested objects",
        '{"a": {"b": {"c": 1}}, "d": [{"e": 2}]}',
        {"a": {"b": {"c": 1}}, "d": [{"e": 2}]},
    ),
    ("tags inside a JSON string", '{"html": "<think>x</think>"}', {"html": "<think>x</think>"}),
    (
        "closing tag inside a JSON string",
        '{"note": "ends </think> here"}',
        {"note": "ends </think> here"},
    ),
    # -- double encoding (new) -------------------------------------------------------------------
    ("double-encoded object", '"{\\"a\\": 1}"', {"a": 1}),
    ("double-encoded array", '"[1, 2]"', [1, 2]),
    ("string that only looks like JSON", '"{not json}"', "{not json}"),
    # -- fenced blocks -------------------------------------------------------------------------
    ("fenced json", '```json\n{"a": 1}\n```', {"a": 1}),
    ("fenced with prose", 'Here you go:\n```json\n{"a": 1}\n```\nAnything else?', {"a": 1}),
    ("fenced scalar", "```json\n42\n```", 42),
    ("fenced without language", '```\n{"a": 1}\n```', {"a": 1}),
    ("fenced javascript", '```javascript\n{"a": 1}\n```', {"a": 1}),
    ("fenced on one line", '```{"a": 1}```', {"a": 1}),
    (
        "draft fence then final fence (new)",
        '```json\n{"answer": 41}\n```\nWait, corrected:\n```json\n{"answer": 42}\n```',
        {"answer": 42},
    ),
    (
        "fence wins over an object in the prose",
        'The format is {"answer": 0}.\n```json\n{"answer": 42}\n```',
        {"answer": 42},
    ),
    # -- values in prose -----------------------------------------------------------------------
    ("prose around an object", 'The result is {"a": 1} as requested.', {"a": 1}),
    ("prose before", 'Sure! Here is the JSON:\n{"a": 1}', {"a": 1}),
    ("trailing prose", '{"a": 1}\n\nLet me know if you need anything else.', {"a": 1}),
    ("prose quotes before (new)", 'He said "use {x}", so: {"a": 1}', {"a": 1}),
    ("array in prose", "The ids are [1, 2, 3].", [1, 2, 3]),
    ("array of objects", 'List: [{"a": 1}, {"a": 2}]', [{"a": 1}, {"a": 2}]),
    (
        "outer object, not its nested one",
        'Answer: {"outer": {"inner": 1}} done.',
        {"outer": {"inner": 1}},
    ),
    ("braces in a string", 'Result: {"a": "}{ ][", "b": 1}', {"a": "}{ ][", "b": 1}),
    (
        "escaped quotes in a string",
        'Result: {"a": "say \\"hi\\" {", "b": 1}',
        {"a": 'say "hi" {', "b": 1},
    ),
    (
        "example object before the answer (new)",
        'For example {"a": 1} is valid. Here is the answer: {"answer": 42}',
        {"answer": 42},
    ),
    ("several objects, the last is the answer (new)", '{"a": 1}\n{"a": 2}\n{"a": 3}', {"a": 3}),
    ("object before citations", '{"a": 1}\n\nSources: [1], [2]', {"a": 1}),
    ("range before the object (new)", 'Scores lie in [0, 1]: {"score": 0.5}', {"score": 0.5}),
    ("prose in braces, then an array (new)", "Note {see below}: [1, 2]", [1, 2]),
    # -- repair --------------------------------------------------------------------------------
    ("trailing commas", '{"a": 1, "b": [1, 2,],}', {"a": 1, "b": [1, 2]}),
    ("comments", '{\n  "a": 1, // the count\n  /* block */ "b": 2\n}', {"a": 1, "b": 2}),
    ("single quotes", "{'a': 'x', 'b': 2}", {"a": "x", "b": 2}),
    ("single-quoted brace", "{'a': 'x}'}", {"a": "x}"}),
    (
        "fenced, trailing comma and comment",
        '```json\n{"label": "bad", "score": 2,} // trailing comma\n```',
        {"label": "bad", "score": 2},
    ),
    (
        "repaired example, repaired answer (new)",
        'For example {"a": 1,} ... answer: {"answer": 42,}',
        {"answer": 42},
    ),
    ("several values to repair (new)", '{"a": 1,}\n{"b": 2,}', {"b": 2}),
    ("cut-off object closed, as before", '{"a": 1, "b": [1, 2', {"a": 1, "b": [1, 2]}),
    # -- reasoning blocks (new) ------------------------------------------------------------------
    (
        "think block with braces",
        '<think>The schema wants {"answer": int}; maybe {"answer": 41}?</think>\n{"answer": 42}',
        {"answer": 42},
    ),
    ("think block before a scalar", "<think>{maybe}</think>\n42", 42),
    ("thinking tag", '<thinking>try {"a": 0}</thinking>{"a": 1}', {"a": 1}),
    ("reasoning tag", '<reasoning>\n[draft]\n</reasoning>\n\n{"a": 1}', {"a": 1}),
    ("upper-case tags", '<THINK>{"a": 0}</THINK>\n{"a": 1}', {"a": 1}),
    ("stray closing tag", 'The user wants {"a": 0}? No.</think>\n\n{"a": 1}', {"a": 1}),
    (
        "think block then a fence",
        '<think>```json\n{"a": 0}\n```</think>\n```json\n{"a": 1}\n```',
        {"a": 1},
    ),
    ("a tag mentioned in prose", 'Use a <think> tag {"a": 0} here: {"a": 1}', {"a": 1}),
]


@pytest.mark.parametrize(
    ("text", "expected"), [row[1:] for row in FOUND], ids=[r[0] for r in FOUND]
)
def test_extract_json(text: str, expected: Any) -> None:
    assert extract_json(text) == expected


NOT_FOUND: list[tuple[str, str | None, str]] = [
    ("none", None, "the answer is empty"),
    ("empty", "", "the answer is empty"),
    ("whitespace", " \n\t ", "the answer is empty"),
    ("no JSON", "not json at all", "the answer contains no JSON"),
    ("prose in braces (new)", "I {cannot} answer", "the answer contains no JSON"),
    ("prose in brackets with quotes (new)", 'I {"cannot"} answer', "the answer contains no JSON"),
    ("only a think block (new)", '<think>{"a": 1}</think>', "the answer holds only reasoning"),
    (
        "cut while thinking (new)",
        '<think>Let me consider {"a": 1',
        "the answer holds only reasoning",
    ),
    (
        "JSON only inside the think block (new)",
        '<think>{"a": 1}</think>\nI cannot answer.',
        "the answer contains no JSON object or array after its reasoning",
    ),
    ("nesting too deep to decode (new)", "[" * 5000 + "]" * 5000, "the answer contains no JSON"),
]


@pytest.mark.parametrize(
    ("text", "message"), [r[1:] for r in NOT_FOUND], ids=[r[0] for r in NOT_FOUND]
)
def test_extract_json_refuses(text: str | None, message: str) -> None:
    with pytest.raises(ParseError, match="^" + message):
        extract_json(text)


STRIPPED: list[tuple[str, str, str]] = [
    ("closed block", "<think>hmm {x}</think>\nAnswer.", "Answer."),
    ("multiple blocks", "<think>a</think>\n<think>b</think>\nAnswer.", "Answer."),
    ("blocks on one line", "<think>a</think><think>b</think>Answer.", "Answer."),
    (
        "text between blocks",
        "<think>a</think>\nStep.\n<think>b</think>\nAnswer.",
        "Step.\n\nAnswer.",
    ),
    ("other tag names", "<thinking>a</thinking>\n<reasoning>b</reasoning>\nAnswer.", "Answer."),
    ("case-insensitive tags", "<THINK>a</Think>\nAnswer.", "Answer."),
    ("space in the tags", "<think >a</think >\nAnswer.", "Answer."),
    ("unclosed leading block", "<think>still thinking {", ""),
    ("unclosed block after a closed one", "<think>a</think>\n<think>b", ""),
    ("stray closing tag", "reasoning {x}</think>\n\nAnswer.", "Answer."),
    ("stray closing tag first", "</think>Answer.", "Answer."),
    ("no block", "  Just an answer.\n", "  Just an answer.\n"),
    ("tag mentioned inside a line", "Wrap it in <think> tags.", "Wrap it in <think> tags."),
    ("block inside a line", 'Say "<think>x</think>" as is.', 'Say "<think>x</think>" as is.'),
    ("unclosed block after text", "Answer first.\n<think>", "Answer first.\n<think>"),
]


@pytest.mark.parametrize(
    ("text", "expected"), [r[1:] for r in STRIPPED], ids=[r[0] for r in STRIPPED]
)
def test_strip_reasoning(text: str, expected: str) -> None:
    assert strip_reasoning(text) == expected
