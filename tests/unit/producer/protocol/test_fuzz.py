"""Hostile bytes: decoding random, truncated or mutated payloads ends in ProtocolError or a
result, for every API and version; never another exception, never a hang.

Bounded by ``max_examples`` per (api, version) and a per-example deadline, so a decoder
that looped or allocated per a wire length would fail the deadline.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producer.errors import ProtocolError
from producer.protocol import decode_request, decode_response, encode_request, encode_response
from producer.protocol.schema import Message
from tests.unit.producer.protocol.strategies import all_versions, bodies

REQUEST_CASES = all_versions("request")
RESPONSE_CASES = all_versions("response")
FUZZ = settings(
    max_examples=40,
    deadline=timedelta(milliseconds=250),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _ids(cases: list[tuple[Message, int]]) -> list[str]:
    return [f"{m.name}-v{v}" for m, v in cases]


def _decode_or_protocol_error(message: Message, version: int, payload: bytes) -> None:
    assert message.api_key is not None
    try:
        correlation_id, body = decode_response(message.api_key, version, payload)
    except ProtocolError:
        return
    assert isinstance(correlation_id, int)
    assert isinstance(body, dict)


def _decode_request_or_protocol_error(payload: bytes) -> None:
    try:
        header, body = decode_request(payload)
    except ProtocolError:
        return
    assert isinstance(header.correlation_id, int)
    assert isinstance(body, dict)


@pytest.mark.parametrize(("message", "version"), RESPONSE_CASES, ids=_ids(RESPONSE_CASES))
@FUZZ
@given(payload=st.binary(max_size=200))
def test_random_bytes(message: Message, version: int, payload: bytes) -> None:
    _decode_or_protocol_error(message, version, payload)


@pytest.mark.parametrize(("message", "version"), RESPONSE_CASES, ids=_ids(RESPONSE_CASES))
@FUZZ
@given(data=st.data())
def test_truncated_responses(message: Message, version: int, data: st.DataObject) -> None:
    """Every strict prefix of a valid response fails: the decoder reads the same bytes
    in the same order, so it needs all of them."""
    assert message.api_key is not None
    encoded = encode_response(message.api_key, version, 1, data.draw(bodies(message, version)))
    for cut in range(len(encoded)):
        with pytest.raises(ProtocolError):
            decode_response(message.api_key, version, encoded[:cut])


@pytest.mark.parametrize(("message", "version"), RESPONSE_CASES, ids=_ids(RESPONSE_CASES))
@FUZZ
@given(data=st.data())
def test_mutated_responses(message: Message, version: int, data: st.DataObject) -> None:
    """Valid responses with a few bytes overwritten (lengths become huge or negative)."""
    assert message.api_key is not None
    encoded = bytearray(
        encode_response(message.api_key, version, 1, data.draw(bodies(message, version)))
    )
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(encoded) - 1))
        encoded[index] = data.draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF, 0x01]))
    extra = data.draw(st.binary(max_size=8))
    _decode_or_protocol_error(message, version, bytes(encoded) + extra)


@pytest.mark.parametrize(("message", "version"), REQUEST_CASES, ids=_ids(REQUEST_CASES))
@FUZZ
@given(data=st.data())
def test_mutated_requests(message: Message, version: int, data: st.DataObject) -> None:
    """The fake broker decodes requests with the same codec; it must fail cleanly too."""
    assert message.api_key is not None
    encoded = bytearray(
        encode_request(message.api_key, version, 1, "c", data.draw(bodies(message, version)))
    )
    cut = data.draw(st.integers(0, len(encoded)))
    for _ in range(data.draw(st.integers(0, 3))):
        index = data.draw(st.integers(4, len(encoded) - 1))  # keep api key and version
        encoded[index] = data.draw(st.integers(0, 255))
    _decode_request_or_protocol_error(bytes(encoded[:cut]))


@settings(max_examples=300, deadline=timedelta(milliseconds=250))
@given(payload=st.binary(max_size=100))
def test_random_requests(payload: bytes) -> None:
    _decode_request_or_protocol_error(payload)


def test_huge_array_count_fails_fast() -> None:
    """A Metadata v1 response claiming 2**31-1 brokers in a few bytes."""
    payload = bytes.fromhex("000000017fffffff") + b"\x00" * 32
    with pytest.raises(ProtocolError, match="cannot fit"):
        decode_response(3, 1, payload)
