"""Equality of JSON values as Java's JSON libraries see it, not as Python's ``==`` does.

Python says ``True == 1`` and ``1 == 1.0``; a JSON ``true`` is never the number ``1``, so
enum members, ``const`` values and ``default``s are compared through a key that keeps the
JSON type of every value.
"""

from __future__ import annotations

from typing import Any

JsonKey = tuple[Any, ...]


def json_key(value: Any) -> JsonKey:
    """A hashable key equal for two JSON values exactly when they are the same JSON."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(json_key(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, json_key(v)) for k, v in value.items()))
    return ("other", repr(value))


def json_equal(left: Any, right: Any) -> bool:
    """True when ``left`` and ``right`` are the same JSON value."""
    return json_key(left) == json_key(right)
