"""Messages: round trips over every version, golden bytes, and cross-checks with kafka-python.

kafka-python 3 carries Apache Kafka's JSON message definitions and its own independent
codec; it is used here twice: to check that our tables transcribe the JSON (field by
field, version by version), and to check that both codecs read each other's bytes.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka.protocol.metadata import (
    ApiVersionsRequest as KpApiVersionsRequest,
)
from kafka.protocol.metadata import (
    ApiVersionsResponse as KpApiVersionsResponse,
)
from kafka.protocol.metadata import (
    MetadataRequest as KpMetadataRequest,
)
from kafka.protocol.metadata import (
    MetadataResponse as KpMetadataResponse,
)
from kafka.protocol.metadata.find_coordinator import (
    FindCoordinatorRequest as KpFindCoordinatorRequest,
)
from kafka.protocol.metadata.find_coordinator import (
    FindCoordinatorResponse as KpFindCoordinatorResponse,
)
from kafka.protocol.producer import AddOffsetsToTxnRequest as KpAddOffsetsToTxnRequest
from kafka.protocol.producer import AddOffsetsToTxnResponse as KpAddOffsetsToTxnResponse
from kafka.protocol.producer import AddPartitionsToTxnRequest as KpAddPartitionsToTxnRequest
from kafka.protocol.producer import AddPartitionsToTxnResponse as KpAddPartitionsToTxnResponse
from kafka.protocol.producer import EndTxnRequest as KpEndTxnRequest
from kafka.protocol.producer import EndTxnResponse as KpEndTxnResponse
from kafka.protocol.producer import InitProducerIdRequest as KpInitProducerIdRequest
from kafka.protocol.producer import InitProducerIdResponse as KpInitProducerIdResponse
from kafka.protocol.producer import ProduceRequest as KpProduceRequest
from kafka.protocol.producer import ProduceResponse as KpProduceResponse
from kafka.protocol.producer import TxnOffsetCommitRequest as KpTxnOffsetCommitRequest
from kafka.protocol.producer import TxnOffsetCommitResponse as KpTxnOffsetCommitResponse
from kafka.protocol.sasl import SaslAuthenticateRequest as KpSaslAuthenticateRequest
from kafka.protocol.sasl import SaslAuthenticateResponse as KpSaslAuthenticateResponse
from kafka.protocol.sasl import SaslHandshakeRequest as KpSaslHandshakeRequest
from kafka.protocol.sasl import SaslHandshakeResponse as KpSaslHandshakeResponse
from kafka.protocol.schemas.load_json import load_json

from producer.errors import ProtocolError, UnsupportedVersionError
from producer.protocol import (
    SUPPORTED_VERSIONS,
    ApiKey,
    EncodeError,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    peek_correlation_id,
)
from producer.protocol.messages import REQUESTS, RESPONSES
from producer.protocol.schema import Field, Message, parse_versions
from tests.unit.producer.protocol.strategies import all_versions, bodies, present, project

REQUEST_CASES = all_versions("request")
RESPONSE_CASES = all_versions("response")


def _ids(cases: list[tuple[Message, int]]) -> list[str]:
    return [f"{m.name}-v{v}" for m, v in cases]


def _field_names(message: Message) -> set[str]:
    return {f.name for f in message.fields}


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize(("message", "version"), REQUEST_CASES, ids=_ids(REQUEST_CASES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_request_round_trip(message: Message, version: int, data: st.DataObject) -> None:
    body = data.draw(bodies(message, version))
    correlation_id = data.draw(st.integers(0, 2**31 - 1))
    client_id = data.draw(st.none() | st.text(max_size=10))
    assert message.api_key is not None
    encoded = encode_request(message.api_key, version, correlation_id, client_id, body)

    header, decoded = decode_request(encoded)
    assert (header.api_key, header.api_version) == (message.api_key, version)
    assert (header.correlation_id, header.client_id) == (correlation_id, client_id)
    assert set(decoded) == _field_names(message)
    expected = present(message.fields, version, body)
    assert project(decoded, expected) == expected
    # decoding is lossless for what the version carries: re-encoding gives the same bytes
    assert encode_request(message.api_key, version, correlation_id, client_id, decoded) == encoded


@pytest.mark.parametrize(("message", "version"), RESPONSE_CASES, ids=_ids(RESPONSE_CASES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_response_round_trip(message: Message, version: int, data: st.DataObject) -> None:
    body = data.draw(bodies(message, version))
    correlation_id = data.draw(st.integers(-(2**31), 2**31 - 1))
    assert message.api_key is not None
    encoded = encode_response(message.api_key, version, correlation_id, body)

    assert peek_correlation_id(encoded) == correlation_id
    got_id, decoded = decode_response(message.api_key, version, encoded)
    assert got_id == correlation_id
    assert set(decoded) == _field_names(message)
    expected = present(message.fields, version, body)
    assert project(decoded, expected) == expected
    assert encode_response(message.api_key, version, correlation_id, decoded) == encoded


# ---------------------------------------------------------------- kafka-python cross-checks

KAFKA_PYTHON: dict[tuple[ApiKey, str], Any] = {
    (ApiKey.PRODUCE, "request"): KpProduceRequest,
    (ApiKey.PRODUCE, "response"): KpProduceResponse,
    (ApiKey.METADATA, "request"): KpMetadataRequest,
    (ApiKey.METADATA, "response"): KpMetadataResponse,
    (ApiKey.API_VERSIONS, "request"): KpApiVersionsRequest,
    (ApiKey.API_VERSIONS, "response"): KpApiVersionsResponse,
    (ApiKey.INIT_PRODUCER_ID, "request"): KpInitProducerIdRequest,
    (ApiKey.INIT_PRODUCER_ID, "response"): KpInitProducerIdResponse,
    (ApiKey.FIND_COORDINATOR, "request"): KpFindCoordinatorRequest,
    (ApiKey.FIND_COORDINATOR, "response"): KpFindCoordinatorResponse,
    (ApiKey.ADD_PARTITIONS_TO_TXN, "request"): KpAddPartitionsToTxnRequest,
    (ApiKey.ADD_PARTITIONS_TO_TXN, "response"): KpAddPartitionsToTxnResponse,
    (ApiKey.ADD_OFFSETS_TO_TXN, "request"): KpAddOffsetsToTxnRequest,
    (ApiKey.ADD_OFFSETS_TO_TXN, "response"): KpAddOffsetsToTxnResponse,
    (ApiKey.END_TXN, "request"): KpEndTxnRequest,
    (ApiKey.END_TXN, "response"): KpEndTxnResponse,
    (ApiKey.TXN_OFFSET_COMMIT, "request"): KpTxnOffsetCommitRequest,
    (ApiKey.TXN_OFFSET_COMMIT, "response"): KpTxnOffsetCommitResponse,
    (ApiKey.SASL_HANDSHAKE, "request"): KpSaslHandshakeRequest,
    (ApiKey.SASL_HANDSHAKE, "response"): KpSaslHandshakeResponse,
    (ApiKey.SASL_AUTHENTICATE, "request"): KpSaslAuthenticateRequest,
    (ApiKey.SASL_AUTHENTICATE, "response"): KpSaslAuthenticateResponse,
}


@pytest.mark.parametrize(("message", "version"), REQUEST_CASES, ids=_ids(REQUEST_CASES))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_kafka_python_reads_our_requests(
    message: Message, version: int, data: st.DataObject
) -> None:
    body = data.draw(bodies(message, version))
    assert message.api_key is not None
    ours = encode_request(message.api_key, version, 11, "regcast", body)
    theirs = KAFKA_PYTHON[(ApiKey(message.api_key), "request")]
    decoded = theirs.decode(ours, version=version, header=True)
    assert decoded.header.correlation_id == 11
    assert decoded.encode(header=True) == ours


@pytest.mark.parametrize(("message", "version"), RESPONSE_CASES, ids=_ids(RESPONSE_CASES))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_kafka_python_reads_our_responses(
    message: Message, version: int, data: st.DataObject
) -> None:
    body = data.draw(bodies(message, version))
    assert message.api_key is not None
    if message.api_key == ApiKey.API_VERSIONS:
        body["error_code"] = 0  # kafka-python reads any failed ApiVersions answer as v0
    ours = encode_response(message.api_key, version, 12, body)
    theirs = KAFKA_PYTHON[(ApiKey(message.api_key), "response")]
    decoded = theirs.decode(ours, version=version, header=True)
    assert decoded.header.correlation_id == 12
    assert decoded.encode(header=True) == ours
    assert decode_response(message.api_key, version, decoded.encode(header=True))[0] == 12


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _json_shape(fields: list[dict[str, Any]], version: int, flexible: bool) -> list[Any]:
    shape = []
    for f in fields:
        if version not in parse_versions(f["versions"]):
            continue
        tagged = "tag" in f and version in parse_versions(f.get("taggedVersions", "none"))
        if tagged and not flexible:
            continue
        nullable = version in parse_versions(f.get("nullableVersions", "none"))
        sub = _json_shape(f["fields"], version, flexible) if "fields" in f else None
        element = f["type"][2:] if f["type"].startswith("[]") else f["type"]
        kind = ("[]" if f["type"].startswith("[]") else "") + (
            "struct" if sub is not None else element
        )
        shape.append((_snake(f["name"]), kind, nullable, f.get("tag") if tagged else None, sub))
    return shape


def _our_shape(fields: tuple[Field, ...], version: int, flexible: bool) -> list[Any]:
    shape = []
    for f in fields:
        if not f.present_in(version):
            continue
        tagged = f.tagged_in(version)
        if tagged and not flexible:
            continue
        sub = _our_shape(f.fields, version, flexible) if f.fields else None
        kind = ("[]" if f.is_array else "") + ("struct" if sub is not None else f.element_type)
        shape.append((f.name, kind, f.nullable_in(version), f.tag if tagged else None, sub))
    return shape


@pytest.mark.parametrize("message", [*REQUESTS.values(), *RESPONSES.values()], ids=lambda m: m.name)
def test_tables_transcribe_kafkas_json(message: Message) -> None:
    """Field order, names, types, nullability and tags match Kafka's JSON at every version."""
    kafka = load_json(message.name)
    assert message.api_key == kafka["apiKey"]
    kafka_flexible = parse_versions(kafka["flexibleVersions"])
    for version in range(message.versions.low, (message.versions.high or 0) + 1):
        assert version in parse_versions(kafka["validVersions"])
        flexible = message.is_flexible(version)
        assert flexible == (version in kafka_flexible)
        assert _our_shape(message.fields, version, flexible) == _json_shape(
            kafka["fields"], version, flexible
        ), f"{message.name} v{version}"


# ---------------------------------------------------------------- golden bytes


def test_api_versions_v0_request_golden() -> None:
    encoded = encode_request(ApiKey.API_VERSIONS, 0, 1, "regcast", {})
    # header v1: api key 18, version 0, correlation id 1, client id "regcast"; empty body
    assert encoded.hex() == "00120000000000010007" + b"regcast".hex()


def test_api_versions_v3_request_golden() -> None:
    body = {"client_software_name": "regcast", "client_software_version": "0.1.0"}
    encoded = encode_request(ApiKey.API_VERSIONS, 3, 2, "regcast", body)
    # header v2: the client id keeps its int16 length; then an empty tag section;
    # body: compact strings (length + 1) and an empty tag section
    assert encoded.hex() == (
        "0012"
        "0003"
        "00000002"
        "0007" + b"regcast".hex() + "00"
        "08" + b"regcast".hex() + "06" + b"0.1.0".hex() + "00"
    )


def test_metadata_v1_request_golden() -> None:
    encoded = encode_request(ApiKey.METADATA, 1, 7, "regcast", {"topics": [{"name": "orders"}]})
    assert encoded.hex() == (
        "00030001000000070007" + b"regcast".hex() + "000000010006" + b"orders".hex()
    )
    everything = encode_request(ApiKey.METADATA, 1, 7, None, {"topics": None})
    assert everything.hex() == "0003000100000007ffffffffffff"


def test_metadata_v12_request_golden() -> None:
    encoded = encode_request(ApiKey.METADATA, 12, 3, "c", {"topics": [{"name": "t"}]})
    assert (
        encoded.hex()
        == (
            "0003"
            "000c"
            "00000003"
            "0001"
            "63"
            "00"  # header v2
            "02" + "00" * 16 + "02"
            "74"
            "00"  # one topic: zero topic id, name "t", no tags
            "01"  # allow_auto_topic_creation defaults to true
            "00"  # include_topic_authorized_operations defaults to false
            "00"
        )
    )


def test_sasl_handshake_v1_golden() -> None:
    encoded = encode_request(ApiKey.SASL_HANDSHAKE, 1, 4, "regcast", {"mechanism": "PLAIN"})
    # header v1: api key 17, version 1, correlation id 4, client id; body: int16-length string
    assert encoded.hex() == ("00110001000000040007" + b"regcast".hex() + "0005" + b"PLAIN".hex())
    answer = bytes.fromhex(
        "00000004"  # header v0: correlation id
        "0021"  # UNSUPPORTED_SASL_MECHANISM
        "00000002"
        "0005" + b"PLAIN".hex() + "000d" + b"SCRAM-SHA-256".hex()
    )
    assert decode_response(ApiKey.SASL_HANDSHAKE, 1, answer) == (
        4,
        {"error_code": 33, "mechanisms": ["PLAIN", "SCRAM-SHA-256"]},
    )


def test_sasl_authenticate_v1_golden() -> None:
    token = b"\x00alice\x00pw"
    encoded = encode_request(ApiKey.SASL_AUTHENTICATE, 1, 5, "c", {"auth_bytes": token})
    # header v1; body: int32-length bytes
    assert encoded.hex() == "002400010000000500016300000009" + token.hex()
    answer = bytes.fromhex(
        "00000005"
        "0000"  # no error
        "ffff"  # null error message
        "00000003" + b"v=x".hex() + "0000000000002710"  # session lifetime 10 s
    )
    assert decode_response(ApiKey.SASL_AUTHENTICATE, 1, answer) == (
        5,
        {
            "error_code": 0,
            "error_message": None,
            "auth_bytes": b"v=x",
            "session_lifetime_ms": 10_000,
        },
    )


def test_sasl_authenticate_v2_is_flexible_golden() -> None:
    encoded = encode_request(ApiKey.SASL_AUTHENTICATE, 2, 6, "c", {"auth_bytes": b"n,,"})
    # header v2 (client id keeps int16 length, then empty tags); compact bytes (len + 1); tags
    assert encoded.hex() == "00240002000000060001630004" + b"n,,".hex() + "00"
    answer = bytes.fromhex(
        "00000006"
        "00"  # header v1: empty tags
        "003a"  # SASL_AUTHENTICATION_FAILED
        "0d" + b"bad password".hex() + "01"  # compact string, empty compact bytes
        "0000000000000000"
        "00"
    )
    assert decode_response(ApiKey.SASL_AUTHENTICATE, 2, answer) == (
        6,
        {
            "error_code": 58,
            "error_message": "bad password",
            "auth_bytes": b"",
            "session_lifetime_ms": 0,
        },
    )


def test_api_versions_response_uses_header_v0_even_when_flexible() -> None:
    body = {
        "error_code": 0,
        "api_keys": [{"api_key": 0, "min_version": 3, "max_version": 9}],
        "throttle_time_ms": 0,
    }
    encoded = encode_response(ApiKey.API_VERSIONS, 3, 9, body)
    assert encoded.hex() == (
        "00000009"  # header v0: no tag section
        "0000"
        "02"
        "0000"
        "0003"
        "0009"
        "00"
        "00000000"
        "00"
    )


def test_produce_v9_response_uses_header_v1() -> None:
    body = {
        "responses": [
            {
                "name": "t",
                "partition_responses": [
                    {"index": 0, "error_code": 0, "base_offset": 5, "record_errors": []}
                ],
            }
        ],
        "throttle_time_ms": 0,
    }
    encoded = encode_response(ApiKey.PRODUCE, 9, 4, body)
    assert encoded.hex() == (
        "00000004"
        "00"  # header v1: correlation id and a tag section
        "02"
        "0274"  # one topic "t"
        "02"
        "00000000"
        "0000"
        "0000000000000005"
        "ffffffffffffffff"
        "ffffffffffffffff"  # log append time, log start offset defaults
        "01"
        "00"
        "00"  # no record errors, null error message, no tags
        "00"  # topic tags
        "00000000"
        "00"
    )


# ---------------------------------------------------------------- contracts


def test_supported_versions() -> None:
    assert SUPPORTED_VERSIONS == {
        ApiKey.PRODUCE: (3, 9),
        ApiKey.METADATA: (0, 12),
        ApiKey.API_VERSIONS: (0, 3),
        ApiKey.INIT_PRODUCER_ID: (0, 4),
        ApiKey.FIND_COORDINATOR: (1, 6),
        ApiKey.ADD_PARTITIONS_TO_TXN: (0, 3),
        ApiKey.ADD_OFFSETS_TO_TXN: (0, 4),
        ApiKey.END_TXN: (0, 4),
        ApiKey.TXN_OFFSET_COMMIT: (0, 4),
        ApiKey.SASL_HANDSHAKE: (1, 1),
        ApiKey.SASL_AUTHENTICATE: (0, 2),
    }


def test_fields_the_version_lacks_are_ignored_and_defaults_fill_in() -> None:
    body = {
        "topics": [{"name": "t", "topic_id": uuid.uuid4()}],
        "include_topic_authorized_operations": True,  # v8+: ignored at v4
    }
    _, decoded = decode_request(encode_request(ApiKey.METADATA, 4, 1, "c", body))
    assert decoded["allow_auto_topic_creation"] is True  # JSON default
    assert decoded["topics"] == [{"name": "t", "topic_id": uuid.UUID(int=0)}]
    assert decoded["include_topic_authorized_operations"] is False


def test_decoded_responses_carry_defaults_of_newer_fields() -> None:
    body = {
        "responses": [
            {
                "name": "t",
                "partition_responses": [{"index": 1, "error_code": 6, "base_offset": -1}],
            }
        ],
        "throttle_time_ms": 0,
    }
    _, decoded = decode_response(ApiKey.PRODUCE, 3, encode_response(ApiKey.PRODUCE, 3, 1, body))
    partition = decoded["responses"][0]["partition_responses"][0]
    assert partition == {
        "index": 1,
        "error_code": 6,
        "base_offset": -1,
        "log_append_time_ms": -1,
        "log_start_offset": -1,
        "record_errors": [],
        "error_message": None,
    }


def test_tagged_fields_round_trip_and_unknown_tags_are_skipped() -> None:
    body = {
        "error_code": 0,
        "api_keys": [],
        "throttle_time_ms": 0,
        "supported_features": [{"name": "metadata.version", "min_version": 1, "max_version": 20}],
        "finalized_features_epoch": 7,
    }
    encoded = encode_response(ApiKey.API_VERSIONS, 3, 1, body)
    _, decoded = decode_response(ApiKey.API_VERSIONS, 3, encoded)
    assert decoded["supported_features"] == body["supported_features"]
    assert decoded["finalized_features_epoch"] == 7
    assert decoded["zk_migration_ready"] is False
    # an InitProducerId v2 response with an unknown tag 9 (3 bytes) in its tag section
    raw = bytes.fromhex("000000010000000000000000000000000003e80000010903aabbcc")
    _, init = decode_response(ApiKey.INIT_PRODUCER_ID, 2, raw)
    assert init == {
        "throttle_time_ms": 0,
        "error_code": 0,
        "producer_id": 1000,
        "producer_epoch": 0,
    }


def test_missing_required_field_names_its_path() -> None:
    body = {"acks": 1, "timeout_ms": 5, "topic_data": [{"name": "t", "partition_data": [{}]}]}
    with pytest.raises(EncodeError, match=r"ProduceRequest v9: field topic_data\[0\]"):
        encode_request(ApiKey.PRODUCE, 9, 1, "c", body)
    with pytest.raises(EncodeError, match=r"partition_data\[0\]\.index: required"):
        encode_request(ApiKey.PRODUCE, 9, 1, "c", body)


def test_wrong_types_name_the_field() -> None:
    body = {"acks": 70000, "timeout_ms": 5, "topic_data": []}
    with pytest.raises(EncodeError, match="field acks"):
        encode_request(ApiKey.PRODUCE, 7, 1, "c", body)
    with pytest.raises(EncodeError, match="null is not allowed"):
        encode_request(ApiKey.PRODUCE, 7, 1, "c", {"acks": 1, "timeout_ms": 5, "topic_data": None})
    with pytest.raises(EncodeError, match="field topics"):
        encode_request(ApiKey.METADATA, 0, 1, "c", {"topics": None})  # null only from v1


def test_unsupported_versions() -> None:
    with pytest.raises(UnsupportedVersionError, match="ProduceRequest v2"):
        encode_request(ApiKey.PRODUCE, 2, 1, "c", {})
    with pytest.raises(UnsupportedVersionError):
        decode_response(ApiKey.METADATA, 13, b"\x00" * 8)
    with pytest.raises(UnsupportedVersionError):
        encode_request(ApiKey.FETCH, 4, 1, "c", {})
    with pytest.raises(ProtocolError, match="undecodable request header"):
        decode_request(bytes.fromhex("0001000400000001ffff"))


def test_api_versions_v0_answer_does_not_decode_as_v3() -> None:
    """The client retries a failed ApiVersions v3 decode as v0 (what old brokers send)."""
    body = {
        "error_code": 35,
        "api_keys": [{"api_key": 18, "min_version": 0, "max_version": 2}],
        "throttle_time_ms": 0,
    }
    v0 = encode_response(ApiKey.API_VERSIONS, 0, 1, body)
    with pytest.raises(ProtocolError):
        decode_response(ApiKey.API_VERSIONS, 3, v0)
    assert decode_response(ApiKey.API_VERSIONS, 0, v0)[1]["error_code"] == 35


def test_trailing_bytes_fail_requests_but_not_responses() -> None:
    """Real peers append bytes to some responses (librdkafka's mock: one after flexible
    Metadata); Kafka's clients ignore them and so does regcast. Requests stay strict:
    only regcast's own encoder (and tests) produce the requests this codec decodes."""
    body = {"throttle_time_ms": 0, "error_code": 0, "producer_id": 1, "producer_epoch": 0}
    encoded = encode_response(ApiKey.INIT_PRODUCER_ID, 0, 1, body)
    assert decode_response(ApiKey.INIT_PRODUCER_ID, 0, encoded + b"\x00") == (1, body)
    request = encode_request(ApiKey.API_VERSIONS, 0, 1, "c", {})
    with pytest.raises(ProtocolError, match="trailing"):
        decode_request(request + b"\x00")


def test_peek_correlation_id_needs_four_bytes() -> None:
    assert peek_correlation_id(b"\x00\x00\x01\x00rest") == 256
    with pytest.raises(ProtocolError):
        peek_correlation_id(b"\x00\x01")


def test_records_accept_any_bytes_like_value() -> None:
    records = bytearray(b"batch")
    for view in (records, memoryview(records), bytes(records)):
        partition = {"index": 0, "records": view}
        body = {
            "acks": -1,
            "timeout_ms": 30_000,
            "topic_data": [{"name": "t", "partition_data": [partition]}],
        }
        _, decoded = decode_request(encode_request(ApiKey.PRODUCE, 8, 1, "c", body))
        assert decoded["topic_data"][0]["partition_data"][0]["records"] == b"batch"
