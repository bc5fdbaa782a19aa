"""How a JSON Schema difference reads in a verbose compatibility answer.

Confluent renders each incompatible difference as
``{errorType:"TYPE", description:"...'}`` (a double quote opens the description and a single
quote closes it -- their ``Difference.toString``), not the Avro/Protobuf
``{errorType:'TYPE', description:'...', additionalInfo:'...'}`` of ``base.py``. The
description names the two schemas by role: the *reader* first, then the *writer*
("new"/"old" for BACKWARD, "old"/"new" for FORWARD).
"""

from __future__ import annotations

from dataclasses import dataclass

from registry_service.formats.base import Incompatibility
from registry_service.formats.json_schema_compat.differences import Difference
from registry_service.formats.json_schema_compat.differences import DifferenceType as T

_KEYWORD_ABSENT = frozenset({
    T.MAXIMUM_ADDED, T.MINIMUM_ADDED, T.EXCLUSIVE_MAXIMUM_ADDED, T.EXCLUSIVE_MINIMUM_ADDED,
    T.MULTIPLE_OF_ADDED, T.MAX_LENGTH_ADDED, T.MIN_LENGTH_ADDED, T.PATTERN_ADDED,
    T.REQUIRED_ATTRIBUTE_ADDED, T.MAX_PROPERTIES_ADDED, T.MIN_PROPERTIES_ADDED,
    T.DEPENDENCY_ARRAY_ADDED, T.DEPENDENCY_SCHEMA_ADDED, T.MAX_ITEMS_ADDED, T.MIN_ITEMS_ADDED,
    T.MAX_CONTAINS_ADDED, T.MIN_CONTAINS_ADDED, T.UNIQUE_ITEMS_ADDED, T.ADDITIONAL_ITEMS_REMOVED,
    T.ADDITIONAL_PROPERTIES_REMOVED, T.UNEVALUATED_PROPERTIES_REMOVED,
    T.UNEVALUATED_ITEMS_REMOVED,
})  # fmt: skip
_VALUE_INCREASED = frozenset({
    T.MIN_LENGTH_INCREASED, T.MINIMUM_INCREASED, T.EXCLUSIVE_MINIMUM_INCREASED,
    T.MIN_PROPERTIES_INCREASED, T.MULTIPLE_OF_EXPANDED, T.MIN_ITEMS_INCREASED,
    T.MIN_CONTAINS_INCREASED,
})  # fmt: skip
_VALUE_DECREASED = frozenset({
    T.MAX_LENGTH_DECREASED, T.MAXIMUM_DECREASED, T.MAX_ITEMS_DECREASED,
    T.MAX_CONTAINS_DECREASED, T.EXCLUSIVE_MAXIMUM_DECREASED, T.MAX_PROPERTIES_DECREASED,
})  # fmt: skip
_TYPE_NARROWED = frozenset({
    T.ADDITIONAL_ITEMS_NARROWED, T.ENUM_ARRAY_NARROWED, T.SUM_TYPE_NARROWED,
    T.ADDITIONAL_PROPERTIES_NARROWED, T.UNEVALUATED_PROPERTIES_NARROWED,
    T.UNEVALUATED_ITEMS_NARROWED,
})  # fmt: skip
_VALUE_CHANGED = frozenset({T.PATTERN_CHANGED, T.MULTIPLE_OF_CHANGED, T.DEPENDENCY_ARRAY_CHANGED})
_TYPE_CHANGED = frozenset({
    T.TYPE_CHANGED, T.TYPE_NARROWED, T.COMBINED_TYPE_CHANGED,
    T.COMBINED_TYPE_SUBSCHEMAS_CHANGED, T.ENUM_ARRAY_CHANGED,
})  # fmt: skip
_TYPE_EXTENDED = frozenset({
    T.DEPENDENCY_ARRAY_EXTENDED, T.PRODUCT_TYPE_EXTENDED, T.SUM_TYPE_EXTENDED,
    T.NOT_TYPE_EXTENDED,
})  # fmt: skip
_ADDED_TO_OPEN = frozenset({
    T.REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
    T.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL,
    T.OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL, T.ITEM_ADDED_TO_OPEN_CONTENT_MODEL,
})  # fmt: skip

# Templates: {p} the JSON path, {r} the reader role, {w} the writer role.
_IN_PATH = "at path '{p}'"
_GROUPS: tuple[tuple[frozenset[T], str], ...] = (
    (
        _KEYWORD_ABSENT,
        "The keyword " + _IN_PATH + " in the {r} schema is not present in the {w} schema",
    ),
    (
        _VALUE_INCREASED,
        "The value " + _IN_PATH + " in the {r} schema is more than its value in the {w} schema",
    ),
    (
        _VALUE_DECREASED,
        "The value " + _IN_PATH + " in the {r} schema is less than its value in the {w} schema",
    ),
    (_VALUE_CHANGED, "The value " + _IN_PATH + " is different between the {r} and {w} schema"),
    (
        _TYPE_NARROWED,
        "An array or combined type " + _IN_PATH + " has fewer elements in the {r} schema "
        "than the {w} schema",
    ),
    (
        _TYPE_EXTENDED,
        "An array or combined type " + _IN_PATH + " has more elements in the {r} schema "
        "than the {w} schema",
    ),
    (
        _TYPE_CHANGED,
        "A type " + _IN_PATH + " is different between the {r} schema and the {w} schema",
    ),
    (
        _ADDED_TO_OPEN,
        "The {r} schema has an open content model and has a property or item "
        + _IN_PATH
        + " which is missing in the {w} schema",
    ),
)
_REMOVED_FROM_CLOSED = (
    "The {r} has a closed content model and is missing a property or item present "
    + _IN_PATH
    + " in the {w} schema"
)
_REMOVED_NOT_COVERED = (
    "A property or item is missing in the {r} schema but present "
    + _IN_PATH
    + " in the {w} schema and is not covered by its partially open content model"
)
_ADDED_NOT_COVERED = (
    "The {r} schema has a property or item " + _IN_PATH + " which is missing in the {w} "
    "schema and is not covered by its partially open content model"
)
_SINGLE: dict[T, str] = {
    T.REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL: (
        "The {r} schema has an unopen content model and has a required property "
        + _IN_PATH
        + " which is missing in the {w} schema"
    ),
    T.PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL: _REMOVED_FROM_CLOSED,
    T.ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL: _REMOVED_FROM_CLOSED,
    T.PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL: _REMOVED_NOT_COVERED,
    T.ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL: _REMOVED_NOT_COVERED,
    T.PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL: _ADDED_NOT_COVERED,
    T.ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL: _ADDED_NOT_COVERED,
    T.RESERVED_PROPERTY_REMOVED: (
        "The {r} schema has reserved property '{p}' removed from its metadata "
        "which is present in the {w} schema."
    ),
    T.RESERVED_PROPERTY_CONFLICTS_WITH_PROPERTY: (
        "The {r} schema has property " + _IN_PATH + " that conflicts with the "
        "reserved properties which is missing in the {w} schema."
    ),
}


def description(difference: Difference, reader: str, writer: str) -> str:
    """Confluent's sentence for ``difference``; empty for types it has none for."""
    template = _SINGLE.get(difference.type)
    if template is None:
        template = next((t for group, t in _GROUPS if difference.type in group), "")
    return template.format(p=difference.json_path, r=reader, w=writer)


@dataclass(frozen=True, slots=True)
class JsonIncompatibility(Incompatibility):
    """An ``Incompatibility`` that renders as Confluent's JSON Schema provider does."""

    def describe(self) -> str:
        """``{errorType:"TYPE", description:"...'}``, quotes exactly as Confluent's."""
        return f'{{errorType:"{self.type}", description:"{self.message}\'}}'


def incompatibility(difference: Difference, reader: str, writer: str) -> JsonIncompatibility:
    """The ``Incompatibility`` the registry reports for one incompatible ``difference``."""
    return JsonIncompatibility(
        difference.type.value, difference.json_path, description(difference, reader, writer)
    )
