"""JSON Schema texts -> compiled validators, with references resolved through the registry.

Theory of operation
-------------------
**Loading.** A schema arrives as JSON text, a dict, a ``.json`` path or a model class
(:mod:`serdes.json_model`). :func:`load_schema` turns it into a :class:`JsonSchemaDoc`:
the text the registry is sent (a string is sent as given, as confluent-kafka does; a
dict or a generated schema is dumped compactly with orjson, which is also what
confluent-kafka's encoder uses), the decoded document and its ``title`` (the "record
name" subject name strategies see, as in confluent-kafka).

**Draft.** The ``$schema`` keyword picks the draft; without it, Draft 7, Confluent's
default. The schema is checked against its draft's meta-schema once, when it is
compiled: a bad schema is a :class:`~serdes.errors.SchemaError` before any record.

**References.** A schema registered with references (``{"name": "address.json",
"subject": "address", "version": 1}``) uses ``{"$ref": "address.json"}``. Like
confluent-kafka, each referenced version is fetched (``GET /subjects/{s}/versions/{v}``,
depth first, cached by the client) and added to a :mod:`referencing` registry under the
reference *name*; its own ``$id`` is crawled too, so absolute refs resolve as well.
Unlike confluent-kafka, nothing is ever fetched from the network by URL: a ``$ref`` that
no reference provides fails with a clear error instead of an HTTP GET to wherever the
schema points.

**Compiling.** :func:`compile_validator` builds the jsonschema validator once; the
serializers keep it per schema (writer side) or per schema id (reader side), so the
per-record cost is the validation itself. :func:`first_error` turns jsonschema's
errors into a :class:`~serdes.errors.RecordValidationError` naming the path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError as JsonSchemaMetaError
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT7

from serdes.errors import RecordValidationError, SchemaError
from serdes.json_model import is_model_class, schema_for_class
from serdes.registry_client import SchemaReference, SchemaRegistryClient

__all__ = [
    "JsonSchemaDoc",
    "compile_validator",
    "first_error",
    "load_schema",
    "reference_registry",
    "render_path",
]

JsonSchemaSource = str | Path | dict[str, Any] | bool | type


@dataclass(frozen=True, slots=True)
class JsonSchemaDoc:
    """A JSON Schema ready to register and compile."""

    schema_str: str
    document: Any  # dict, or True/False (boolean schemas)
    title: str | None
    model: type | None = None
    references: tuple[SchemaReference, ...] = ()


def _decode(text: str, what: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise SchemaError(f"{what} is not valid JSON: {exc}") from exc


def _text_of(source: str | Path) -> str:
    if isinstance(source, str) and (
        source.lstrip()[:1] in ("{", "[") or source.strip() in ("true", "false")
    ):
        return source
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8").strip()  # as regcast's CLI registers it
    except OSError as exc:
        raise SchemaError(
            f"schema {str(source)[:80]!r} is neither JSON Schema text nor a readable file: "
            f"{exc.strerror}"
        ) from exc


def load_schema(
    source: JsonSchemaSource, references: Sequence[SchemaReference] = ()
) -> JsonSchemaDoc:
    """Turn any accepted schema source into a :class:`JsonSchemaDoc` (no HTTP)."""
    model: type | None = None
    if isinstance(source, type):
        if not is_model_class(source):
            raise SchemaError(
                f"{source!r} is not a dataclass or pydantic model; pass JSON Schema text, "
                "a dict, a .json path or a model class"
            )
        model = source
        document: Any = schema_for_class(source)
        text = orjson.dumps(document).decode()
    elif isinstance(source, dict | bool):
        document = source
        text = orjson.dumps(document).decode()
    else:
        text = _text_of(source)
        document = _decode(text, "the JSON schema")
    if not isinstance(document, dict | bool):
        raise SchemaError(f"a JSON Schema is an object or a boolean, not {type(document).__name__}")
    title = document.get("title") if isinstance(document, dict) else None
    return JsonSchemaDoc(
        text, document, title if isinstance(title, str) else None, model, tuple(references)
    )


def reference_registry(
    client: SchemaRegistryClient | None,
    references: Sequence[SchemaReference],
    registry: Registry[Any] | None = None,
    seen: set[tuple[str, int]] | None = None,
) -> Registry[Any]:
    """A :mod:`referencing` registry holding every referenced schema (depth first)."""
    registry = Registry() if registry is None else registry
    seen = set() if seen is None else seen
    if references and client is None:
        raise SchemaError("a schema with references needs a registry client to resolve them")
    for ref in references:
        key = (ref.subject, ref.version)
        if key in seen:
            continue
        seen.add(key)
        assert client is not None
        registered = client.get_version(ref.subject, ref.version, deleted=True)
        registry = reference_registry(client, registered.schema.references, registry, seen)
        what = f"referenced schema {ref.name!r} ({ref.subject} v{ref.version})"
        contents = _decode(registered.schema.schema_str, what)
        try:
            resource: Resource[Any] = Resource.from_contents(contents, default_specification=DRAFT7)
        except Exception as exc:  # referencing raises CannotDetermineSpecification etc.
            raise SchemaError(f"{what} is not a JSON Schema: {exc}") from exc
        registry = registry.with_resource(ref.name, resource)
    return registry.crawl()


def compile_validator(
    document: Any, registry: Registry[Any], *, what: str = "the JSON schema"
) -> Validator:
    """The validator for ``document``'s draft (Draft 7 without ``$schema``), checked once."""
    try:
        cls = validator_for(document, default=Draft7Validator)
    except Exception as exc:  # an unknown $schema URI
        raise SchemaError(f"{what} names an unknown draft: {exc}") from exc
    try:
        cls.check_schema(document)
    except JsonSchemaMetaError as exc:
        where = render_path(exc.absolute_path)
        raise SchemaError(
            f"{what} is not a valid {cls.__name__.removesuffix('Validator')} schema "
            f"at {where}: {exc.message}"
        ) from exc
    validator: Validator = cls(document, registry=registry)
    return validator


def render_path(path: Sequence[Any]) -> str:
    """``$.lines[0].quantity`` from jsonschema's deque of keys and indexes."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            out.append(f".{part}")
    return "".join(out)


def first_error(
    validator: Validator,
    value: Any,
    *,
    subject: str | None,
    schema_id: int | None,
    side: str,
) -> RecordValidationError | None:
    """None when ``value`` is valid, else the most relevant error as ours.

    A clean record costs one pass of ``iter_errors`` that stops at nothing; only a bad
    one pays for ``best_match`` over all its errors.
    """
    try:
        errors = validator.iter_errors(value)
        first = next(errors, None)
        if first is None:
            return None
        error: ValidationError = best_match([first, *errors]) or first
    except (Unresolvable, NoSuchResource) as exc:
        return RecordValidationError(
            f"{side}: the JSON schema{_where(subject, schema_id)} has a $ref that no "
            f"schema reference provides: {exc}",
            path="$",
            schema_path="$ref",
            subject=subject,
            schema_id=schema_id,
        )
    path = render_path(error.absolute_path)
    schema_path = "/".join(str(p) for p in error.absolute_schema_path)
    return RecordValidationError(
        f"{side}: record does not match the JSON schema{_where(subject, schema_id)} "
        f"at {path}: {error.message}",
        path=path,
        schema_path=schema_path,
        subject=subject,
        schema_id=schema_id,
    )


def _where(subject: str | None, schema_id: int | None) -> str:
    if subject is None and schema_id is None:
        return ""
    if subject is None:
        return f" (id {schema_id})"
    if schema_id is None:
        return f" of subject {subject!r}"
    return f" of subject {subject!r} (id {schema_id})"
