"""JSON Schemas from Python classes, and the converters between objects and JSON values.

Theory of operation
-------------------
pydantic already knows how a class looks in JSON, so this module does not map types
itself (unlike :mod:`serdes.avro_model`): it asks pydantic, once per class.

- :func:`schema_for_class` is the model's own ``model_json_schema()`` (for a dataclass,
  ``TypeAdapter(cls).json_schema()``), with ``$schema`` set to draft 2020-12, the draft
  pydantic writes (``$defs``, ``prefixItems``). Field aliases are used, as pydantic does.
- :func:`to_json_converter` returns ``obj -> JSON value``: pydantic's ``model_dump`` /
  ``dump_python`` in ``mode="json"`` with aliases, so datetimes, UUIDs, decimals and
  enums become the strings and numbers the generated schema describes.
- :func:`from_json_converter` returns ``JSON value -> obj`` through pydantic validation
  (``model_validate`` / ``validate_python``); :func:`from_json_bytes_converter` parses
  and builds in one pydantic call, used when the deserializer does not validate against
  the schema and so never needs the intermediate dict.

The converters are built once per class and cached; the per-record work is one pydantic
call (Rust underneath).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from serdes.errors import RecordError, SchemaError

__all__ = [
    "DRAFT_2020_12",
    "from_json_bytes_converter",
    "from_json_converter",
    "is_model_class",
    "schema_for_class",
    "to_json_converter",
]

#: The ``$schema`` pydantic's generated schemas follow.
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

ToJson = Callable[[Any], Any]
FromJson = Callable[[Any], Any]
FromJsonBytes = Callable[[bytes | bytearray | memoryview], Any]

_adapters: dict[type, TypeAdapter[Any]] = {}
_adapters_lock = threading.Lock()


def is_model_class(cls: object) -> bool:
    """True for dataclass types and pydantic model classes."""
    return isinstance(cls, type) and (dataclasses.is_dataclass(cls) or issubclass(cls, BaseModel))


def _adapter(cls: type) -> TypeAdapter[Any]:
    """One TypeAdapter per dataclass (building one compiles a pydantic-core schema)."""
    adapter = _adapters.get(cls)
    if adapter is None:
        with _adapters_lock:
            adapter = _adapters.get(cls)
            if adapter is None:
                adapter = TypeAdapter(cls)
                _adapters[cls] = adapter
    return adapter


def schema_for_class(cls: type) -> dict[str, Any]:
    """The JSON Schema pydantic generates for a dataclass or pydantic model class."""
    if not is_model_class(cls):
        raise SchemaError(f"{cls!r} is not a dataclass or pydantic model class")
    try:
        if issubclass(cls, BaseModel):
            generated = cls.model_json_schema()
        else:
            generated = _adapter(cls).json_schema()
    except Exception as exc:  # pydantic raises PydanticUserError, TypeError, ...
        raise SchemaError(f"cannot generate a JSON Schema for {cls.__qualname__}: {exc}") from exc
    return {"$schema": DRAFT_2020_12, **generated}


def to_json_converter(cls: type) -> ToJson:
    """``obj -> JSON value`` for instances of ``cls`` (pydantic's JSON mode, by alias)."""
    if isinstance(cls, type) and issubclass(cls, BaseModel):

        def dump_model(obj: Any) -> Any:
            return obj.model_dump(mode="json", by_alias=True)

        return dump_model
    if dataclasses.is_dataclass(cls):
        dump = _adapter(cls).dump_python

        def dump_dataclass(obj: Any) -> Any:
            return dump(obj, mode="json", by_alias=True)

        return dump_dataclass
    raise SchemaError(f"{cls!r} is not a dataclass or pydantic model class")


def _model_error(cls: type, exc: ValidationError) -> RecordError:
    first = exc.errors()[0] if exc.error_count() else None
    where = ""
    if first is not None and first.get("loc"):
        where = " at " + ".".join(str(part) for part in first["loc"])
    return RecordError(f"cannot build {cls.__qualname__}{where}: {exc}")


def from_json_converter(cls: type) -> FromJson:
    """``JSON value -> obj`` through pydantic validation; :class:`RecordError` if it fails."""
    if not is_model_class(cls):
        raise SchemaError(f"{cls!r} is not a dataclass or pydantic model class")
    validate = (
        cls.model_validate
        if isinstance(cls, type) and issubclass(cls, BaseModel)
        else _adapter(cls).validate_python
    )

    def construct(value: Any) -> Any:
        try:
            return validate(value)
        except ValidationError as exc:
            raise _model_error(cls, exc) from exc

    return construct


def from_json_bytes_converter(cls: type) -> FromJsonBytes:
    """``JSON bytes -> obj`` in one pydantic call (no intermediate dict)."""
    if not is_model_class(cls):
        raise SchemaError(f"{cls!r} is not a dataclass or pydantic model class")
    validate = (
        cls.model_validate_json
        if isinstance(cls, type) and issubclass(cls, BaseModel)
        else _adapter(cls).validate_json
    )

    def construct(data: bytes | bytearray | memoryview) -> Any:
        try:
            return validate(bytes(data) if type(data) is memoryview else data)
        except ValidationError as exc:
            raise _model_error(cls, exc) from exc

    return construct
