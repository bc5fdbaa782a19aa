"""The descriptors of a Protobuf schema and its closure, indexed by full name.

Rendering and the compatibility rules read a schema only through ``_Model``: the
schema's own ``FileDescriptorProto``, the descriptors of everything it imports, every
symbol (package, message, enum, service) protoc could resolve a type name to, and every
message and enum with the package, syntax and reference it came from. The helpers here
are the few facts about descriptors both readers need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from google.protobuf.descriptor_pb2 import (
    DescriptorProto,
    EnumDescriptorProto,
    FieldDescriptorProto,
    FileDescriptorProto,
)

from registry_service.formats.base import (
    InvalidSchemaError,
)

_LOCAL_ORIGIN = ("", -1)  # origin of the types a schema declares itself

_SCALARS = {
    FieldDescriptorProto.TYPE_DOUBLE: "double",
    FieldDescriptorProto.TYPE_FLOAT: "float",
    FieldDescriptorProto.TYPE_INT64: "int64",
    FieldDescriptorProto.TYPE_UINT64: "uint64",
    FieldDescriptorProto.TYPE_INT32: "int32",
    FieldDescriptorProto.TYPE_FIXED64: "fixed64",
    FieldDescriptorProto.TYPE_FIXED32: "fixed32",
    FieldDescriptorProto.TYPE_BOOL: "bool",
    FieldDescriptorProto.TYPE_STRING: "string",
    FieldDescriptorProto.TYPE_BYTES: "bytes",
    FieldDescriptorProto.TYPE_UINT32: "uint32",
    FieldDescriptorProto.TYPE_SFIXED32: "sfixed32",
    FieldDescriptorProto.TYPE_SFIXED64: "sfixed64",
    FieldDescriptorProto.TYPE_SINT32: "sint32",
    FieldDescriptorProto.TYPE_SINT64: "sint64",
}


@dataclass(frozen=True, slots=True)
class _TypeInfo:
    """A message or enum anywhere in a schema's closure, for compatibility checks."""

    package: str
    syntax: str
    origin: tuple[str, int] | None  # (subject, version); local ("", -1); None otherwise
    message: DescriptorProto | None
    enum: EnumDescriptorProto | None

    @property
    def is_map(self) -> bool:
        return self.message is not None and self.message.options.map_entry


class _Model:
    """The descriptors of a schema and its closure, indexed for rendering and diffs.

    Descriptor messages are mutable objects; nothing here changes them after
    construction.
    """

    __slots__ = ("deps", "file", "symbols", "types")

    def __init__(
        self,
        file: FileDescriptorProto,
        deps: Mapping[str, FileDescriptorProto],
        direct: Mapping[str, tuple[str, int]],
    ) -> None:
        self.file = file
        self.deps = dict(deps)
        self.symbols: dict[str, str] = {}
        self.types: dict[str, _TypeInfo] = {}
        for path, dep in self.deps.items():
            self._index(dep, direct.get(path))
        self._index(file, _LOCAL_ORIGIN)

    def _index(self, file: FileDescriptorProto, origin: tuple[str, int] | None) -> None:
        package = file.package
        if package:
            parts = package.split(".")
            for i in range(1, len(parts) + 1):
                self.symbols.setdefault(".".join(parts[:i]), "package")
        syntax = file.syntax or "proto2"
        for service in file.service:
            self.symbols[_join(package, service.name)] = "service"

        def walk_enum(enum: EnumDescriptorProto, scope: str) -> None:
            full = _join(scope, enum.name)
            self.symbols[full] = "enum"
            self.types[full] = _TypeInfo(package, syntax, origin, None, enum)

        def walk_message(message: DescriptorProto, scope: str) -> None:
            full = _join(scope, message.name)
            self.symbols[full] = "message"
            self.types[full] = _TypeInfo(package, syntax, origin, message, None)
            for nested in message.nested_type:
                walk_message(nested, full)
            for enum in message.enum_type:
                walk_enum(enum, full)

        for message in file.message_type:
            walk_message(message, package)
        for enum in file.enum_type:
            walk_enum(enum, package)


def _join(scope: str, name: str) -> str:
    return f"{scope}.{name}" if scope else name


def _synthetic_oneofs(message: DescriptorProto) -> set[int]:
    """Indexes of the oneofs protoc made up for proto3 ``optional`` fields."""
    return {f.oneof_index for f in message.field if f.proto3_optional and f.HasField("oneof_index")}


def _entry_field(entry: DescriptorProto, number: int) -> FieldDescriptorProto:
    for field in entry.field:
        if field.number == number:
            return field
    raise InvalidSchemaError(f"Map entry {entry.name} has no field {number}")
