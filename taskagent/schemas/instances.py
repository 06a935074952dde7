"""Deterministic instances of JSON Schemas: what the offline model answers and what a dry run
puts in place of an answer or of a step that does not run. Pure: the same schema, seed and text
always give the same instance (workflow code calls it)."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import uuid
from typing import Any

_SHALLOW_DEPTH = 6  # deeper than this, only what the schema requires
_MAX_DEPTH = 40  # a schema that requires infinite nesting gets null there
_STOPWORD_TEXT = (
    "a an and are as at be by for from has have in is it its of on or that the this to was "
    "were will with what which who how please give me my your you i we our about into tell can "
    "could would should do does some any all also just than then there their these those"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def schema_instance(schema: dict[str, Any], *, seed: str = "", text: str = "") -> Any:
    """A deterministic instance of a JSON Schema (pydantic's `$defs` and `$ref` included).

    Strings are built from property names and the words of `text`; `seed` varies the choices.
    `pattern`, `not` and conditional keywords are not honoured.
    """
    return _Builder(schema, seed, _words(text)).build(schema, "answer", 0)


def _words(text: str) -> list[str]:
    found = re.findall(r"[A-Za-z][A-Za-z0-9'-]*", text)
    words = [w.lower() for w in found if w.lower() not in _STOPWORDS and len(w) > 1]
    unique = list(dict.fromkeys(words))[:16]
    return unique or ["sample"]


class _Builder:
    def __init__(self, root: dict[str, Any], seed: str, words: list[str]) -> None:
        self._root = root
        self._seed = seed
        self._words = words

    def _pick(self, path: str, n: int) -> int:
        digest = hashlib.sha256(f"{self._seed}|{path}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % max(n, 1)

    def build(self, schema: Any, path: str, depth: int) -> Any:
        schema = self._resolve(schema)
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return None
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][self._pick(path, len(schema["enum"]))]
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            return self.build(self._choose(options, depth), path, depth + 1)
        kind = _type_of(schema)
        handler = getattr(self, f"_{kind}", None)
        return handler(schema, path, depth) if handler else None

    def _resolve(self, schema: Any) -> Any:
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**self._lookup(schema["$ref"]), **rest}
        if isinstance(schema, dict) and schema.get("allOf"):
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                merged = _merge(merged, self._resolve(part))
            return merged
        return schema

    def _lookup(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#"):
            raise ValueError(f"offline model: only local $ref is supported, not {ref!r}")
        node: Any = self._root
        for token in filter(None, ref[1:].split("/")):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return dict(node)

    def _choose(self, options: list[Any], depth: int) -> Any:
        resolved = [self._resolve(o) for o in options]
        concrete = [o for o in resolved if not _is_null(o)]
        if depth >= _SHALLOW_DEPTH and len(concrete) < len(resolved):
            return {"type": "null"}  # end a recursive structure
        return concrete[0] if concrete else {"type": "null"}

    def _object(self, schema: dict[str, Any], path: str, depth: int) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties") or {}
        required = list(schema.get("required") or [])
        names = [n for n in properties if n in required or depth < _SHALLOW_DEPTH]
        extra = schema.get("additionalProperties")
        extra = extra if isinstance(extra, dict) else {}
        if not properties and extra and depth < _SHALLOW_DEPTH:
            names.append(self._words[self._pick(path + "#key", len(self._words))])
        names += [n for n in required if n not in names]
        return {n: self.build(properties.get(n, extra), f"{path}.{n}", depth + 1) for n in names}

    def _array(self, schema: dict[str, Any], path: str, depth: int) -> list[Any]:
        prefix = schema.get("prefixItems") or []
        low = int(schema.get("minItems", 0))
        count = max(low, len(prefix)) if depth >= _SHALLOW_DEPTH else max(low, len(prefix), 2)
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        result: list[Any] = []
        attempts = 0
        while len(result) < count and attempts < count * 4 + 4:
            index = len(result)
            item_schema = prefix[index] if index < len(prefix) else items
            value = self.build(item_schema, f"{path}[{attempts}]", depth + 1)
            attempts += 1
            if schema.get("uniqueItems") and value in result:
                continue
            result.append(value)
        return result

    def _string(self, schema: dict[str, Any], path: str, depth: int) -> str:
        fmt = schema.get("format")
        value = self._formatted(fmt, path) if fmt else None
        if value is None:
            value = f"{_label(path)}: {self._topic(path)}"
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        filler = " ".join(self._words) or "sample"
        while len(value) < low:
            value = f"{value} {filler}"
        return value[: int(high)] if high is not None else value

    def _topic(self, path: str) -> str:
        start = self._pick(path, len(self._words))
        size = min(1 + self._pick(path + "#n", 3), len(self._words))
        return " ".join((self._words * 2)[start : start + size])

    def _formatted(self, fmt: str, path: str) -> str | None:
        day = dt.date(2024, 1, 1) + dt.timedelta(days=self._pick(path, 366))
        clock = f"{9 + self._pick(path + '#h', 9):02d}:{self._pick(path + '#m', 4) * 15:02d}:00"
        slug = "-".join(self._topic(path).split()) or "item"
        digest = hashlib.sha256(f"{self._seed}|{path}".encode()).digest()
        formats = {
            "date": day.isoformat(),
            "date-time": f"{day.isoformat()}T{clock}Z",
            "time": f"{clock}Z",
            "email": f"{slug.replace('-', '.')}@example.com",
            "uri": f"https://example.com/{slug}",
            "url": f"https://example.com/{slug}",
            "uuid": str(uuid.UUID(bytes=digest[:16], version=4)),
            "hostname": f"{slug}.example.com",
            "ipv4": f"192.0.2.{1 + self._pick(path, 254)}",
            "ipv6": f"2001:db8::{1 + self._pick(path, 254):x}",
            "duration": f"PT{1 + self._pick(path, 59)}M",
        }
        formats["idn-email"] = formats["email"]
        formats["uri-reference"] = formats["iri"] = formats["iri-reference"] = formats["uri"]
        return formats.get(fmt)

    def _integer(self, schema: dict[str, Any], path: str, depth: int) -> int:
        low, high = _bounds(schema, integer=True)
        low, high = math.ceil(low), math.floor(high)
        step = schema.get("multipleOf")
        if isinstance(step, int | float) and step > 0:
            return int(self._multiple(low, high, step, path))
        return low + self._pick(path, high - low + 1) if high >= low else low

    def _number(self, schema: dict[str, Any], path: str, depth: int) -> float | int:
        low, high = _bounds(schema, integer=False)
        step = schema.get("multipleOf")
        if isinstance(step, int | float) and step > 0:
            return self._multiple(low, high, step, path)
        value = round(low + (high - low) * (0.1 + 0.8 * self._pick(path, 1001) / 1000), 2)
        return value if low <= value <= high else (low + high) / 2

    def _multiple(self, low: float, high: float, step: float, path: str) -> float | int:
        """A multiple of `step` in [low, high] that survives float division exactly."""
        first, last = math.ceil(low / step), math.floor(high / step)
        if last < first:
            return low
        span = last - first + 1
        start = self._pick(path, span)
        for offset in range(min(span, 50)):
            value = round((first + (start + offset) % span) * step, 10)
            value = int(value) if value == int(value) else value
            if low <= value <= high and value / step == int(value / step):
                return value
        # Floats such as 0.3 / 0.1 never divide exactly: the rounded multiple is the honest one.
        return round(first * step, 10)

    def _boolean(self, schema: dict[str, Any], path: str, depth: int) -> bool:
        return self._pick(path, 2) == 0


def _type_of(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **extra}
    merged["properties"] = {**base.get("properties", {}), **extra.get("properties", {})}
    merged["required"] = [*base.get("required", []), *extra.get("required", [])]
    return merged


def _bounds(schema: dict[str, Any], *, integer: bool) -> tuple[float, float]:
    """The closed range [low, high] the schema allows, narrowed to 100 wide when open."""
    nudge = 1 if integer else 0.01
    low, high = schema.get("minimum"), schema.get("maximum")
    x_low, x_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if x_low is True:  # draft 4: a flag on minimum
        x_low, low = low, None
    if x_high is True:
        x_high, high = high, None
    if isinstance(x_low, int | float) and not isinstance(x_low, bool):
        low = max(low, x_low + nudge) if low is not None else x_low + nudge
    if isinstance(x_high, int | float) and not isinstance(x_high, bool):
        high = min(high, x_high - nudge) if high is not None else x_high - nudge
    if low is None:
        return (0, 100) if high is None else (high - 100, high)
    if high is None:
        return low, low + 100
    return low, high


def _label(path: str) -> str:
    """`report.key_findings[1]` -> `Key finding 2`: the last property name, made readable."""
    match = re.search(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$", path)
    if not match:
        return "Answer"
    name, indexes = match.group(1), match.group(2)
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").strip().lower()
    if not indexes:
        return words.capitalize()
    singular = words[:-1] if words.endswith("s") and not words.endswith("ss") else words
    position = int(re.findall(r"\d+", indexes)[-1]) + 1
    return f"{singular.capitalize()} {position}"
