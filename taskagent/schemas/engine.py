"""The libraries, set up once: registries that never retrieve, and the safe validator classes.

A safe class is a jsonschema validator class with RE2 regexes, linear uniqueItems, and every
keyword counted against the Budget of its check. Validator classes are built once per dialect and
cached. jsonschema builds them at run time (its stubs type their instances loosely), so they and
their instances are `Any` here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
import jsonschema
import jsonschema.validators
import referencing.exceptions
from jsonschema.protocols import Validator
from jsonschema_specifications import REGISTRY as SPECIFICATIONS
from referencing import Registry, Resource
from referencing._core import Resolver  # referencing exports it only for type checking

from taskagent.schemas import keywords
from taskagent.schemas.limits import MAX_EVAL_DEPTH, MAX_STEPS, TOO_DEEP, TOO_LONG, Exhausted

#: A keyword's function, as jsonschema calls it: (validator, value, instance, schema).
Keyword = Callable[[Any, Any, Any, Any], Iterable[jsonschema.ValidationError] | None]


class Budget(jsonschema.FormatChecker):
    """Counters for one check. jsonschema hands a validator's format checker on, unchanged, to
    every validator it derives, so it carries them; it checks no formats (as before, `format` is
    an annotation only)."""

    def __init__(self) -> None:
        super().__init__(formats=())
        self.steps = 0
        self.depth = 0


def refuse(uri: str) -> Resource[Any]:
    """A registry's `retrieve`: nothing outside the schema is ever fetched."""
    raise referencing.exceptions.NoSuchResource(uri)


def refusing_registry(retrieve: Callable[[str], Resource[Any]] = refuse) -> Registry[Any]:
    """An empty registry that calls `retrieve` (which must refuse) for any unknown URI."""
    # referencing builds its classes with its own attrs wrapper, which mypy's attrs plugin does not
    # see through: to mypy, Registry takes no arguments.
    make: Callable[..., Registry[Any]] = Registry
    return make(retrieve=retrieve)


#: Refuses every retrieval (which also turns off jsonschema's legacy remote retrieval).
REGISTRY = refusing_registry()
#: The meta-schemas jsonschema ships (jsonschema.validators.SPECIFICATIONS is this registry of
#: jsonschema_specifications, a package without type information), crawled; refuses every
#: retrieval.
META_REGISTRY: Registry[Any] = SPECIFICATIONS.combine(REGISTRY).crawl()


def resolver_for(
    resource: Resource[Any], registry: Registry[Any] = REGISTRY
) -> tuple[Resolver[Any], bool]:
    """A resolver rooted at `resource`, and whether its registry could be crawled up front.

    Crawled once here, because referencing crawls an uncrawled registry again on every lookup of
    an anchor or an embedded $id (the whole document each time). Crawling fails only on a
    malformed document (a list or a string where a subschema belongs); then the resolver is left
    uncrawled, and only JSON pointer lookups are cheap.
    """
    uri = resource.id() or ""
    registry = registry.with_resource(uri, resource)
    try:
        return registry.crawl().resolver(base_uri=uri), True
    except Exception:
        return registry.resolver(base_uri=uri), False


@functools.cache
def safe_class(base: type[Validator]) -> Any:
    """`base` (a jsonschema validator class) with RE2 regexes, linear uniqueItems, and every
    keyword counted against the check's Budget."""
    stock: dict[str, Keyword] = base.VALIDATORS
    replaced: dict[str, Keyword] = {
        "pattern": keywords.pattern,
        "patternProperties": keywords.pattern_properties,
        "additionalProperties": keywords.additional_properties,
        "uniqueItems": keywords.unique_items,
    }
    if "unevaluatedProperties" in stock:
        replaced["unevaluatedProperties"] = keywords.unevaluated_properties
    counted = {name: _counted(replaced.get(name, keyword)) for name, keyword in stock.items()}
    # jsonschema's stubs leave `extend` untyped: the class it builds is Any.
    extend: Callable[..., Any] = jsonschema.validators.extend
    cls = extend(base, validators=counted)
    cls.evolve = _evolve(cls, base)
    cls.base = base
    cls.ignores_ref_siblings = base in (
        jsonschema.Draft3Validator,
        jsonschema.Draft4Validator,
        jsonschema.Draft6Validator,
        jsonschema.Draft7Validator,
    )
    return cls


def _evolve(cls: Any, base: type[Validator]) -> Callable[..., Any]:
    """jsonschema's own `evolve` for `cls`, except that a subschema declaring another `$schema`
    gets the safe class of that dialect rather than jsonschema's stock class (and its `re`)."""
    fields = [(f.name, f.alias) for f in attrs.fields(cls) if f.init]

    def evolve(self: Any, **changes: Any) -> Any:
        schema = changes.setdefault("schema", self.schema)
        new = cls
        if isinstance(schema, dict) and "$schema" in schema:
            found = jsonschema.validators.validator_for(schema, default=base)
            new = cls if found is base else safe_class(found)
        for name, alias in fields:
            changes.setdefault(alias, getattr(self, name))
        return new(**changes)

    return evolve


def _counted(keyword: Keyword) -> Keyword:
    def run(validator: Any, value: Any, instance: Any, schema: Any) -> Iterator[Any]:
        budget = validator.format_checker
        budget.steps += 1
        if budget.steps > MAX_STEPS:
            raise Exhausted(TOO_LONG)
        budget.depth += 1
        try:
            if budget.depth > MAX_EVAL_DEPTH:
                raise Exhausted(TOO_DEEP)
            errors = keyword(validator, value, instance, schema)
            if errors:
                yield from errors
        finally:
            budget.depth -= 1

    return run
