"""The one shape most keyword rules share: a bound that may be added, removed, raised, lowered.

``maxLength``, ``minItems``, ``maximum``... all report ``*_ADDED`` when only the update has
the keyword, ``*_REMOVED`` when only the original has it, and ``*_INCREASED`` or
``*_DECREASED`` when both have it with different values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from registry_service.formats.json_schema_compat.context import Context
from registry_service.formats.json_schema_compat.differences import DifferenceType
from registry_service.formats.json_schema_compat.schema_kinds import Node


@dataclass(frozen=True, slots=True)
class Bound:
    """The four difference types of one keyword, reported at ``#/.../<keyword>``."""

    keyword: str
    added: DifferenceType
    removed: DifferenceType
    increased: DifferenceType
    decreased: DifferenceType


def number_or_none(value: object) -> float | int | None:
    """``value`` when it is a JSON number (``true`` is not), else None (the keyword is ignored)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN/Infinity are not JSON; Python's parser lets them through
    return value


def compare_bound(ctx: Context, bound: Bound, original: Node, update: Node) -> None:
    """Report how ``bound.keyword`` changed between ``original`` and ``update``."""
    compare_values(
        ctx,
        bound,
        number_or_none(original.keyword(bound.keyword)),
        number_or_none(update.keyword(bound.keyword)),
    )


def compare_values(
    ctx: Context, bound: Bound, before: float | int | None, after: float | int | None
) -> None:
    """Report the change of one bound given its two (possibly absent) values."""
    if before is None and after is None:
        return
    if before is None:
        ctx.add(bound.added, bound.keyword)
    elif after is None:
        ctx.add(bound.removed, bound.keyword)
    elif before < after:
        ctx.add(bound.increased, bound.keyword)
    elif before > after:
        ctx.add(bound.decreased, bound.keyword)
