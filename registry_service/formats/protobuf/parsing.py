"""Protobuf schema text or a serialized descriptor -> a ``ProtobufSchema``.

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
from collections.abc import Iterable, Mapping, Sequence

import grpc_tools
from google.protobuf import descriptor_pool
from google.protobuf.descriptor_pb2 import (
    FileDescriptorProto,
)
from google.protobuf.message import DecodeError
from grpc_tools import _protoc_compiler

from registry_service.formats.base import (
    InvalidSchemaError,
    SchemaReference,
)
from registry_service.formats.limits import check_proto_nesting, check_text
from registry_service.formats.protobuf.descriptor_checks import validate_descriptor
from registry_service.formats.protobuf.model import _Model
from registry_service.formats.protobuf.rendering import _render_for_protoc
from registry_service.formats.protobuf.schema import ProtobufSchema

_WELL_KNOWN_DIR = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
_PROTOC_LOCK = threading.Lock()  # protoc's in-process entry point is not documented thread-safe
_MAIN_FILE = "default"  # Confluent's name for a schema's own file

_MAX_PROTOC_ERRORS = 20

_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_IMPORT = re.compile(r"""\bimport\s+(?:public\s+|weak\s+)?["']([^"']+)["']\s*;""")


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
    # Options set through a well-known file's extensions (``confluent/meta.proto``'s
    # ``field_meta``) decode as unknown fields until that file's module is loaded, and
    # unknown options are not rendered: decoded again once they are known, the same
    # descriptor renders the same whatever this process happened to parse before.
    if any(
        path not in _bundled_files() and _known_file_bytes(path) is not None
        for path in descriptor.dependency
    ):
        descriptor = FileDescriptorProto.FromString(raw)
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
