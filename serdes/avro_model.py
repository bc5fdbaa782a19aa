"""Avro schemas from Python classes, and the converters between objects and Avro dicts.

Theory of operation
-------------------
fastavro writes and reads plain Python values (dicts for records, symbol strings for
enums). Users hold dataclasses and pydantic models. This module bridges the two, once
per class, so the per-record work is a couple of C-level calls:

- :func:`schema_for_class` derives an Avro record schema from a dataclass or a pydantic
  model's type hints. Mapping (Python -> Avro):

  ===========================  ==============================================
  ``bool``                     ``boolean``
  ``int``                      ``long`` (Python ints are not 32-bit)
  ``float``                    ``double``
  ``str`` / ``bytes``          ``string`` / ``bytes``
  ``X | None``                 ``["null", X]`` (``null`` second when the default
                               is not ``None``: Avro defaults match branch 0)
  ``A | B``                    ``[A, B]``
  ``list[X]``, ``tuple[X, ...]``,  ``{"type": "array", "items": X}``
  ``set[X]``, ``Sequence[X]``
  ``dict[str, X]``             ``{"type": "map", "values": X}``
  ``Enum`` subclass            ``enum`` named after the class, symbols = member names
  dataclass / pydantic model   nested ``record`` named after the class
  ``datetime``                 ``long`` / ``timestamp-micros`` (naive = UTC)
  ``date``                     ``int`` / ``date``
  ``time``                     ``long`` / ``time-micros``
  ``Decimal``                  ``bytes`` / ``decimal``; precision and scale from
                               ``Annotated[Decimal, AvroDecimal(p, s)]`` or pydantic's
                               ``max_digits``/``decimal_places``, else 38 and 9
  ``UUID``                     ``string`` / ``uuid``
  ===========================  ==============================================

  A named type (record, enum) is written in full at its first use and by name after
  that, so recursive and repeated types work. The name is the class name, or a class
  attribute ``__avro_name__`` (so ``OrderV2`` can read data written as ``Order``); the
  namespace comes from the ``namespace`` argument or ``__avro_namespace__``; nested
  types inherit it. Field defaults become Avro defaults where Avro can express them.

- :func:`to_avro_converter` returns ``obj -> dict`` for a class: a function generated
  and compiled once per class, one dict display of attribute loads, with per-field
  converters only for fields that need one (enums to their symbol, nested models,
  containers of those).
- :func:`from_avro_converter` returns ``dict -> obj``: the inverse, calling the class
  constructor (so pydantic still validates). Fields missing from the dict (a reader
  schema without them) are left to the class defaults.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import keyword
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from serdes.errors import SchemaError

__all__ = [
    "AvroDecimal",
    "from_avro_converter",
    "is_model_class",
    "schema_for_class",
    "to_avro_converter",
]

Converter = Callable[[Any], Any]

_DEFAULT_DECIMAL_PRECISION = 38
_DEFAULT_DECIMAL_SCALE = 9


@dataclass(frozen=True, slots=True)
class AvroDecimal:
    """``Annotated[Decimal, AvroDecimal(precision=10, scale=2)]`` fixes the decimal type."""

    precision: int
    scale: int


def is_pydantic_model(cls: object) -> bool:
    """True for pydantic v2 model classes (checked structurally: no hard import)."""
    return isinstance(cls, type) and hasattr(cls, "model_fields") and hasattr(cls, "model_dump")


def is_model_class(cls: object) -> bool:
    """True for dataclass types and pydantic model classes."""
    return (isinstance(cls, type) and dataclasses.is_dataclass(cls)) or is_pydantic_model(cls)


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    hint: Any
    metadata: tuple[Any, ...]
    has_default: bool
    default: Any


def _fields_of(cls: type) -> list[_Field]:
    """Fields in declaration order with resolved hints, for dataclasses and pydantic."""
    if is_pydantic_model(cls):
        from pydantic_core import PydanticUndefined

        out = []
        model_fields: Mapping[str, Any] = cls.model_fields  # type: ignore[attr-defined]
        for name, info in model_fields.items():
            if info.default_factory is not None:
                has_default, default = True, info.default_factory()
            elif info.default is not PydanticUndefined:
                has_default, default = True, info.default
            else:
                has_default, default = False, None
            out.append(_Field(name, info.annotation, tuple(info.metadata), has_default, default))
        return out
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:  # NameError for unresolvable forward references
        raise SchemaError(f"cannot resolve the type hints of {cls.__qualname__}: {exc}") from exc
    out = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            has_default, default = True, f.default
        elif f.default_factory is not dataclasses.MISSING:
            has_default, default = True, f.default_factory()
        else:
            has_default, default = False, None
        out.append(_Field(f.name, hints[f.name], (), has_default, default))
    return out


def _unwrap(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    """Strip ``Annotated``, returning the inner type and its metadata."""
    metadata: tuple[Any, ...] = ()
    while typing.get_origin(hint) is typing.Annotated:
        args = typing.get_args(hint)
        hint, metadata = args[0], metadata + tuple(args[1:])
    return hint, metadata


def _is_union(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    return origin is typing.Union or origin is types.UnionType


_SEQUENCE_ORIGINS = (list, tuple, set, frozenset, Sequence, typing.Sequence)


def _decimal_spec(metadata: Sequence[Any]) -> tuple[int, int]:
    precision, scale = _DEFAULT_DECIMAL_PRECISION, _DEFAULT_DECIMAL_SCALE
    for item in metadata:
        if isinstance(item, AvroDecimal):
            return item.precision, item.scale
        max_digits = getattr(item, "max_digits", None)
        places = getattr(item, "decimal_places", None)
        if isinstance(max_digits, int):
            precision = max_digits
        if isinstance(places, int):
            scale = places
    return precision, scale


class _SchemaBuilder:
    """Walks type hints once; remembers named types already emitted."""

    def __init__(self) -> None:
        self.named: dict[type, str] = {}

    def record(
        self, cls: type, namespace: str | None, where: str, override_ns: str | None = None
    ) -> Any:
        if cls in self.named:
            return self.named[cls]
        own_ns = override_ns or getattr(cls, "__avro_namespace__", None) or namespace
        name = getattr(cls, "__avro_name__", None) or cls.__name__
        full = f"{own_ns}.{name}" if own_ns else name
        self.named[cls] = full
        fields = []
        for f in _fields_of(cls):
            path = f"{where}.{f.name}" if where else f"{name}.{f.name}"
            avro_type = self.type_of(f.hint, f.metadata, own_ns, path, f.has_default, f.default)
            entry: dict[str, Any] = {"name": f.name, "type": avro_type}
            if f.has_default:
                ok, value = _default_json(f.default)
                if ok:
                    entry["default"] = value
            fields.append(entry)
        schema: dict[str, Any] = {"type": "record", "name": name}
        if own_ns and own_ns != namespace:
            schema["namespace"] = own_ns
        schema["fields"] = fields
        return schema

    def enum(self, cls: type[enum.Enum], namespace: str | None) -> Any:
        if cls in self.named:
            return self.named[cls]
        own_ns = getattr(cls, "__avro_namespace__", None) or namespace
        name = getattr(cls, "__avro_name__", None) or cls.__name__
        self.named[cls] = f"{own_ns}.{name}" if own_ns else name
        schema: dict[str, Any] = {"type": "enum", "name": name}
        if own_ns and own_ns != namespace:
            schema["namespace"] = own_ns
        schema["symbols"] = [m.name for m in cls]
        return schema

    def type_of(
        self,
        hint: Any,
        metadata: Sequence[Any],
        namespace: str | None,
        path: str,
        has_default: bool = False,
        default: Any = None,
    ) -> Any:
        hint, extra = _unwrap(hint)
        metadata = (*metadata, *extra)
        if _is_union(hint):
            members = list(typing.get_args(hint))
            has_none = type(None) in members
            others = [m for m in members if m is not type(None)]
            branches = [self.type_of(m, metadata, namespace, path) for m in others]
            if has_none:
                if has_default and default is not None:
                    branches.append("null")
                else:
                    branches.insert(0, "null")
            return branches if len(branches) > 1 else branches[0]
        if hint is type(None):
            return "null"
        if hint is bool:
            return "boolean"
        if hint is int:
            return "long"
        if hint is float:
            return "double"
        if hint is str:
            return "string"
        if hint is bytes:
            return "bytes"
        if hint is Decimal:
            precision, scale = _decimal_spec(metadata)
            return {
                "type": "bytes",
                "logicalType": "decimal",
                "precision": precision,
                "scale": scale,
            }
        if hint is uuid.UUID:
            return {"type": "string", "logicalType": "uuid"}
        if hint is dt.datetime:
            return {"type": "long", "logicalType": "timestamp-micros"}
        if hint is dt.date:
            return {"type": "int", "logicalType": "date"}
        if hint is dt.time:
            return {"type": "long", "logicalType": "time-micros"}
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return self.enum(hint, namespace)
        if is_model_class(hint):
            return self.record(hint, namespace, "")
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in _SEQUENCE_ORIGINS:
            if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
                raise SchemaError(
                    f"field {path}: only homogeneous tuple[X, ...] maps to an Avro array"
                )
            item = args[0] if args else None
            if item is None:
                raise SchemaError(f"field {path}: give the item type, e.g. list[str]")
            return {"type": "array", "items": self.type_of(item, (), namespace, path + "[]")}
        if origin in (dict, Mapping, typing.Mapping):
            if not args or args[0] is not str:
                raise SchemaError(f"field {path}: Avro maps need str keys, e.g. dict[str, int]")
            return {"type": "map", "values": self.type_of(args[1], (), namespace, path + "{}")}
        raise SchemaError(f"field {path}: no Avro type for {hint!r}")


def _default_json(value: Any) -> tuple[bool, Any]:
    """The JSON form of a Python default, or (False, None) when Avro cannot express it."""
    if value is None or isinstance(value, bool | int | float | str):
        return True, value
    if isinstance(value, enum.Enum):
        return True, value.name
    if isinstance(value, bytes):
        return True, value.decode("latin-1")
    if isinstance(value, list | tuple | set | frozenset):
        items = [_default_json(v) for v in value]
        return (all(ok for ok, _ in items), [v for _, v in items])
    if isinstance(value, dict):
        pairs = {k: _default_json(v) for k, v in value.items()}
        return (all(ok for ok, _ in pairs.values()), {k: v for k, (_, v) in pairs.items()})
    return False, None


def schema_for_class(cls: type, namespace: str | None = None) -> dict[str, Any]:
    """The Avro record schema (as a JSON-ready dict) for a dataclass or pydantic model."""
    if not is_model_class(cls):
        raise SchemaError(f"{cls!r} is not a dataclass or a pydantic model class")
    schema: dict[str, Any] = _SchemaBuilder().record(cls, None, "", override_ns=namespace)
    return schema


# -- object -> Avro dict -----------------------------------------------------------------


def _enum_symbol(value: Any) -> Any:
    return value.name if isinstance(value, enum.Enum) else value


def _value_to_avro(hint: Any, cache: dict[type, Converter]) -> Converter | None:
    """Converter for one value of type ``hint``; None when fastavro takes it as is."""
    hint, _ = _unwrap(hint)
    if _is_union(hint):
        branches = [
            (m, _value_to_avro(m, cache)) for m in typing.get_args(hint) if m is not type(None)
        ]
        converting = [(typing.get_origin(m) or m, c) for m, c in branches if c is not None]
        if not converting:
            return None

        def union(value: Any) -> Any:
            for cls, conv in converting:
                if isinstance(value, cls):
                    return conv(value)
            return value

        return union
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_symbol
    if is_model_class(hint):
        return _record_to_avro(hint, cache)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in _SEQUENCE_ORIGINS and args:
        item = _value_to_avro(args[0], cache)
        if item is None:
            return None if origin is list else list
        return lambda value: [item(v) for v in value]
    if origin in (dict, Mapping, typing.Mapping) and len(args) == 2:
        values = _value_to_avro(args[1], cache)
        if values is None:
            return None
        return lambda value: {k: values(v) for k, v in value.items()}
    return None


def _record_to_avro(cls: type, cache: dict[type, Converter]) -> Converter:
    cached = cache.get(cls)
    if cached is not None:
        return cached
    # Placeholder first, so recursive types find it; replaced below.
    slot: list[Converter] = []
    cache[cls] = lambda obj: slot[0](obj)
    fields = _fields_of(cls)
    converters = {
        f.name: conv for f in fields if (conv := _value_to_avro(f.hint, cache)) is not None
    }
    convert = _compile_record_to_avro(cls, [f.name for f in fields], converters)
    slot.append(convert)
    cache[cls] = convert
    return convert


def _compile_record_to_avro(
    cls: type, names: Sequence[str], converters: Mapping[str, Converter]
) -> Converter:
    """Generate ``obj -> {"a": obj.a, "b": c1(obj.b) ...}`` for one class.

    This is the per-record cost of serializing a model, so it is built the way
    ``dataclasses`` builds ``__init__``: as source text compiled once. One dict display
    with plain attribute loads is about three times faster than ``dict(zip(names,
    attrgetter(obj)))`` followed by a loop over the fields that need converting.
    Field names that are not identifiers (possible in pydantic) go through ``getattr``.
    A ``dict`` passes through unchanged (a nested value already in Avro form).
    """
    namespace: dict[str, Any] = {"_dict": dict}
    lines = ["def convert(obj):", "    if type(obj) is _dict:", "        return obj"]
    items = []
    for i, name in enumerate(names):
        namespace[f"_n{i}"] = name
        access = (
            f"obj.{name}"
            if name.isidentifier() and not keyword.iskeyword(name)
            else (f"getattr(obj, _n{i})")
        )
        conv = converters.get(name)
        if conv is None:
            items.append(f"_n{i}: {access}")
        else:
            namespace[f"_c{i}"] = conv
            lines.append(f"    v{i} = {access}")
            items.append(f"_n{i}: (None if v{i} is None else _c{i}(v{i}))")
    lines.append("    return {" + ", ".join(items) + "}")
    source = "\n".join(lines)
    exec(compile(source, f"<serdes.avro_model {cls.__qualname__} to Avro>", "exec"), namespace)
    convert: Converter = namespace["convert"]
    return convert


def to_avro_converter(cls: type) -> Converter:
    """``obj -> dict`` for a dataclass or pydantic model class (built once per class)."""
    if not is_model_class(cls):
        raise SchemaError(f"{cls!r} is not a dataclass or a pydantic model class")
    return _record_to_avro(cls, {})


# -- Avro dict -> object -----------------------------------------------------------------


def _value_from_avro(hint: Any, cache: dict[type, Converter]) -> Converter | None:
    hint, _ = _unwrap(hint)
    if _is_union(hint):
        members = [m for m in typing.get_args(hint) if m is not type(None)]
        records = [m for m in members if is_model_class(m)]
        enums = [m for m in members if isinstance(m, type) and issubclass(m, enum.Enum)]
        others = [(m, _value_from_avro(m, cache)) for m in members if m not in records + enums]
        if not records and not enums and all(c is None for _, c in others):
            return None
        record_convs = [(set(_field_names(m)), _record_from_avro(m, cache)) for m in records]
        enum_convs = [(set(m.__members__), m) for m in enums]

        def union(value: Any) -> Any:
            if isinstance(value, dict):
                keys = set(value)
                for names, make in record_convs:
                    if keys <= names:
                        return make(value)
                for other, maybe in others:
                    if maybe is not None and typing.get_origin(other) in (dict, Mapping):
                        return maybe(value)
                return value
            if isinstance(value, str):
                for symbols, enum_cls in enum_convs:
                    if value in symbols:
                        return enum_cls[value]
                return value
            if isinstance(value, list):
                for other, maybe in others:
                    if maybe is not None and typing.get_origin(other) in _SEQUENCE_ORIGINS:
                        return maybe(value)
            return value

        return union
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        by_symbol: Mapping[str, Any] = hint.__members__
        return by_symbol.__getitem__
    if is_model_class(hint):
        return _record_from_avro(hint, cache)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in _SEQUENCE_ORIGINS and args:
        item = _value_from_avro(args[0], cache)
        target: Callable[[Any], Any] = origin if origin in (tuple, set, frozenset) else list
        if item is None:
            return None if target is list else target
        return lambda value: target(item(v) for v in value)
    if origin in (dict, Mapping, typing.Mapping) and len(args) == 2:
        values = _value_from_avro(args[1], cache)
        if values is None:
            return None
        return lambda value: {k: values(v) for k, v in value.items()}
    return None


def _field_names(cls: type) -> list[str]:
    return [f.name for f in _fields_of(cls)]


def _record_from_avro(cls: type, cache: dict[type, Converter]) -> Converter:
    cached = cache.get(cls)
    if cached is not None:
        return cached
    slot: list[Converter] = []
    cache[cls] = lambda value: slot[0](value)
    fields = _fields_of(cls)
    names = frozenset(f.name for f in fields)
    converting = tuple(
        (f.name, conv) for f in fields if (conv := _value_from_avro(f.hint, cache)) is not None
    )

    def construct(value: dict[str, Any]) -> Any:
        # The dict is fastavro's fresh output: convert in place.
        for name, conv in converting:
            item = value.get(name)
            if item is not None:
                value[name] = conv(item)
        try:
            return cls(**value)
        except TypeError:
            # Keys the class does not have (a reader schema wider than the class): drop
            # them and retry; checking up front would cost every record.
            known = {k: v for k, v in value.items() if k in names}
            if len(known) == len(value):
                raise
            return cls(**known)

    slot.append(construct)
    cache[cls] = construct
    return construct


def from_avro_converter(cls: type) -> Converter:
    """``dict -> obj`` for a dataclass or pydantic model class (built once per class).

    The converter may modify the dict it is given (nested values are converted in place).
    """
    if not is_model_class(cls):
        raise SchemaError(f"{cls!r} is not a dataclass or a pydantic model class")
    return _record_from_avro(cls, {})
