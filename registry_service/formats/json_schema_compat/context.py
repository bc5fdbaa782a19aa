"""Where a comparison is (the JSON path) and what it has found, plus the guard for cycles.

Theory of operation (the facts from Confluent's ``json/diff/Context.java``): every pair of
schemas compared is memoised by identity, with its differences stored relative to the pair
(``#/`` = the pair's own root) and rebased onto the path of each place that reaches it. A
pair met again while it is still being compared is a ``$ref`` cycle: it is taken as
compatible (no differences) and that truncated answer is not cached. Because such optimism
can hide a real break reached through another branch, ``SchemaDiff.compare`` repeats the
walk, seeding the pairs found incompatible, until the incompatible set stops growing.

A *subcontext* shares the memo, the cycle guard and the seed, starts at the same path and
collects its own differences: the rules use one to ask "would this sub-comparison be
compatible?" before deciding what to report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from registry_service.formats.json_schema_compat.differences import Difference, DifferenceType

if TYPE_CHECKING:
    from registry_service.formats.json_schema_compat.schema_kinds import Node

PairKey = tuple[int, int]


@dataclass(slots=True)
class _Shared:
    """State one whole comparison pass shares across every (sub)context."""

    compatible: frozenset[DifferenceType]
    seed: dict[PairKey, list[Difference]]
    memo: dict[PairKey, list[Difference]] = field(default_factory=dict)
    in_progress: set[PairKey] = field(default_factory=set)
    optimism_used: bool = False


class Context:
    """A path stack and a list of differences over one shared pass state."""

    __slots__ = ("_path", "_shared", "differences")

    def __init__(
        self,
        compatible: frozenset[DifferenceType],
        seed: dict[PairKey, list[Difference]] | None = None,
        *,
        _shared: _Shared | None = None,
        _path: list[str] | None = None,
    ) -> None:
        self._shared = _shared or _Shared(compatible, dict(seed or {}))
        self._path: list[str] = list(_path or [])
        self.differences: list[Difference] = []

    @property
    def compatible_changes(self) -> frozenset[DifferenceType]:
        """The difference types this pass treats as compatible."""
        return self._shared.compatible

    def subcontext(self) -> Context:
        """A fresh list of differences at the same path, sharing memo and cycle guard."""
        return Context(self._shared.compatible, _shared=self._shared, _path=self._path)

    @contextmanager
    def enter(self, segment: str) -> Iterator[None]:
        """Descend one path segment (``properties``, a property name, ``items/0``...)."""
        self._path.append(segment)
        try:
            yield
        finally:
            self._path.pop()

    def path(self) -> str:
        """The current JSON path in Confluent's form (``#/`` then segments joined by ``/``)."""
        return "#/" + "/".join(self._path)

    def add(self, type_: DifferenceType, attribute: str | None = None) -> None:
        """Record ``type_`` here, or at ``attribute`` under here."""
        if attribute is None:
            self.differences.append(Difference(type_, self.path()))
        else:
            with self.enter(attribute):
                self.differences.append(Difference(type_, self.path()))

    def add_all(self, differences: list[Difference]) -> None:
        """Take differences a subcontext found (their paths are already absolute)."""
        self.differences.extend(differences)

    def add_rebased(self, relative: list[Difference]) -> None:
        """Take pair-relative differences, moving each under the current path."""
        if not self._path:
            self.differences.extend(relative)
            return
        prefix = self.path()
        for diff in relative:
            tail = diff.json_path[2:]
            self.differences.append(Difference(diff.type, f"{prefix}/{tail}" if tail else prefix))

    def is_compatible(self) -> bool:
        """True when every difference found so far is in the compatible set."""
        compatible = self._shared.compatible
        return all(d.type in compatible for d in self.differences)

    def compare_memoized(
        self, original: Node, update: Node, comparator: Callable[[Context], None]
    ) -> list[Difference]:
        """The pair-relative differences of ``(original, update)``, computed at most once.

        A pair already on the stack is a cycle: its seeded differences if an earlier pass
        found it incompatible, else none (and the pass is marked as having been optimistic).
        """
        shared = self._shared
        key = (id(original), id(update))
        cached = shared.memo.get(key)
        if cached is not None:
            return cached
        if key in shared.in_progress:
            seeded = shared.seed.get(key)
            if seeded is not None:
                return seeded
            shared.optimism_used = True
            return []
        shared.in_progress.add(key)
        try:
            pair_ctx = Context(shared.compatible, _shared=shared)
            comparator(pair_ctx)
            result = list(pair_ctx.differences)
            shared.memo[key] = result
            return result
        finally:
            shared.in_progress.discard(key)

    def incompatible_pairs(self) -> dict[PairKey, list[Difference]]:
        """The memoised pairs whose differences break compatibility (the next pass's seed)."""
        compatible = self._shared.compatible
        return {
            key: diffs
            for key, diffs in self._shared.memo.items()
            if any(d.type not in compatible for d in diffs)
        }

    @property
    def used_optimism(self) -> bool:
        """True when this pass assumed some ``$ref`` cycle compatible."""
        return self._shared.optimism_used
