"""Maximum bipartite matching (augmenting paths), as Confluent's MaximumCardinalityMatch.

The combined-schema rule pairs each original subschema with a distinct update subschema it
is compatible with; the union stays compatible only when every subschema of the smaller
side finds a partner. Sizes are small (the branches of one ``oneOf``), so Kuhn's algorithm
is plenty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def maximum_matching(left_count: int, edges: Mapping[int, Sequence[int]]) -> dict[int, int]:
    """A maximum matching as ``{left: right}``; ``edges[left]`` lists the rights it may take.

    Candidates are tried in the order given, so the result is deterministic.
    """
    owner: dict[int, int] = {}

    def augment(left: int, seen: set[int]) -> bool:
        for right in edges.get(left, ()):
            if right in seen:
                continue
            seen.add(right)
            if right not in owner or augment(owner[right], seen):
                owner[right] = left
                return True
        return False

    for left in range(left_count):
        augment(left, set())
    return {left: right for right, left in owner.items()}
