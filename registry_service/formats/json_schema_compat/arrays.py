"""Rules for array schemas (Confluent's ArraySchemaDiff).

``items`` as one schema applies to every item and is compared like any subschema (at
``#/.../items``). ``items`` as a list (2020-12: ``prefixItems``) is a tuple: positions both
sides have are compared at ``#/.../items/<i>``; a position only one side has is judged by
the other side's content model for extra items, as objects judge properties:

* *open* -- ``additionalItems`` absent or ``true`` and ``unevaluatedItems`` absent or ``true``;
* *partially open* -- an ``additionalItems`` schema, or (without ``additionalItems``) a
  non-trivial ``unevaluatedItems`` schema;
* *closed* -- ``additionalItems: false`` and the like.

In 2020-12 the single ``items`` after ``prefixItems`` plays ``additionalItems``' part.
"""

from __future__ import annotations

from registry_service.formats.json_schema_compat import compare as hub
from registry_service.formats.json_schema_compat.context import Context
from registry_service.formats.json_schema_compat.differences import DifferenceType as T
from registry_service.formats.json_schema_compat.limits import (
    Bound,
    compare_bound,
    compare_values,
    number_or_none,
)
from registry_service.formats.json_schema_compat.objects import (
    compare_additional,
    compare_unevaluated,
)
from registry_service.formats.json_schema_compat.schema_kinds import Kind, Node

MAX_ITEMS = Bound("maxItems", T.MAX_ITEMS_ADDED, T.MAX_ITEMS_REMOVED, T.MAX_ITEMS_INCREASED,
                  T.MAX_ITEMS_DECREASED)  # fmt: skip
MIN_ITEMS = Bound("minItems", T.MIN_ITEMS_ADDED, T.MIN_ITEMS_REMOVED, T.MIN_ITEMS_INCREASED,
                  T.MIN_ITEMS_DECREASED)  # fmt: skip
MAX_CONTAINS = Bound(
    "maxContains", T.MAX_CONTAINS_ADDED, T.MAX_CONTAINS_REMOVED, T.MAX_CONTAINS_INCREASED,
    T.MAX_CONTAINS_DECREASED,
)  # fmt: skip
MIN_CONTAINS = Bound(
    "minContains", T.MIN_CONTAINS_ADDED, T.MIN_CONTAINS_REMOVED, T.MIN_CONTAINS_INCREASED,
    T.MIN_CONTAINS_DECREASED,
)  # fmt: skip


def compare(ctx: Context, original: Node, update: Node) -> None:
    """Report every array keyword change from ``original`` to ``update``."""
    with ctx.enter("items"):
        hub.compare(ctx, all_items(original), all_items(update))
    _compare_tuple(ctx, original, update)
    _compare_additional(ctx, original, update)
    _compare_unevaluated(ctx, original, update)
    compare_bound(ctx, MAX_ITEMS, original, update)
    compare_bound(ctx, MIN_ITEMS, original, update)
    if _unique(original) != _unique(update):
        ctx.add(
            T.UNIQUE_ITEMS_REMOVED if _unique(original) else T.UNIQUE_ITEMS_ADDED, "uniqueItems"
        )
    compare_values(ctx, MAX_CONTAINS, _contains_bound(original, "maxContains"),
                   _contains_bound(update, "maxContains"))  # fmt: skip
    compare_values(ctx, MIN_CONTAINS, _contains_bound(original, "minContains"),
                   _contains_bound(update, "minContains"))  # fmt: skip


# -- what an array schema says ----------------------------------------------------------------


def all_items(node: Node) -> Node | None:
    """The one schema every item must match, or None."""
    items = node.keyword("items")
    if node.draft.modern:
        if node.has("prefixItems") or not isinstance(items, dict):
            return None
        return node.child(items)
    if isinstance(items, dict | bool):
        return node.child(items)
    return None


def tuple_items(node: Node) -> list[Node]:
    """The per-position item schemas (``items`` as a list, 2020-12 ``prefixItems``)."""
    value = node.keyword("prefixItems" if node.draft.modern else "items")
    return [node.child(v) for v in value] if isinstance(value, list) else []


def permits_additional(node: Node) -> bool:
    """False for ``additionalItems: false`` (2020-12: ``items: false``)."""
    return node.keyword("items" if node.draft.modern else "additionalItems") is not False


def additional_schema(node: Node) -> Node | None:
    """The schema extra items must match: ``additionalItems`` (2020-12: ``items`` + prefix)."""
    if node.draft.modern:
        items = node.keyword("items")
        if node.has("prefixItems") and isinstance(items, dict):
            return node.child(items)
        return None
    value = node.keyword("additionalItems")
    return node.child(value) if isinstance(value, dict) else None


def unevaluated_schema(node: Node) -> Node | None:
    """``unevaluatedItems`` as a schema; only 2019-09/2020-12 read it as one."""
    if not node.draft.modern or not node.has("unevaluatedItems"):
        return None
    return node.child(node.keyword("unevaluatedItems"))


def is_open(node: Node) -> bool:
    """Extra items are accepted as anything."""
    if not permits_additional(node) or additional_schema(node) is not None:
        return False
    uneval = unevaluated_schema(node)
    return uneval is None or uneval.is_empty()


def covering_schema(node: Node) -> Node | None:
    """The schema a partially open content model checks extra items against."""
    additional = additional_schema(node)
    if additional is not None:
        return additional
    if permits_additional(node):
        uneval = unevaluated_schema(node)
        if uneval is not None and uneval.kind is not Kind.FALSE and not uneval.is_empty():
            return uneval
    return None


def _unique(node: Node) -> bool:
    return node.keyword("uniqueItems") is True


def _contains_bound(node: Node, keyword: str) -> float | int | None:
    value = number_or_none(node.keyword(keyword))
    if value is None and keyword == "minContains" and node.draft.modern and node.has("contains"):
        return 1  # json-sKema gives every ``contains`` its default minContains
    return value


# -- the rules --------------------------------------------------------------------------------


def _compare_tuple(ctx: Context, original: Node, update: Node) -> None:
    before, after = tuple_items(original), tuple_items(update)
    shared = min(len(before), len(after))
    for index in range(shared):
        with ctx.enter(f"items/{index}"):
            hub.compare(ctx, before[index], after[index])
    for index in range(shared, len(before)):
        with ctx.enter(f"items/{index}"):
            _item_removed(ctx, before[index], update)
    for index in range(shared, len(after)):
        with ctx.enter(f"items/{index}"):
            _item_added(ctx, original, after[index])


def _item_removed(ctx: Context, old: Node, update: Node) -> None:
    if is_open(update):
        ctx.add(T.ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL)
        return
    cover = covering_schema(update)
    if cover is not None:
        sub = ctx.subcontext()
        hub.compare(sub, old, cover)
        ctx.add_all(sub.differences)
        ctx.add(
            T.ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
            if sub.is_compatible()
            else T.ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        )
    elif old.kind is Kind.FALSE:
        ctx.add(T.ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL)
    else:
        ctx.add(T.ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL)


def _item_added(ctx: Context, original: Node, new: Node) -> None:
    if is_open(original):
        ctx.add(
            T.ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL
            if new.is_empty()
            else T.ITEM_ADDED_TO_OPEN_CONTENT_MODEL
        )
        return
    cover = covering_schema(original)
    if cover is None:
        ctx.add(T.ITEM_ADDED_TO_CLOSED_CONTENT_MODEL)
        return
    sub = ctx.subcontext()
    hub.compare(sub, cover, new)
    ctx.add_all(sub.differences)
    ctx.add(
        T.ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        if sub.is_compatible()
        else T.ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
    )


def _compare_additional(ctx: Context, original: Node, update: Node) -> None:
    with ctx.enter("additionalItems"):
        compare_additional(
            ctx,
            (permits_additional(original), additional_schema(original)),
            (permits_additional(update), additional_schema(update)),
            added=T.ADDITIONAL_ITEMS_ADDED,
            removed=T.ADDITIONAL_ITEMS_REMOVED,
            extended=T.ADDITIONAL_ITEMS_EXTENDED,
            narrowed=T.ADDITIONAL_ITEMS_NARROWED,
        )


def _compare_unevaluated(ctx: Context, original: Node, update: Node) -> None:
    before, after = unevaluated_schema(original), unevaluated_schema(update)
    if before is None and after is None:
        return
    with ctx.enter("unevaluatedItems"):
        compare_unevaluated(
            ctx,
            before,
            after,
            added=T.UNEVALUATED_ITEMS_ADDED,
            removed=T.UNEVALUATED_ITEMS_REMOVED,
            extended=T.UNEVALUATED_ITEMS_EXTENDED,
            narrowed=T.UNEVALUATED_ITEMS_NARROWED,
        )
