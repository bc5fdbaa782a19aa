"""Protobuf serializer and deserializer in Confluent's wire format.

Theory of operation
-------------------
**What is registered.** A generated message class knows its file's descriptor. Like
confluent-kafka's ProtobufSerializer, the schema sent to the registry is the base64 of
that file's serialized ``FileDescriptorProto`` (``schemaType: PROTOBUF``): the same
text byte for byte, so both clients get the same id for the same file. Each import of
the file is registered first (depth first, recursively) under the subject the
reference strategy gives - by default the import path itself, e.g.
``regcast_demo/address.proto`` - and listed as a reference
``{"name": <import path>, "subject": <subject>, "version": <its version>}``. Well-known
imports (``google/protobuf/*``, ``google/type/*``, ``confluent/*``) are skipped, as
Confluent does: every registry knows them.

**Message indexes.** A .proto file can hold many messages; the frame says which one
with the index path of the message inside its file (see :mod:`serdes.wire`): top-level
position, then nested positions. Positions come from the descriptor's
``message_type`` / ``nested_type`` lists, which is also what confluent-kafka counts
(map fields' synthetic ``...Entry`` types included, enums not).

**Per record.** The first record of each (topic, key|value) resolves the subject and the
id (HTTP) and caches ``header = 00 | id | indexes``. After that, serializing is
``header + message.SerializeToString()``: one dict lookup, one type check, one C call.

**Deserializer.** Reads the header and the index path, then parses the payload with
the message class given to the constructor. With a registry client, the first record
of each (schema id, index path) fetches the writer schema (``format=serialized``) and
checks that the path names the same message as the class (full name), so a wrong
topic/class pairing fails loudly instead of producing garbage; later records do no
HTTP. Protobuf's own evolution rules (unknown fields kept, missing fields default)
handle version differences.

**Data contracts.** With ``use_latest_version`` or ``use_latest_with_metadata`` the
serializer runs the registry schema's WRITE rules on each message; the deserializer
runs the READ rules of the latest schema with those options, else of the writer's
(:mod:`serdes.rules`). CEL rules see the message as a dict of its fields
(:mod:`serdes.rules.protobuf_values`); a transform's result is built back into a new
message. Field-level rules (CEL_FIELD) are not supported for Protobuf and are refused
when the schema is resolved. Without rules, a record pays one empty-dict check.
"""

from __future__ import annotations

import base64
import binascii
import struct
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeAlias, TypeVar

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FileDescriptor
from google.protobuf.message import DecodeError, Message

from serdes.context import SerdeContext
from serdes.data_contracts import RuleMode
from serdes.errors import RecordError, SchemaNotFoundError, SerializationError
from serdes.naming import SubjectNameStrategy, topic_subject_name_strategy
from serdes.registry_client import Schema, SchemaReference, SchemaRegistryClient
from serdes.rules import RuleTarget, compile_rules
from serdes.rules.protobuf_values import dict_to_message, message_to_dict
from serdes.wire import (
    decode_header,
    decode_message_indexes,
    encode_header,
    encode_message_indexes,
)

__all__ = [
    "ProtobufDeserializer",
    "ProtobufSerializer",
    "ReferenceSubjectNameStrategy",
    "is_well_known_import",
    "message_index_path",
    "reference_subject_name_strategy",
    "schema_string",
]

M = TypeVar("M", bound=Message)

#: ``(ctx, import_path) -> subject`` for a Protobuf import.
ReferenceSubjectNameStrategy: TypeAlias = Callable[[SerdeContext | None, str], str]

_SCHEMA_ID = struct.Struct(">I")
_WELL_KNOWN_PREFIXES = ("google/protobuf/", "google/type/", "confluent/")


def reference_subject_name_strategy(ctx: SerdeContext | None, import_path: str) -> str:
    """The subject of an imported file is its import path (Confluent's default)."""
    return import_path


def is_well_known_import(import_path: str) -> bool:
    """Imports every registry resolves itself, never registered as references."""
    return import_path.startswith(_WELL_KNOWN_PREFIXES)


def schema_string(file: FileDescriptor) -> str:
    """What gets registered: base64 of the file's serialized ``FileDescriptorProto``."""
    return base64.standard_b64encode(file.serialized_pb).decode("ascii")


def message_index_path(descriptor: Descriptor) -> tuple[int, ...]:
    """Position of a message in its file: top-level index, then nested indexes."""
    chain: list[Descriptor] = []
    current: Descriptor | None = descriptor
    while current is not None:
        chain.append(current)
        current = current.containing_type
    chain.reverse()
    file_proto = descriptor_pb2.FileDescriptorProto.FromString(descriptor.file.serialized_pb)
    path: list[int] = []
    siblings: Sequence[descriptor_pb2.DescriptorProto] = file_proto.message_type
    for node in chain:
        names = [m.name for m in siblings]
        if node.name not in names:
            raise SerializationError(
                f"message {descriptor.full_name} not found in its file {descriptor.file.name}"
            )
        index = names.index(node.name)
        path.append(index)
        siblings = siblings[index].nested_type
    return tuple(path)


def _message_at(
    file_proto: descriptor_pb2.FileDescriptorProto,
    path: Sequence[int],
    *,
    count_map_entries: bool,
) -> str | None:
    """Full name of the message at ``path`` in a file, or None when there is none.

    Two ways of counting are in use. confluent-kafka (Python, Go) counts the
    descriptor's ``nested_type`` list, synthetic ``...Entry`` types of map fields
    included; Confluent's Java serializer counts declared messages only. And a registry
    that rebuilds the descriptor from ``.proto`` text (as ``format=serialized`` does) may
    place the synthetic entries elsewhere than protoc did. So the caller tries both.
    """
    names: list[str] = [file_proto.package] if file_proto.package else []
    siblings: Sequence[descriptor_pb2.DescriptorProto] = file_proto.message_type
    for index in path:
        if not count_map_entries:
            siblings = [m for m in siblings if not m.options.map_entry]
        if index >= len(siblings):
            return None
        names.append(siblings[index].name)
        siblings = siblings[index].nested_type
    return ".".join(names)


def _message_rules(
    schema: Schema, mode: RuleMode, subject: str, cls: type[M]
) -> Callable[[M], M] | None:
    """The schema's rules for ``mode`` as a message -> message function, or None."""
    if schema.rule_set is None:
        return None
    runner = compile_rules(
        schema.rule_set, mode, RuleTarget(subject, "PROTOBUF", schema.metadata, None)
    )
    if runner is None:
        return None

    def run(message: M) -> M:
        fields = message_to_dict(message)
        result = runner(fields)
        if result is fields:  # conditions only, or transforms that changed nothing
            return message
        return dict_to_message(result, cls)

    return run


def _check_metadata(use_latest_with_metadata: Mapping[str, str] | None) -> dict[str, str] | None:
    if use_latest_with_metadata is None:
        return None
    if not isinstance(use_latest_with_metadata, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in use_latest_with_metadata.items()
    ):
        raise ValueError(
            "use_latest_with_metadata must map metadata property names to string values, "
            f"got {use_latest_with_metadata!r:.200}"
        )
    return dict(use_latest_with_metadata)


class ProtobufSerializer(Generic[M]):
    """Generated messages -> ``00 | schema id | message indexes | protobuf bytes``.

    Args:
        client: the registry client (used on the first record per subject only).
        message_class: the generated class; other types are rejected.
        auto_register: register the file and its imports on first use (default True,
            False with ``use_latest_version``); when False they must be registered.
        use_latest_version: write with the id of the subject's latest version.
        use_latest_with_metadata: write with the id of the newest version whose metadata
            properties hold all these pairs (confluent-kafka's ``use.latest.with.metadata``).
            With either option the schema's WRITE rules run on each message.
        normalize: ``?normalize=true`` on registration and lookup.
        subject_name_strategy: ``(ctx, record_name) -> subject``; the record name is the
            message's full name (``regcast.demo.Order``).
        reference_subject_name_strategy: ``(ctx, import_path) -> subject`` for imports.
        skip_known_types: do not register well-known imports (default, as Confluent).
    """

    def __init__(
        self,
        client: SchemaRegistryClient,
        message_class: type[M],
        *,
        auto_register: bool | None = None,
        use_latest_version: bool = False,
        use_latest_with_metadata: Mapping[str, str] | None = None,
        normalize: bool = False,
        subject_name_strategy: SubjectNameStrategy = topic_subject_name_strategy,
        reference_subject_name_strategy: ReferenceSubjectNameStrategy = (
            reference_subject_name_strategy
        ),
        skip_known_types: bool = True,
    ) -> None:
        if not (isinstance(message_class, type) and issubclass(message_class, Message)):
            raise TypeError(f"{message_class!r} is not a generated protobuf message class")
        self._use_latest_with_metadata = _check_metadata(use_latest_with_metadata)
        use_latest_version = use_latest_version or use_latest_with_metadata is not None
        if auto_register is None:
            auto_register = not use_latest_version
        if auto_register and use_latest_version:
            raise ValueError(
                "auto_register cannot be set with use_latest_version or use_latest_with_metadata"
            )
        self._client = client
        self._cls = message_class
        self._descriptor: Descriptor = message_class.DESCRIPTOR
        self._indexes = encode_message_indexes(message_index_path(self._descriptor))
        self._schema_str = schema_string(self._descriptor.file)
        self._auto_register = auto_register
        self._use_latest_version = use_latest_version
        self._normalize = normalize
        self._strategy = subject_name_strategy
        self._reference_strategy = reference_subject_name_strategy
        self._skip_known_types = skip_known_types
        self._headers: dict[tuple[str, str] | None, bytes] = {}
        # (topic, field) -> the WRITE rules of its schema; empty while no schema has any
        self._rules: dict[tuple[str, str] | None, Callable[[M], M]] = {}
        self._lock = threading.Lock()

    @property
    def schema_str(self) -> str:
        """The base64 ``FileDescriptorProto`` this serializer registers."""
        return self._schema_str

    def __call__(self, message: M | None, ctx: SerdeContext | None = None) -> bytes | None:
        """Serialize one message; runs on the caller's thread (the producer's ``send()``)."""
        if message is None:
            return None
        key = None if ctx is None else (ctx.topic, ctx.field)
        header = self._headers.get(key)
        if header is None:
            header = self._resolve(key, ctx)
        if type(message) is not self._cls and not isinstance(message, self._cls):
            raise RecordError(
                f"expected a {self._descriptor.full_name} message, got {type(message).__qualname__}"
            )
        if self._rules:
            run = self._rules.get(key)
            if run is not None:
                message = run(message)
        payload: bytes = message.SerializeToString()
        return header + payload

    def _resolve(self, key: tuple[str, str] | None, ctx: SerdeContext | None) -> bytes:
        """First record for this (topic, field): register/look up the file (HTTP)."""
        with self._lock:
            header = self._headers.get(key)
            if header is not None:
                return header
            subject = self._strategy(ctx, self._descriptor.full_name)
            if subject is None:
                raise SerializationError("the subject name strategy returned no subject")
            if self._use_latest_version:
                if self._use_latest_with_metadata is not None:
                    latest = self._client.get_latest_with_metadata(
                        subject, self._use_latest_with_metadata, fmt="serialized"
                    )
                else:
                    latest = self._client.get_latest_version(subject, fmt="serialized")
                schema_id = latest.schema_id
                run = _message_rules(latest.schema, RuleMode.WRITE, subject, self._cls)
                if run is not None:
                    self._rules[key] = run
            else:
                references = self._references(ctx, self._descriptor.file, {})
                if self._auto_register:
                    schema_id = self._client.register_schema(
                        subject, self._schema_str, "PROTOBUF", references, self._normalize
                    )
                else:
                    schema_id = self._client.lookup_schema(
                        subject, self._schema_str, "PROTOBUF", references, self._normalize
                    ).schema_id
            header = encode_header(schema_id) + self._indexes
            self._headers[key] = header
            return header

    def _references(
        self,
        ctx: SerdeContext | None,
        file: FileDescriptor,
        done: dict[str, SchemaReference],
    ) -> list[SchemaReference]:
        """Register (or find) every import of ``file``, depth first; return its refs."""
        refs: list[SchemaReference] = []
        for dep in file.dependencies:
            if self._skip_known_types and is_well_known_import(dep.name):
                continue
            ref = done.get(dep.name)
            if ref is None:
                dep_refs = self._references(ctx, dep, done)
                subject = self._reference_strategy(ctx, dep.name)
                dep_schema = schema_string(dep)
                if self._auto_register:
                    self._client.register_schema(
                        subject, dep_schema, "PROTOBUF", dep_refs, self._normalize
                    )
                version = self._client.lookup_schema(
                    subject, dep_schema, "PROTOBUF", dep_refs, self._normalize
                ).version
                ref = SchemaReference(dep.name, subject, version)
                done[dep.name] = ref
            refs.append(ref)
        return refs


class ProtobufDeserializer(Generic[M]):
    """``00 | schema id | message indexes | protobuf bytes`` -> an instance of the class.

    Args:
        client: registry client used to verify (once per schema id and index path) that
            the writer's message is the class's message; ``None`` skips the check (and
            the rules).
        message_class: the generated class to parse into.
        use_latest_version / use_latest_with_metadata: run the READ rules of the
            subject's latest schema (or the newest with these metadata properties)
            instead of the writer schema's. Resolved on the first record of each writer
            schema id and index path, with that record's topic: use one deserializer per
            topic with these options.
        subject_name_strategy: finds the subject for the options above and for naming
            it in rule errors.
    """

    def __init__(
        self,
        client: SchemaRegistryClient | None,
        message_class: type[M],
        *,
        use_latest_version: bool = False,
        use_latest_with_metadata: Mapping[str, str] | None = None,
        subject_name_strategy: SubjectNameStrategy = topic_subject_name_strategy,
    ) -> None:
        if not (isinstance(message_class, type) and issubclass(message_class, Message)):
            raise TypeError(f"{message_class!r} is not a generated protobuf message class")
        self._use_latest_with_metadata = _check_metadata(use_latest_with_metadata)
        self._use_latest_version = use_latest_version or use_latest_with_metadata is not None
        if self._use_latest_version and client is None:
            raise ValueError("use_latest_version / use_latest_with_metadata need a client")
        self._strategy = subject_name_strategy
        # frame prefix -> the READ rules for it; empty while no schema has any
        self._rules: dict[bytes, Callable[[M], M]] = {}
        self._client = client
        self._cls = message_class
        self._full_name: str = message_class.DESCRIPTOR.full_name
        self._from_string: Callable[[bytes | bytearray], M] = message_class.FromString
        self._checked: set[bytes] = set()
        # A magic byte of 0xff never starts a valid frame: the first record takes _frame.
        self._last_prefix = b"\xff"
        self._lock = threading.Lock()

    def __call__(
        self, data: bytes | bytearray | memoryview | None, ctx: SerdeContext | None = None
    ) -> M | None:
        """Deserialize one framed value; ``None`` (a tombstone) gives ``None``."""
        if data is None:
            return None
        if type(data) is memoryview:
            data = bytes(data)
        prefix = self._last_prefix
        # Fast path: same header and index path as the previous record (one C call).
        offset = len(prefix) if data.startswith(prefix) else self._frame(data, ctx)
        try:
            message: M = self._from_string(data[offset:])
        except DecodeError as exc:
            schema_id = _SCHEMA_ID.unpack_from(data, 1)[0]
            raise SerializationError(
                f"payload of schema id {schema_id} is not a valid {self._full_name}: {exc}"
            ) from exc
        if self._rules:
            run = self._rules.get(bytes(data[:offset]))
            if run is not None:
                message = run(message)
        return message

    def _frame(self, data: bytes | bytearray, ctx: SerdeContext | None = None) -> int:
        """Validate the header and index path; verify it once per prefix (HTTP)."""
        schema_id = decode_header(data)
        indexes, offset = decode_message_indexes(data)
        prefix = bytes(data[:offset])
        if prefix not in self._checked:
            if self._client is not None:
                self._check(schema_id, indexes)
                run = self._read_rules(schema_id, ctx)
                if run is not None:
                    self._rules[prefix] = run
            self._checked.add(prefix)
        self._last_prefix = prefix
        return offset

    def _read_rules(self, schema_id: int, ctx: SerdeContext | None) -> Callable[[M], M] | None:
        """The READ rules for records of ``schema_id``: the latest schema's (with the
        options) or the writer's; None when there are none (HTTP on first use only)."""
        assert self._client is not None
        subject = None if ctx is None else self._strategy(ctx, self._full_name)
        if self._use_latest_version:
            if subject is None:
                raise SerializationError(
                    "use_latest_version / use_latest_with_metadata need a subject: pass the "
                    "serialization context (topic) to the deserializer"
                )
            if self._use_latest_with_metadata is not None:
                schema = self._client.get_latest_with_metadata(
                    subject, self._use_latest_with_metadata, fmt="serialized"
                ).schema
            else:
                schema = self._client.get_latest_version(subject, fmt="serialized").schema
        else:
            schema = self._client.get_schema(schema_id, fmt="serialized")
        return _message_rules(
            schema, RuleMode.READ, subject or f"(schema id {schema_id})", self._cls
        )

    def _check(self, schema_id: int, indexes: tuple[int, ...]) -> None:
        """The writer's message at ``indexes`` of schema ``schema_id`` must be ours."""
        assert self._client is not None
        with self._lock:
            try:
                schema = self._client.get_schema(schema_id, fmt="serialized")
            except SchemaNotFoundError as exc:
                raise SchemaNotFoundError(
                    exc.http_status,
                    exc.error_code,
                    f"unknown schema id {schema_id} in the frame: {exc.message}",
                ) from exc
            if schema.schema_type != "PROTOBUF":
                raise SerializationError(
                    f"schema id {schema_id} is a {schema.schema_type} schema, not Protobuf: "
                    "wrong deserializer for this topic?"
                )
            file_proto = _decode_descriptor(schema.schema_str)
            if file_proto is None:
                return
            candidates = [
                name
                for count in (True, False)
                if (name := _message_at(file_proto, indexes, count_map_entries=count)) is not None
            ]
            if not candidates:
                raise SerializationError(
                    f"message index path {list(indexes)} does not exist in the writer's "
                    f"schema (id {schema_id})"
                )
            if self._full_name not in candidates:
                raise SerializationError(
                    f"schema id {schema_id} with message indexes {list(indexes)} is "
                    f"{candidates[0]}, but this deserializer reads {self._full_name}"
                )


def _decode_descriptor(text: str) -> descriptor_pb2.FileDescriptorProto | None:
    """A base64 descriptor, or None when the registry sent .proto text instead."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        return descriptor_pb2.FileDescriptorProto.FromString(raw)
    except (binascii.Error, ValueError, DecodeError):
        return None
