"""The answer parser of the first releases, frozen: runs recorded with it replay its decisions.

A run in flight must decide on replay what it decided when it ran. The agent executor parses each
answer with `taskagent.llm.parsing` and, where this parser would have decided otherwise (accepted
an answer the new one rejects, or read another value), asks `workflow.patched` which one the run
used. Never change this module; delete it once no run recorded before the change can be replayed.

Strategies, in order: the whole text as JSON; a fenced ```json block; the first balanced object
or array in the text; then the same candidates cleaned up (trailing commas, comments, single
quotes) by the json-repair library.
"""

from __future__ import annotations

import json
import re
from typing import Any

import json_repair

from taskagent.llm.parsing import ParseError

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def extract_json(text: str | None) -> Any:
    """The JSON value in `text`; raises ParseError naming what was tried."""
    if not text or not text.strip():
        raise ParseError("the answer is empty; expected a JSON value")
    candidates = _candidates(text)
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    for candidate in candidates:
        repaired = json_repair.loads(candidate)
        if isinstance(repaired, dict | list) and (repaired or candidate.strip() in ("{}", "[]")):
            return repaired
    raise ParseError(
        "the answer contains no JSON object or array (tried the whole text, fenced blocks, "
        "the first {...} or [...], and cleaning trailing commas and comments)"
    )


def _candidates(text: str) -> list[str]:
    found = [text.strip()]
    found += [block.strip() for block in _FENCE.findall(text)]
    balanced = _first_balanced(text)
    if balanced is not None:
        found.append(balanced)
    return list(dict.fromkeys(found))


def _first_balanced(text: str) -> str | None:
    """The first {...} or [...] whose brackets balance, ignoring brackets inside strings."""
    start = next((i for i, ch in enumerate(text) if ch in "{["), None)
    if start is None:
        return None
    depth = 0
    in_string = escaped = False
    for index in range(start, len(text)):
        ch = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return text[start : index + 1]
    return text[start:]
