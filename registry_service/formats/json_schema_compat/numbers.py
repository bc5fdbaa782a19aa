"""Rules for number schemas: bounds, ``multipleOf``, integer vs number.

Confluent's NumberSchemaDiff.

``exclusiveMaximum``/``exclusiveMinimum`` count only in their numeric form (draft 6 on): the
draft 4 boolean form modifies ``maximum``/``minimum`` and Confluent's diff ignores it.
``multipleOf`` is compared as an exact decimal (any magnitude), so ``0.5`` and ``0.50`` are
the same value; an update whose value is a multiple of the original's accepts fewer numbers
(EXPANDED, breaks), one that divides it accepts more (REDUCED, compatible).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from registry_service.formats.json_schema_compat.context import Context
from registry_service.formats.json_schema_compat.differences import DifferenceType as T
from registry_service.formats.json_schema_compat.limits import (
    Bound,
    compare_bound,
    compare_values,
    number_or_none,
)
from registry_service.formats.json_schema_compat.schema_kinds import Draft, Node

MAXIMUM = Bound("maximum", T.MAXIMUM_ADDED, T.MAXIMUM_REMOVED, T.MAXIMUM_INCREASED,
                T.MAXIMUM_DECREASED)  # fmt: skip
MINIMUM = Bound("minimum", T.MINIMUM_ADDED, T.MINIMUM_REMOVED, T.MINIMUM_INCREASED,
                T.MINIMUM_DECREASED)  # fmt: skip
EXCLUSIVE_MAXIMUM = Bound(
    "exclusiveMaximum", T.EXCLUSIVE_MAXIMUM_ADDED, T.EXCLUSIVE_MAXIMUM_REMOVED,
    T.EXCLUSIVE_MAXIMUM_INCREASED, T.EXCLUSIVE_MAXIMUM_DECREASED,
)  # fmt: skip
EXCLUSIVE_MINIMUM = Bound(
    "exclusiveMinimum", T.EXCLUSIVE_MINIMUM_ADDED, T.EXCLUSIVE_MINIMUM_REMOVED,
    T.EXCLUSIVE_MINIMUM_INCREASED, T.EXCLUSIVE_MINIMUM_DECREASED,
)  # fmt: skip


def compare(ctx: Context, original: Node, update: Node) -> None:
    """Report the number keyword changes from ``original`` to ``update``."""
    compare_bound(ctx, MAXIMUM, original, update)
    compare_bound(ctx, MINIMUM, original, update)
    for bound in (EXCLUSIVE_MAXIMUM, EXCLUSIVE_MINIMUM):
        compare_values(ctx, bound, _exclusive(original, bound), _exclusive(update, bound))
    _compare_multiple_of(ctx, _decimal(original), _decimal(update))
    if original.requires_integer != update.requires_integer:
        ctx.add(T.TYPE_EXTENDED if original.requires_integer else T.TYPE_NARROWED)


def _exclusive(node: Node, bound: Bound) -> float | int | None:
    if node.draft is Draft.DRAFT4:
        return None
    return number_or_none(node.keyword(bound.keyword))


def _decimal(node: Node) -> Fraction | None:
    """``multipleOf`` as an exact rational, read from its decimal text (``0.1`` is 1/10)."""
    value = number_or_none(node.keyword("multipleOf"))
    if value is None:
        return None
    return Fraction(Decimal(str(value)))


def _compare_multiple_of(ctx: Context, before: Fraction | None, after: Fraction | None) -> None:
    if before == after:
        return
    if before is None:
        ctx.add(T.MULTIPLE_OF_ADDED, "multipleOf")
    elif after is None:
        ctx.add(T.MULTIPLE_OF_REMOVED, "multipleOf")
    elif before != 0 and after % before == 0:
        ctx.add(T.MULTIPLE_OF_EXPANDED, "multipleOf")
    elif after != 0 and before % after == 0:
        ctx.add(T.MULTIPLE_OF_REDUCED, "multipleOf")
    else:
        ctx.add(T.MULTIPLE_OF_CHANGED, "multipleOf")
