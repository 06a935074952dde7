"""Regular expressions of schemas on RE2: linear time in the text, never Python's backtracking `re`.

ECMA-262 `\\uXXXX` escapes are accepted; a pattern RE2 cannot compile (lookaround,
backreferences, ...) is a problem of the schema whose message names the feature.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

from taskagent.schemas.limits import clip


@functools.lru_cache(maxsize=256)
def compiled(pattern: str) -> Any:
    """The compiled RE2 regex, or raise re2.error. RE2 keeps each regex within max_mem (when its
    DFA cache runs out it falls back to its NFA: slower, still linear, same answer)."""
    options = re2.Options()
    options.log_errors = False  # RE2 would log each failed compile to stderr
    options.max_mem = 2 << 20
    return re2.compile(ecma_to_re2(pattern), options)


def search(pattern: str, text: str) -> bool:
    return compiled(pattern).search(text) is not None


_HEX = frozenset("0123456789abcdefABCDEF")


def ecma_to_re2(pattern: str) -> str:
    """Rewrite ECMA-262 `\\uXXXX` escapes (surrogate pairs joined) as RE2's `\\x{...}`."""
    if "\\u" not in pattern:
        return pattern
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char != "\\" or i + 1 >= n:
            out.append(char)
            i += 1
            continue
        code = _unicode_escape(pattern, i)
        if code is None:
            out.append(pattern[i : i + 2])
            i += 2
            continue
        i += 6
        if 0xD800 <= code <= 0xDBFF:
            low = _unicode_escape(pattern, i)
            if low is not None and 0xDC00 <= low <= 0xDFFF:
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                i += 6
        out.append(f"\\x{{{code:X}}}")
    return "".join(out)


def _unicode_escape(pattern: str, i: int) -> int | None:
    digits = pattern[i + 2 : i + 6]
    if pattern[i + 1 : i + 2] == "u" and len(digits) == 4 and set(digits) <= _HEX:
        return int(digits, 16)
    return None


_RE2_FEATURES = (  # (start of RE2's complaint, the feature it means)
    ("invalid perl operator: (?=", "lookahead"),
    ("invalid perl operator: (?!", "negative lookahead"),
    ("invalid perl operator: (?<=", "lookbehind"),
    ("invalid perl operator: (?<!", "negative lookbehind"),
    ("invalid perl operator: (?>", "atomic groups"),
    ("invalid perl operator: (?P", "named backreferences"),
    ("invalid perl operator: (?(", "conditionals"),
    ("invalid perl operator: (?R", "recursion"),
    ("invalid escape sequence: \\k", "named backreferences"),
    ("invalid escape sequence: \\Z", "\\Z (use $ or \\z)"),
    ("invalid escape sequence: \\c", "control escapes (\\cX)"),
    ("bad repetition operator: *+", "possessive quantifiers"),
    ("bad repetition operator: ++", "possessive quantifiers"),
    ("bad repetition operator: ?+", "possessive quantifiers"),
    ("bad repetition operator: }+", "possessive quantifiers"),
    ("invalid repetition size", "repetition counts above 1000"),
    ("pattern too large", "patterns this large"),
)
_BAD_ESCAPE = "invalid escape sequence: \\"


def pattern_problem(pattern: str, what: str) -> str | None:
    """None when RE2 compiles `pattern`, else why not, naming the unsupported feature."""
    try:
        compiled(pattern)
    except re2.error as err:
        reason = err.args[0] if err.args else str(err)
        reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        feature = next((name for start, name in _RE2_FEATURES if reason.startswith(start)), None)
        if feature is None and reason.startswith(_BAD_ESCAPE):
            digit = reason[len(_BAD_ESCAPE) :][:1]
            feature = "backreferences" if digit.isdigit() else None
        if feature is not None:
            return (
                f"{what} {clip(repr(pattern))} uses {feature}, which the linear-time regular "
                f"expression engine (RE2) does not support"
            )
        return f"{what} {clip(repr(pattern))} is not a valid regular expression: {reason}"
    return None
