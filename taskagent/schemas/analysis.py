"""Checking a schema beyond its JSON: its meta-schema, its references, regexes and cycles.

A `$ref`/`allOf`/... cycle that applies a schema to the same value forever (the JSON Schema
specification leaves such schemas undefined) is rejected; recursive schemas whose recursion steps
into a property or an item (trees, linked lists) are fine. References are resolved inside the
document only: anything that would be retrieved is reported instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import referencing.exceptions
import referencing.jsonschema
from referencing import Resource
from referencing._core import Resolver  # referencing exports it only for type checking

from taskagent.schemas.engine import META_REGISTRY, Budget, refusing_registry, resolver_for
from taskagent.schemas.limits import (
    MAX_ERRORS,
    MAX_SCHEMA_DEPTH,
    TOO_COMPLEX,
    TOO_LONG,
    Exhausted,
    Location,
    clip,
    located,
    pointer,
)
from taskagent.schemas.regex import pattern_problem


def meta_problems(cls: Any, schema: Any, at: Location) -> list[str]:
    """Where `schema` (found at `at`) breaks the meta-schema of `cls`'s dialect (`cls`: a safe
    validator class)."""
    resolver = META_REGISTRY.resolver(base_uri=cls.ID_OF(cls.META_SCHEMA).rstrip("#"))
    checker = cls(cls.META_SCHEMA, _resolver=resolver, format_checker=Budget())
    try:
        errors = list(checker.iter_errors(schema))
    except Exhausted:
        return [f"{TOO_COMPLEX} ({TOO_LONG}){located(at)}"]
    errors.sort(key=lambda e: [str(p) for p in e.absolute_path])
    return [
        f"not a valid JSON Schema: {clip(e.message)}{located((*at, *e.absolute_path))}"
        for e in errors
    ]


# Where subschemas sit, by keyword (all dialects together; a keyword unknown to a dialect is
# caught by its meta-schema). "In place" keywords apply their subschemas to the same value.
_IN_PLACE_ONE = ("not", "if", "then", "else")
_IN_PLACE_LIST = ("allOf", "anyOf", "oneOf")
_IN_PLACE_MAP = ("dependentSchemas", "dependencies")
_DRAFT3_IN_PLACE = ("extends", "type", "disallow")  # draft 3 allows schemas among these
_NESTED_ONE = (
    "items",
    "additionalItems",
    "additionalProperties",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
)
_NESTED_LIST = ("items", "prefixItems")
_NESTED_MAP = ("properties", "patternProperties", "$defs", "definitions")
_REFS = ("$ref", "$dynamicRef", "$recursiveRef")


class Analysis:
    """References, regexes and cycles of one schema document (the caller checked its size)."""

    def __init__(self, schema: dict[str, Any], cls: Any) -> None:
        self.cls = cls  # the safe validator class of the schema's dialect
        self.draft3 = cls.base is jsonschema.Draft3Validator
        self.refs = tuple(k for k in _REFS if k == "$ref" or k in cls.VALIDATORS)
        self.spec = referencing.jsonschema.specification_with(
            cls.ID_OF(cls.META_SCHEMA), default=referencing.jsonschema.DRAFT202012
        )
        self.root = schema
        self.problems: list[str] = []
        self.order: list[int] = []  # node ids, in walk order
        self.nodes: dict[int, dict[str, Any]] = {}
        self.where: dict[int, Location] = {}
        self.resolvers: dict[int, Resolver[Any]] = {}
        self.edges: dict[int, list[int]] = {}  # in place: applied to the same value
        self.ref_edges: set[tuple[int, int]] = set()
        self.hubs: dict[tuple[str, ...], int] = {}
        self.dynamic_anchors: dict[str, list[int]] = {}
        self.recursive_anchors: list[int] = []
        self.asked: list[str] = []  # the URIs a reference would have retrieved
        registry = refusing_registry(self._refuse)
        resolver, self.crawled = resolver_for(self._resource(schema), registry)
        self._collect(schema, (), resolver)

    def _refuse(self, uri: str) -> Resource[Any]:
        self.asked.append(uri)
        raise referencing.exceptions.NoSuchResource(uri)

    def run(self) -> list[str]:
        dynamic: list[tuple[int, str]] = []
        recursive: list[int] = []
        done = 0
        while done < len(self.order):  # targets outside the walked schemas join the order
            node_id = self.order[done]
            done += 1
            node = self.nodes[node_id]
            for keyword in self.refs:
                ref = node.get(keyword)
                if not isinstance(ref, str):
                    continue
                target = self._target(keyword, ref, node_id)
                if isinstance(target, dict):
                    self.edges[node_id].append(id(target))
                    self.ref_edges.add((node_id, id(target)))
                if keyword == "$dynamicRef":
                    dynamic.append((node_id, ref.partition("#")[2]))
                elif keyword == "$recursiveRef":
                    recursive.append(node_id)
        # A dynamic reference may reach whichever anchor of its name is in scope at run time:
        # an edge to a hub with an edge to each (a hub per name keeps the edges linear).
        for node_id, name in dynamic:
            self._to_hub(node_id, ("$dynamicAnchor", name), self.dynamic_anchors.get(name, []))
        for node_id in recursive:
            self._to_hub(node_id, ("$recursiveAnchor",), self.recursive_anchors)
        self._check_cycles()
        return self.problems

    def _to_hub(self, node_id: int, key: tuple[str, ...], targets: list[int]) -> None:
        if key not in self.hubs:
            hub = self.hubs[key] = -1 - len(self.hubs)  # ids of objects are positive
            self.edges[hub] = list(targets)
            self.ref_edges.update((hub, target) for target in targets)
        self.edges[node_id].append(self.hubs[key])
        self.ref_edges.add((node_id, self.hubs[key]))

    # - the structure -
    def _collect(self, start: Any, at: Location, resolver: Resolver[Any]) -> None:
        """Record `start` and every subschema in it, in document order, with their locations,
        resolvers and in-place edges; check their regexes."""
        stack = [(start, at, resolver)]
        while stack:
            node, at, resolver = stack.pop()
            if not isinstance(node, dict) or id(node) in self.nodes:
                continue
            resolver = resolver.in_subresource(self._resource(node))
            node_id = id(node)
            self.order.append(node_id)
            self.nodes[node_id] = node
            self.where[node_id] = at
            self.resolvers[node_id] = resolver
            self.edges[node_id] = []
            self._regexes(node, at)
            if isinstance(name := node.get("$dynamicAnchor"), str):
                self.dynamic_anchors.setdefault(name, []).append(node_id)
            if node.get("$recursiveAnchor") is True:
                self.recursive_anchors.append(node_id)
            children = list(self._children(node, at))
            # drafts 3 to 7 ignore everything next to a $ref
            if not (self.cls.ignores_ref_siblings and "$ref" in node):
                self.edges[node_id] += [id(child) for child, _, in_place in children if in_place]
            stack.extend((child, here, resolver) for child, here, _ in reversed(children))

    def _resource(self, node: Any) -> Resource[Any]:
        dialect = node.get("$schema") if isinstance(node, dict) else None
        spec = self.spec
        if isinstance(dialect, str):
            spec = referencing.jsonschema.specification_with(dialect, default=spec)
        return spec.create_resource(node)

    def _children(
        self, node: dict[str, Any], at: Location
    ) -> Iterator[tuple[dict[str, Any], Location, bool]]:
        """(subschema, location, applied in place) for each object subschema directly in
        `node` (boolean ones need no walking)."""
        lists = _IN_PLACE_LIST + (_DRAFT3_IN_PLACE if self.draft3 else ())
        for keyword, value in node.items():
            here = (*at, keyword)
            if isinstance(value, dict) and keyword in (*_IN_PLACE_ONE, *lists, *_NESTED_ONE):
                found = [(value, here)]
            elif isinstance(value, list) and keyword in (*lists, *_NESTED_LIST):
                found = [(item, (*here, index)) for index, item in enumerate(value)]
            elif isinstance(value, dict) and keyword in (*_IN_PLACE_MAP, *_NESTED_MAP):
                found = [(item, (*here, name)) for name, item in value.items()]
            else:
                continue
            in_place = keyword in (*_IN_PLACE_ONE, *lists, *_IN_PLACE_MAP)
            for item, item_at in found:
                if isinstance(item, dict):
                    yield item, item_at, in_place

    def _regexes(self, node: dict[str, Any], at: Location) -> None:
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            problem = pattern_problem(pattern, "pattern")
            if problem:
                self.problems.append(problem + located((*at, "pattern")))
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict):
            for key in patterns:
                problem = pattern_problem(key, "patternProperties key")
                if problem:
                    self.problems.append(problem + located((*at, "patternProperties")))

    # - references -
    def _target(self, keyword: str, ref: str, node_id: int) -> Any:
        """What a reference points at (a schema, walked and checked), or None after reporting
        why it points at none."""
        exceptions = referencing.exceptions
        where = located((*self.where[node_id], keyword))
        shown = clip(repr(ref))
        if not self.crawled and not (ref == "#" or ref.startswith("#/")):
            # Resolving it would crawl (and fail on) the malformed document once per reference.
            self.problems.append(
                f"{keyword} {shown} is not checked: the schema is malformed (see the other "
                f"problems){where}"
            )
            return None
        asked = len(self.asked)
        try:
            resolved = self.resolvers[node_id].lookup(ref)
        except exceptions.Unresolvable as err:
            if type(err) is exceptions.Unresolvable:  # its document is not this one
                uri = self.asked[-1] if len(self.asked) > asked else ref
                self.problems.append(f"{keyword} {shown} {_outside(uri)}{where}")
            else:
                self.problems.append(f"{keyword} {shown} does not resolve{where}")
            return None
        except Exception:  # a pointer into an array or a string, a non-number index, ...
            self.problems.append(f"{keyword} {shown} does not resolve to a schema{where}")
            return None
        contents = resolved.contents
        if contents is None or not isinstance(contents, dict | bool):
            kinds = {list: "an array", str: "a string", int: "a number", float: "a number"}
            kinds[type(None)] = "null"
            kind = kinds.get(type(contents), f"a {type(contents).__name__}")
            self.problems.append(f"{keyword} {shown} points at {kind}, not a schema{where}")
            return None
        if isinstance(contents, dict) and id(contents) not in self.nodes:
            # Not where a schema sits (an unknown keyword, say), but used as one: check it
            # against the meta-schema, and walk it, as a schema.
            at = _location(self.root, contents) or ()
            self.problems += meta_problems(self.cls, contents, at)
            self._collect(contents, at, resolved.resolver)
        return contents

    # - cycles -
    def _check_cycles(self) -> None:
        """Report each cycle of in-place edges (it would apply a schema to the same value
        forever); if there is none, a chain of them longer than MAX_SCHEMA_DEPTH."""
        state: dict[int, int] = {}  # 1: on the depth-first path, 2: done
        longest: dict[int, int] = {}
        reported: set[frozenset[int]] = set()
        for start in self.order:
            if start in state:
                continue
            path = [start]
            state[start] = 1
            pending = [iter(self.edges[start])]
            while pending:
                target = next(pending[-1], None)
                if target is None:
                    pending.pop()
                    node_id = path.pop()
                    state[node_id] = 2
                    step = 1 if node_id > 0 else 0  # a hub is no subschema of its own
                    longest[node_id] = max(
                        (step + longest.get(t, 0) for t in self.edges[node_id]), default=0
                    )
                elif state.get(target) == 1:
                    if len(reported) >= MAX_ERRORS:
                        continue
                    cycle = path[path.index(target) :]
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        self._report_cycle([*cycle, target])
                elif target not in state:
                    state[target] = 1
                    path.append(target)
                    pending.append(iter(self.edges[target]))
        deepest = max(longest.values(), default=0)
        if not reported and deepest > MAX_SCHEMA_DEPTH:
            self.problems.append(
                f"a chain of {deepest} subschemas ($ref, allOf, anyOf, ...) applies to one and "
                f"the same value; at most {MAX_SCHEMA_DEPTH} may"
            )

    def _report_cycle(self, cycle: list[int]) -> None:
        shown = " -> ".join(pointer(self.where[n]) for n in cycle if n > 0)
        if all(edge in self.ref_edges for edge in itertools.pairwise(cycle)):
            self.problems.append(f"$ref cycle that never reaches a schema: {shown}")
        else:
            self.problems.append(
                f"cycle of subschemas that applies itself to the same value forever: {shown}"
            )


def _location(root: Any, target: Any) -> Location | None:
    """Where `target` (by identity) sits in `root`, searched iteratively."""
    stack: list[tuple[Any, Location]] = [(root, ())]
    while stack:
        node, at = stack.pop()
        if node is target:
            return at
        if isinstance(node, dict):
            stack.extend((item, (*at, key)) for key, item in node.items())
        elif isinstance(node, list):
            stack.extend((item, (*at, index)) for index, item in enumerate(node))
    return None


def _outside(uri: str) -> str:
    """Why a reference to the document `uri` (resolved against any $id) is refused."""
    try:
        scheme = urlsplit(uri).scheme
    except ValueError:
        scheme = ""
    where = f"leaves the document ({scheme} URI {clip(repr(uri))})"
    if not scheme:
        where = f"names another document ({clip(repr(uri))})"
    return f"{where}: only references inside the schema are allowed, and nothing is retrieved"
