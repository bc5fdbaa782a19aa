"""Hypothesis strategies for message bodies, derived from the definitions themselves.

For a message at a version, a body holds every field that version has (tagged fields
sometimes, since they are optional) with a value of the field's type, null where the
version allows it. Fields the version lacks are sometimes added too, with junk values,
because the encoder must ignore them.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from producer.protocol.codec import SUPPORTED_VERSIONS
from producer.protocol.messages import REQUESTS, RESPONSES
from producer.protocol.schema import Field, Message

_SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "bool": st.booleans(),
    "int8": st.integers(-(2**7), 2**7 - 1),
    "int16": st.integers(-(2**15), 2**15 - 1),
    "uint16": st.integers(0, 2**16 - 1),
    "int32": st.integers(-(2**31), 2**31 - 1),
    "uint32": st.integers(0, 2**32 - 1),
    "int64": st.integers(-(2**63), 2**63 - 1),
    "float64": st.floats(allow_nan=False),
    "uuid": st.uuids(),
    "string": st.text(max_size=12),
    "bytes": st.binary(max_size=24),
    "records": st.binary(max_size=48),
}

_JUNK = st.sampled_from(["junk", -12345, None, [{"x": 1}]])


def field_values(field: Field, version: int) -> st.SearchStrategy[Any]:
    if field.is_struct_array:
        element: st.SearchStrategy[Any] = struct_bodies(field.fields, version)
    else:
        element = _SCALARS[field.element_type]
    strategy = st.lists(element, max_size=3) if field.is_array else element
    if field.nullable_in(version):
        strategy = st.none() | strategy
    return strategy


def struct_bodies(
    fields: tuple[Field, ...], version: int, with_junk: bool = False
) -> st.SearchStrategy[dict[str, Any]]:
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in fields:
        if not field.present_in(version):
            if with_junk:
                optional[field.name] = _JUNK
        elif field.tagged_in(version):
            optional[field.name] = field_values(field, version)
        else:
            required[field.name] = field_values(field, version)
    return st.fixed_dictionaries(required, optional=optional)


def bodies(message: Message, version: int) -> st.SearchStrategy[dict[str, Any]]:
    return struct_bodies(message.fields, version, with_junk=True)


def all_versions(kind: str) -> list[tuple[Message, int]]:
    table = REQUESTS if kind == "request" else RESPONSES
    return [
        (table[api_key], version)
        for api_key, (low, high) in SUPPORTED_VERSIONS.items()
        for version in range(low, high + 1)
    ]


def present(fields: tuple[Field, ...], version: int, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` restricted to the fields the version has, arrays as lists (what decodes)."""
    result: dict[str, Any] = {}
    for field in fields:
        if not field.present_in(version) or field.name not in body:
            continue
        value = body[field.name]
        if field.is_struct_array and value is not None:
            value = [present(field.fields, version, item) for item in value]
        elif field.is_array and value is not None:
            value = list(value)
        result[field.name] = value
    return result


def project(decoded: Any, like: Any) -> Any:
    """``decoded`` cut down to the keys ``like`` has, recursively (decoding adds the
    defaults of fields a version lacks; the body a test drew does not have them)."""
    if isinstance(like, dict) and isinstance(decoded, dict):
        return {k: project(decoded.get(k), v) for k, v in like.items()}
    if isinstance(like, list) and isinstance(decoded, list) and len(like) == len(decoded):
        return [project(d, v) for d, v in zip(decoded, like, strict=True)]
    return decoded
