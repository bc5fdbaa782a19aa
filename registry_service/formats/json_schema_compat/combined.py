"""Rules for ``allOf``/``anyOf``/``oneOf`` on both sides (Confluent's CombinedSchemaDiff).

First the criterion: the same one is no change; moving to ``anyOf``, or between forms that
mean the same for one branch, is COMBINED_TYPE_EXTENDED; anything else is
COMBINED_TYPE_CHANGED and ends the comparison. Then the branches (duplicates collapsed):
more or fewer of them is PRODUCT/SUM_TYPE_EXTENDED/NARROWED, and each original branch is
compared with each update branch; the compatible pairs form a bipartite graph whose maximum
matching must cover the smaller side, else COMBINED_TYPE_SUBSCHEMAS_CHANGED. Differences of
matched pairs are reported at ``#/.../<criterion>/<original index>``.
"""

from __future__ import annotations

from registry_service.formats.json_schema_compat import compare as hub
from registry_service.formats.json_schema_compat.context import Context
from registry_service.formats.json_schema_compat.differences import Difference
from registry_service.formats.json_schema_compat.differences import DifferenceType as T
from registry_service.formats.json_schema_compat.json_values import json_key
from registry_service.formats.json_schema_compat.matching import maximum_matching
from registry_service.formats.json_schema_compat.schema_kinds import Node


def compare(ctx: Context, original: Node, update: Node) -> None:
    """Report the criterion and branch changes between two combined schemas."""
    if _compare_criteria(ctx, original, update) is T.COMBINED_TYPE_CHANGED:
        return
    before = _distinct(original.subschemas)
    after = _distinct(update.subschemas)
    if len(before) < len(after):
        ctx.add(T.PRODUCT_TYPE_EXTENDED if update.criterion == "allOf" else T.SUM_TYPE_EXTENDED)
    elif len(before) > len(after):
        ctx.add(
            T.SUM_TYPE_NARROWED
            if original.criterion in ("anyOf", "oneOf")
            else T.PRODUCT_TYPE_NARROWED
        )
    edges: dict[int, list[int]] = {}
    found: dict[tuple[int, int], list[Difference]] = {}
    for i, old in enumerate(before):
        with ctx.enter(f"{original.criterion}/{i}"):
            for j, new in enumerate(after):
                sub = ctx.subcontext()
                hub.compare(sub, old, new)
                if sub.is_compatible():
                    edges.setdefault(i, []).append(j)
                    found[(i, j)] = sub.differences
    matching = maximum_matching(len(before), edges)
    for i, j in sorted(matching.items()):
        ctx.add_all(found[(i, j)])
    if len(matching) < min(len(before), len(after)):
        ctx.add(T.COMBINED_TYPE_SUBSCHEMAS_CHANGED)


def _compare_criteria(ctx: Context, original: Node, update: Node) -> T | None:
    before, after = original.criterion, update.criterion
    if before == after:
        return None
    one_before = len(original.subschemas) == 1
    one_after = len(update.subschemas) == 1
    if (
        after == "anyOf"
        or (one_before and one_after)
        or (one_before and after == "oneOf")
        or (one_after and before == "allOf")
    ):
        found = T.COMBINED_TYPE_EXTENDED
    else:
        found = T.COMBINED_TYPE_CHANGED
    ctx.add(found)
    return found


def _distinct(subschemas: tuple[Node, ...]) -> list[Node]:
    """Branches with structural duplicates dropped, first occurrence kept (a LinkedHashSet)."""
    seen: set[object] = set()
    kept: list[Node] = []
    for node in subschemas:
        key = (node.kind, node.criterion, node.requires_integer, json_key(node.raw))
        if key not in seen:
            seen.add(key)
            kept.append(node)
    return kept
