"""Confluent's JSON Schema compatibility rules, over plain JSON (no HTTP, no storage).

Entry points:

* ``differences(original, update)`` -- every change from ``original`` to ``update``,
  compatible or not, as ``Difference(type, json_path)``;
* ``incompatibilities(original, update)`` -- the changes the policy does not accept, as
  ``Incompatibility`` objects whose ``describe()`` is Confluent's verbose text;
* ``compatibility_errors(previous, new, direction)`` -- the same, with the roles BACKWARD
  and FORWARD give the two schemas filled in.

"original" is the schema the data was written with and "update" the one that reads it:
BACKWARD checks ``(previous, new)``, FORWARD ``(new, previous)``, FULL both.

Layout, one module per kind as Confluent's ``json/diff`` package: ``schema_kinds`` (what
each JSON value is, as everit would load it), ``compare`` (the hub: ``$ref``, kind changes,
common keywords), ``objects``, ``arrays``, ``combined`` (+ ``matching``), ``enums`` (enum and
const), ``numbers``, ``strings``, ``negation`` (not), ``context`` (path, memo, cycle guard),
``differences`` (types and compatible sets), ``messages`` (the verbose text).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from registry_service.formats.base import Direction, Incompatibility, InvalidSchemaError
from registry_service.formats.json_document import JsonDocument
from registry_service.formats.json_schema_compat import compare as _hub
from registry_service.formats.json_schema_compat.context import Context, PairKey
from registry_service.formats.json_schema_compat.differences import (
    COMPATIBLE_CHANGES_LENIENT,
    COMPATIBLE_CHANGES_STRICT,
    CompatibilityPolicy,
    Difference,
    DifferenceType,
    compatible_changes,
)
from registry_service.formats.json_schema_compat.messages import (
    JsonIncompatibility,
    incompatibility,
)
from registry_service.formats.json_schema_compat.schema_kinds import Loader

__all__ = [
    "COMPATIBLE_CHANGES_LENIENT",
    "COMPATIBLE_CHANGES_STRICT",
    "CompatibilityPolicy",
    "Difference",
    "DifferenceType",
    "JsonIncompatibility",
    "compatibility_errors",
    "compatible_changes",
    "differences",
    "incompatibilities",
]


def differences(
    original: JsonDocument,
    update: JsonDocument,
    policy: CompatibilityPolicy = CompatibilityPolicy.STRICT,
) -> list[Difference]:
    """Every difference from ``original`` to ``update``.

    ``policy`` matters even here: which branch of a union or which partially open content
    model is taken depends on whether a sub-comparison is compatible under it.

    Recursive schemas: a pair of definitions met again while being compared is assumed
    compatible; the walk is repeated with the pairs found incompatible seeded as such until
    that set stops growing (Confluent's greatest fixed point), so a cycle cannot mask a break.
    Raises ``InvalidSchemaError`` for a ``$ref`` that does not resolve or an unknown ``type``.
    """
    compatible = compatible_changes(policy)
    _, left = Loader.for_document(original)
    _, right = Loader.for_document(update)
    seed: dict[PairKey, list[Difference]] = {}
    with _deep_recursion():
        while True:
            ctx = Context(compatible, seed)
            _hub.compare(ctx, left, right)
            found = ctx.incompatible_pairs()
            if not ctx.used_optimism or found.keys() == seed.keys():
                return ctx.differences
            seed = found


@contextmanager
def _deep_recursion() -> Iterator[None]:
    """Room for the walk's depth, and a clear error instead of a crash past it.

    The walk recurses once per nested pair of schemas (a dozen frames each); mutually
    recursive unions nest as deep as the number of distinct definition pairs, more than
    Python's default limit of 1,000 frames allows. Past ``_MAX_FRAMES`` the schemas are
    rejected as too deeply nested to compare.
    """
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, _MAX_FRAMES))
    try:
        yield
    except RecursionError as exc:
        raise InvalidSchemaError(
            "The schemas are nested too deeply to check their compatibility"
        ) from exc
    finally:
        sys.setrecursionlimit(previous)


_MAX_FRAMES = 20_000


def incompatibilities(
    original: JsonDocument,
    update: JsonDocument,
    *,
    policy: CompatibilityPolicy = CompatibilityPolicy.STRICT,
    reader: str = "new",
    writer: str = "old",
) -> list[Incompatibility]:
    """The differences ``policy`` rejects, in Confluent's verbose wording.

    ``reader``/``writer`` name the update's and the original's roles in the messages:
    the defaults fit BACKWARD (original = previous, update = new); FORWARD passes
    ``reader="old", writer="new"`` (or use ``compatibility_errors``).
    """
    compatible = compatible_changes(policy)
    return [
        incompatibility(d, reader, writer)
        for d in differences(original, update, policy)
        if d.type not in compatible
    ]


def compatibility_errors(
    previous: JsonDocument,
    new: JsonDocument,
    direction: Direction,
    policy: CompatibilityPolicy = CompatibilityPolicy.STRICT,
) -> list[Incompatibility]:
    """What ``ParsedSchema.compatibility_errors`` needs: ``new`` checked against ``previous``."""
    if direction is Direction.BACKWARD:
        return incompatibilities(previous, new, policy=policy, reader="new", writer="old")
    return incompatibilities(new, previous, policy=policy, reader="old", writer="new")
