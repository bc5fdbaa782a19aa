"""Schema formats: parse, canonicalise and compare schemas; no HTTP, no storage.

The contract lives in ``base``; ``avro``, ``protobuf`` and ``json_schema`` implement it.
Callers import from here. ``JsonDocument`` is the shape JSON Schemas reach their
compatibility rules in.
"""

from registry_service.formats.base import (
    CompatibilityLevel,
    Direction,
    Incompatibility,
    InvalidSchemaError,
    ParsedSchema,
    SchemaReference,
    SchemaType,
    check_compatibility,
    compatibility_messages,
    parse_schema,
)
from registry_service.formats.json_document import JsonDocument

__all__ = [
    "CompatibilityLevel",
    "Direction",
    "Incompatibility",
    "InvalidSchemaError",
    "JsonDocument",
    "ParsedSchema",
    "SchemaReference",
    "SchemaType",
    "check_compatibility",
    "compatibility_messages",
    "parse_schema",
]
