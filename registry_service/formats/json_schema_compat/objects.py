"""Rules for object schemas (Confluent's ObjectSchemaDiff).

The content model decides what adding or removing a property means:

* *open* -- no ``additionalProperties`` schema or ``false``, no ``patternProperties``, and
  ``unevaluatedProperties`` absent or ``true``: unknown properties are accepted as anything;
* *partially open* -- a property not listed is checked against a ``patternProperties`` entry
  whose pattern matches it, else the ``additionalProperties`` schema, else (with no
  ``additionalProperties``) a non-trivial ``unevaluatedProperties`` schema;
* *closed* -- everything else.

A property removed from the update is fine when the update is open, or when the schema that
now covers it accepts what the old property did; one added is fine when the original was
closed (old data never had it) unless it is required without a default.
"""

from __future__ import annotations

import re
from typing import Any

from registry_service.formats.json_schema_compat import compare as hub
from registry_service.formats.json_schema_compat.context import Context
from registry_service.formats.json_schema_compat.differences import DifferenceType as T
from registry_service.formats.json_schema_compat.limits import Bound, compare_bound
from registry_service.formats.json_schema_compat.schema_kinds import Kind, Node

MAX_PROPERTIES = Bound(
    "maxProperties", T.MAX_PROPERTIES_ADDED, T.MAX_PROPERTIES_REMOVED,
    T.MAX_PROPERTIES_INCREASED, T.MAX_PROPERTIES_DECREASED,
)  # fmt: skip
MIN_PROPERTIES = Bound(
    "minProperties", T.MIN_PROPERTIES_ADDED, T.MIN_PROPERTIES_REMOVED,
    T.MIN_PROPERTIES_INCREASED, T.MIN_PROPERTIES_DECREASED,
)  # fmt: skip


def compare(ctx: Context, original: Node, update: Node) -> None:
    """Report every object keyword change from ``original`` to ``update``."""
    _compare_required(ctx, original, update)
    _compare_properties(ctx, original, update)
    _compare_dependencies(ctx, original, update)
    _compare_additional(ctx, original, update)
    _compare_unevaluated(ctx, original, update)
    compare_bound(ctx, MAX_PROPERTIES, original, update)
    compare_bound(ctx, MIN_PROPERTIES, original, update)


# -- what an object schema says -------------------------------------------------------------


def properties(node: Node) -> dict[str, Node]:
    """``properties`` as nodes (empty when absent)."""
    value = node.keyword("properties")
    return node.children(value) if isinstance(value, dict) else {}


def required(node: Node) -> list[str]:
    """``required`` property names (empty when absent)."""
    value = node.keyword("required")
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def permits_additional(node: Node) -> bool:
    """False only for ``additionalProperties: false``."""
    return node.keyword("additionalProperties") is not False


def additional_schema(node: Node) -> Node | None:
    """The ``additionalProperties`` schema when it is an object (``{}`` counts), else None."""
    value = node.keyword("additionalProperties")
    return node.child(value) if isinstance(value, dict) else None


def unevaluated_schema(node: Node) -> Node | None:
    """``unevaluatedProperties`` as a schema; only 2019-09/2020-12 read it as one."""
    if not node.draft.modern or not node.has("unevaluatedProperties"):
        return None
    return node.child(node.keyword("unevaluatedProperties"))


def pattern_properties(node: Node) -> list[tuple[str, Node]]:
    """``patternProperties`` entries, in document order."""
    value = node.keyword("patternProperties")
    if not isinstance(value, dict):
        return []
    return [(pattern, node.child(schema)) for pattern, schema in value.items()]


def is_open(node: Node) -> bool:
    """Every unknown property is accepted as anything."""
    if not permits_additional(node) or additional_schema(node) is not None:
        return False
    if pattern_properties(node):
        return False
    uneval = unevaluated_schema(node)
    return uneval is None or uneval.is_empty()


def covering_schema(node: Node, name: str) -> Node | None:
    """The schema a partially open content model checks property ``name`` against."""
    for pattern, schema in pattern_properties(node):
        if _search(pattern, name):
            return schema
    additional = additional_schema(node)
    if additional is not None:
        return additional
    if permits_additional(node):
        uneval = unevaluated_schema(node)
        if uneval is not None and uneval.kind is not Kind.FALSE and not uneval.is_empty():
            return uneval
    return None


def _search(pattern: str, name: str) -> bool:
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return False


# -- the rules --------------------------------------------------------------------------------


def _compare_required(ctx: Context, original: Node, update: Node) -> None:
    before_props = properties(original)
    after_props = properties(update)
    before, after = set(required(original)), set(required(update))
    with ctx.enter("required"):
        for name in before_props:
            if name not in after_props:
                continue
            with ctx.enter(name):
                if name in before and name not in after:
                    ctx.add(T.REQUIRED_ATTRIBUTE_REMOVED)
                elif name not in before and name in after:
                    if after_props[name].has_default:
                        ctx.add(T.REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED)
                    else:
                        ctx.add(T.REQUIRED_ATTRIBUTE_ADDED)


def _compare_properties(ctx: Context, original: Node, update: Node) -> None:
    before = properties(original)
    after = properties(update)
    update_required = set(required(update))
    with ctx.enter("properties"):
        for name in _union(before, after):
            with ctx.enter(name):
                old, new = before.get(name), after.get(name)
                if new is None and old is not None:
                    _property_removed(ctx, old, update, name)
                elif old is None and new is not None:
                    _property_added(ctx, original, new, name in update_required, name)
                else:
                    hub.compare(ctx, old, new)


def _property_removed(ctx: Context, old: Node, update: Node, name: str) -> None:
    if is_open(update):
        ctx.add(T.PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL)
        return
    cover = covering_schema(update, name)
    if cover is not None:
        sub = ctx.subcontext()
        hub.compare(sub, old, cover)
        ctx.add_all(sub.differences)
        ctx.add(
            T.PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
            if sub.is_compatible()
            else T.PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        )
    elif old.kind is Kind.FALSE:
        ctx.add(T.PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL)
    else:
        ctx.add(T.PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL)


def _property_added(ctx: Context, original: Node, new: Node, is_required: bool, name: str) -> None:
    if is_open(original):
        if new.is_empty():
            ctx.add(T.PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL)
        elif is_required:
            ctx.add(
                T.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL
                if new.has_default
                else T.REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL
            )
        else:
            ctx.add(T.OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL)
        return
    cover = covering_schema(original, name)
    if cover is not None:
        sub = ctx.subcontext()
        hub.compare(sub, cover, new)
        ctx.add_all(sub.differences)
        ctx.add(
            T.PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
            if sub.is_compatible()
            else T.PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        )
    if is_required:
        ctx.add(
            T.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL
            if new.has_default
            else T.REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL
        )
    else:
        ctx.add(T.OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL)


def _property_dependencies(node: Node) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    deps = node.keyword("dependencies")
    if isinstance(deps, dict):
        for name, value in deps.items():
            if isinstance(value, list):
                found.setdefault(name, set()).update(v for v in value if isinstance(v, str))
    if node.draft.modern:
        dependent = node.keyword("dependentRequired")
        if isinstance(dependent, dict):
            for name, value in dependent.items():
                if isinstance(value, list):
                    found.setdefault(name, set()).update(v for v in value if isinstance(v, str))
    return {name: frozenset(values) for name, values in found.items()}


def _schema_dependencies(node: Node) -> dict[str, Node]:
    found: dict[str, Any] = {}
    deps = node.keyword("dependencies")
    if isinstance(deps, dict):
        found.update({k: v for k, v in deps.items() if isinstance(v, dict | bool)})
    if node.draft.modern:
        dependent = node.keyword("dependentSchemas")
        if isinstance(dependent, dict):
            found.update(dependent)
    return node.children(found)


def _compare_dependencies(ctx: Context, original: Node, update: Node) -> None:
    with ctx.enter("dependencies"):
        before, after = _property_dependencies(original), _property_dependencies(update)
        for name in _union(before, after):
            with ctx.enter(name):
                old, new = before.get(name), after.get(name)
                if new is None:
                    ctx.add(T.DEPENDENCY_ARRAY_REMOVED)
                elif old is None:
                    ctx.add(T.DEPENDENCY_ARRAY_ADDED)
                elif old != new:
                    if new >= old:
                        ctx.add(T.DEPENDENCY_ARRAY_EXTENDED)
                    elif old >= new:
                        ctx.add(T.DEPENDENCY_ARRAY_NARROWED)
                    else:
                        ctx.add(T.DEPENDENCY_ARRAY_CHANGED)
        before_s, after_s = _schema_dependencies(original), _schema_dependencies(update)
        for name in _union(before_s, after_s):
            with ctx.enter(name):
                old_s, new_s = before_s.get(name), after_s.get(name)
                if new_s is None:
                    ctx.add(T.DEPENDENCY_SCHEMA_REMOVED)
                elif old_s is None:
                    ctx.add(T.DEPENDENCY_SCHEMA_ADDED)
                else:
                    hub.compare(ctx, old_s, new_s)


def _compare_additional(ctx: Context, original: Node, update: Node) -> None:
    with ctx.enter("additionalProperties"):
        compare_additional(
            ctx,
            (permits_additional(original), additional_schema(original)),
            (permits_additional(update), additional_schema(update)),
            added=T.ADDITIONAL_PROPERTIES_ADDED,
            removed=T.ADDITIONAL_PROPERTIES_REMOVED,
            extended=T.ADDITIONAL_PROPERTIES_EXTENDED,
            narrowed=T.ADDITIONAL_PROPERTIES_NARROWED,
        )


def _compare_unevaluated(ctx: Context, original: Node, update: Node) -> None:
    before, after = unevaluated_schema(original), unevaluated_schema(update)
    if before is None and after is None:
        return
    with ctx.enter("unevaluatedProperties"):
        compare_unevaluated(
            ctx,
            before,
            after,
            added=T.UNEVALUATED_PROPERTIES_ADDED,
            removed=T.UNEVALUATED_PROPERTIES_REMOVED,
            extended=T.UNEVALUATED_PROPERTIES_EXTENDED,
            narrowed=T.UNEVALUATED_PROPERTIES_NARROWED,
        )


def compare_additional(
    ctx: Context,
    before: tuple[bool, Node | None],
    after: tuple[bool, Node | None],
    *,
    added: T,
    removed: T,
    extended: T,
    narrowed: T,
) -> None:
    """The ``additionalProperties``/``additionalItems`` rule (the same for both).

    Each side is (extra members permitted at all, the schema they must match if any).
    """
    (before_permits, before_schema), (after_permits, after_schema) = before, after
    if before_permits != after_permits:
        ctx.add(added if after_permits else removed)
    elif before_schema is None and after_schema is not None:
        ctx.add(narrowed)
    elif after_schema is None and before_schema is not None:
        ctx.add(extended)
    else:
        hub.compare(ctx, before_schema, after_schema)


def compare_unevaluated(
    ctx: Context,
    before: Node | None,
    after: Node | None,
    *,
    added: T,
    removed: T,
    extended: T,
    narrowed: T,
) -> None:
    """The ``unevaluatedProperties``/``unevaluatedItems`` rule (the same for both)."""
    if before is None:
        ctx.add(removed if after is not None and after.kind is Kind.FALSE else narrowed)
    elif after is None:
        ctx.add(added if before.kind is Kind.FALSE else extended)
    elif before.kind is Kind.FALSE and after.kind is not Kind.FALSE:
        ctx.add(added)
    elif before.kind is not Kind.FALSE and after.kind is Kind.FALSE:
        ctx.add(removed)
    elif before.is_empty() and not after.is_empty():
        ctx.add(narrowed)
    elif not before.is_empty() and after.is_empty():
        ctx.add(extended)
    else:
        hub.compare(ctx, before, after)


def _union(left: dict[str, Any], right: dict[str, Any]) -> list[str]:
    """Keys of both, the original's first (Confluent walks a HashSet; order is not meaningful)."""
    return list(left) + [k for k in right if k not in left]
