"""The keywords the safe validators replace: regexes on RE2, ordered lists, linear uniqueItems.

The keywords below are jsonschema 4.26's own (jsonschema/_keywords.py, _utils.py and
_legacy_keywords.py, MIT licence) with `re.search` replaced by RE2 and sets by ordered lists
(jsonschema iterates a set of property names, whose order changes with PYTHONHASHSEED).
`validator` is one of the validator classes jsonschema builds at run time (untyped: Any).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import ValidationError
from jsonschema._utils import extras_msg, uniq
from referencing.jsonschema import lookup_recursive_ref

from taskagent.schemas.regex import search


def pattern(validator: Any, regex: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not search(regex, instance):
        yield ValidationError(f"{instance!r} does not match {regex!r}")


def pattern_properties(
    validator: Any, patterns: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for regex, subschema in patterns.items():
        for key, item in instance.items():
            if search(regex, key):
                yield from validator.descend(item, subschema, path=key, schema_path=regex)


def additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [
        key
        for key in instance
        if key not in properties and not any(search(p, key) for p in patterns)
    ]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            listed = ", ".join(repr(each) for each in sorted(patterns))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {listed}")
        else:
            error = "Additional properties are not allowed (%s %s unexpected)"
            yield ValidationError(error % extras_msg(sorted(extras, key=str)))


def unevaluated_properties(
    validator: Any, unevaluated: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    evaluated = _evaluated_keys(validator, instance, schema)
    invalid = [
        key
        for key in instance
        if key not in evaluated
        and next(validator.descend(instance[key], unevaluated, path=key, schema_path=key), None)
    ]
    if invalid:
        if unevaluated is False:
            error = "Unevaluated properties are not allowed (%s %s unexpected)"
            yield ValidationError(error % extras_msg(sorted(invalid, key=str)))
        else:
            error = (
                "Unevaluated properties are not valid under the given schema "
                "(%s %s unevaluated and invalid)"
            )
            yield ValidationError(error % extras_msg(invalid))


def _evaluated_keys(validator: Any, instance: Any, schema: Any) -> list[str]:
    """The keys of `instance` that `schema` evaluates (for unevaluatedProperties): jsonschema's
    find_evaluated_property_keys_by_schema, for 2020-12 and (with $recursiveRef) 2019-09."""
    if not isinstance(schema, Mapping):
        return []
    draft2019 = "$recursiveRef" in validator.VALIDATORS
    keys = _referenced_keys(validator, instance, schema, draft2019)
    if draft2019:
        keys += _property_keys_2019(instance, schema)
    else:
        keys += _property_keys_2020(validator, instance, schema)
    return keys + _applied_keys(validator, instance, schema)


def _referenced_keys(
    validator: Any, instance: Any, schema: Mapping[str, Any], draft2019: bool
) -> list[str]:
    """The keys evaluated by what the schema's $ref, $recursiveRef or $dynamicRef points at."""
    keys: list[str] = []

    def follow(resolved: Any) -> None:
        evolved = validator.evolve(schema=resolved.contents, _resolver=resolved.resolver)
        keys.extend(_evaluated_keys(evolved, instance, resolved.contents))

    if schema.get("$ref") is not None:
        follow(validator._resolver.lookup(schema["$ref"]))
    if draft2019 and "$recursiveRef" in schema:
        follow(lookup_recursive_ref(validator._resolver))
    if not draft2019 and schema.get("$dynamicRef") is not None:
        follow(validator._resolver.lookup(schema["$dynamicRef"]))
    return keys


def _property_keys_2019(instance: Any, schema: Mapping[str, Any]) -> list[str]:
    keys: list[str] = []
    for keyword in ("properties", "additionalProperties", "unevaluatedProperties"):
        value = schema.get(keyword)
        if value is True:
            keys += instance.keys()
        elif isinstance(value, Mapping):
            keys += [key for key in value if key in instance]
    return keys


def _property_keys_2020(validator: Any, instance: Any, schema: Mapping[str, Any]) -> list[str]:
    keys: list[str] = []
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        keys += properties.keys() & instance.keys()
    for keyword in ("additionalProperties", "unevaluatedProperties"):
        if (subschema := schema.get(keyword)) is not None:
            keys += (
                key
                for key, item in instance.items()
                if next(validator.descend(item, subschema), None) is None
            )
    return keys


def _applied_keys(validator: Any, instance: Any, schema: Mapping[str, Any]) -> list[str]:
    """The keys evaluated by patternProperties and by the subschemas applied to the instance."""
    keys: list[str] = []
    if "patternProperties" in schema:
        for key in instance:
            for regex in schema["patternProperties"]:
                if search(regex, key):
                    keys.append(key)

    for key, subschema in schema.get("dependentSchemas", {}).items():
        if key in instance:
            keys += _evaluated_keys(validator, instance, subschema)

    for keyword in ("allOf", "oneOf", "anyOf"):
        for subschema in schema.get(keyword, []):
            if next(validator.descend(instance, subschema), None) is None:
                keys += _evaluated_keys(validator, instance, subschema)

    if "if" in schema:
        if validator.evolve(schema=schema["if"]).is_valid(instance):
            keys += _evaluated_keys(validator, instance, schema["if"])
            if "then" in schema:
                keys += _evaluated_keys(validator, instance, schema["then"])
        elif "else" in schema:
            keys += _evaluated_keys(validator, instance, schema["else"])
    return keys


def unique_items(
    validator: Any, unique: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    # jsonschema compares unhashable items pairwise (quadratic); this hashes a canonical form.
    if unique and validator.is_type(instance, "array") and not _all_unique(instance):
        yield ValidationError(f"{instance!r} has non-unique elements")


def _all_unique(items: list[Any]) -> bool:
    keys = _json_keys(items)
    if keys is None:  # not plain JSON: jsonschema's own comparison
        return bool(uniq(items))
    return len(set(keys)) == len(keys)


def _json_keys(items: list[Any]) -> list[Any] | None:
    """Hashable keys, equal exactly when JSON Schema calls the items equal (1 == 1.0, true != 1,
    objects regardless of key order), built without recursion; None for non-JSON values."""
    order: list[Any] = []
    stack: list[Any] = list(items)
    while stack:
        node = stack.pop()
        order.append(node)
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    keys: dict[int, Any] = {}
    for node in reversed(order):  # children before their parents
        if isinstance(node, bool):
            key: Any = ("bool", node)
        elif isinstance(node, int | float):
            key = ("number", node)
        elif isinstance(node, str):
            key = ("string", node)
        elif node is None:
            key = ("null",)
        elif isinstance(node, dict):
            key = ("object", frozenset((name, keys[id(item)]) for name, item in node.items()))
        elif isinstance(node, list | tuple):
            key = ("array", tuple(keys[id(item)] for item in node))
        else:
            return None
        keys[id(node)] = key
    return [keys[id(item)] for item in items]
