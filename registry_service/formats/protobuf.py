"""Protobuf schemas: parse ``.proto`` text or a serialized descriptor, render, compare.

Theory of operation
-------------------
Clients send a Protobuf schema in one of two shapes: ``.proto`` source text (curl, the
Java and Go serializers) or the base64 of a serialized ``FileDescriptorProto`` (the
Python ``ProtobufSerializer``). Both end up as one ``FileDescriptorProto`` for the schema
plus the descriptors of everything it imports (its *closure*); every later step reads
only descriptors.

Parsing is protoc's job, run in-process through ``grpc_tools`` (no subprocess): the
schema and each resolved reference are written into a private temporary directory under
their import paths and compiled with ``grpc_tools/_proto`` (the bundled
``google/protobuf/*.proto``) on the include path. protoc's errors come back structured,
so an invalid schema answers with ``line:column: message``. Imports of other well-known
files the Python serializer never registers (``google/type/*``, ``confluent/*``) are
served from the descriptors of the installed generated modules. A descriptor that is
not text (a base64 reference, a base64 schema, a well-known file) is first rendered back
to ``.proto`` text with fully-qualified type names, so protoc validates it like any other
file; the schema keeps its original descriptor for ``format=serialized``.

Identity is the text rendered from the descriptor by ``_Renderer``: comments,
whitespace and the way a type name was spelled are gone, so the same schema sent as
text or as a descriptor gets the same ``canonical``. ``normalized()`` also sorts what
order does not change meaning (imports, options, fields by number, enum constants after
the first, reserved ranges and names); messages keep their order because the serdes'
message indexes depend on it. Custom options whose extensions this process does not
know are not rendered (they survive in the serialized form only).

Compatibility follows Confluent's ``SchemaDiff`` rules. One comparison walks an
*original* and an *update* schema and lists differences with a path such as
``#/Order/3`` (message, oneof name, field number); only the difference types Confluent
treats as incompatible are reported. BACKWARD compares ``original = previous``,
``update = new``; FORWARD swaps them, so a change that is "added" one way is "removed"
the other.
"""

from __future__ import annotations

import ast
import base64
import binascii
import functools
import importlib
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import grpc_tools
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.descriptor_pb2 import (
    DescriptorProto,
    EnumDescriptorProto,
    FieldDescriptorProto,
    FileDescriptorProto,
)
from google.protobuf.message import DecodeError, Message
from grpc_tools import _protoc_compiler

from registry_service.formats.base import (
    Direction,
    Incompatibility,
    InvalidSchemaError,
    ParsedSchema,
    SchemaReference,
    SchemaType,
)
from registry_service.formats.limits import MAX_NESTING_DEPTH, check_proto_nesting, check_text
from registry_service.formats.protobuf_descriptor import validate_descriptor

__all__ = ["ProtobufSchema", "parse_protobuf"]

_WELL_KNOWN_DIR = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
_PROTOC_LOCK = threading.Lock()  # protoc's in-process entry point is not documented thread-safe
_MAIN_FILE = "default"  # Confluent's name for a schema's own file
_LOCAL_ORIGIN = ("", -1)  # origin of the types a schema declares itself

_MAX_PROTOC_ERRORS = 20
_FIELD_NUMBER_END = 536_870_912  # exclusive end of the field-number space (2**29)
_MESSAGE_SET_END = 2_147_483_647
_ENUM_NUMBER_MAX = 2_147_483_647

_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_IMPORT = re.compile(r"""\bimport\s+(?:public\s+|weak\s+)?["']([^"']+)["']\s*;""")

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

# Confluent's scalar groups: a change inside a group keeps the wire format readable.
_SCALAR_GROUPS = {
    "int32": "GENERAL_NUMBER",
    "int64": "GENERAL_NUMBER",
    "uint32": "GENERAL_NUMBER",
    "uint64": "GENERAL_NUMBER",
    "bool": "GENERAL_NUMBER",
    "sint32": "SIGNED_NUMBER",
    "sint64": "SIGNED_NUMBER",
    "string": "STRING_OR_BYTES",
    "bytes": "STRING_OR_BYTES",
    "fixed32": "FIXED32",
    "sfixed32": "FIXED32",
    "fixed64": "FIXED64",
    "sfixed64": "FIXED64",
    "float": "FLOAT",
    "double": "DOUBLE",
}

# Confluent's SchemaDiff.COMPATIBLE_CHANGES; every other difference type is reported.
_COMPATIBLE = frozenset(
    {
        "MESSAGE_ADDED",
        "MESSAGE_MOVED",
        "ENUM_ADDED",
        "ENUM_REMOVED",
        "ENUM_CONST_ADDED",
        "ENUM_CONST_CHANGED",
        "ENUM_CONST_REMOVED",
        "FIELD_ADDED",
        "FIELD_REMOVED",
        "FIELD_NAME_CHANGED",
        "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
        "ONEOF_ADDED",
        "ONEOF_REMOVED",
        "ONEOF_FIELD_ADDED",
    }
)

# Descriptions of the incompatible differences; {p} path, {r}/{w} reader/writer label.
_DESCRIPTIONS = {
    "PACKAGE_CHANGED": "The package of the {r} schema differs from the package of the {w} schema",
    "MESSAGE_REMOVED": "The message at '{p}' in the {w} schema is missing from the {r} schema",
    "FIELD_KIND_CHANGED": (
        "The field at '{p}' is a different kind (scalar, message or map) in the {r} schema "
        "than in the {w} schema"
    ),
    "FIELD_SCALAR_KIND_CHANGED": (
        "The scalar field at '{p}' has a type in the {r} schema whose wire encoding differs "
        "from its type in the {w} schema"
    ),
    "FIELD_NAMED_TYPE_CHANGED": (
        "The message type of the field at '{p}' in the {r} schema differs from, or cannot "
        "read, its type in the {w} schema"
    ),
    "FIELD_NUMERIC_LABEL_CHANGED": (
        "The numeric field at '{p}' has a different label (optional, required, repeated) "
        "in the {r} schema than in the {w} schema"
    ),
    "REQUIRED_FIELD_ADDED": (
        "The {r} schema has a required field at '{p}' that the {w} schema does not have"
    ),
    "REQUIRED_FIELD_REMOVED": (
        "The required field at '{p}' in the {w} schema is missing from the {r} schema"
    ),
    "ONEOF_FIELD_REMOVED": (
        "The oneof member at '{p}' in the {w} schema is missing from the {r} schema"
    ),
    "MULTIPLE_FIELDS_MOVED_TO_ONEOF": (
        "Several fields of the {w} schema were moved into the oneof at '{p}' in the {r} schema"
    ),
    "FIELD_MOVED_TO_EXISTING_ONEOF": (
        "A field of the {w} schema was moved into the oneof at '{p}' in the {r} schema, "
        "which already existed"
    ),
    "NESTING_TOO_DEEP": (
        "The message types at '{p}' nest too deeply to be compared: more than "
        f"{MAX_NESTING_DEPTH} messages, nested or reached through message-typed fields"
    ),
}


# -- parsing ---------------------------------------------------------------------------


def parse_protobuf(
    text: str,
    references: Sequence[SchemaReference] = (),
    resolved: Mapping[str, str] | None = None,
) -> ProtobufSchema:
    """Parse ``.proto`` text or a base64 ``FileDescriptorProto`` into a schema.

    ``resolved`` maps each import path a reference provides (references of references
    included) to that schema's text, itself ``.proto`` text or a base64 descriptor.
    Results are cached by their inputs: a schema is immutable, and registering the same
    text again is the hot path.
    """
    return _parse_cached(text, tuple(references), tuple((resolved or {}).items()))


@functools.lru_cache(maxsize=1024)
def _parse_cached(
    text: str,
    references: tuple[SchemaReference, ...],
    resolved_items: tuple[tuple[str, str], ...],
) -> ProtobufSchema:
    resolved = dict(resolved_items)
    main_name = _MAIN_FILE
    while main_name in resolved:
        main_name = "_" + main_name
    files: dict[str, str] = {}
    for path, dep_text in resolved.items():
        _check_import_path(path)
        dep_descriptor = _decode_descriptor(dep_text, f"referenced schema {path!a}")
        if dep_descriptor is None:
            files[path] = dep_text
        else:
            dep_descriptor.name = path
            files[path] = _render_for_protoc(dep_descriptor)
    descriptor = _decode_descriptor(text, "schema")
    files[main_name] = text if descriptor is None else _render_for_protoc(descriptor)
    _add_known_files(files)
    compiled = _compile(files, main_name, from_descriptor=descriptor is not None)
    main = compiled.pop(main_name)
    if descriptor is None:
        validate_descriptor(main, "schema")
        user_text: str | None = text
    else:
        main, user_text = descriptor, None
    direct = {ref.name: (ref.subject, ref.version) for ref in references}
    model = _Model(main, compiled, direct)
    return ProtobufSchema(model, user_text, references, normalized=False)


def _decode_descriptor(text: str, what: str) -> FileDescriptorProto | None:
    """The validated descriptor ``text`` encodes, or None when ``text`` is ``.proto`` text.

    ``.proto`` text always holds characters outside the base64 alphabet (``;``, ``{``,
    quotes, spaces), so the alphabet test alone tells the two shapes apart cheaply.
    Text is measured here (surrogates, block nesting) before protoc sees it; a
    descriptor is checked by ``protobuf_descriptor`` before the renderer sees it.
    """
    check_text(text, what)
    stripped = text.strip()
    if not _BASE64.fullmatch(stripped):
        check_proto_nesting(text, what)
        return None
    try:
        raw = base64.b64decode(stripped, validate=True)
        descriptor = FileDescriptorProto.FromString(raw)
    except (binascii.Error, ValueError, DecodeError):
        return None  # not base64 after all: protoc reports what is wrong with the text
    if not (
        descriptor.name
        or descriptor.package
        or descriptor.syntax
        or descriptor.message_type
        or descriptor.enum_type
        or descriptor.dependency
    ):
        return None
    validate_descriptor(descriptor, f"descriptor of the {what}")
    return descriptor


def _check_import_path(path: str) -> None:
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise InvalidSchemaError(f"Invalid reference name '{path}': expected an import path")


@functools.lru_cache(maxsize=1)
def _bundled_files() -> frozenset[str]:
    """Import paths protoc finds in ``grpc_tools/_proto`` by itself."""
    found: set[str] = set()
    for root, _dirs, names in os.walk(_WELL_KNOWN_DIR):
        for name in names:
            if name.endswith(".proto"):
                rel = os.path.relpath(os.path.join(root, name), _WELL_KNOWN_DIR)
                found.add(rel.replace(os.sep, "/"))
    return frozenset(found)


# Installed packages whose generated modules provide well-known files by import path.
_KNOWN_MODULE_PREFIXES = (
    ("google/protobuf/", "google.protobuf."),
    ("google/type/", "google.type."),
    ("confluent/", "confluent_kafka.schema_registry.confluent."),
)
_KNOWN_PATH = re.compile(r"[a-z0-9_]+(/[a-z0-9_]+)*\.proto")


@functools.lru_cache(maxsize=256)
def _known_file_bytes(path: str) -> bytes | None:
    """The serialized descriptor of a well-known file the client does not register."""
    if not _KNOWN_PATH.fullmatch(path):
        return None
    for path_prefix, module_prefix in _KNOWN_MODULE_PREFIXES:
        if path.startswith(path_prefix):
            module = module_prefix + path[len(path_prefix) : -len(".proto")].replace("/", ".")
            try:
                importlib.import_module(module + "_pb2")
                found = descriptor_pool.Default().FindFileByName(path)
            except (ImportError, KeyError):
                return None
            return bytes(found.serialized_pb)
    return None


def _add_known_files(files: dict[str, str]) -> None:
    """Add the well-known imports protoc cannot find by itself, rendered from descriptors."""
    pending = list(files.values())
    while pending:
        source = pending.pop()
        for path in _IMPORT.findall(source):
            if path in files or path in _bundled_files():
                continue
            raw = _known_file_bytes(path)
            if raw is None:
                continue  # protoc reports the missing import with its position
            files[path] = _render_for_protoc(FileDescriptorProto.FromString(raw))
            pending.append(files[path])


def _compile(
    files: Mapping[str, str], main_name: str, *, from_descriptor: bool
) -> dict[str, FileDescriptorProto]:
    """Run protoc over ``files``; the descriptors of ``main_name`` and all it imports."""
    with tempfile.TemporaryDirectory(prefix="regcast-proto-") as tmp:
        for path, source in files.items():
            target = os.path.join(tmp, *path.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w", encoding="utf-8") as out:
                out.write(source)
        try:
            with _PROTOC_LOCK:
                generated = _protoc_compiler.get_protos(
                    main_name.encode(), [tmp.encode(), _WELL_KNOWN_DIR.encode()]
                )
        except _protoc_compiler.ProtocErrors as exc:
            raise InvalidSchemaError(
                _protoc_message(exc.errors(), main_name, from_descriptor)
            ) from None
    compiled: dict[str, FileDescriptorProto] = {}
    for _module, code in generated:
        try:
            descriptor = FileDescriptorProto.FromString(_serialized_descriptor(code))
        except DecodeError as exc:  # e.g. beyond upb's nesting limit of 100
            raise InvalidSchemaError(
                f"protoc's descriptor of the schema is unusable: {exc}"
            ) from None
        compiled[descriptor.name] = descriptor
    return compiled


def _serialized_descriptor(code: bytes) -> bytes:
    """The descriptor bytes protoc's Python generator embeds in a ``_pb2`` module."""
    for line in code.splitlines():
        if b"AddSerializedFile(" in line:
            for node in ast.walk(ast.parse(line.strip().decode("utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "AddSerializedFile"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, bytes)
                ):
                    return node.args[0].value
    raise InvalidSchemaError("protoc produced no descriptor for the schema")


def _protoc_message(errors: Iterable[object], main_name: str, from_descriptor: bool) -> str:
    """protoc's errors as ``line:column: message``; the first ``_MAX_PROTOC_ERRORS``.

    One missing brace can make protoc report an error per line that follows; the first
    ones say what is wrong, and the answer stays small.
    """
    errors = list(errors)
    parts = []
    for error in errors[:_MAX_PROTOC_ERRORS]:
        filename = _text(getattr(error, "filename", b""))
        line = int(getattr(error, "line", -1))
        column = int(getattr(error, "column", -1))
        message = _text(getattr(error, "message", b""))
        where = "" if filename == main_name else f"{filename}:"
        if line >= 0:
            where += f"{line + 1}:{column + 1}:"  # protoc counts from 0 here
        if from_descriptor and filename == main_name:
            where = "descriptor " + where
        parts.append(f"{where} {message}".strip())
    if len(errors) > _MAX_PROTOC_ERRORS:
        parts.append(f"and {len(errors) - _MAX_PROTOC_ERRORS} more")
    return "; ".join(parts) or "protoc rejected the schema"


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


# -- the schema ------------------------------------------------------------------------


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


class ProtobufSchema(ParsedSchema):
    """A Protobuf schema that protoc accepted, with its closure of imported files."""

    __slots__ = (
        "_canonical",
        "_model",
        "_normalized",
        "_references",
        "_serialized",
        "_user_text",
    )

    def __init__(
        self,
        model: _Model,
        user_text: str | None,
        references: Sequence[SchemaReference],
        *,
        normalized: bool,
    ) -> None:
        self._model = model
        self._user_text = user_text
        self._references = tuple(references)
        self._normalized = normalized
        self._serialized: str | None = None
        self._canonical = _Renderer(model.file, model.symbols, normalize=normalized).render()

    @property
    def schema_type(self) -> SchemaType:
        return SchemaType.PROTOBUF

    @property
    def canonical(self) -> str:
        return self._canonical

    @property
    def text(self) -> str:
        """The user's ``.proto`` text; rendered text for descriptors and normalised schemas.

        A base64 descriptor is answered with text, as Confluent does; clients that want
        the descriptor ask for ``format=serialized``.
        """
        if self._user_text is not None and not self._normalized:
            return self._user_text
        return self._canonical

    @property
    def references(self) -> tuple[SchemaReference, ...]:
        return self._references

    @property
    def name(self) -> str | None:
        file = self._model.file
        if not file.message_type:
            return None
        return _join(file.package, file.message_type[0].name)

    @property
    def descriptor(self) -> FileDescriptorProto:
        """A copy of this schema's own ``FileDescriptorProto``."""
        copy = FileDescriptorProto()
        copy.CopyFrom(self._model.file)
        return copy

    def normalized(self) -> ProtobufSchema:
        if self._normalized:
            return self
        return ProtobufSchema(self._model, self._user_text, self._references, normalized=True)

    def render(self, fmt: str | None = None) -> str:
        """``serialized``: base64 of the descriptor (what the Python deserializer reads)."""
        if fmt == "serialized":
            if self._serialized is None:
                raw = self._model.file.SerializeToString(deterministic=True)
                self._serialized = base64.b64encode(raw).decode("ascii")
            return self._serialized
        return self.text

    def compatibility_errors(
        self, previous: ParsedSchema, direction: Direction
    ) -> list[Incompatibility]:
        if not isinstance(previous, ProtobufSchema):
            return []
        if direction is Direction.BACKWARD:
            original, update, reader, writer = previous, self, "new", "old"
        else:
            original, update, reader, writer = self, previous, "old", "new"
        differences = _Differ(original._model, update._model).compare()
        return [
            Incompatibility(
                kind,
                path,
                _DESCRIPTIONS.get(kind, kind).format(p=path, r=reader, w=writer),
            )
            for kind, path in differences
            if kind not in _COMPATIBLE
        ]

    def differences(self, previous: ProtobufSchema) -> list[tuple[str, str]]:
        """Every difference from ``previous`` (compatible ones too), as (type, path)."""
        return _Differ(previous._model, self._model).compare()

    def __repr__(self) -> str:
        return f"ProtobufSchema(name={self.name!r}, references={len(self._references)})"


# -- rendering -------------------------------------------------------------------------


def _render_for_protoc(file: FileDescriptorProto) -> str:
    """Text protoc compiles back to ``file``; type names fully qualified (no scope needed)."""
    return _Renderer(file, None, normalize=False).render()


class _Renderer:
    """Deterministic ``.proto`` text from a ``FileDescriptorProto``.

    With ``symbols`` (every package, message, enum and service of the closure) type names
    are written in the shortest form protoc resolves back to the same type from where
    they stand; without, they are written fully qualified with a leading dot.
    """

    def __init__(
        self, file: FileDescriptorProto, symbols: Mapping[str, str] | None, *, normalize: bool
    ) -> None:
        self._file = file
        self._symbols = symbols
        self._normalize = normalize
        self._syntax = file.syntax or "proto2"
        self._lines: list[str] = []

    def render(self) -> str:
        file = self._file
        if self._syntax == "editions":
            edition = descriptor_pb2.Edition.Name(file.edition).removeprefix("EDITION_")
            self._emit(0, f'edition = "{edition}";')
        else:
            self._emit(0, f'syntax = "{self._syntax}";')
        if file.package:
            self._emit(0, f"package {file.package};")
        imports = self._imports()
        if imports:
            self._emit(0, "")
            for line in imports:
                self._emit(0, line)
        options = self._options(file.options) if file.HasField("options") else []
        if options:
            self._emit(0, "")
            for name, value in options:
                self._emit(0, f"option {name} = {value};")
        for message in file.message_type:
            self._emit(0, "")
            self._message(message, _join(file.package, message.name), 0)
        for enum in file.enum_type:
            self._emit(0, "")
            self._enum(enum, 0)
        for service in file.service:
            self._emit(0, "")
            self._service(service, _join(file.package, service.name))
        self._extends(file.extension, file.package, 0, blank_before=True)
        return "\n".join(self._lines) + "\n"

    def _emit(self, depth: int, line: str) -> None:
        self._lines.append("  " * depth + line if line else "")

    def _imports(self) -> list[str]:
        file = self._file
        public = set(file.public_dependency)
        weak = set(file.weak_dependency)
        entries = []
        for index, path in enumerate(file.dependency):
            modifier = "public " if index in public else "weak " if index in weak else ""
            entries.append((path, f'import {modifier}"{path}";'))
        if self._normalize:
            entries.sort()
        return [line for _path, line in entries]

    def _options(self, options: Message) -> list[tuple[str, str]]:
        entries = list(_option_entries(options))
        if self._normalize:
            entries.sort()
        return entries

    def _type_name(self, type_name: str, scope: str) -> str:
        """``type_name`` (``.pkg.Msg``) as written in a declaration whose full name is ``scope``."""
        target = type_name.lstrip(".")
        if self._symbols is None:
            return "." + target
        parts = target.split(".")
        for start in range(len(parts) - 1, -1, -1):
            candidate = ".".join(parts[start:])
            if _lookup(candidate, scope, self._symbols) == target:
                return candidate
        return "." + target

    # messages

    def _message(self, message: DescriptorProto, full: str, depth: int) -> None:
        self._emit(depth, f"message {message.name} {{")
        self._message_body(message, full, depth + 1)
        self._emit(depth, "}")

    def _message_body(self, message: DescriptorProto, full: str, depth: int) -> None:
        for name, value in self._options(message.options):
            self._emit(depth, f"option {name} = {value};")
        nested_by_name = {nested.name: nested for nested in message.nested_type}
        groups = {
            f.type_name.lstrip(".")
            for f in message.field
            if f.type == FieldDescriptorProto.TYPE_GROUP
        }
        inline = {
            nested.name
            for nested in message.nested_type
            if nested.options.map_entry or _join(full, nested.name) in groups
        }
        synthetic = _synthetic_oneofs(message)
        fields = list(message.field)
        if self._normalize:
            fields.sort(key=lambda f: f.number)
        # Members by oneof, in field order: one pass, however many oneofs there are.
        members: dict[int, list[FieldDescriptorProto]] = {}
        for field in fields:
            if field.HasField("oneof_index") and field.oneof_index not in synthetic:
                members.setdefault(field.oneof_index, []).append(field)
        for field in fields:
            index = field.oneof_index if field.HasField("oneof_index") else -1
            if index not in members:
                self._field(field, full, depth, nested_by_name, in_oneof=False)
                continue
            if members[index][0] is not field:
                continue  # written with the oneof, at its first member
            oneof = message.oneof_decl[index]
            self._emit(depth, f"oneof {oneof.name} {{")
            for name, value in self._options(oneof.options):
                self._emit(depth + 1, f"option {name} = {value};")
            for member in members[index]:
                self._field(member, full, depth + 1, nested_by_name, in_oneof=True)
            self._emit(depth, "}")
        self._reserved(
            [(r.start, r.end - 1) for r in message.reserved_range],
            message.reserved_name,
            _FIELD_NUMBER_END - 1,
            depth,
        )
        ranges = [(r.start, r.end - 1) for r in message.extension_range]
        if ranges:
            top = _MESSAGE_SET_END - 1 if message.options.message_set_wire_format else None
            self._emit(
                depth,
                f"extensions {_ranges(ranges, _FIELD_NUMBER_END - 1, top, self._normalize)};",
            )
        for nested in message.nested_type:
            if nested.name not in inline:
                self._message(nested, _join(full, nested.name), depth)
        for enum in message.enum_type:
            self._enum(enum, depth)
        self._extends(message.extension, full, depth, blank_before=False)

    def _field(
        self,
        field: FieldDescriptorProto,
        scope: str,
        depth: int,
        nested_by_name: Mapping[str, DescriptorProto],
        *,
        in_oneof: bool,
    ) -> None:
        field_scope = _join(scope, field.name)
        label = "" if in_oneof else self._label(field)
        options = self._field_options(field)
        suffix = f" [{', '.join(f'{n} = {v}' for n, v in options)}]" if options else ""
        nested_name = field.type_name.rsplit(".", 1)[-1]
        nested = nested_by_name.get(nested_name)
        is_local = field.type_name.lstrip(".") == _join(scope, nested_name)
        if (
            field.type == FieldDescriptorProto.TYPE_MESSAGE
            and nested is not None
            and is_local
            and nested.options.map_entry
        ):
            entry_scope = _join(_join(scope, nested.name), "value")
            key = self._field_type(_entry_field(nested, 1), entry_scope)
            value = self._field_type(_entry_field(nested, 2), entry_scope)
            self._emit(depth, f"map<{key}, {value}> {field.name} = {field.number}{suffix};")
            return
        if field.type == FieldDescriptorProto.TYPE_GROUP and nested is not None and is_local:
            self._emit(depth, f"{label}group {nested.name} = {field.number}{suffix} {{")
            self._message_body(nested, _join(scope, nested.name), depth + 1)
            self._emit(depth, "}")
            return
        type_text = self._field_type(field, field_scope)
        self._emit(depth, f"{label}{type_text} {field.name} = {field.number}{suffix};")

    def _field_type(self, field: FieldDescriptorProto, scope: str) -> str:
        scalar = _SCALARS.get(field.type)
        if scalar is not None:
            return scalar
        return self._type_name(field.type_name, scope)

    def _label(self, field: FieldDescriptorProto) -> str:
        if field.label == FieldDescriptorProto.LABEL_REPEATED:
            return "repeated "
        if self._syntax == "editions":
            return ""
        if field.label == FieldDescriptorProto.LABEL_REQUIRED:
            return "required "
        if self._syntax == "proto3" and not field.proto3_optional:
            return ""
        return "optional "

    def _field_options(self, field: FieldDescriptorProto) -> list[tuple[str, str]]:
        entries: list[tuple[str, str]] = []
        if field.HasField("default_value"):
            entries.append(("default", _default_literal(field)))
        if field.HasField("json_name") and field.json_name != _json_name(field.name):
            entries.append(("json_name", _quote(field.json_name)))
        entries.extend(self._options(field.options))
        if self._normalize:
            entries.sort()
        return entries

    def _reserved(
        self, ranges: list[tuple[int, int]], names: Sequence[str], maximum: int, depth: int
    ) -> None:
        if ranges:
            self._emit(depth, f"reserved {_ranges(ranges, maximum, None, self._normalize)};")
        if names:
            ordered = sorted(names) if self._normalize else list(names)
            if self._syntax == "editions":
                self._emit(depth, f"reserved {', '.join(ordered)};")
            else:
                self._emit(depth, f"reserved {', '.join(_quote(n) for n in ordered)};")

    def _extends(
        self,
        extensions: Sequence[FieldDescriptorProto],
        scope: str,
        depth: int,
        *,
        blank_before: bool,
    ) -> None:
        groups: dict[str, list[FieldDescriptorProto]] = {}
        for extension in extensions:
            groups.setdefault(extension.extendee, []).append(extension)
        keys = sorted(groups) if self._normalize else list(groups)
        for extendee in keys:
            members = groups[extendee]
            if self._normalize:
                members = sorted(members, key=lambda f: f.number)
            if blank_before:
                self._emit(depth, "")
            name = self._type_name(extendee, _join(scope, members[0].name))
            self._emit(depth, f"extend {name} {{")
            for member in members:
                label = self._label(member)
                type_text = self._field_type(member, _join(scope, member.name))
                options = self._field_options(member)
                suffix = f" [{', '.join(f'{n} = {v}' for n, v in options)}]" if options else ""
                self._emit(
                    depth + 1, f"{label}{type_text} {member.name} = {member.number}{suffix};"
                )
            self._emit(depth, "}")

    # enums and services

    def _enum(self, enum: EnumDescriptorProto, depth: int) -> None:
        self._emit(depth, f"enum {enum.name} {{")
        for name, value in self._options(enum.options):
            self._emit(depth + 1, f"option {name} = {value};")
        values = list(enum.value)
        if self._normalize and values:
            # The first constant is the default value: it keeps its place.
            values = values[:1] + sorted(values[1:], key=lambda v: (v.number, v.name))
        for item in values:
            options = self._options(item.options)
            suffix = f" [{', '.join(f'{n} = {v}' for n, v in options)}]" if options else ""
            self._emit(depth + 1, f"{item.name} = {item.number}{suffix};")
        self._reserved(
            [(r.start, r.end) for r in enum.reserved_range],
            enum.reserved_name,
            _ENUM_NUMBER_MAX,
            depth + 1,
        )
        self._emit(depth, "}")

    def _service(self, service: descriptor_pb2.ServiceDescriptorProto, full: str) -> None:
        self._emit(0, f"service {service.name} {{")
        for name, value in self._options(service.options):
            self._emit(1, f"option {name} = {value};")
        for method in service.method:
            scope = _join(full, method.name)
            request = self._type_name(method.input_type, scope)
            response = self._type_name(method.output_type, scope)
            if method.client_streaming:
                request = "stream " + request
            if method.server_streaming:
                response = "stream " + response
            head = f"rpc {method.name}({request}) returns ({response})"
            options = self._options(method.options)
            if not options:
                self._emit(1, head + ";")
                continue
            self._emit(1, head + " {")
            for name, value in options:
                self._emit(2, f"option {name} = {value};")
            self._emit(1, "}")
        self._emit(0, "}")


def _synthetic_oneofs(message: DescriptorProto) -> set[int]:
    """Indexes of the oneofs protoc made up for proto3 ``optional`` fields."""
    return {f.oneof_index for f in message.field if f.proto3_optional and f.HasField("oneof_index")}


def _entry_field(entry: DescriptorProto, number: int) -> FieldDescriptorProto:
    for field in entry.field:
        if field.number == number:
            return field
    raise InvalidSchemaError(f"Map entry {entry.name} has no field {number}")


def _lookup(name: str, relative_to: str, symbols: Mapping[str, str]) -> str | None:
    """The full name protoc resolves ``name`` to from the declaration ``relative_to``.

    Mirrors protoc's scoping: walk outwards from the innermost scope; the first scope
    where the first component of ``name`` is an aggregate (or, for a simple name, a
    type) decides.
    """
    first, _, rest = name.partition(".")
    scope = relative_to
    while True:
        dot = scope.rfind(".")
        if dot < 0:
            return name if name in symbols else None
        scope = scope[:dot]
        candidate = f"{scope}.{first}"
        kind = symbols.get(candidate)
        if kind is None:
            continue
        if rest:
            full = f"{candidate}.{rest}"
            return full if full in symbols else None
        if kind in ("message", "enum"):
            return candidate


def _ranges(
    ranges: list[tuple[int, int]], maximum: int, alternative_max: int | None, normalize: bool
) -> str:
    """``1, 5 to 9, 100 to max`` from inclusive (start, end) pairs."""
    ordered = sorted(ranges) if normalize else ranges
    parts = []
    for start, end in ordered:
        if end in (maximum, alternative_max):
            parts.append(f"{start} to max")
        elif start == end:
            parts.append(str(start))
        else:
            parts.append(f"{start} to {end}")
    return ", ".join(parts)


def _option_entries(options: Message, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(name, value)`` pairs of the set options; message values flattened with dots."""
    for field, value in options.ListFields():
        if field.name == "uninterpreted_option" or (
            field.name == "map_entry" and field.containing_type.name == "MessageOptions"
        ):
            continue
        name = f"({field.full_name})" if field.is_extension else field.name
        name = prefix + name
        values = list(value) if field.is_repeated else [value]
        for item in values:
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                yield from _option_entries(item, name + ".")
            else:
                yield name, _option_value(field, item)


def _option_value(field: FieldDescriptor, value: object) -> str:
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "true" if value else "false"
    if field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        found = field.enum_type.values_by_number.get(int(value))  # type: ignore[call-overload]
        return found.name if found is not None else str(value)
    if field.type == FieldDescriptor.TYPE_STRING:
        return _quote(str(value))
    if field.type == FieldDescriptor.TYPE_BYTES:
        assert isinstance(value, bytes)
        return '"' + _escape_bytes(value) + '"'
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    return str(value)


def _default_literal(field: FieldDescriptorProto) -> str:
    """``[default = ...]`` from ``default_value`` (strings raw, bytes already C-escaped)."""
    if field.type == FieldDescriptorProto.TYPE_STRING:
        return _quote(field.default_value)
    if field.type == FieldDescriptorProto.TYPE_BYTES:
        return f'"{field.default_value}"'
    return str(field.default_value)


def _json_name(name: str) -> str:
    """protoc's default JSON name: underscores dropped, the next letter upper-cased."""
    out = []
    upper_next = False
    for char in name:
        if char == "_":
            upper_next = True
        elif upper_next:
            out.append(char.upper())
            upper_next = False
        else:
            out.append(char)
    return "".join(out)


def _quote(value: str) -> str:
    out = ['"']
    for char in value:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\{code:03o}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _escape_bytes(value: bytes) -> str:
    out = []
    for byte in value:
        if byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03o}")
    return "".join(out)


# -- compatibility ---------------------------------------------------------------------

# A field's type as Confluent sees it: ("scalar", name), ("enum", full name),
# ("message", full name) or ("map", key type, value type).
_FieldType = tuple[object, ...]
_Key = TypeVar("_Key", str, int)


@dataclass(frozen=True, slots=True)
class _Field:
    """One field as the diff sees it: Wire's label (None where none is written)."""

    name: str
    number: int
    label: str | None
    required: bool
    type: _FieldType


class _Differ:
    """One ``original`` → ``update`` walk, collecting (difference type, path) pairs."""

    def __init__(self, original: _Model, update: _Model) -> None:
        self._models = (original, update)
        self._path: list[str] = []
        self._differences: list[tuple[str, str]] = []
        self._active: set[int] = set()
        # Messages being compared, nested or through fields (a chain of message-typed
        # fields can be as long as a file is); bounded so the walk cannot exhaust the
        # stack. Declarations nest at most 31 deep (protoc), so only chains into
        # referenced or well-known files reach the bound.
        self._depth = 0

    def compare(self) -> list[tuple[str, str]]:
        original, update = self._models
        if original.file.package != update.file.package:
            self._add("PACKAGE_CHANGED")
        self._compare_types(
            (original.file.message_type, original.file.enum_type, original.file.syntax),
            (update.file.message_type, update.file.enum_type, update.file.syntax),
        )
        seen: set[tuple[str, str]] = set()
        unique = []
        for item in self._differences:
            if item not in seen:
                seen.add(item)
                unique.append(item)
        return unique

    def _add(self, kind: str) -> None:
        self._differences.append((kind, "#/" + "/".join(self._path)))

    def _at(self, segment: str) -> _PathScope:
        return _PathScope(self._path, segment)

    def _compare_types(
        self,
        original: tuple[Sequence[DescriptorProto], Sequence[EnumDescriptorProto], str],
        update: tuple[Sequence[DescriptorProto], Sequence[EnumDescriptorProto], str],
    ) -> None:
        original_messages = [m for m in original[0] if not m.options.map_entry]
        update_messages = [m for m in update[0] if not m.options.map_entry]
        original_by_name = {m.name: (i, m) for i, m in enumerate(original_messages)}
        update_by_name = {m.name: (i, m) for i, m in enumerate(update_messages)}
        for name in _union(original_by_name, update_by_name):
            with self._at(name):
                before = original_by_name.get(name)
                after = update_by_name.get(name)
                if after is None:
                    self._add("MESSAGE_REMOVED")
                elif before is None:
                    self._add("MESSAGE_ADDED")
                else:
                    self._compare_message(before[1], after[1], original[2], update[2])
                    if before[0] != after[0]:
                        self._add("MESSAGE_MOVED")
        original_enums = {e.name: e for e in original[1]}
        update_enums = {e.name: e for e in update[1]}
        for name in _union(original_enums, update_enums):
            with self._at(name):
                before_enum = original_enums.get(name)
                after_enum = update_enums.get(name)
                if after_enum is None:
                    self._add("ENUM_REMOVED")
                elif before_enum is None:
                    self._add("ENUM_ADDED")
                else:
                    self._compare_enum(before_enum, after_enum)

    def _compare_enum(self, original: EnumDescriptorProto, update: EnumDescriptorProto) -> None:
        before = {v.number: v.name for v in original.value}
        after = {v.number: v.name for v in update.value}
        for number in _union(before, after):
            with self._at(str(number)):
                if number not in after:
                    self._add("ENUM_CONST_REMOVED")
                elif number not in before:
                    self._add("ENUM_CONST_ADDED")
                elif before[number] != after[number]:
                    self._add("ENUM_CONST_CHANGED")

    def _fields(
        self, side: int, message: DescriptorProto, syntax: str
    ) -> tuple[dict[int, _Field], dict[str, dict[int, _Field]]]:
        """Top-level fields by number, and the members of each real oneof by oneof name."""
        model = self._models[side]
        synthetic = _synthetic_oneofs(message)
        top: dict[int, _Field] = {}
        oneofs: dict[str, dict[int, _Field]] = {
            decl.name: {} for i, decl in enumerate(message.oneof_decl) if i not in synthetic
        }
        for field in message.field:
            in_oneof = field.HasField("oneof_index") and field.oneof_index not in synthetic
            item = _Field(
                field.name,
                field.number,
                _wire_label(field, syntax or "proto2", in_oneof),
                field.label == FieldDescriptorProto.LABEL_REQUIRED,
                _field_type(model, field),
            )
            if in_oneof:
                oneofs[message.oneof_decl[field.oneof_index].name][field.number] = item
            else:
                top[field.number] = item
        return top, oneofs

    def _compare_message(
        self,
        original: DescriptorProto,
        update: DescriptorProto,
        original_syntax: str,
        update_syntax: str,
    ) -> None:
        if id(original) in self._active:
            return  # a recursive type: this pair is already being compared further up
        if self._depth >= MAX_NESTING_DEPTH:
            self._add("NESTING_TOO_DEEP")
            return
        self._depth += 1
        self._active.add(id(original))
        try:
            self._compare_fields(original, update, original_syntax, update_syntax)
        finally:
            self._active.discard(id(original))
        try:
            self._compare_types(
                (original.nested_type, original.enum_type, original_syntax),
                (update.nested_type, update.enum_type, update_syntax),
            )
        finally:
            self._depth -= 1

    def _compare_fields(
        self,
        original: DescriptorProto,
        update: DescriptorProto,
        original_syntax: str,
        update_syntax: str,
    ) -> None:
        original_top, original_oneofs = self._fields(0, original, original_syntax)
        update_top, update_oneofs = self._fields(1, update, update_syntax)
        original_all = dict(original_top)
        original_member_of: dict[int, str] = {}
        for oneof_name, members in original_oneofs.items():
            original_all.update(members)
            original_member_of.update(dict.fromkeys(members, oneof_name))
        update_all = dict(update_top)
        update_member_of: dict[int, str] = {}
        for oneof_name, members in update_oneofs.items():
            update_all.update(members)
            update_member_of.update(dict.fromkeys(members, oneof_name))

        remaining_top = dict(original_top)
        for oneof_name in sorted(update_oneofs):
            moved = existing = 0
            for number in update_oneofs[oneof_name]:
                if remaining_top.pop(number, None) is not None:
                    moved += 1
                elif number in original_member_of:
                    existing += 1
            with self._at(oneof_name):
                if moved > 1:
                    self._add("MULTIPLE_FIELDS_MOVED_TO_ONEOF")
                elif moved == 1 and existing > 0:
                    self._add("FIELD_MOVED_TO_EXISTING_ONEOF")

        for oneof_name in _union(original_oneofs, update_oneofs):
            with self._at(oneof_name):
                if oneof_name not in update_oneofs:
                    self._add("ONEOF_REMOVED")
                elif oneof_name not in original_oneofs:
                    self._add("ONEOF_ADDED")
                else:
                    before_members = original_oneofs[oneof_name]
                    after_members = update_oneofs[oneof_name]
                    for number in _union(before_members, after_members):
                        with self._at(str(number)):
                            if number not in after_members:
                                # Moved elsewhere is relocation, not removal.
                                if number not in update_all:
                                    self._add("ONEOF_FIELD_REMOVED")
                            elif number not in before_members:
                                self._add("ONEOF_FIELD_ADDED")
                            else:
                                self._compare_field(before_members[number], after_members[number])

        for number in _union(remaining_top, update_top):
            with self._at(str(number)):
                before = remaining_top.get(number)
                after = update_top.get(number)
                if after is None:
                    assert before is not None
                    self._add("REQUIRED_FIELD_REMOVED" if before.required else "FIELD_REMOVED")
                elif before is None:
                    self._add("REQUIRED_FIELD_ADDED" if after.required else "FIELD_ADDED")
                else:
                    self._compare_field(before, after)

        # Fields whose oneof membership changed are compared by number as well.
        for number in sorted(set(original_all) & set(update_all)):
            before_oneof = original_member_of.get(number)
            after_oneof = update_member_of.get(number)
            if before_oneof == after_oneof:
                continue  # both top-level or in the same oneof: compared above
            with self._at(str(number)):
                self._compare_field(original_all[number], update_all[number])

    def _compare_field(self, original: _Field, update: _Field) -> None:
        if original.name != update.name:
            self._add("FIELD_NAME_CHANGED")
        self._compare_labels_and_types(original.label, update.label, original.type, update.type)

    def _compare_labels_and_types(
        self,
        original_label: str | None,
        update_label: str | None,
        original: _FieldType,
        update: _FieldType,
    ) -> None:
        original_kind = _kind(original)
        if original_kind != _kind(update):
            self._add("FIELD_KIND_CHANGED")
        elif original_kind == "SCALAR":
            group = _scalar_group(original)
            if group != _scalar_group(update):
                self._add("FIELD_SCALAR_KIND_CHANGED")
            elif None not in (original_label, update_label) and original_label != update_label:
                if group == "STRING_OR_BYTES":
                    self._add("FIELD_STRING_OR_BYTES_LABEL_CHANGED")
                else:
                    self._add("FIELD_NUMERIC_LABEL_CHANGED")
        elif original_kind == "MESSAGE":
            self._compare_message_types(str(original[1]), str(update[1]))
        else:
            original_key, original_value = original[1], original[2]
            update_key, update_value = update[1], update[2]
            assert isinstance(original_key, tuple) and isinstance(update_key, tuple)
            assert isinstance(original_value, tuple) and isinstance(update_value, tuple)
            self._compare_labels_and_types(None, None, original_key, update_key)
            self._compare_labels_and_types(None, None, original_value, update_value)

    def _compare_message_types(self, original_name: str, update_name: str) -> None:
        before = self._models[0].types.get(original_name)
        after = self._models[1].types.get(update_name)
        if before is None or after is None or before.message is None or after.message is None:
            if original_name != update_name:
                self._add("FIELD_NAMED_TYPE_CHANGED")
            return
        original_local = _local_name(original_name, before.package)
        if original_local != _local_name(update_name, after.package):
            self._add("FIELD_NAMED_TYPE_CHANGED")
            return
        if before.origin is not None and before.origin == after.origin:
            return  # both local, or the same subject and version: compared elsewhere
        saved_path, saved_differences = self._path, self._differences
        self._path, self._differences = original_local.split("."), []
        try:
            self._compare_message(before.message, after.message, before.syntax, after.syntax)
            nested = self._differences
        finally:
            self._path, self._differences = saved_path, saved_differences
        self._differences.extend(nested)
        if any(kind not in _COMPATIBLE for kind, _path in nested):
            self._add("FIELD_NAMED_TYPE_CHANGED")


class _PathScope:
    """Push one path segment for the duration of a ``with`` block."""

    __slots__ = ("_path", "_segment")

    def __init__(self, path: list[str], segment: str) -> None:
        self._path = path
        self._segment = segment

    def __enter__(self) -> None:
        self._path.append(self._segment)

    def __exit__(self, *exc: object) -> None:
        self._path.pop()


def _union(first: Iterable[_Key], second: Iterable[_Key]) -> list[_Key]:
    """Keys of both sides, sorted so differences come out in a stable order."""
    return sorted(set(first) | set(second))


def _wire_label(field: FieldDescriptorProto, syntax: str, in_oneof: bool) -> str | None:
    """The label as written in ``.proto`` text (None when none is), which Confluent compares."""
    if in_oneof:
        return None
    if field.label == FieldDescriptorProto.LABEL_REPEATED:
        return "repeated"
    if field.label == FieldDescriptorProto.LABEL_REQUIRED:
        return "required"
    if syntax == "proto3":
        return "optional" if field.proto3_optional else None
    if syntax == "editions":
        return None
    return "optional"


def _field_type(model: _Model, field: FieldDescriptorProto) -> _FieldType:
    scalar = _SCALARS.get(field.type)
    if scalar is not None:
        return ("scalar", scalar)
    full = field.type_name.lstrip(".")
    if field.type == FieldDescriptorProto.TYPE_ENUM:
        return ("enum", full)
    info = model.types.get(full)
    if info is not None and info.is_map and info.message is not None:
        key = _field_type(model, _entry_field(info.message, 1))
        value = _field_type(model, _entry_field(info.message, 2))
        return ("map", key, value)
    return ("message", full)


def _kind(field_type: _FieldType) -> str:
    if field_type[0] in ("scalar", "enum"):
        return "SCALAR"
    if field_type[0] == "map":
        return "MAP"
    return "MESSAGE"


def _scalar_group(field_type: _FieldType) -> str:
    if field_type[0] == "enum":
        return "GENERAL_NUMBER"
    return _SCALAR_GROUPS[str(field_type[1])]


def _local_name(full_name: str, package: str) -> str:
    if package and full_name.startswith(package + "."):
        return full_name[len(package) + 1 :]
    return full_name
