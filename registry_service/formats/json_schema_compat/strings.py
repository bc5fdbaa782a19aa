"""Rules for string schemas: ``maxLength``, ``minLength``, ``pattern``.

Confluent's StringSchemaDiff.

A longer maximum, a shorter minimum or a dropped pattern accept more strings (compatible);
the reverse, or any change of the pattern text, may reject what was valid.
"""

from __future__ import annotations

from registry_service.formats.json_schema_compat.context import Context
from registry_service.formats.json_schema_compat.differences import DifferenceType as T
from registry_service.formats.json_schema_compat.limits import Bound, compare_bound
from registry_service.formats.json_schema_compat.schema_kinds import Node

MAX_LENGTH = Bound(
    "maxLength", T.MAX_LENGTH_ADDED, T.MAX_LENGTH_REMOVED, T.MAX_LENGTH_INCREASED,
    T.MAX_LENGTH_DECREASED,
)  # fmt: skip
MIN_LENGTH = Bound(
    "minLength", T.MIN_LENGTH_ADDED, T.MIN_LENGTH_REMOVED, T.MIN_LENGTH_INCREASED,
    T.MIN_LENGTH_DECREASED,
)  # fmt: skip


def compare(ctx: Context, original: Node, update: Node) -> None:
    """Report the string keyword changes from ``original`` to ``update``."""
    compare_bound(ctx, MAX_LENGTH, original, update)
    compare_bound(ctx, MIN_LENGTH, original, update)
    before = original.keyword("pattern")
    after = update.keyword("pattern")
    if before is None and after is not None:
        ctx.add(T.PATTERN_ADDED, "pattern")
    elif before is not None and after is None:
        ctx.add(T.PATTERN_REMOVED, "pattern")
    elif before is not None and before != after:
        ctx.add(T.PATTERN_CHANGED, "pattern")
