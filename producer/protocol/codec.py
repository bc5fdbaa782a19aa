"""One generic encoder/decoder for every message definition in :mod:`.messages`.

Theory of operation
-------------------
*Plans.* A definition is compiled once per (message, version) into a :class:`StructPlan`:
the fields that exist at that version, in wire order, each with an encode and a decode
function already specialised for the version (compact or classic length, nullable or
not, element codec of arrays, sub-plan of struct arrays), the tagged fields by tag, and
the defaults of the fields the version lacks. Plans are cached, so the per-request work
is a loop over prepared closures; nothing looks at version ranges on the hot path.

*Bodies* are plain dicts keyed by the snake_case field names; struct arrays are lists of
dicts. Encoding takes a field's value from the body, else its default; a field without
a default that exists at the version is required (:class:`EncodeError` names it). Keys
for fields the version lacks are ignored, so one body builder can serve every version.
Tagged fields are written only when their value differs from the default (as Kafka does).
Decoding returns every field of the definition: those on the wire, plus the defaults of
those the version lacks, so callers may index any field at any version.

*Headers.* Requests use header v1 (classic) or v2 (flexible, with a tagged-field section;
the client id stays an int16-length string in both). Responses use header v0 or v1 by
the same rule, except ApiVersions responses, which always use v0 so that a client can
read the answer whatever version it asked with.

*Failures.* Every decoding failure is a :class:`~producer.errors.ProtocolError`: short
reads, impossible lengths, invalid UTF-8, unknown versions in a request header, bytes
left over after a request body. Bytes left over after a response body are ignored, as
Kafka's Java client and librdkafka ignore them (librdkafka's mock cluster sends one after
flexible Metadata responses). Encoding a body that does not fit the definition raises
:class:`EncodeError` with the path of the offending field.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from producer.errors import ProducerError, ProtocolError, UnsupportedVersionError
from producer.protocol import primitives as p
from producer.protocol.api_keys import ApiKey
from producer.protocol.messages import REQUEST_HEADER, REQUESTS, RESPONSE_HEADER, RESPONSES
from producer.protocol.primitives import ZERO_UUID, Reader
from producer.protocol.schema import NO_DEFAULT, Field, Message, parse_versions

__all__ = [
    "SUPPORTED_VERSIONS",
    "EncodeError",
    "RequestHeader",
    "StructPlan",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "peek_correlation_id",
    "request_plan",
    "response_plan",
]

Encoder = Callable[[bytearray, Any], None]
Decoder = Callable[[Reader], Any]


class EncodeError(ProducerError, ValueError):
    """A request or response body does not fit its message definition (a caller bug).

    ``path`` locates the field, e.g. ``("topic_data", "[0]", "partition_data", "[2]",
    "index")``.
    """

    def __init__(self, reason: str, path: tuple[str, ...] = (), context: str = "") -> None:
        self.reason = reason
        self.path = path
        self.context = context
        where = ".".join(path).replace(".[", "[")
        text = f"field {where}: {reason}" if where else reason
        super().__init__(f"{context}: {text}" if context else text)

    def under(self, *prefix: str) -> EncodeError:
        return EncodeError(self.reason, prefix + self.path, self.context)


_WRAPPED_ENCODE_ERRORS = (struct.error, TypeError, ValueError, AttributeError, OverflowError)

# --------------------------------------------------------------------------- plans


@dataclass(frozen=True, slots=True)
class FieldPlan:
    key: str
    encode: Encoder
    decode: Decoder
    default: object  # NO_DEFAULT: required when encoding
    tag: int | None
    min_bytes: int


@dataclass(frozen=True, slots=True)
class StructPlan:
    """A struct (or message body) at one version, ready to encode and decode."""

    name: str
    version: int
    fields: tuple[FieldPlan, ...]
    tagged: tuple[FieldPlan, ...]
    tagged_by_tag: Mapping[int, FieldPlan]
    absent: tuple[tuple[str, object], ...]  # (key, default) of fields this version lacks
    flexible: bool
    min_bytes: int


_FIXED: Final[dict[str, tuple[Encoder, Callable[[Reader], Any], int]]] = {
    "bool": (p.write_bool, Reader.read_bool, 1),
    "int8": (p.write_int8, Reader.read_int8, 1),
    "int16": (p.write_int16, Reader.read_int16, 2),
    "uint16": (p.write_uint16, Reader.read_uint16, 2),
    "int32": (p.write_int32, Reader.read_int32, 4),
    "uint32": (p.write_uint32, Reader.read_uint32, 4),
    "int64": (p.write_int64, Reader.read_int64, 8),
    "float64": (p.write_float64, Reader.read_float64, 8),
    "uuid": (p.write_uuid, Reader.read_uuid, 16),
}

_ZERO: Final[dict[str, object]] = {
    "bool": False,
    "int8": 0,
    "int16": 0,
    "uint16": 0,
    "int32": 0,
    "uint32": 0,
    "int64": 0,
    "float64": 0.0,
    "uuid": ZERO_UUID,
    "string": "",
    "bytes": b"",
    "records": None,
}


def _zero_value(field: Field) -> object:
    """The value Java's generated classes give a field the JSON gives no default."""
    if field.is_array:
        return ()
    return _ZERO[field.type]


def _fresh(default: object) -> object:
    """A decoded default; tuples (array defaults) become new lists like decoded arrays."""
    return list(default) if isinstance(default, tuple) else default


def _is_default(value: object, default: object) -> bool:
    if isinstance(default, tuple):
        return isinstance(value, list | tuple) and list(value) == list(default)
    return value == default and type(value) is type(default)


def _scalar_codec(type_name: str, nullable: bool, flexible: bool) -> tuple[Encoder, Decoder, int]:
    fixed = _FIXED.get(type_name)
    if fixed is not None:
        return fixed
    if type_name == "string":
        if flexible:
            if nullable:
                return p.write_compact_nullable_string, Reader.read_compact_nullable_string, 1
            return p.write_compact_string, Reader.read_compact_string, 1
        if nullable:
            return p.write_nullable_string, Reader.read_nullable_string, 2
        return p.write_string, Reader.read_string, 2
    if type_name in ("bytes", "records"):
        if flexible:
            if nullable:
                return p.write_compact_nullable_bytes, Reader.read_compact_nullable_bytes, 1
            return p.write_compact_bytes, Reader.read_compact_bytes, 1
        if nullable:
            return p.write_nullable_bytes, Reader.read_nullable_bytes, 4
        return p.write_bytes, Reader.read_bytes, 4
    raise AssertionError(f"unknown primitive type {type_name}")  # Field validates types


def _array_codec(
    element_encode: Encoder,
    element_decode: Decoder,
    element_min_bytes: int,
    nullable: bool,
    flexible: bool,
) -> tuple[Encoder, Decoder, int]:
    write_length = p.write_compact_array_length if flexible else p.write_array_length

    def encode(out: bytearray, value: Any) -> None:
        if value is None:
            if not nullable:
                raise EncodeError("null is not allowed for this array at this version")
            write_length(out, None)
            return
        if isinstance(value, str | bytes | bytearray | Mapping):
            raise EncodeError(f"a list is expected, got {type(value).__name__}")
        write_length(out, len(value))
        index = 0
        try:
            for index, item in enumerate(value):  # noqa: B007 (index is used on failure)
                element_encode(out, item)
        except EncodeError as exc:
            raise exc.under(f"[{index}]") from exc.__cause__
        except _WRAPPED_ENCODE_ERRORS as exc:
            raise EncodeError(str(exc), (f"[{index}]",)) from exc

    if flexible:

        def decode(reader: Reader) -> list[Any] | None:
            count = reader.read_compact_array_length(nullable, element_min_bytes)
            if count is None:
                return None
            return [element_decode(reader) for _ in range(count)]

    else:

        def decode(reader: Reader) -> list[Any] | None:
            count = reader.read_array_length(nullable, element_min_bytes)
            if count is None:
                return None
            return [element_decode(reader) for _ in range(count)]

    return encode, decode, 1 if flexible else 4


def _field_plan(field: Field, version: int, flexible: bool) -> FieldPlan:
    nullable = field.nullable_in(version)
    if field.flexible_versions is not None:
        flexible = version in parse_versions(field.flexible_versions)
    if field.is_struct_array:
        sub = _compile_struct(field.element_type, field.fields, version, flexible)
        encode, decode, min_bytes = _array_codec(
            _struct_encoder(sub), _struct_decoder(sub), sub.min_bytes, nullable, flexible
        )
    elif field.is_array:
        element_encode, element_decode, element_min = _scalar_codec(
            field.element_type, False, flexible
        )
        encode, decode, min_bytes = _array_codec(
            element_encode, element_decode, element_min, nullable, flexible
        )
    else:
        encode, decode, min_bytes = _scalar_codec(field.type, nullable, flexible)
    default = field.default
    if field.tag is not None and default is NO_DEFAULT:
        default = _zero_value(field)  # tagged fields are optional by nature
    return FieldPlan(field.name, encode, decode, default, field.tag, min_bytes)


def _compile_struct(
    name: str, fields: tuple[Field, ...], version: int, flexible: bool
) -> StructPlan:
    plain: list[FieldPlan] = []
    tagged: list[FieldPlan] = []
    absent: list[tuple[str, object]] = []
    for field in fields:
        if not field.present_in(version) or (field.tagged_in(version) and not flexible):
            default = field.default if field.default is not NO_DEFAULT else _zero_value(field)
            absent.append((field.name, default))
        elif field.tagged_in(version):
            tagged.append(_field_plan(field, version, flexible))
        else:
            plain.append(_field_plan(field, version, flexible))
    tagged.sort(key=lambda f: f.tag if f.tag is not None else -1)
    min_bytes = sum(f.min_bytes for f in plain) + (1 if flexible else 0)
    return StructPlan(
        name=name,
        version=version,
        fields=tuple(plain),
        tagged=tuple(tagged),
        tagged_by_tag={f.tag: f for f in tagged if f.tag is not None},
        absent=tuple(absent),
        flexible=flexible,
        min_bytes=min_bytes,
    )


# --------------------------------------------------------------------------- structs

_MISSING: Final = object()


def encode_struct(plan: StructPlan, out: bytearray, value: Any) -> None:
    """Append ``value`` (a mapping) encoded as ``plan`` to ``out``."""
    if not isinstance(value, Mapping):
        raise EncodeError(f"a dict is expected for {plan.name}, got {type(value).__name__}")
    get = value.get
    for field in plan.fields:
        item = get(field.key, _MISSING)
        if item is _MISSING:
            item = field.default
            if item is NO_DEFAULT:
                raise EncodeError(
                    f"required in {plan.name} v{plan.version} (no default)", (field.key,)
                )
        try:
            field.encode(out, item)
        except EncodeError as exc:
            raise exc.under(field.key) from exc.__cause__
        except _WRAPPED_ENCODE_ERRORS as exc:
            raise EncodeError(f"{exc} (value {item!r:.60})", (field.key,)) from exc
    if plan.flexible:
        if plan.tagged:
            _encode_tagged(plan, out, value)
        else:
            out.append(0)


def _encode_tagged(plan: StructPlan, out: bytearray, value: Mapping[str, Any]) -> None:
    present: list[tuple[int, bytes]] = []
    for field in plan.tagged:
        item = value.get(field.key, _MISSING)
        if item is _MISSING or _is_default(item, field.default):
            continue
        buffer = bytearray()
        try:
            field.encode(buffer, item)
        except EncodeError as exc:
            raise exc.under(field.key) from exc.__cause__
        except _WRAPPED_ENCODE_ERRORS as exc:
            raise EncodeError(str(exc), (field.key,)) from exc
        assert field.tag is not None
        present.append((field.tag, bytes(buffer)))
    p.write_unsigned_varint(out, len(present))
    for tag, data in present:
        p.write_unsigned_varint(out, tag)
        p.write_unsigned_varint(out, len(data))
        out += data


def decode_struct(plan: StructPlan, reader: Reader) -> dict[str, Any]:
    """Read one ``plan`` struct; fields the version lacks get their defaults."""
    result: dict[str, Any] = {}
    for field in plan.fields:
        result[field.key] = field.decode(reader)
    for key, default in plan.absent:
        result[key] = _fresh(default)
    if plan.flexible:
        for field in plan.tagged:
            result[field.key] = _fresh(field.default)
        for tag, sub in reader.read_tagged_fields():
            known = plan.tagged_by_tag.get(tag)
            if known is not None:
                result[known.key] = known.decode(sub)
                sub.expect_end(f"tagged field {known.key} of {plan.name}")
    return result


def _struct_encoder(plan: StructPlan) -> Encoder:
    def encode(out: bytearray, value: Any) -> None:
        encode_struct(plan, out, value)

    return encode


def _struct_decoder(plan: StructPlan) -> Decoder:
    def decode(reader: Reader) -> dict[str, Any]:
        return decode_struct(plan, reader)

    return decode


# --------------------------------------------------------------------------- plan cache

_PLANS: dict[tuple[str, int], StructPlan] = {}


def _plan(message: Message, version: int) -> StructPlan:
    key = (message.name, version)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _compile_struct(message.name, message.fields, version, message.is_flexible(version))
        _PLANS[key] = plan
    return plan


def _message(table: Mapping[ApiKey, Message], api_key: int, version: int, kind: str) -> Message:
    try:
        message = table[ApiKey(api_key)]
    except (ValueError, KeyError):
        raise UnsupportedVersionError(
            f"regcast has no {kind} definition for api key {api_key}"
        ) from None
    if version not in message.versions:
        raise UnsupportedVersionError(
            f"regcast cannot {'encode' if kind == 'request' else 'decode'} {message.name} "
            f"v{version} (supports v{message.versions.low}..v{message.versions.high})"
        )
    return message


def request_plan(api_key: int, version: int) -> StructPlan:
    """The body plan of ``api_key`` requests at ``version`` (compiled once)."""
    return _plan(_message(REQUESTS, api_key, version, "request"), version)


def response_plan(api_key: int, version: int) -> StructPlan:
    return _plan(_message(RESPONSES, api_key, version, "response"), version)


def _supported_versions() -> dict[ApiKey, tuple[int, int]]:
    supported: dict[ApiKey, tuple[int, int]] = {}
    for api_key, request in REQUESTS.items():
        response = RESPONSES[api_key]
        low = max(request.versions.low, response.versions.low)
        highs = [h for h in (request.versions.high, response.versions.high) if h is not None]
        assert highs, f"{request.name} needs a bounded version range"
        supported[api_key] = (low, min(highs))
    return supported


SUPPORTED_VERSIONS: Final[dict[ApiKey, tuple[int, int]]] = _supported_versions()

# --------------------------------------------------------------------------- headers


@dataclass(frozen=True, slots=True)
class RequestHeader:
    api_key: ApiKey
    api_version: int
    correlation_id: int
    client_id: str | None


def _request_header_version(message: Message, version: int) -> int:
    return 2 if message.is_flexible(version) else 1


def _response_header_version(message: Message, version: int) -> int:
    if message.api_key == ApiKey.API_VERSIONS:
        return 0
    return 1 if message.is_flexible(version) else 0


_REQUEST_HEADER_PLANS: Final = {v: _plan(REQUEST_HEADER, v) for v in (1, 2)}
_RESPONSE_HEADER_PLANS: Final = {v: _plan(RESPONSE_HEADER, v) for v in (0, 1)}

# --------------------------------------------------------------------------- requests


def encode_request(
    api_key: int, version: int, correlation_id: int, client_id: str | None, body: Any
) -> bytes:
    """Header and body of a request, without the 4-byte size prefix of the frame."""
    message = _message(REQUESTS, api_key, version, "request")
    out = bytearray()
    header = {
        "request_api_key": int(api_key),
        "request_api_version": version,
        "correlation_id": correlation_id,
        "client_id": client_id,
    }
    try:
        encode_struct(_REQUEST_HEADER_PLANS[_request_header_version(message, version)], out, header)
        encode_struct(_plan(message, version), out, body)
    except EncodeError as exc:
        raise EncodeError(
            exc.reason, exc.path, f"cannot encode {message.name} v{version}"
        ) from exc.__cause__
    return bytes(out)


def decode_request(payload: bytes | bytearray | memoryview) -> tuple[RequestHeader, dict[str, Any]]:
    """Header and body of a request payload (for fake brokers and round-trip tests)."""
    data = bytes(payload)
    reader = Reader(data)
    api_key = reader.read_int16()
    version = reader.read_int16()
    try:
        message = _message(REQUESTS, api_key, version, "request")
    except UnsupportedVersionError as exc:
        raise ProtocolError(f"undecodable request header: {exc}") from exc
    return _guarded(_decode_request, data, message, version)


def _decode_request(
    data: bytes, message: Message, version: int
) -> tuple[RequestHeader, dict[str, Any]]:
    reader = Reader(data)
    header = decode_struct(_REQUEST_HEADER_PLANS[_request_header_version(message, version)], reader)
    body = decode_struct(_plan(message, version), reader)
    reader.expect_end(f"{message.name} v{version}")
    return (
        RequestHeader(
            ApiKey(header["request_api_key"]),
            header["request_api_version"],
            header["correlation_id"],
            header["client_id"],
        ),
        body,
    )


# --------------------------------------------------------------------------- responses


def encode_response(api_key: int, version: int, correlation_id: int, body: Any) -> bytes:
    """Header and body of a response, without the size prefix (fake brokers, tests)."""
    message = _message(RESPONSES, api_key, version, "response")
    out = bytearray()
    try:
        encode_struct(
            _RESPONSE_HEADER_PLANS[_response_header_version(message, version)],
            out,
            {"correlation_id": correlation_id},
        )
        encode_struct(_plan(message, version), out, body)
    except EncodeError as exc:
        raise EncodeError(
            exc.reason, exc.path, f"cannot encode {message.name} v{version}"
        ) from exc.__cause__
    return bytes(out)


def decode_response(
    api_key: int, version: int, payload: bytes | bytearray | memoryview
) -> tuple[int, dict[str, Any]]:
    """(correlation id, body) of a response to an ``api_key`` request at ``version``.

    Raises :class:`ProtocolError` for anything that does not decode. Bytes left over
    after the body are ignored (Kafka's clients do the same, and real peers send them).
    """
    message = _message(RESPONSES, api_key, version, "response")
    return _guarded(_decode_response, bytes(payload), message, version)


def _decode_response(data: bytes, message: Message, version: int) -> tuple[int, dict[str, Any]]:
    reader = Reader(data)
    header = decode_struct(
        _RESPONSE_HEADER_PLANS[_response_header_version(message, version)], reader
    )
    body = decode_struct(_plan(message, version), reader)
    # Bytes after the body are ignored, as Kafka's Java client and librdkafka do:
    # librdkafka's mock cluster sends one extra byte after flexible Metadata responses.
    return header["correlation_id"], body


_T = TypeVar("_T")


def _guarded(
    decode: Callable[[bytes, Message, int], _T], data: bytes, message: Message, version: int
) -> _T:
    """Run a decoder; anything but ProtocolError escaping it is a codec bug, reported
    as a ProtocolError so that no caller ever sees IndexError or struct.error."""
    try:
        return decode(data, message, version)
    except ProtocolError:
        raise
    except (struct.error, IndexError, ValueError, OverflowError, MemoryError) as exc:
        raise ProtocolError(f"cannot decode {message.name} v{version}: {exc!r}") from exc


def peek_correlation_id(payload: bytes | bytearray | memoryview) -> int:
    """The correlation id of a response payload (its first 4 bytes), before decoding."""
    if len(payload) < 4:
        raise ProtocolError(f"response of {len(payload)} bytes has no correlation id")
    return Reader(bytes(payload[:4])).read_int32()
