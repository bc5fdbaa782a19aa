"""The vocabulary of message definitions: :class:`Field`, :class:`Message`, version ranges.

These mirror the keys of Kafka's ``clients/src/main/resources/common/message/*.json`` so
that a definition reads like its JSON: ``type`` uses Kafka's type names (``int16``,
``string``, ``records``, ``uuid``, ``[]int32``, ``[]TopicProduceData``), version ranges
use Kafka's syntax (``"3+"``, ``"8-10"``, ``"none"``), and a struct array carries its
sub-fields. Names are Kafka's field names in snake_case; they are the keys of the body
dicts that :mod:`producer.protocol.codec` encodes and decodes.

Defaults: ``default`` is the JSON ``default`` (as a Python value). A field without one
is *required* when encoding at a version that has it; a few fields get a default here
that the JSON leaves implicit (Java's generated classes use the type's zero value), and
each says so in a comment where it is declared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "NO_DEFAULT",
    "PRIMITIVE_TYPES",
    "Field",
    "Message",
    "VersionRange",
    "parse_versions",
]


class _NoDefault:
    """Marker type: the field has no default, so encoding requires a value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Final = _NoDefault()

PRIMITIVE_TYPES: Final = frozenset(
    {
        "bool",
        "int8",
        "int16",
        "uint16",
        "int32",
        "uint32",
        "int64",
        "float64",
        "string",
        "bytes",
        "records",
        "uuid",
    }
)


@dataclass(frozen=True, slots=True)
class VersionRange:
    """Inclusive ``low..high``; ``high`` None means open-ended ("3+"); empty for "none"."""

    low: int
    high: int | None

    def __contains__(self, version: object) -> bool:
        if not isinstance(version, int):
            return False
        return version >= self.low and (self.high is None or version <= self.high)


_NONE = VersionRange(1, 0)  # contains nothing


def parse_versions(text: str) -> VersionRange:
    """Kafka's version syntax: ``"none"``, ``"3"``, ``"3+"`` or ``"0-8"``."""
    text = text.strip()
    if text == "none":
        return _NONE
    if text.endswith("+"):
        return VersionRange(int(text[:-1]), None)
    if "-" in text:
        low, high = text.split("-", 1)
        return VersionRange(int(low), int(high))
    return VersionRange(int(text), int(text))


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a message or struct, as in Kafka's JSON definitions.

    ``tag``/``tagged_versions`` make it a tagged field (flexible versions only).
    ``flexible_versions`` overrides the message's flexible versions for this field:
    the request header's ClientId is ``"none"`` (always an int16-length string, so that
    any broker can read the header of any ApiVersions request).
    """

    name: str
    type: str
    versions: str = "0+"
    nullable_versions: str = "none"
    default: object = NO_DEFAULT
    fields: tuple[Field, ...] = ()
    tag: int | None = None
    tagged_versions: str = "none"
    flexible_versions: str | None = None

    def __post_init__(self) -> None:
        element = self.type[2:] if self.type.startswith("[]") else self.type
        if self.fields:
            if not self.type.startswith("[]") or element in PRIMITIVE_TYPES:
                raise ValueError(f"field {self.name}: sub-fields need a struct array type")
        elif element not in PRIMITIVE_TYPES:
            raise ValueError(f"field {self.name}: unknown type {self.type!r}")
        if self.tag is not None and self.tagged_versions == "none":
            raise ValueError(f"field {self.name}: a tagged field needs tagged_versions")

    @property
    def is_array(self) -> bool:
        return self.type.startswith("[]")

    @property
    def is_struct_array(self) -> bool:
        return bool(self.fields)

    @property
    def element_type(self) -> str:
        """The element type of an array (``"int32"``, or the struct's name)."""
        return self.type[2:] if self.is_array else self.type

    def present_in(self, version: int) -> bool:
        return version in parse_versions(self.versions)

    def nullable_in(self, version: int) -> bool:
        return version in parse_versions(self.nullable_versions)

    def tagged_in(self, version: int) -> bool:
        return self.tag is not None and version in parse_versions(self.tagged_versions)


@dataclass(frozen=True, slots=True)
class Message:
    """A request, response or header definition: its versions and its fields."""

    name: str
    api_key: int | None
    valid_versions: str
    flexible_versions: str
    fields: tuple[Field, ...]

    @property
    def versions(self) -> VersionRange:
        return parse_versions(self.valid_versions)

    def is_flexible(self, version: int) -> bool:
        return version in parse_versions(self.flexible_versions)
