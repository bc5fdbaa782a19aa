"""``regcast.toml``: which registry subject each schema file belongs to.

The file sits at the root of a repository that keeps its schemas in git, so that
``regcast check`` in CI and ``regcast demo`` locally agree on the mapping. Format::

    [registry]
    url = "http://127.0.0.1:8081"        # optional default registry

    [protobuf]
    include = ["schemas/protobuf"]       # import roots for .proto files (protoc -I)

    [[schemas]]
    file = "schemas/avro/order.avsc"     # relative to regcast.toml
    subject = "orders-avro-value"
    type = "avro"                        # optional; inferred from .avsc / .proto, and
                                         # .json with a "$schema" key (json)
    message = "regcast.demo.Order"       # optional, .proto only: the message produced

    [kafka]                              # optional: the producer's security settings
    security_protocol = "SASL_SSL"       # (no secrets: see regcast.kafka_settings)
    sasl_mechanism = "SCRAM-SHA-512"

Files not listed get a subject by convention (:func:`conventional_subject`). Every
error names the file and the entry, and is raised as :class:`ConfigError`.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from regcast.kafka_settings import KafkaTableError, parse_kafka_table

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "DEFAULT_REGISTRY_URL",
    "ConfigError",
    "RegcastConfig",
    "SchemaEntry",
    "SchemaType",
    "conventional_subject",
    "declares_json_schema",
    "find_config",
    "load_config",
    "schema_type_for",
]

DEFAULT_CONFIG_NAME = "regcast.toml"
DEFAULT_REGISTRY_URL = "http://127.0.0.1:8081"
REGISTRY_URL_ENV = "REGCAST_REGISTRY_URL"


class ConfigError(ValueError):
    """regcast.toml (or a command-line choice it backs) is wrong; the message says where."""


class SchemaType(StrEnum):
    """Schema types the CLI handles; values are the registry's ``schemaType`` names."""

    AVRO = "AVRO"
    PROTOBUF = "PROTOBUF"
    JSON = "JSON"

    @classmethod
    def from_name(cls, name: str) -> SchemaType:
        try:
            return cls(name.upper())
        except ValueError:
            raise ConfigError(f"unknown schema type {name!r}: use avro, protobuf or json") from None


_SUFFIX_TYPES = {".avsc": SchemaType.AVRO, ".proto": SchemaType.PROTOBUF}


def declares_json_schema(path: Path) -> bool:
    """A JSON object with a ``$schema`` key (see :mod:`regcast.json_schema_files`)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(document, dict) and "$schema" in document


def schema_type_for(path: Path, explicit: str | None = None) -> SchemaType:
    """The schema type of ``path``: the explicit choice, else from ``.avsc`` / ``.proto``,
    else JSON for a ``.json`` file whose object has a ``$schema`` key.

    Other ``.json`` files are refused: most are data, not schemas, so the user says so.
    """
    if explicit:
        return SchemaType.from_name(explicit)
    suffix = path.suffix.lower()
    if suffix == ".json":
        if declares_json_schema(path):
            return SchemaType.JSON
        raise ConfigError(
            f"cannot tell the schema type of {path}: a .json file is taken as JSON Schema "
            'when its object has a "$schema" key; add one (e.g. "$schema": '
            '"http://json-schema.org/draft-07/schema#") or pass --type json'
        )
    found = _SUFFIX_TYPES.get(suffix)
    if found is None:
        raise ConfigError(
            f"cannot tell the schema type of {path}: name it .avsc, .proto or .json, or pass --type"
        )
    return found


def conventional_subject(path: Path) -> str:
    """``orders-value.avsc`` -> ``orders-value``; ``order.avsc`` -> ``order-value``.

    TopicNameStrategy names a topic's value subject ``<topic>-value``: a file named after
    its subject maps to it, any other file is taken as the value schema of its stem.
    """
    stem = path.stem
    if stem.endswith(("-value", "-key")):
        return stem
    return f"{stem}-value"


@dataclass(frozen=True, slots=True)
class SchemaEntry:
    """One ``[[schemas]]`` entry, its path resolved against the config file's folder."""

    path: Path
    subject: str
    schema_type: SchemaType
    message: str | None = None


@dataclass(frozen=True)
class RegcastConfig:
    """The parsed file (or the empty default when there is none)."""

    source: Path | None = None
    registry_url: str | None = None
    proto_include: tuple[Path, ...] = ()
    schemas: tuple[SchemaEntry, ...] = ()
    #: ``[kafka]``: non-secret security settings by regcast.toml name (paths resolved)
    kafka: Mapping[str, Any] = field(default_factory=dict)
    _by_path: Mapping[Path, SchemaEntry] = field(default_factory=dict, repr=False)

    @property
    def root(self) -> Path:
        """Folder relative paths are resolved against."""
        return self.source.parent if self.source is not None else Path.cwd()

    def entry_for(self, path: Path) -> SchemaEntry | None:
        return self._by_path.get(path.resolve())

    def effective_registry_url(self, given: str | None) -> str:
        """--registry, else $REGCAST_REGISTRY_URL, else [registry] url, else the default."""
        return (
            given or os.environ.get(REGISTRY_URL_ENV) or self.registry_url or DEFAULT_REGISTRY_URL
        ).rstrip("/")


def find_config(start: Path | None = None) -> Path | None:
    """``regcast.toml`` in ``start`` (default: cwd) or the nearest parent folder."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def _str(table: Mapping[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{where}: missing {key!r}")
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value


def load_config(path: Path | None) -> RegcastConfig:
    """Parse ``path``; ``None`` gives the empty config (conventions only)."""
    if path is None:
        return RegcastConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    root = path.resolve().parent
    known = {"registry", "protobuf", "schemas", "kafka"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown table(s) {unknown}; expected {sorted(known)}")

    registry = data.get("registry", {})
    if not isinstance(registry, dict):
        raise ConfigError(f"{path}: [registry] must be a table")
    registry_url = _str(registry, "url", f"{path} [registry]", required=False)

    protobuf = data.get("protobuf", {})
    if not isinstance(protobuf, dict):
        raise ConfigError(f"{path}: [protobuf] must be a table")
    include_raw = protobuf.get("include", [])
    if not isinstance(include_raw, list) or not all(isinstance(i, str) for i in include_raw):
        raise ConfigError(f"{path} [protobuf]: 'include' must be a list of folder paths")
    include = tuple((root / i).resolve() for i in include_raw)

    kafka_table = data.get("kafka", {})
    if not isinstance(kafka_table, dict):
        raise ConfigError(f"{path}: [kafka] must be a table")
    try:
        kafka = parse_kafka_table(kafka_table, f"{path} [kafka]", root)
    except KafkaTableError as exc:
        raise ConfigError(str(exc)) from None

    raw_entries = data.get("schemas", [])
    if not isinstance(raw_entries, list):
        raise ConfigError(f"{path}: schemas must be an array of tables ([[schemas]])")
    entries: list[SchemaEntry] = []
    by_path: dict[Path, SchemaEntry] = {}
    for index, raw in enumerate(raw_entries):
        where = f"{path} [[schemas]] #{index + 1}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: must be a table")
        extra = sorted(set(raw) - {"file", "subject", "type", "message"})
        if extra:
            raise ConfigError(f"{where}: unknown key(s) {extra}")
        file = _str(raw, "file", where, required=True)
        subject = _str(raw, "subject", where, required=True)
        assert file is not None and subject is not None
        resolved = (root / file).resolve()
        try:
            schema_type = schema_type_for(resolved, _str(raw, "type", where, required=False))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        message = _str(raw, "message", where, required=False)
        if message is not None and schema_type is not SchemaType.PROTOBUF:
            raise ConfigError(f"{where}: 'message' only applies to .proto files")
        if resolved in by_path:
            raise ConfigError(f"{where}: {file} is listed twice")
        entry = SchemaEntry(resolved, subject, schema_type, message)
        entries.append(entry)
        by_path[resolved] = entry
    return RegcastConfig(
        source=path.resolve(),
        registry_url=registry_url,
        proto_include=include,
        schemas=tuple(entries),
        kafka=kafka,
        _by_path=by_path,
    )
