"""The hub of the walk: compare two nodes, dispatching on their kind (Confluent's SchemaDiff).

Every per-kind module calls back into ``compare`` for subschemas, so this is where ``$ref``
is followed (a REFERENCE is replaced by what it points to), where the memo and the cycle
guard apply, and where a change of kind is told apart from a change inside one kind.

Order of the checks, as Confluent's ``compareTypes``: first a combined schema on one side
only (a singleton union, a ``anyOf``/``oneOf`` update that has a compatible branch, an
``allOf`` original that has one), then a change of kind (TYPE_CHANGED unless the original
is ``false``, the update accepts anything, or both are Connect ``bytes``), then the common
keywords, then the kind's own rules.
"""

from __future__ import annotations

from registry_service.formats.json_schema_compat import (
    arrays,
    combined,
    enums,
    negation,
    numbers,
    objects,
    strings,
)
from registry_service.formats.json_schema_compat.context import Context
from registry_service.formats.json_schema_compat.differences import DifferenceType as T
from registry_service.formats.json_schema_compat.json_values import json_equal
from registry_service.formats.json_schema_compat.schema_kinds import Kind, Node

_CONNECT_TYPE = "connect.type"


def compare(ctx: Context, original: Node | None, update: Node | None) -> None:
    """Record in ``ctx`` every difference from ``original`` to ``update`` (either may be absent)."""
    if original is None and update is None:
        return
    if original is None:
        ctx.add(T.SCHEMA_ADDED)
        return
    if update is None:
        ctx.add(T.SCHEMA_REMOVED)
        return
    left = _normalize(original)
    right = _normalize(update)
    relative = ctx.compare_memoized(left, right, lambda sub: _compare_kinds(sub, left, right))
    ctx.add_rebased(relative)


def _normalize(node: Node) -> Node:
    """Follow ``$ref`` until a node that is not a reference (guarding ``a -> b -> a``)."""
    seen: set[int] = set()
    while node.kind is Kind.REFERENCE and id(node) not in seen:
        seen.add(id(node))
        node = node.loader.resolve(node)
    return node


def _compare_kinds(ctx: Context, original: Node, update: Node) -> None:
    if _one_side_combined(ctx, original, update):
        return
    if not _same_kind(original, update):
        if original.kind is Kind.FALSE or update.is_empty():
            return
        if original.keyword(_CONNECT_TYPE) == "bytes" and update.keyword(_CONNECT_TYPE) == "bytes":
            return
        ctx.add(T.TYPE_CHANGED)
        return
    if not json_equal(original.id, update.id):
        ctx.add(T.ID_CHANGED)
    if not json_equal(original.title, update.title):
        ctx.add(T.TITLE_CHANGED)
    if not json_equal(original.description, update.description):
        ctx.add(T.DESCRIPTION_CHANGED)
    if original.has_default != update.has_default or not json_equal(
        original.default, update.default
    ):
        ctx.add(T.DEFAULT_CHANGED)
    rules = _RULES.get(original.kind)
    if rules is not None:
        rules(ctx, original, update)


def _one_side_combined(ctx: Context, original: Node, update: Node) -> bool:
    """Confluent's shortcuts for a union on one side only; True when they settled the pair."""
    if original.kind is not Kind.COMBINED and update.kind is Kind.COMBINED:
        if len(update.subschemas) == 1:
            return _settles(ctx, original, update.subschemas[0], None)
        if update.criterion in ("anyOf", "oneOf"):
            return any(
                _settles(ctx, original, sub, T.SUM_TYPE_EXTENDED) for sub in update.subschemas
            )
    elif original.kind is Kind.COMBINED and update.kind is not Kind.COMBINED:
        if len(original.subschemas) == 1:
            return _settles(ctx, original.subschemas[0], update, None)
        if original.criterion == "allOf":
            return any(
                _settles(ctx, sub, update, T.PRODUCT_TYPE_NARROWED) for sub in original.subschemas
            )
    return False


def _settles(ctx: Context, original: Node, update: Node, extra: T | None) -> bool:
    sub = ctx.subcontext()
    compare(sub, original, update)
    if not sub.is_compatible():
        return False
    ctx.add_all(sub.differences)
    if extra is not None:
        ctx.add(extra)
    return True


def _same_kind(left: Node, right: Node) -> bool:
    return left.kind is right.kind


_RULES = {
    Kind.STRING: strings.compare,
    Kind.NUMBER: numbers.compare,
    Kind.CONST: enums.compare_const,
    Kind.ENUM: enums.compare_enum,
    Kind.COMBINED: combined.compare,
    Kind.NOT: negation.compare,
    Kind.OBJECT: objects.compare,
    Kind.ARRAY: arrays.compare,
}
