"""JSON values -> the Python objects Avro and Protobuf serializers take (``regcast produce``).

JSON has no decimals, timestamps, dates or bytes, so a JSON line cannot be handed to
fastavro as is. :func:`avro_converter` walks the Avro schema once and builds a chain
of small functions, one per schema node, that turn a decoded JSON value into what
fastavro writes:

=================================  ==============================================
schema                             JSON accepted
=================================  ==============================================
``decimal`` (bytes/fixed)          ``"12.30"`` or a number -> ``Decimal``
``timestamp-millis`` / ``-micros`` ISO 8601 ``"2024-05-01T12:00:00Z"`` or an integer
``date`` / ``time-*``              ``"2024-05-01"`` / ``"12:30:00"`` or an integer
``bytes`` / ``fixed``              a string, ISO-8859-1 as in Avro's JSON encoding
union                              the bare value (first branch that fits), or
                                   Avro's JSON encoding ``{"string": "x"}``
record                             an object; unknown keys are an error (typos),
                                   missing keys take the field's default
=================================  ==============================================

Errors are :class:`JsonRecordError` naming the field path (``lines[2].unit_price``).
Protobuf uses protobuf's own ``json_format`` (proto3 JSON mapping), wrapped to raise the
same error type.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

__all__ = ["JsonRecordError", "avro_converter", "protobuf_converter"]

Converter = Callable[[Any, str], Any]

_NO_DEFAULT = object()


class JsonRecordError(ValueError):
    """A JSON value does not fit the schema; the message names the field path."""


def _fail(path: str, expected: str, value: Any) -> JsonRecordError:
    where = path or "the record"
    return JsonRecordError(f"{where}: expected {expected}, got {value!r}"[:300])


def _identity(value: Any, path: str) -> Any:
    return value


def _check(kind: str, test: Callable[[Any], bool]) -> Converter:
    def convert(value: Any, path: str) -> Any:
        if not test(value):
            raise _fail(path, kind, value)
        return value

    return convert


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text_bytes(value: Any, path: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            raise _fail(path, "bytes as an ISO-8859-1 string", value) from None
    raise _fail(path, "bytes as a string", value)


def _decimal(value: Any, path: str) -> decimal.Decimal:
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            result = decimal.Decimal(str(value))
        except decimal.InvalidOperation:
            raise _fail(path, "a decimal number", value) from None
        if result.is_finite():
            return result
    raise _fail(path, "a decimal number (string or number)", value)


def _parse_datetime(value: Any, path: str) -> Any:
    if _is_int(value) or isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _fail(path, "an ISO 8601 timestamp", value) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    raise _fail(path, "an ISO 8601 timestamp or an integer", value)


def _parse_date(value: Any, path: str) -> Any:
    if _is_int(value) or isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise _fail(path, "an ISO 8601 date (YYYY-MM-DD)", value) from None
    raise _fail(path, "an ISO 8601 date or an integer", value)


def _parse_time(value: Any, path: str) -> Any:
    if _is_int(value) or isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        try:
            return dt.time.fromisoformat(value)
        except ValueError:
            raise _fail(path, "an ISO 8601 time (HH:MM:SS)", value) from None
    raise _fail(path, "an ISO 8601 time or an integer", value)


_PRIMITIVE_CHECKS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "null": ("null", lambda v: v is None),
    "boolean": ("true or false", lambda v: isinstance(v, bool)),
    "int": ("an integer", _is_int),
    "long": ("an integer", _is_int),
    "float": ("a number", _is_number),
    "double": ("a number", _is_number),
    "string": ("a string", lambda v: isinstance(v, str)),
}

_LOGICAL: dict[str, Converter] = {
    "decimal": _decimal,
    "timestamp-millis": _parse_datetime,
    "timestamp-micros": _parse_datetime,
    "local-timestamp-millis": _parse_datetime,
    "local-timestamp-micros": _parse_datetime,
    "date": _parse_date,
    "time-millis": _parse_time,
    "time-micros": _parse_time,
}


class _Builder:
    """Builds converters; named types are looked up by full name (recursion-safe)."""

    def __init__(self) -> None:
        self.named: dict[str, Any] = {}
        self.built: dict[str, Converter] = {}

    def full_name(self, node: Mapping[str, Any], namespace: str | None) -> str:
        name = str(node["name"])
        if "." in name:
            return name
        space = node.get("namespace", namespace)
        return f"{space}.{name}" if space else name

    def build(self, schema: Any, namespace: str | None) -> Converter:
        if isinstance(schema, str):
            if schema in _PRIMITIVE_CHECKS:
                return _check(*_PRIMITIVE_CHECKS[schema])
            if schema == "bytes":
                return _text_bytes
            return self.reference(schema, namespace)
        if isinstance(schema, list):
            return self.union(schema, namespace)
        if not isinstance(schema, Mapping):
            raise JsonRecordError(f"unsupported schema node {schema!r}")
        kind = schema.get("type")
        logical = schema.get("logicalType")
        if logical in _LOGICAL and kind in ("bytes", "fixed", "int", "long"):
            if kind == "fixed":
                self.named[self.full_name(schema, namespace)] = schema
            return _LOGICAL[str(logical)]
        if kind in ("record", "error", "enum", "fixed"):
            full = self.full_name(schema, namespace)
            self.named[full] = schema
            space = full.rpartition(".")[0] or None
            if kind == "enum":
                symbols = frozenset(schema.get("symbols", ()))
                converter: Converter = _check(
                    f"one of {sorted(symbols)}", lambda v: isinstance(v, str) and v in symbols
                )
            elif kind == "fixed":
                converter = _text_bytes
            else:
                converter = self.record(schema, full, space)
            self.built[full] = converter
            return converter
        if kind == "array":
            items = self.build(schema["items"], namespace)

            def array(value: Any, path: str) -> Any:
                if not isinstance(value, list):
                    raise _fail(path, "an array", value)
                return [items(v, f"{path}[{i}]") for i, v in enumerate(value)]

            return array
        if kind == "map":
            values = self.build(schema["values"], namespace)

            def map_(value: Any, path: str) -> Any:
                if not isinstance(value, dict):
                    raise _fail(path, "an object (map)", value)
                return {k: values(v, f"{path}[{k!r}]") for k, v in value.items()}

            return map_
        return self.build(kind, namespace)

    def reference(self, name: str, namespace: str | None) -> Converter:
        full = name if "." in name or not namespace else f"{namespace}.{name}"
        if full not in self.named and name in self.named:
            full = name

        def named(value: Any, path: str) -> Any:
            converter = self.built.get(full)
            if converter is None:
                raise JsonRecordError(f"{path}: unknown named type {full!r}")
            return converter(value, path)

        return named

    def record(self, schema: Mapping[str, Any], full: str, space: str | None) -> Converter:
        fields: list[tuple[str, Converter, Any]] = []
        # Register first so recursive references resolve while the fields are built.
        names: frozenset[str] = frozenset(str(f["name"]) for f in schema.get("fields", ()))

        def record(value: Any, path: str) -> Any:
            if not isinstance(value, dict):
                raise _fail(path, f"an object ({full})", value)
            unknown = [k for k in value if k not in names]
            if unknown:
                where = path or full
                raise JsonRecordError(
                    f"{where}: unknown field(s) {unknown}; {full} has {sorted(names)}"
                )
            out: dict[str, Any] = {}
            for name, convert, default in fields:
                child = f"{path}.{name}" if path else name
                if name in value:
                    out[name] = convert(value[name], child)
                elif default is _NO_DEFAULT:
                    raise JsonRecordError(f"{child}: missing, and the field has no default")
            return out

        self.built[full] = record
        fields.extend(
            (str(f["name"]), self.build(f["type"], space), f.get("default", _NO_DEFAULT))
            for f in schema.get("fields", ())
        )
        return record

    def union(self, branches: list[Any], namespace: str | None) -> Converter:
        options: list[tuple[set[str], Callable[[Any], bool], Converter]] = []
        for branch in branches:
            names, accepts = self.branch_shape(branch, namespace)
            options.append((names, accepts, self.build(branch, namespace)))

        def union(value: Any, path: str) -> Any:
            if isinstance(value, dict) and len(value) == 1:
                ((tag, inner),) = value.items()
                for names, _, convert in options:
                    if tag in names:
                        return convert(inner, path)
            for _, accepts, convert in options:
                if accepts(value):
                    return convert(value, path)
            raise _fail(path, "a value of one of the union's types", value)

        return union

    def branch_shape(
        self, branch: Any, namespace: str | None
    ) -> tuple[set[str], Callable[[Any], bool]]:
        """Names that tag this branch in Avro JSON, and a cheap test for bare values."""
        if isinstance(branch, str):
            kind = branch
            node: Mapping[str, Any] | None = self.named.get(
                branch if "." in branch or not namespace else f"{namespace}.{branch}"
            ) or self.named.get(branch)
        elif isinstance(branch, Mapping):
            kind = str(branch.get("type"))
            node = branch
        else:
            return set(), lambda v: False
        names = {kind}
        if node is not None and "name" in node:
            full = self.full_name(node, namespace)
            names |= {full, full.rpartition(".")[2]}
            kind = str(node.get("type"))
        logical = node.get("logicalType") if node is not None else None
        if logical in ("decimal",):
            return names, lambda v: isinstance(v, str | int | float) and not isinstance(v, bool)
        if logical in _LOGICAL:
            return names, lambda v: isinstance(v, str) or _is_int(v)
        if kind in _PRIMITIVE_CHECKS:
            return names, _PRIMITIVE_CHECKS[kind][1]
        if kind in ("bytes", "fixed"):
            return names, lambda v: isinstance(v, str | bytes)
        if kind == "enum":
            return names, lambda v: isinstance(v, str)
        if kind in ("record", "error", "map"):
            return names, lambda v: isinstance(v, dict)
        if kind == "array":
            return names, lambda v: isinstance(v, list)
        return names, lambda v: False


def avro_converter(schema: Any) -> Callable[[Any], Any]:
    """``json value -> fastavro datum`` for the (JSON-decoded) Avro ``schema``."""
    builder = _Builder()
    namespace = schema.get("namespace") if isinstance(schema, Mapping) else None
    convert = builder.build(schema, namespace)

    def to_avro(value: Any) -> Any:
        return convert(value, "")

    return to_avro


def protobuf_converter(message_class: type[Message]) -> Callable[[Any], Message]:
    """``json value -> message`` with protobuf's proto3 JSON mapping (field names either way)."""
    full_name = message_class.DESCRIPTOR.full_name

    def to_message(value: Any) -> Message:
        if not isinstance(value, dict):
            raise _fail("", f"an object ({full_name})", value)
        message = message_class()
        try:
            json_format.ParseDict(value, message)
        except json_format.ParseError as exc:
            raise JsonRecordError(f"{full_name}: {exc}") from exc
        return message

    return to_message
