"""Register a schema file, and for ``.proto`` files every import it needs, in order.

Used by ``regcast register``, ``regcast produce`` and ``regcast demo``. Avro and JSON
Schema files are registered as their text (JSON Schema ``$ref``s to other files are not
followed: such a schema is registered as written and must resolve on its own).
Protobuf imports are registered depth first under their subject (``regcast.toml``, else
the import path, as :class:`serdes.ProtobufSerializer` and confluent-kafka do) and
referenced by the version that holds them, so the registry's answer for the top file is
exactly what a producer using the same file would get.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from regcast.config import ConfigError, RegcastConfig, SchemaType, schema_type_for
from regcast.json_schema_files import JsonSchemaFile, load_json_schema
from regcast.schema_files import (
    AvroFile,
    ProtoFile,
    SchemaFileError,
    SchemaProblem,
    compile_protos,
    load_avro,
)
from serdes import SchemaReference, SchemaRegistryClient

__all__ = ["Registered", "load_schema_file", "register_file"]


@dataclass(frozen=True, slots=True)
class Registered:
    """One schema now in the registry: which file, under which subject, id and version."""

    file: str
    subject: str
    schema_id: int
    version: int
    schema_type: SchemaType


def load_schema_file(
    path: Path, config: RegcastConfig, schema_type: str | None = None
) -> AvroFile | ProtoFile | JsonSchemaFile:
    """Parse one schema file; :class:`SchemaFileError` (with lines) when it does not.

    A path that is not a file is a usage error (:class:`ConfigError`), not a bad schema.
    """
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    entry = config.entry_for(path)
    kind = schema_type_for(path, schema_type or (entry.schema_type if entry else None))
    if kind is SchemaType.AVRO:
        return load_avro(path)
    if kind is SchemaType.JSON:
        return load_json_schema(path)
    compilation = compile_protos([path], config.proto_include)
    compiled = compilation.files.get(path.resolve())
    if compiled is None:
        problems = compilation.problems.get(path.resolve()) or [
            SchemaProblem("protoc failed without a diagnostic")
        ]
        raise SchemaFileError(path, problems)
    return compiled


def _dependency_subject(proto: ProtoFile, config: RegcastConfig) -> str:
    entry = config.entry_for(proto.path) if proto.path is not None else None
    return entry.subject if entry is not None else proto.import_name


def _register_proto(
    client: SchemaRegistryClient,
    proto: ProtoFile,
    subject: str,
    config: RegcastConfig,
    normalize: bool,
    out: list[Registered],
    done: dict[str, SchemaReference],
) -> int:
    refs: list[SchemaReference] = []
    for dep in proto.descriptor.dependencies:
        if dep.name not in proto.dependencies:
            continue  # well known
        ref = done.get(dep.name)
        if ref is None:
            # The locator only serves error reports, which registration does not make.
            dep_file = ProtoFile(
                _disk_path(proto, dep.name), dep.name, dep, proto.locator, proto.pool
            )
            dep_subject = _dependency_subject(dep_file, config)
            _register_proto(client, dep_file, dep_subject, config, normalize, out, done)
            ref = done[dep.name]
        refs.append(ref)
    schema_id = client.register_schema(subject, proto.schema_str, "PROTOBUF", refs, normalize)
    version = client.lookup_schema(subject, proto.schema_str, "PROTOBUF", refs, normalize).version
    done[proto.import_name] = SchemaReference(proto.import_name, subject, version)
    out.append(
        Registered(
            str(proto.path) if proto.path is not None else proto.import_name,
            subject,
            schema_id,
            version,
            SchemaType.PROTOBUF,
        )
    )
    return schema_id


def _disk_path(proto: ProtoFile, import_name: str) -> Path | None:
    """Where ``import_name`` lives, found from the importing file's location."""
    if proto.path is None:
        return None
    depth = proto.import_name.count("/")
    root = proto.path.parents[depth] if depth < len(proto.path.parents) else proto.path.parent
    candidate = (root / import_name).resolve()
    return candidate if candidate.is_file() else None


def register_file(
    client: SchemaRegistryClient,
    schema: AvroFile | ProtoFile | JsonSchemaFile,
    subject: str,
    config: RegcastConfig,
    *,
    normalize: bool = False,
) -> list[Registered]:
    """Register ``schema`` under ``subject`` (imports first); everything registered, in order.

    Registry errors propagate (:class:`serdes.errors.IncompatibleSchemaError` and friends).
    """
    out: list[Registered] = []
    if isinstance(schema, AvroFile | JsonSchemaFile):
        kind = schema.schema_type
        schema_id = client.register_schema(subject, schema.schema_str, kind, (), normalize)
        version = client.lookup_schema(subject, schema.schema_str, kind, (), normalize).version
        out.append(Registered(str(schema.path), subject, schema_id, version, kind))
        return out
    _register_proto(client, schema, subject, config, normalize, out, {})
    return out
