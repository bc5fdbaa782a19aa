"""Serializers that frame records with a schema id instead of the schema.

Confluent's wire format: magic byte 0, a 4-byte big-endian schema id, (for Protobuf)
the message-index array, then the payload. ``serdes`` speaks HTTP to any
Confluent-compatible registry and never imports ``registry_service``.

Modules: :mod:`serdes.wire` (framing), :mod:`serdes.registry_client` (httpx client,
caches, retries), :mod:`serdes.auth` (bearer tokens: static or OIDC client
credentials), :mod:`serdes.avro` and :mod:`serdes.avro_model` (fastavro; schemas
from dataclasses / pydantic models), :mod:`serdes.protobuf`, :mod:`serdes.json_schema`,
:mod:`serdes.json_validation` and :mod:`serdes.json_model` (jsonschema validation;
schemas from pydantic), :mod:`serdes.data_contracts` and :mod:`serdes.rules` (metadata,
rule sets, CEL rules run on write and read), :mod:`serdes.naming` (subject name
strategies), :mod:`serdes.context`, :mod:`serdes.errors`.

Serializers and deserializers are callables ``(obj, ctx)``; ``ctx`` is a
:class:`SerializationContext` or confluent-kafka's, interchangeably.
"""

from importlib import metadata as _metadata

from serdes.auth import OidcClientCredentials, StaticToken
from serdes.avro import AvroDeserializer, AvroSerializer
from serdes.avro_model import AvroDecimal
from serdes.context import MessageField, SerializationContext
from serdes.data_contracts import Metadata, Rule, RuleKind, RuleMode, RuleSet
from serdes.errors import RegistryError, RuleConditionError, RuleError, SerializationError
from serdes.json_schema import JSONDeserializer, JSONSerializer
from serdes.naming import (
    record_subject_name_strategy,
    topic_record_subject_name_strategy,
    topic_subject_name_strategy,
)
from serdes.protobuf import ProtobufDeserializer, ProtobufSerializer
from serdes.registry_client import (
    AsyncSchemaRegistryClient,
    RegisteredSchema,
    Schema,
    SchemaReference,
    SchemaRegistryClient,
)

try:
    __version__ = _metadata.version("regcast")  # one distribution holds all four packages
except _metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
    __version__ = "0.0.0"

__all__ = [
    "AsyncSchemaRegistryClient",
    "AvroDecimal",
    "AvroDeserializer",
    "AvroSerializer",
    "JSONDeserializer",
    "JSONSerializer",
    "MessageField",
    "Metadata",
    "OidcClientCredentials",
    "ProtobufDeserializer",
    "ProtobufSerializer",
    "RegisteredSchema",
    "RegistryError",
    "Rule",
    "RuleConditionError",
    "RuleError",
    "RuleKind",
    "RuleMode",
    "RuleSet",
    "Schema",
    "SchemaReference",
    "SchemaRegistryClient",
    "SerializationContext",
    "SerializationError",
    "StaticToken",
    "record_subject_name_strategy",
    "topic_record_subject_name_strategy",
    "topic_subject_name_strategy",
]
