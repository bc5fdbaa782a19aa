"""JSON Schema serializer and deserializer in Confluent's wire format.

Theory of operation
-------------------
**Bytes.** ``00 | schema id (4 bytes, big-endian) | UTF-8 JSON``, exactly as
confluent-kafka's ``JSONSerializer`` writes them; the JSON is orjson's compact form,
which is also what confluent-kafka writes when orjson is installed (it is a regcast
dependency), so both produce the same bytes for the same dict.

**Serializer.** The schema (JSON text, a dict, a ``.json`` path, or a dataclass /
pydantic model class, see :mod:`serdes.json_model`) is loaded and compiled into a
jsonschema validator once, in the constructor (:mod:`serdes.json_validation`). The
first record for each (topic, key|value) asks the subject name strategy for a subject
(the record name is the schema's ``title``, as in confluent-kafka) and the registry for
an id: register (``auto_register``), look up, or take the subject's latest version
(``use_latest_version``, whose schema then also validates). After that a record costs
a dict lookup, the object-to-JSON conversion for models, the validation (``validate``,
on by default as in confluent-kafka) and one ``orjson.dumps``.

**Deserializer.** The header gives the writer's schema id; the first record with an id
fetches that schema (checking it is JSON), resolves its references and compiles the
validator for the *reader* schema: the subject's latest version
(``use_latest_version``), else the schema given to the constructor, else the writer's,
the order confluent-kafka uses. Plans are cached per id, so later records cost
``orjson.loads``, the validation (``validate=True`` by default), and the optional
``from_dict`` hook or model construction. With ``validate=False`` and a model class, the
bytes go straight to pydantic's JSON parser.

Errors: :class:`~serdes.errors.RecordValidationError` (a
:class:`~serdes.errors.RecordError`) names the path that failed and the subject / id;
:class:`~serdes.errors.SchemaError` for a schema that is not valid for its draft.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from jsonschema.protocols import Validator

from serdes.context import SerdeContext
from serdes.errors import RecordError, SchemaNotFoundError, SerializationError
from serdes.json_model import (
    from_json_bytes_converter,
    from_json_converter,
    is_model_class,
    to_json_converter,
)
from serdes.json_validation import (
    JsonSchemaDoc,
    JsonSchemaSource,
    compile_validator,
    first_error,
    load_schema,
    reference_registry,
)
from serdes.naming import SubjectNameStrategy, topic_subject_name_strategy
from serdes.registry_client import Schema, SchemaReference, SchemaRegistryClient
from serdes.wire import HEADER_SIZE_BYTES, decode_header, encode_header

__all__ = ["JSONDeserializer", "JSONSerializer"]

FromDict = Callable[[Any, SerdeContext | None], Any]
ToDict = Callable[[Any, SerdeContext | None], Any]

_SCHEMA_ID = struct.Struct(">I")
_JSON = "JSON"


def _compile(doc: JsonSchemaDoc, client: SchemaRegistryClient | None, what: str) -> Validator:
    return compile_validator(doc.document, reference_registry(client, doc.references), what=what)


@dataclass(frozen=True, slots=True)
class _WriteTarget:
    """Everything the per-record path needs for one (topic, field)."""

    header: bytes
    validator: Validator | None
    subject: str
    schema_id: int


class JSONSerializer:
    """Objects -> ``00 | schema id | UTF-8 JSON`` (a callable ``(obj, ctx) -> bytes``).

    Args:
        client: the registry client (used on the first record per subject only).
        schema: JSON Schema text, a dict, a ``.json`` path, or a dataclass / pydantic
            model class (its schema is pydantic's). May be omitted with
            ``use_latest_version``.
        auto_register: register the schema on first use (``auto.register.schemas``;
            default True, or False with ``use_latest_version``).
        use_latest_version: write with (and validate against) the subject's latest
            version (``use.latest.version``). Resolved once per subject.
        normalize: ``?normalize=true`` on register and lookup (``normalize.schemas``).
        subject_name_strategy: ``(ctx, record_name) -> subject`` (``subject.name.strategy``);
            the record name is the schema's ``title``.
        references: schemas of other subjects this one ``$ref``s by reference name.
        validate: validate every record against the schema first (``validate``, default
            True): a bad record raises :class:`~serdes.errors.RecordValidationError`.
        to_dict: ``(obj, ctx) -> JSON value``, replacing the built-in conversion.

    Accepts dicts (and any JSON value), dataclass instances and pydantic models; ``None``
    serializes to ``None`` (a tombstone). Thread-safe.
    """

    def __init__(
        self,
        client: SchemaRegistryClient,
        schema: JsonSchemaSource | None = None,
        *,
        auto_register: bool | None = None,
        use_latest_version: bool = False,
        normalize: bool = False,
        subject_name_strategy: SubjectNameStrategy = topic_subject_name_strategy,
        references: Sequence[SchemaReference] = (),
        validate: bool = True,
        to_dict: ToDict | None = None,
    ) -> None:
        if auto_register is None:
            auto_register = not use_latest_version
        if auto_register and use_latest_version:
            raise ValueError("auto_register and use_latest_version cannot both be set")
        if schema is None and not use_latest_version:
            raise ValueError("JSONSerializer needs a schema unless use_latest_version=True")
        self._client = client
        self._auto_register = auto_register
        self._use_latest_version = use_latest_version
        self._normalize = normalize
        self._strategy = subject_name_strategy
        self._validate = validate
        self._to_dict = to_dict
        self._schema = None if schema is None else load_schema(schema, references)
        self._validator: Validator | None = None
        if self._schema is not None and validate:
            self._validator = _compile(self._schema, client, "the serializer's JSON schema")
        self._converters: dict[type, Callable[[Any], Any]] = {}
        self._targets: dict[tuple[str, str] | None, _WriteTarget] = {}
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
        target = self._targets.get(key)
        if target is None:
            target = self._resolve(key, ctx)
        if self._to_dict is not None:
            value = self._to_dict(obj, ctx)
        elif type(obj) is dict:
            value = obj
        else:
            value = self._convert(obj)
        if target.validator is not None:
            error = first_error(
                target.validator,
                value,
                subject=target.subject,
                schema_id=target.schema_id,
                side="cannot serialize",
            )
            if error is not None:
                raise error
        try:
            return target.header + orjson.dumps(value)
        except TypeError as exc:  # orjson: a type it cannot write (a set, a custom object)
            raise RecordError(
                f"record for subject {target.subject!r} is not JSON-serializable: {exc}"
            ) from exc

    def _convert(self, obj: Any) -> Any:
        """Models -> JSON values (a converter per class); other values pass as they are."""
        cls = type(obj)
        convert = self._converters.get(cls)
        if convert is None:
            convert = to_json_converter(cls) if is_model_class(cls) else _identity
            self._converters[cls] = convert
        return convert(obj)

    def _resolve(self, key: tuple[str, str] | None, ctx: SerdeContext | None) -> _WriteTarget:
        """First record for this (topic, field): find the subject's id (HTTP)."""
        with self._lock:
            target = self._targets.get(key)
            if target is not None:
                return target
            record_name = None if self._schema is None else self._schema.title
            subject = self._strategy(ctx, record_name)
            if subject is None:
                raise SerializationError(
                    "the subject name strategy returned no subject (RecordNameStrategy "
                    "needs a JSON schema with a title)"
                )
            validator = self._validator
            if self._use_latest_version:
                latest = self._client.get_latest_version(subject)
                if latest.schema.schema_type != _JSON:
                    raise SerializationError(
                        f"the latest version of subject {subject!r} is a "
                        f"{latest.schema.schema_type} schema, not JSON"
                    )
                schema_id = latest.schema_id
                if self._validate:
                    doc = load_schema(latest.schema.schema_str, latest.schema.references)
                    validator = _compile(
                        doc, self._client, f"the latest schema of subject {subject!r}"
                    )
            else:
                assert self._schema is not None
                schema = self._schema
                if self._auto_register:
                    schema_id = self._client.register_schema(
                        subject, schema.schema_str, _JSON, schema.references, self._normalize
                    )
                else:
                    schema_id = self._client.lookup_schema(
                        subject, schema.schema_str, _JSON, schema.references, self._normalize
                    ).schema_id
            target = _WriteTarget(encode_header(schema_id), validator, subject, schema_id)
            self._targets[key] = target
            return target


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class _ReadPlan:
    """What to do with records of one writer id: the reader validator (or none)."""

    schema_id: int
    validator: Validator | None
    subject: str | None


class JSONDeserializer:
    """``00 | schema id | UTF-8 JSON`` -> a JSON value or object (a callable ``(data, ctx)``).

    Args:
        client: the registry client, used on the first record of each schema id to fetch
            the writer schema. May be ``None`` when ``schema`` is given: records are then
            validated against that schema only and ids are not checked.
        schema: the reader schema (text, dict, ``.json`` path or model class) to validate
            against instead of the writer's. A model class also makes the deserializer
            return instances of it.
        from_dict: ``(value, ctx) -> obj``, confluent-kafka's hook, applied last.
        model: dataclass / pydantic class to build from each record.
        use_latest_version: validate against the subject's latest version
            (``use.latest.version``).
        subject_name_strategy: finds the subject with ``use_latest_version``.
        validate: validate each record (``validate``, default True as confluent-kafka).
    """

    def __init__(
        self,
        client: SchemaRegistryClient | None,
        schema: JsonSchemaSource | None = None,
        *,
        from_dict: FromDict | None = None,
        model: type | None = None,
        use_latest_version: bool = False,
        subject_name_strategy: SubjectNameStrategy = topic_subject_name_strategy,
        references: Sequence[SchemaReference] = (),
        validate: bool = True,
    ) -> None:
        if client is None and schema is None:
            raise ValueError("JSONDeserializer needs a registry client or a schema")
        if client is None and use_latest_version:
            raise ValueError("use_latest_version needs a registry client")
        if use_latest_version and schema is not None:
            raise ValueError("give either schema or use_latest_version, not both")
        if model is None and isinstance(schema, type):
            model = schema
        if model is not None and from_dict is not None:
            raise ValueError("give either from_dict or a model class, not both")
        self._client = client
        self._reader = None if schema is None else load_schema(schema, references)
        self._reader_validator: Validator | None = None
        if self._reader is not None and validate:
            self._reader_validator = _compile(
                self._reader, client, "the deserializer's JSON schema"
            )
        self._construct = None if model is None else from_json_converter(model)
        self._construct_bytes = (
            None if model is None or validate else from_json_bytes_converter(model)
        )
        self._from_dict = from_dict
        self._use_latest_version = use_latest_version
        self._strategy = subject_name_strategy
        self._validate = validate
        self._plans: dict[Any, _ReadPlan] = {}
        self._lock = threading.Lock()

    def __call__(
        self, data: bytes | bytearray | memoryview | None, ctx: SerdeContext | None = None
    ) -> Any:
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
        payload = memoryview(data)[HEADER_SIZE_BYTES:]
        if self._construct_bytes is not None:
            return self._construct_bytes(payload)
        try:
            value = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise SerializationError(
                f"payload of schema id {schema_id} is not valid UTF-8 JSON: {exc}"
            ) from exc
        if plan.validator is not None:
            error = first_error(
                plan.validator,
                value,
                subject=plan.subject,
                schema_id=schema_id,
                side="cannot deserialize",
            )
            if error is not None:
                raise error
        if self._construct is not None:
            return self._construct(value)
        if self._from_dict is not None:
            return self._from_dict(value, ctx)
        return value

    def _plan(self, key: Any, schema_id: int, ctx: SerdeContext | None) -> _ReadPlan:
        """First record with this writer id: fetch the writer schema, pick the reader."""
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                return plan
            client = self._client
            validator = self._reader_validator
            subject: str | None = None
            if client is not None:
                writer = self._writer_schema(client, schema_id)
                if self._use_latest_version:
                    title = load_schema(writer.schema_str).title
                    subject = self._strategy(ctx, title)
                    if subject is None:
                        raise SerializationError("the subject name strategy returned no subject")
                    latest = client.get_latest_version(subject)
                    if self._validate:
                        doc = load_schema(latest.schema.schema_str, latest.schema.references)
                        validator = _compile(
                            doc, client, f"the latest schema of subject {subject!r}"
                        )
                elif self._reader is None and self._validate:
                    doc = load_schema(writer.schema_str, writer.references)
                    validator = _compile(doc, client, f"the writer schema (id {schema_id})")
            plan = _ReadPlan(schema_id, validator, subject)
            self._plans[key] = plan
            return plan

    @staticmethod
    def _writer_schema(client: SchemaRegistryClient, schema_id: int) -> Schema:
        try:
            writer = client.get_schema(schema_id)
        except SchemaNotFoundError as exc:
            raise SchemaNotFoundError(
                exc.http_status,
                exc.error_code,
                f"unknown schema id {schema_id} in the frame: {exc.message}",
            ) from exc
        if writer.schema_type != _JSON:
            raise SerializationError(
                f"schema id {schema_id} is a {writer.schema_type} schema, not JSON: "
                "wrong deserializer for this topic?"
            )
        return writer
