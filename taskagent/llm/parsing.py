"""Tolerant extraction of JSON from model answers: pure code, safe inside workflows.

Reasoning comes out first: a reasoning model's answer may open with `<think>...</think>` (or
`<thinking>`, `<reasoning>`), whose drafts and braces are not the answer, so `strip_reasoning`
removes those blocks before anything is looked for (unless the whole answer is valid JSON as it is,
which wins outright so a value that merely mentions such a tag is never altered).

Then candidates are tried in this order, the first that decodes winning:

1. the whole answer as JSON (any value, a bare scalar too);
2. each fenced block (```json, ```javascript, plain ```...), the last first: a model that
   corrects itself writes the final version last;
3. each top-level {...} in the text, the last first (an example in the prose comes before the
   answer; nested objects belong to their enclosing value, so only top-level values count);
4. each top-level [...] in the text, the last first: objects come before arrays because answers
   are nearly always objects, while prose after them often holds bracketed citations or
   ranges such as [1] or [0, 1] that are valid JSON;
5. the same candidates (1 and 2 only when they start with `{` or `[`), then an unclosed value at
   the end of the text, cleaned up by the json-repair library (trailing commas, comments, single
   quotes, unquoted keys): a repair counts only when it gives a non-empty object for a candidate
   opening with `{`, or a non-empty array for one opening with `[`, so prose in brackets and text
   holding several values are not turned into JSON.

A candidate that decodes to a string holding a JSON object or array (the answer was encoded twice)
gives that object or array.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import json_repair

_REASONING_TAG = re.compile(r"<(/?)(think|thinking|reasoning)\s*>", re.IGNORECASE)
_CLOSING_TAG: Final = {
    name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("think", "thinking", "reasoning")
}
_FENCE = re.compile(r"```(?:[\w+.-]*[ \t]*\n)?(.*?)```", re.DOTALL)
_OPENER = re.compile(r"[{\[]")
_STRUCTURE = re.compile(r'["{}\[\]]')
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
MAX_REPAIR_CHARS: Final = 20_000
"""Longer candidates are not repaired: json-repair's time grows with the square of the text on
some inputs (13.7 s for 700 kB of prose in braces), and this runs in workflow code, which must
answer within the two-second deadlock limit. Valid JSON of any length is still read."""
_FAILED: Final = object()
"""What `_decode` returns for text that is not JSON (None is a JSON value: null)."""


class ParseError(ValueError):
    """No JSON could be found in the answer; the message is sent back to the model."""


def extract_json(text: str | None) -> Any:
    """The JSON value in `text` (see the module docstring for the order candidates are tried
    in); raises ParseError saying what is wrong in words a model can act on."""
    if not text or not text.strip():
        raise ParseError("the answer is empty; expected a JSON value")
    value = _decode(text)
    if value is not _FAILED:
        return value
    answer = strip_reasoning(text)
    reasoned = answer != text
    if not answer.strip():
        raise ParseError(
            "the answer holds only reasoning (a <think> block) and nothing after it; "
            "write the JSON value after the reasoning"
        )
    strict, repairable = _candidates(answer)
    for candidate in strict:
        value = _decode(candidate)
        if value is not _FAILED:
            return value
    for candidate in repairable:
        value = _repair(candidate)
        if value is not _FAILED:
            return value
    raise ParseError(
        "the answer contains no JSON object or array"
        + (" after its reasoning (JSON inside a <think> block is not read)" if reasoned else "")
        + "; reply with the JSON value alone (tried the whole text, fenced blocks, each {...} or "
        "[...] in the text, and cleaning trailing commas, comments and single quotes)"
    )


def strip_reasoning(text: str) -> str:
    """`text` without the reasoning blocks reasoning models put before their answer.

    Removed: each `<think>...</think>` block (also `<thinking>`, `<reasoning>`, any case) whose
    opening tag starts a line, since a tag inside a line is more likely a mention of one; an
    unclosed block at the very start, which means the answer was cut while reasoning (nothing is
    left); and everything up to a closing tag that comes before any opening one, which is what a
    server that strips the opening tag leaves. An unclosed block after other text is kept, as it
    may be part of the answer. Text without a block comes back unchanged; otherwise the rest comes
    back without surrounding whitespace.
    """
    first = _REASONING_TAG.search(text)
    if first is None:
        return text
    removed = bool(first.group(1))
    rest = text[first.end() :] if removed else text
    kept: list[str] = []
    pos = 0
    line_blank = True
    while (tag := _REASONING_TAG.search(rest, pos)) is not None:
        before = rest[pos : tag.start()]
        line_blank = _line_still_blank(before, line_blank)
        if tag.group(1) or not line_blank:
            kept.append(rest[pos : tag.end()])
            pos, line_blank = tag.end(), False
            continue
        kept.append(before)
        close = _CLOSING_TAG[tag.group(2).lower()].search(rest, tag.end())
        if close is None:
            if not "".join(kept).strip():
                return ""
            pos = tag.start()
            break
        pos, line_blank, removed = close.end(), True, True
    kept.append(rest[pos:])
    return "".join(kept).strip() if removed else text


def _line_still_blank(segment: str, blank_so_far: bool) -> bool:
    """Whether only whitespace lies between the start of the line and the end of `segment`,
    given whether it did before `segment` (a removed block counts as a line start)."""
    _, newline, last_line = segment.rpartition("\n")
    if newline:
        return not last_line.strip()
    return blank_so_far and not segment.strip()


def _candidates(answer: str) -> tuple[list[str], list[str]]:
    """The texts to decode as they are, and the texts to repair, each in preference order."""
    fenced = [block.strip() for block in _FENCE.findall(answer)]
    values, unclosed = _top_level_values(answer)
    objects = [value for value in values if value.startswith("{")]
    arrays = [value for value in values if value.startswith("[")]
    strict = _unique([answer.strip(), *reversed(fenced), *reversed(objects), *reversed(arrays)])
    repairable = [candidate for candidate in strict if candidate.startswith(("{", "["))]
    if unclosed is not None:
        repairable.append(unclosed)
    return strict, _unique(repairable)


def _unique(texts: list[str]) -> list[str]:
    return list(dict.fromkeys(texts))


def _decode(candidate: str) -> Any:
    """The JSON value `candidate` holds, unwrapping a string that holds a JSON object or array
    (an answer encoded twice); `_FAILED` when it is not JSON. Nesting too deep for the decoder is
    not JSON either: the error must not escape into workflow code and fail its task."""
    try:
        value = json.loads(candidate)
    except (json.JSONDecodeError, RecursionError):
        return _FAILED
    if isinstance(value, str) and value.strip().startswith(("{", "[")):
        inner = _decode(value)
        if isinstance(inner, dict | list):
            return inner
    return value


def _repair(candidate: str) -> Any:
    """The container json-repair makes of `candidate`, when it is the kind the candidate opens
    with and not empty: json-repair turns any text into something (prose in braces into a list
    of strings, several values into a list of them), which must not pass for the answer. It is
    a heuristic: whatever it raises on (deep nesting, its own bugs) is taken as not repairable
    rather than allowed to fail the workflow task."""
    if len(candidate) > MAX_REPAIR_CHARS:
        return _FAILED
    expected = dict if candidate.startswith("{") else list
    try:
        repaired = json_repair.loads(candidate)
    except Exception:
        return _FAILED
    return repaired if isinstance(repaired, expected) and repaired else _FAILED


def _top_level_values(text: str) -> tuple[list[str], str | None]:
    """Each top-level {...} or [...] in `text`, in order (brackets inside JSON strings do not
    count), and the value still open at the end of the text, if any (a cut-off answer)."""
    values: list[str] = []
    pos = 0
    while (opener := _OPENER.search(text, pos)) is not None:
        end = _value_end(text, opener.start())
        if end is None:
            return values, text[opener.start() :]
        values.append(text[opener.start() : end])
        pos = end
    return values, None


def _value_end(text: str, start: int) -> int | None:
    """Where the value opening at `start` closes (one past its last bracket), or None when the
    text ends first. Jumps from bracket to bracket and over whole strings: one linear pass."""
    depth = 0
    pos = start
    while (token := _STRUCTURE.search(text, pos)) is not None:
        if token.group() == '"':
            rest = _STRING_REST.match(text, token.end())
            if rest is None:
                return None
            pos = rest.end()
            continue
        depth += 1 if token.group() in "{[" else -1
        pos = token.end()
        if depth == 0:
            return pos
    return None
