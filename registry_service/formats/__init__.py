"""Schema formats: parse, canonicalise and compare schemas; no HTTP, no storage.

The contract lives in ``base``; ``avro`` and ``protobuf`` implement it. Callers import
from here.
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

__all__ = [
    "CompatibilityLevel",
    "Direction",
    "Incompatibility",
    "InvalidSchemaError",
    "ParsedSchema",
    "SchemaReference",
    "SchemaType",
    "check_compatibility",
    "compatibility_messages",
    "parse_schema",
]
