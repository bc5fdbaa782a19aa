"""The format-neutral contract every schema format implements.

Theory of operation
-------------------
The registry never looks inside a schema itself. It hands the text the user sent to
``parse_schema`` (with the texts of any referenced schemas already looked up) and gets a
``ParsedSchema`` back, or an ``InvalidSchemaError`` whose message becomes the 42201 answer.

A ``ParsedSchema`` carries two strings:

* ``canonical`` -- the identity text. Two registrations with the same ``schema_type``,
  ``canonical`` and ``references`` get the same global id. Formatting noise (whitespace,
  JSON key order) never reaches it; anything that changes meaning does.
* ``text`` -- what the registry stores and serves back: the user's text, or the
  normalised form when the schema came through ``normalized()`` (``normalize=true``).

Compatibility is asked of the *new* schema against one *previous* version at a time:
``new.compatibility_errors(previous, Direction.BACKWARD)`` answers "can the new schema
read what the previous one wrote", ``Direction.FORWARD`` the reverse. The level decides
which directions and which versions (``check_compatibility``); the format decides what a
difference means. Confluent's roles: BACKWARD = new is reader, FORWARD = old is reader,
FULL = both; transitive levels walk every live version newest first and stop at the first
version that fails, non-transitive ones look at the latest only.

Nothing here does I/O or knows about HTTP or storage.
"""

from __future__ import annotations

import dataclasses
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class SchemaType(StrEnum):
    """The ``schemaType`` values of the REST API (absent in a request means AVRO)."""

    AVRO = "AVRO"
    PROTOBUF = "PROTOBUF"
    JSON = "JSON"


class CompatibilityLevel(StrEnum):
    """Confluent's seven compatibility levels."""

    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @property
    def transitive(self) -> bool:
        """True when every live version is checked, not only the latest."""
        return self.value.endswith("_TRANSITIVE")

    @property
    def checks_backward(self) -> bool:
        """True when the new schema must read data written with previous ones."""
        return self.value.startswith(("BACKWARD", "FULL"))

    @property
    def checks_forward(self) -> bool:
        """True when previous schemas must read data written with the new one."""
        return self.value.startswith(("FORWARD", "FULL"))


class Direction(StrEnum):
    """Which way one pairwise check goes, always seen from the new schema."""

    BACKWARD = "BACKWARD"  # new schema is the reader, previous one wrote the data
    FORWARD = "FORWARD"  # previous schema is the reader, new one wrote the data


@dataclass(frozen=True, slots=True)
class SchemaReference:
    """A named dependency on ``subject``/``version``, as in the REST ``references`` list."""

    name: str
    subject: str
    version: int


class InvalidSchemaError(Exception):
    """The schema text cannot be parsed or is not valid for its type (API: 42201)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One reason a new schema cannot be used with a previous version.

    ``type`` is the error type name Confluent uses (``READER_FIELD_MISSING_DEFAULT_VALUE``,
    ``FIELD_KIND_CHANGED``...), ``location`` the path inside the schema (``/fields/2/type``
    for Avro, ``#/Msg/3`` for Protobuf), ``message`` the human description.
    ``check_compatibility`` fills ``old_version`` and ``old_schema`` with the version that
    failed, so the verbose answer can name it.
    """

    type: str
    location: str
    message: str
    additional_info: str = ""
    old_version: int | None = None
    old_schema: str | None = None

    def describe(self) -> str:
        """Confluent's rendering of one difference in a verbose compatibility answer."""
        return (
            f"{{errorType:'{self.type}', description:'{self.message}', "
            f"additionalInfo:'{self.additional_info}'}}"
        )


class ParsedSchema(ABC):
    """A schema that parsed and validated; immutable once built."""

    __slots__ = ()

    @property
    @abstractmethod
    def schema_type(self) -> SchemaType:
        """The format of this schema."""

    @property
    @abstractmethod
    def canonical(self) -> str:
        """Identity text: same type + canonical + references means same global id."""

    @property
    @abstractmethod
    def text(self) -> str:
        """The text to store and serve back (the user's, or the normalised one)."""

    @property
    @abstractmethod
    def references(self) -> tuple[SchemaReference, ...]:
        """The references this schema was registered with, in request order."""

    @property
    @abstractmethod
    def name(self) -> str | None:
        """Full name of the top-level named type (record, enum, fixed; first message)."""

    @abstractmethod
    def normalized(self) -> ParsedSchema:
        """The same schema with ``text`` replaced by its normalised form (``normalize=true``)."""

    @abstractmethod
    def render(self, fmt: str | None = None) -> str:
        """The text to answer ``GET ... ?format=fmt`` with; unknown formats give ``text``."""

    @abstractmethod
    def compatibility_errors(
        self, previous: ParsedSchema, direction: Direction
    ) -> list[Incompatibility]:
        """Reasons this (new) schema and ``previous`` fail ``direction``; empty when fine.

        Only called with a ``previous`` of the same ``schema_type``.
        """

    @property
    def fingerprint(self) -> str:
        """A short stable digest of the identity (type, canonical text, references).

        Lets storage index schemas by identity without comparing long texts.
        """
        digest = hashlib.sha256()
        digest.update(self.schema_type.value.encode())
        digest.update(b"\x00")
        digest.update(self.canonical.encode())
        for ref in self.references:
            digest.update(f"\x00{ref.name}\x00{ref.subject}\x00{ref.version}".encode())
        return digest.hexdigest()


def parse_schema(
    schema_type: SchemaType,
    text: str,
    references: Sequence[SchemaReference] = (),
    resolved_references: Mapping[str, str] | None = None,
) -> ParsedSchema:
    """Parse ``text`` as ``schema_type`` or raise ``InvalidSchemaError``.

    ``resolved_references`` maps each reference ``name`` to the schema text the caller
    looked up (``subject``/``version``), including references of references, in
    dependency order (a referenced schema before the ones that use it). For Avro the named
    types they define are usable by name in ``text``; for Protobuf ``name`` is the import
    path; for JSON Schema it is the URI a ``$ref`` names the referenced schema by.
    """
    resolved = dict(resolved_references or {})
    if not isinstance(text, str) or not text.strip():
        raise InvalidSchemaError("Empty schema")
    if schema_type is SchemaType.AVRO:
        from registry_service.formats.avro import parse_avro

        return parse_avro(text, tuple(references), resolved)
    if schema_type is SchemaType.PROTOBUF:
        from registry_service.formats.protobuf import parse_protobuf

        return parse_protobuf(text, tuple(references), resolved)
    if schema_type is SchemaType.JSON:
        from registry_service.formats.json_schema import parse_json_schema

        return parse_json_schema(text, tuple(references), resolved)
    raise InvalidSchemaError(f"{schema_type.value} schemas are not supported")


def check_compatibility(
    level: CompatibilityLevel,
    new: ParsedSchema,
    previous: Sequence[tuple[int, ParsedSchema]],
) -> list[Incompatibility]:
    """Every reason ``new`` may not be registered at ``level``; empty means compatible.

    ``previous`` holds the live (not soft-deleted) versions as ``(version, schema)``,
    oldest first. Transitive levels walk them newest first and stop at the first version
    that fails, as Confluent does, so the answer always names a single old version.
    """
    if level is CompatibilityLevel.NONE or not previous:
        return []
    candidates = list(reversed(previous)) if level.transitive else [previous[-1]]
    for version, old in candidates:
        errors = _pair_errors(level, new, old)
        if errors:
            return [
                dataclasses.replace(e, old_version=version, old_schema=old.text) for e in errors
            ]
    return []


def _pair_errors(
    level: CompatibilityLevel, new: ParsedSchema, old: ParsedSchema
) -> list[Incompatibility]:
    if new.schema_type is not old.schema_type:
        return [
            Incompatibility(
                "SCHEMA_TYPE_MISMATCH", "", "Incompatible because of different schema type"
            )
        ]
    errors: list[Incompatibility] = []
    if level.checks_backward:
        errors.extend(new.compatibility_errors(old, Direction.BACKWARD))
    if level.checks_forward:
        errors.extend(new.compatibility_errors(old, Direction.FORWARD))
    return errors


def compatibility_messages(
    level: CompatibilityLevel, errors: Sequence[Incompatibility]
) -> list[str]:
    """The ``messages`` list of a verbose compatibility answer, in Confluent's shape.

    Each difference, then ``{oldSchemaVersion: N}``, ``{oldSchema: '...'}`` and the
    ``{validateFields: ..., compatibility: ...}`` trailer. Empty when ``errors`` is.
    """
    if not errors:
        return []
    messages = [e.describe() for e in errors]
    first = errors[0]
    if first.old_version is not None:
        messages.append(f"{{oldSchemaVersion: {first.old_version}}}")
    if first.old_schema is not None:
        messages.append(f"{{oldSchema: '{first.old_schema}'}}")
    messages.append(f"{{validateFields: 'false', compatibility: '{level.value}'}}")
    return messages
