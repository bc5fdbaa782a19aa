"""Avro serializer and deserializer in Confluent's wire format (fastavro underneath).

Theory of operation
-------------------
**Serializer.** The schema (JSON text, a ``.avsc`` path, or a dataclass / pydantic model
class) is parsed once, in the constructor, with ``fastavro.parse_schema``. The first
record for each (topic, key|value) asks the subject name strategy for a subject and the
registry for an id - register (``auto_register``), look up, or take the subject's latest
version (``use_latest_version``, which then also supplies the writer schema). The
result is a :class:`_WriteTarget`: the 5-byte header and the parsed schema. After that,
a record costs one dict lookup, an optional object-to-dict conversion (precomputed per
class, see :mod:`serdes.avro_model`), and the encoder compiled for the schema
(:mod:`serdes.avro_encoder`, about 1.5x as fast as fastavro's ``schemaless_writer``),
which writes header and body into one buffer: no HTTP, no parsing, no JSON. Values the
compiled encoder is not sure of go to ``fastavro.schemaless_writer``, so the bytes and
the errors are always fastavro's.

**Deserializer.** The 5-byte header gives the writer schema id. The first record with a
given id fetches the writer schema (``GET /schemas/ids/{id}``, cached by the client too),
resolves its references, parses it, and pairs it with the reader schema: the one given
to the constructor (a string, path or model class), the subject's latest version
(``use_latest_version``), or none (read as written). Pairs are cached per id, so later
records cost a dict lookup and ``fastavro.schemaless_reader``. The result is a dict,
``from_dict(dict, ctx)``'s result, or an instance of the model class.

**Data contracts.** When the schema comes from the registry (``use_latest_version``, or
``use_latest_with_metadata={...}``, which picks the newest version whose metadata
properties hold the given pairs), its rule set's WRITE rules run on each record before
encoding, and on reading the READ rules of the reader schema (the latest one with those
options, else the writer's) run on each decoded record (:mod:`serdes.rules`). The rules
are compiled when the target or plan is built; a schema without applicable rules gets
the same per-record function as before (serializer) or one ``None`` check (reader).

**Schema evolution.** fastavro applies Avro's resolution rules when reader and writer
differ (defaults for added fields, dropped fields skipped, promotions int->long->float->
double, string<->bytes, enum symbols). When resolution fails, :func:`explain_resolution`
walks both schemas to name the field and the reason, raised as
:class:`~serdes.errors.SchemaEvolutionError`.

**Compatibility with Confluent.** Bytes are ``00 | id (4 bytes BE) | Avro binary`` exactly
as confluent-kafka's AvroSerializer writes them. Like Confluent's serializers (Java and
Python), a schema that is the bare primitive ``bytes`` is written raw, without Avro's
length prefix. Bare primitive schema strings (``"string"``) are sent to the registry as
``{"type":"string"}``, as confluent-kafka does, so both register the same text.
"""

from __future__ import annotations

import enum
import io
import json
import struct
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro._read_common import SchemaResolutionError
from fastavro.types import NamedSchemas

from serdes.avro_encoder import compile_encoder
from serdes.avro_model import (
    from_avro_converter,
    is_model_class,
    schema_for_class,
    to_avro_converter,
)
from serdes.context import SerdeContext
from serdes.data_contracts import RuleMode
from serdes.errors import (
    RecordError,
    SchemaError,
    SchemaEvolutionError,
    SchemaNotFoundError,
    SerializationError,
)
from serdes.naming import SubjectNameStrategy, topic_subject_name_strategy
from serdes.registry_client import RegisteredSchema, SchemaReference, SchemaRegistryClient
from serdes.rules import RuleRunner, RuleTarget, compile_rules
from serdes.rules.avro_fields import avro_field_walker
from serdes.wire import HEADER_SIZE_BYTES, decode_header, encode_header

__all__ = ["AvroDeserializer", "AvroSerializer", "explain_resolution", "reads_alike"]

SchemaSource = str | Path | type
FromDict = Callable[[dict[str, Any], SerdeContext | None], Any]
_Writer = Callable[[Any, "SerdeContext | None"], bytes]

_SCHEMA_ID = struct.Struct(">I")
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


@dataclass(frozen=True, slots=True)
class _LoadedSchema:
    """A schema ready to use: registry text, fastavro form, and what it came from."""

    schema_str: str
    parsed: Any
    full_name: str | None
    is_raw_bytes: bool
    model: type | None
    references: tuple[SchemaReference, ...] = ()
    named: NamedSchemas | None = None  # named types parse_schema collected (references too)


def _schema_text(source: str | Path) -> str:
    if isinstance(source, Path) or (
        isinstance(source, str) and source.strip()[:1] not in ("{", "[", '"')
    ):
        path = Path(source)
        if path.suffix != ".avsc" and not path.exists():
            raise SchemaError(
                f"schema {str(source)[:80]!r} is neither Avro JSON nor an existing .avsc file"
            )
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SchemaError(f"cannot read Avro schema file {path}: {exc}") from exc
    return source.strip()


def _confluent_text(text: str) -> str:
    """Wrap a bare primitive the way confluent-kafka does before registering it."""
    if text[:1] not in ("{", "["):
        return '{"type":' + text + "}"
    return text


def _full_name(parsed: Any) -> str | None:
    if isinstance(parsed, dict) and parsed.get("type") in ("record", "enum", "fixed"):
        name = parsed.get("name")
        return str(name) if name is not None else None
    return None


def _is_raw_bytes(parsed: Any) -> bool:
    if parsed == "bytes":
        return True
    return (
        isinstance(parsed, dict) and parsed.get("type") == "bytes" and "logicalType" not in parsed
    )


def _parse(
    text: str,
    named: NamedSchemas | None = None,
    *,
    what: str = "schema",
) -> Any:
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise SchemaError(f"{what} is not valid JSON: {exc}") from exc
    try:
        return parse_schema(_intern_names(loaded), named_schemas=named)
    except Exception as exc:  # fastavro raises SchemaParseError, UnknownType, ValueError...
        raise SchemaError(f"{what} is not a valid Avro schema: {exc}") from exc


def _intern_names(schema: Any) -> Any:
    """Intern field names and enum symbols of a JSON-loaded schema, in place.

    fastavro looks each field up in the record dict by name and each enum symbol up in
    a list; when the schema's strings are the very objects used as keys in the caller's
    code (identifier-like literals are interned), those lookups hit on identity instead
    of comparing strings - a few percent of the per-record cost.
    """
    if isinstance(schema, list):
        for item in schema:
            _intern_names(item)
    elif isinstance(schema, dict):
        for f in schema.get("fields") or ():
            if isinstance(f, dict) and isinstance(f.get("name"), str):
                f["name"] = sys.intern(f["name"])
                _intern_names(f.get("type"))
        symbols = schema.get("symbols")
        if isinstance(symbols, list):
            schema["symbols"] = [sys.intern(s) if isinstance(s, str) else s for s in symbols]
        for key in ("items", "values", "type"):
            if isinstance(schema.get(key), dict | list):
                _intern_names(schema[key])
    return schema


def _resolve_references(
    client: SchemaRegistryClient,
    references: Sequence[SchemaReference],
    named: NamedSchemas,
    seen: set[tuple[str, int]],
) -> None:
    """Parse referenced schemas (depth first) into ``named`` so names resolve."""
    for ref in references:
        key = (ref.subject, ref.version)
        if key in seen:
            continue
        seen.add(key)
        registered = client.get_version(ref.subject, ref.version, deleted=True)
        _resolve_references(client, registered.schema.references, named, seen)
        _parse(
            registered.schema.schema_str,
            named,
            what=f"referenced schema {ref.name} ({ref.subject} v{ref.version})",
        )


def _load(
    schema: SchemaSource,
    *,
    namespace: str | None,
    client: SchemaRegistryClient,
    references: Sequence[SchemaReference],
) -> _LoadedSchema:
    model: type | None = None
    if isinstance(schema, type):
        if not is_model_class(schema):
            raise SchemaError(
                f"{schema!r} is not a dataclass or pydantic model; pass Avro JSON, an .avsc "
                "path or a model class"
            )
        model = schema
        text = json.dumps(schema_for_class(schema, namespace), separators=(",", ":"))
    else:
        text = _confluent_text(_schema_text(schema))
    named: NamedSchemas = {}
    if references:
        _resolve_references(client, references, named, set())
    parsed = _parse(text, named)
    return _LoadedSchema(
        text, parsed, _full_name(parsed), _is_raw_bytes(parsed), model, tuple(references), named
    )


@dataclass(frozen=True, slots=True)
class _WriteTarget:
    """Everything the per-record path needs for one (topic, field)."""

    header: bytes
    parsed: Any
    is_raw_bytes: bool
    subject: str
    schema_id: int
    named: NamedSchemas | None = None
    rules: RuleRunner | None = None  # the WRITE rules of the registry's schema, if any


def _rules_for(
    registered: RegisteredSchema | Any,
    mode: RuleMode,
    subject: str,
    parsed: Any,
    named: NamedSchemas | None,
) -> RuleRunner | None:
    """The compiled rules of a registry schema for ``mode`` (None without any)."""
    schema = registered.schema if isinstance(registered, RegisteredSchema) else registered
    if schema.rule_set is None:
        return None
    walker = avro_field_walker(parsed, named, schema.metadata)
    return compile_rules(
        schema.rule_set, mode, RuleTarget(subject, "AVRO", schema.metadata, walker)
    )


def _check_metadata(use_latest_with_metadata: Mapping[str, str] | None) -> None:
    if use_latest_with_metadata is None:
        return
    if not isinstance(use_latest_with_metadata, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in use_latest_with_metadata.items()
    ):
        raise ValueError(
            "use_latest_with_metadata must map metadata property names to string values, "
            f"got {use_latest_with_metadata!r:.200}"
        )


class AvroSerializer:
    """Objects -> ``00 | schema id | Avro binary`` (a callable ``(obj, ctx) -> bytes``).

    Args:
        client: the registry client (used on the first record per subject only).
        schema: Avro JSON text, a ``.avsc`` path, or a dataclass / pydantic model class
            (its schema is generated, see :mod:`serdes.avro_model`). May be omitted with
            ``use_latest_version``.
        auto_register: register the schema on first use (default True, or False when
            ``use_latest_version``); when False the schema must already be registered.
        use_latest_version: write with the subject's latest registered schema instead.
            Resolved once per subject for the lifetime of this serializer.
        use_latest_with_metadata: write with the newest version of the subject whose
            metadata properties hold all these pairs (confluent-kafka's
            ``use.latest.with.metadata``; takes precedence over ``use_latest_version``).
            With either option the schema's WRITE rules run on each record.
        normalize: ask the registry to normalize the schema (``?normalize=true``).
        subject_name_strategy: ``(ctx, record_name) -> subject``; TopicNameStrategy by
            default (``{topic}-value``).
        namespace: namespace for a schema generated from a class.
        references: named Avro types this schema uses from other subjects.
        to_dict: ``(obj, ctx) -> dict`` overriding the built-in object conversion.

    Accepts dicts, dataclass instances and pydantic models; ``None`` serializes to
    ``None`` (a Kafka tombstone). Thread-safe.
    """

    def __init__(
        self,
        client: SchemaRegistryClient,
        schema: SchemaSource | None = None,
        *,
        auto_register: bool | None = None,
        use_latest_version: bool = False,
        use_latest_with_metadata: Mapping[str, str] | None = None,
        normalize: bool = False,
        subject_name_strategy: SubjectNameStrategy = topic_subject_name_strategy,
        namespace: str | None = None,
        references: Sequence[SchemaReference] = (),
        to_dict: Callable[[Any, SerdeContext | None], Mapping[str, Any]] | None = None,
    ) -> None:
        _check_metadata(use_latest_with_metadata)
        use_latest = use_latest_version or use_latest_with_metadata is not None
        if auto_register is None:
            auto_register = not use_latest
        if auto_register and use_latest:
            raise ValueError(
                "auto_register cannot be set with use_latest_version or use_latest_with_metadata"
            )
        if schema is None and not use_latest:
            raise ValueError(
                "AvroSerializer needs a schema unless use_latest_version=True or "
                "use_latest_with_metadata is given"
            )
        self._use_latest_with_metadata = (
            None if use_latest_with_metadata is None else dict(use_latest_with_metadata)
        )
        self._client = client
        self._auto_register = auto_register
        self._use_latest_version = use_latest
        self._normalize = normalize
        self._strategy = subject_name_strategy
        self._to_dict = to_dict
        self._schema = (
            None
            if schema is None
            else _load(schema, namespace=namespace, client=client, references=references)
        )
        self._converters: dict[type, Callable[[Any], Any]] = {}
        if self._schema is not None and self._schema.model is not None:
            self._converters[self._schema.model] = to_avro_converter(self._schema.model)
        self._writers: dict[tuple[str, str] | None, _Writer] = {}
        self._lock = threading.Lock()

    @property
    def schema_str(self) -> str | None:
        """The schema text this serializer registers (None with only use_latest_version)."""
        return None if self._schema is None else self._schema.schema_str

    def __call__(self, obj: Any, ctx: SerdeContext | None = None) -> bytes | None:
        """Serialize ``obj``; runs on the caller's thread (the producer's ``send()``)."""
        if obj is None:
            return None
        key = None if ctx is None else (ctx.topic, ctx.field)
        write = self._writers.get(key)
        if write is None:
            write = self._resolve(key, ctx)
        return write(obj, ctx)

    def _make_writer(self, target: _WriteTarget) -> _Writer:
        """The per-record function for one (topic, field): everything bound in cells."""
        header = target.header
        parsed = target.parsed
        convert = self._convert
        to_dict = self._to_dict
        new_buffer = io.BytesIO
        write_avro = schemaless_writer
        errors = (TypeError, ValueError, KeyError, AttributeError, OverflowError)

        def record_error(exc: Exception) -> RecordError:
            return RecordError(
                f"record does not match the Avro schema of subject {target.subject!r} "
                f"(id {target.schema_id}): {exc}"
            )

        rules = target.rules
        if target.is_raw_bytes:

            def write_raw(obj: Any, ctx: SerdeContext | None) -> bytes:
                if to_dict is not None:
                    obj = to_dict(obj, ctx)
                if rules is not None:
                    obj = rules(obj)
                return header + _raw_bytes(obj)

            return write_raw

        # the compiled encoder answers for the values it is sure of; for the others it
        # raises and fastavro writes them (or raises the error the user should see)
        encode = compile_encoder(parsed, target.named or {}, header)

        def write_value(value: Any) -> bytes:
            if encode is not None:
                try:
                    return encode(value)
                except Exception:  # Fallback, or a value fastavro must judge
                    pass
            buffer = new_buffer()
            buffer.write(header)
            try:
                write_avro(buffer, parsed, value)
            except errors as exc:
                raise record_error(exc) from exc
            return buffer.getvalue()

        if rules is not None:
            # a schema with WRITE rules: run them on the record dict, then encode. Chosen
            # here, once, so a schema without rules keeps the plain function below.
            encode_plain = write_value

            def write_value(value: Any) -> bytes:
                return encode_plain(rules(value))

        if to_dict is not None:

            def write_mapped(obj: Any, ctx: SerdeContext | None) -> bytes:
                return write_value(to_dict(obj, ctx))

            return write_mapped

        model = None if self._schema is None else self._schema.model
        model_to_dict = None if model is None else self._converters[model]

        def write(obj: Any, ctx: SerdeContext | None) -> bytes:
            cls = type(obj)
            if cls is model:
                obj = model_to_dict(obj)  # type: ignore[misc]
            elif cls is not dict:
                obj = convert(obj)
            return write_value(obj)

        return write

    def _convert(self, obj: Any) -> Any:
        """Models -> dicts, enum members -> symbols; anything else goes to fastavro as is."""
        cls = type(obj)
        converter = self._converters.get(cls)
        if converter is None:
            if is_model_class(cls):
                converter = to_avro_converter(cls)
            elif isinstance(obj, enum.Enum):
                converter = _enum_symbol
            else:
                converter = _identity
            self._converters[cls] = converter
        return converter(obj)

    def _resolve(self, key: tuple[str, str] | None, ctx: SerdeContext | None) -> _Writer:
        """First record for this (topic, field): find the subject's id (HTTP)."""
        with self._lock:
            write = self._writers.get(key)
            if write is not None:
                return write
            record_name = None if self._schema is None else self._schema.full_name
            subject = self._strategy(ctx, record_name)
            if subject is None:
                raise SerializationError(
                    "the subject name strategy returned no subject (a record name is needed "
                    "for RecordNameStrategy: the schema must be a named record)"
                )
            rules: RuleRunner | None = None
            if self._use_latest_version:
                if self._use_latest_with_metadata is not None:
                    latest = self._client.get_latest_with_metadata(
                        subject, self._use_latest_with_metadata
                    )
                else:
                    latest = self._client.get_latest_version(subject)
                loaded = _load(
                    latest.schema.schema_str,
                    namespace=None,
                    client=self._client,
                    references=latest.schema.references,
                )
                schema_id, parsed, raw = latest.schema_id, loaded.parsed, loaded.is_raw_bytes
                named = loaded.named
                rules = _rules_for(latest, RuleMode.WRITE, subject, parsed, named)
            else:
                assert self._schema is not None
                schema = self._schema
                if self._auto_register:
                    schema_id = self._client.register_schema(
                        subject, schema.schema_str, "AVRO", schema.references, self._normalize
                    )
                else:
                    schema_id = self._client.lookup_schema(
                        subject, schema.schema_str, "AVRO", schema.references, self._normalize
                    ).schema_id
                parsed, raw, named = schema.parsed, schema.is_raw_bytes, schema.named
            target = _WriteTarget(
                encode_header(schema_id), parsed, raw, subject, schema_id, named, rules
            )
            write = self._make_writer(target)
            self._writers[key] = write
            return write


def _identity(value: Any) -> Any:
    return value


def _enum_symbol(value: Any) -> Any:
    return value.name


def _raw_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    raise RecordError(f"a 'bytes' schema needs bytes, got {type(value).__qualname__}")


@dataclass(frozen=True, slots=True)
class _ReadPlan:
    """Writer schema (by id) paired with the reader schema; cached per id."""

    schema_id: int
    writer: Any
    reader: Any | None
    is_raw_bytes: bool
    rules: RuleRunner | None = None  # READ rules of the reader (or writer) schema


class AvroDeserializer:
    """``00 | schema id | Avro binary`` -> dict or object (a callable ``(data, ctx)``).

    Args:
        client: the registry client (used on the first record of each schema id only).
        reader_schema: read into this schema (Avro JSON, ``.avsc`` path or a model class)
            instead of the writer's: schema evolution. A model class also makes the
            deserializer return instances of it.
        from_dict: ``(dict, ctx) -> obj``, confluent-kafka's hook, applied last.
        model: dataclass / pydantic class to construct; its generated schema is the
            reader schema unless ``reader_schema`` is given.
        use_latest_version: read into the subject's latest registered schema.
        use_latest_with_metadata: read into the newest version whose metadata properties
            hold all these pairs (confluent-kafka's ``use.latest.with.metadata``).
            The READ rules of the reader schema (this one, the latest, or else the
            writer's) run on each decoded record.
        subject_name_strategy: used with ``use_latest_version`` to find the subject.
        return_record_name: fastavro's option: unions of records return (name, dict).
    """

    def __init__(
        self,
        client: SchemaRegistryClient,
        reader_schema: SchemaSource | None = None,
        *,
        from_dict: FromDict | None = None,
        model: type | None = None,
        use_latest_version: bool = False,
        use_latest_with_metadata: Mapping[str, str] | None = None,
        subject_name_strategy: SubjectNameStrategy = topic_subject_name_strategy,
        namespace: str | None = None,
        return_record_name: bool = False,
    ) -> None:
        _check_metadata(use_latest_with_metadata)
        self._use_latest_with_metadata = (
            None if use_latest_with_metadata is None else dict(use_latest_with_metadata)
        )
        use_latest_version = use_latest_version or use_latest_with_metadata is not None
        if use_latest_version and reader_schema is not None:
            raise ValueError(
                "give either reader_schema or use_latest_version / use_latest_with_metadata"
            )
        self._client = client
        if reader_schema is None and model is not None:
            reader_schema = model
        self._reader = (
            None
            if reader_schema is None
            else _load(reader_schema, namespace=namespace, client=client, references=())
        )
        if model is None and self._reader is not None:
            model = self._reader.model
        if model is not None and from_dict is not None:
            raise ValueError("give either from_dict or a model class, not both")
        self._construct: Callable[[dict[str, Any]], Any] | None = (
            None if model is None else from_avro_converter(model)
        )
        self._from_dict = from_dict
        self._use_latest_version = use_latest_version
        self._strategy = subject_name_strategy
        self._return_record_name = return_record_name
        self._plans: dict[Any, _ReadPlan] = {}
        self._lock = threading.Lock()

    def __call__(self, data: bytes | None, ctx: SerdeContext | None = None) -> Any:
        """Deserialize one framed value; ``None`` (a tombstone) gives ``None``."""
        if data is None:
            return None
        if len(data) < HEADER_SIZE_BYTES or data[0] != 0:
            decode_header(data)  # raises the precise framing error
        schema_id: int = _SCHEMA_ID.unpack_from(data, 1)[0]
        key: Any = schema_id
        if self._use_latest_version:
            key = (schema_id, None if ctx is None else (ctx.topic, ctx.field))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(key, schema_id, ctx)
        if plan.is_raw_bytes:
            value: Any = bytes(data[HEADER_SIZE_BYTES:])
        else:
            buffer = io.BytesIO(data)
            buffer.seek(HEADER_SIZE_BYTES)
            try:
                value = schemaless_reader(
                    buffer,
                    plan.writer,
                    plan.reader,
                    return_record_name=self._return_record_name,
                )
            except SchemaResolutionError as exc:
                raise SchemaEvolutionError(
                    f"data written with schema id {schema_id} cannot be read with the reader "
                    f"schema: {explain_resolution(plan.writer, plan.reader) or exc}"
                ) from exc
            except (EOFError, ValueError, TypeError, IndexError, UnicodeDecodeError) as exc:
                raise SerializationError(
                    f"payload does not decode with writer schema id {schema_id}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        if plan.rules is not None:
            value = plan.rules(value)
        if self._construct is not None:
            try:
                return self._construct(value)
            except (TypeError, ValueError, KeyError) as exc:
                raise RecordError(
                    f"cannot build the model from schema id {schema_id}: {exc}"
                ) from exc
        if self._from_dict is not None:
            return self._from_dict(value, ctx)
        return value

    def _plan(self, key: Any, schema_id: int, ctx: SerdeContext | None) -> _ReadPlan:
        """First record with this writer id: fetch, parse and pair schemas (HTTP)."""
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                return plan
            try:
                writer_schema = self._client.get_schema(schema_id)
            except SchemaNotFoundError as exc:
                raise SchemaNotFoundError(
                    exc.http_status,
                    exc.error_code,
                    f"unknown schema id {schema_id} in the frame: {exc.message}",
                ) from exc
            if writer_schema.schema_type != "AVRO":
                raise SerializationError(
                    f"schema id {schema_id} is a {writer_schema.schema_type} schema, "
                    "not Avro: wrong deserializer for this topic?"
                )
            writer = _load(
                writer_schema.schema_str,
                namespace=None,
                client=self._client,
                references=writer_schema.references,
            )
            reader: Any | None = None if self._reader is None else self._reader.parsed
            rules_schema: Any = writer_schema
            rules_parsed, rules_named = writer.parsed, writer.named
            subject: str | None = None
            if self._use_latest_version:
                subject = self._strategy(ctx, writer.full_name)
                if subject is None:
                    raise SerializationError("the subject name strategy returned no subject")
                if self._use_latest_with_metadata is not None:
                    latest = self._client.get_latest_with_metadata(
                        subject, self._use_latest_with_metadata
                    )
                else:
                    latest = self._client.get_latest_version(subject)
                loaded_reader = _load(
                    latest.schema.schema_str,
                    namespace=None,
                    client=self._client,
                    references=latest.schema.references,
                )
                reader = loaded_reader.parsed
                rules_schema = latest
                rules_parsed, rules_named = loaded_reader.parsed, loaded_reader.named
            elif writer_schema.rule_set is not None and ctx is not None:
                subject = self._strategy(ctx, writer.full_name)
            rules = None
            if self._reader is None:  # a reader schema of our own carries no rules
                rules = _rules_for(
                    rules_schema,
                    RuleMode.READ,
                    subject or f"(schema id {schema_id})",
                    rules_parsed,
                    rules_named,
                )
            if reader is not None and (
                reader == writer.parsed
                or (not self._return_record_name and reads_alike(writer.parsed, reader))
            ):
                # Same values either way: skip fastavro's per-record resolution work.
                reader = None
            plan = _ReadPlan(schema_id, writer.parsed, reader, writer.is_raw_bytes, rules)
            self._plans[key] = plan
            return plan


# -- explaining resolution failures ------------------------------------------------------

_PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"int", "long", "float", "double"}),
    "long": frozenset({"long", "float", "double"}),
    "float": frozenset({"float", "double"}),
    "string": frozenset({"string", "bytes"}),
    "bytes": frozenset({"bytes", "string"}),
}


def _named(schema: Any) -> NamedSchemas:
    if isinstance(schema, dict):
        named = schema.get("__named_schemas")
        if isinstance(named, dict):
            return named
    return {}


def _deref(schema: Any, named: NamedSchemas) -> Any:
    if isinstance(schema, str) and schema not in _PRIMITIVES:
        return named.get(schema, schema)
    return schema


def _type_name(schema: Any) -> str:
    if isinstance(schema, list):
        return "union[" + ", ".join(_type_name(s) for s in schema) + "]"
    if isinstance(schema, dict):
        t = schema.get("type")
        if t in ("record", "enum", "fixed"):
            return f"{t} {schema.get('name')}"
        return str(t)
    return str(schema)


def _short(name: Any) -> str:
    return str(name).rsplit(".", 1)[-1]


def explain_resolution(writer: Any, reader: Any) -> str | None:
    """Name the first field where ``writer`` data cannot be read as ``reader``, or None.

    Follows Avro's schema resolution rules (unqualified names and aliases match named
    types, added reader fields need defaults, numeric promotions, enum symbols).
    """
    if reader is None:
        return None
    return _explain(writer, reader, _named(writer), _named(reader), "")


def _explain(w: Any, r: Any, wn: NamedSchemas, rn: NamedSchemas, path: str) -> str | None:
    w = _deref(w, wn)
    r = _deref(r, rn)
    where = path or "the top-level schema"
    if isinstance(w, list):
        for branch in w:
            problem = _explain(branch, r, wn, rn, path)
            if problem is not None:
                return f"union branch {_type_name(_deref(branch, wn))} at {where}: {problem}"
        return None
    if isinstance(r, list):
        for branch in r:
            if _explain(w, branch, wn, rn, path) is None:
                return None
        return (
            f"field {where}: writer type {_type_name(w)} matches no branch of the reader's "
            f"{_type_name(r)}"
        )
    wt = w.get("type") if isinstance(w, dict) else w
    rt = r.get("type") if isinstance(r, dict) else r
    if wt in _PROMOTIONS or rt in _PROMOTIONS or wt in _PRIMITIVES or rt in _PRIMITIVES:
        if wt == rt or rt in _PROMOTIONS.get(str(wt), frozenset()):
            return None
        return f"field {where}: writer type {_type_name(w)} cannot be read as {_type_name(r)}"
    if wt != rt:
        return f"field {where}: writer type {_type_name(w)} cannot be read as {_type_name(r)}"
    if wt in ("record", "enum", "fixed"):
        names = {_short(r.get("name"))} | {_short(a) for a in r.get("aliases") or ()}
        if _short(w.get("name")) not in names:
            return (
                f"field {where}: writer's {wt} {w.get('name')} does not match the reader's "
                f"{r.get('name')} (names differ, no alias)"
            )
    if wt == "record":
        record = _short(r.get("name"))
        writer_fields = {f["name"]: f for f in w.get("fields", ())}
        for field in r.get("fields", ()):
            field_path = f"{path or record}.{field['name']}"
            candidates = [field["name"], *(field.get("aliases") or ())]
            match = next((writer_fields[c] for c in candidates if c in writer_fields), None)
            if match is None:
                if "default" not in field:
                    return (
                        f"field {field_path}: the reader has it without a default and the "
                        "writer's schema does not have it"
                    )
                continue
            problem = _explain(match["type"], field["type"], wn, rn, field_path)
            if problem is not None:
                return problem
        return None
    if wt == "enum":
        missing = [s for s in w.get("symbols", ()) if s not in r.get("symbols", ())]
        if missing and "default" not in r:
            return (
                f"field {where}: enum {r.get('name')} of the reader lacks writer symbols "
                f"{missing} and has no default"
            )
        return None
    if wt == "fixed":
        if w.get("size") != r.get("size"):
            return f"field {where}: fixed size {w.get('size')} cannot be read as {r.get('size')}"
        return None
    if wt == "array":
        return _explain(w.get("items"), r.get("items"), wn, rn, f"{path}[]")
    if wt == "map":
        return _explain(w.get("values"), r.get("values"), wn, rn, f"{path}{{}}")
    return None


# -- skipping resolution when it cannot change a value -------------------------------------

#: Promotions under which fastavro returns the very same Python value.
_SAME_VALUE_PROMOTIONS = frozenset({("int", "long"), ("float", "double")})
#: Logical types that read to the same Python type whatever their precision.
_LOGICAL_FAMILIES = {
    "timestamp-millis": "timestamp",
    "timestamp-micros": "timestamp",
    "local-timestamp-millis": "local-timestamp",
    "local-timestamp-micros": "local-timestamp",
    "time-millis": "time",
    "time-micros": "time",
}


def reads_alike(writer: Any, reader: Any) -> bool:
    """True when reading with ``writer`` alone yields what resolving into ``reader`` would.

    fastavro resolves writer against reader on every record, which costs more than the
    read itself (3.5 us of 8.8 us for the benchmark's record). A deserializer that reads
    into a model class has a reader schema generated from the class, which differs from
    the writer's in ways that change no value: ``int`` vs ``long``, ``float`` vs
    ``double``, ``timestamp-millis`` vs ``-micros``, enum symbols the reader added,
    namespaces. Conservative: any field added, dropped or renamed, any other type or
    logical type difference, any union whose branches do not pair up one to one, and the
    answer is False and fastavro resolves as usual.
    """
    if reader is None:
        return True
    return _alike(writer, reader, _named(writer), _named(reader), set())


def _logical(schema: Any) -> Any:
    return schema.get("logicalType") if isinstance(schema, dict) else None


def _alike(w: Any, r: Any, wn: NamedSchemas, rn: NamedSchemas, seen: set[tuple[str, str]]) -> bool:
    w = _deref(w, wn)
    r = _deref(r, rn)
    if isinstance(w, list) or isinstance(r, list):
        return (
            isinstance(w, list)
            and isinstance(r, list)
            and len(w) == len(r)
            and all(_alike(a, b, wn, rn, seen) for a, b in zip(w, r, strict=True))
        )
    wt = w.get("type") if isinstance(w, dict) else w
    rt = r.get("type") if isinstance(r, dict) else r
    if not isinstance(wt, str) or not isinstance(rt, str):
        return False
    if wt in ("record", "enum", "fixed"):
        if wt != rt or _short(w.get("name")) != _short(r.get("name")):
            return False
        key = (str(w.get("name")), str(r.get("name")))
        if key in seen:
            return True  # recursive type: assume alike while checking it
        seen.add(key)
        if wt == "record":
            wf = {f["name"]: f["type"] for f in w.get("fields", ())}
            rf = {f["name"]: f["type"] for f in r.get("fields", ())}
            return wf.keys() == rf.keys() and all(
                _alike(wf[name], rf[name], wn, rn, seen) for name in wf
            )
        if wt == "enum":
            return set(w.get("symbols", ())) <= set(r.get("symbols", ()))
        return bool(w.get("size") == r.get("size") and _logical(w) == _logical(r))
    if wt == "array":
        return rt == "array" and _alike(w.get("items"), r.get("items"), wn, rn, seen)
    if wt == "map":
        return rt == "map" and _alike(w.get("values"), r.get("values"), wn, rn, seen)
    if wt not in _PRIMITIVES or rt not in _PRIMITIVES:
        return False  # an unresolved name or an odd nesting: let fastavro decide
    if wt != rt and (wt, rt) not in _SAME_VALUE_PROMOTIONS:
        return False
    wl, rl = _logical(w), _logical(r)
    if wl == rl:
        return wl != "decimal" or bool(
            w.get("precision") == r.get("precision") and w.get("scale") == r.get("scale")
        )
    return wl in _LOGICAL_FAMILIES and _LOGICAL_FAMILIES[wl] == _LOGICAL_FAMILIES.get(rl)
