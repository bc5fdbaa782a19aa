"""The message definitions regcast speaks, as data.

Each definition transcribes Kafka's JSON (``clients/src/main/resources/common/message/``,
the file named in its comment) into :class:`~producer.protocol.schema.Field` tuples:
same field order, types, version ranges, nullable versions, tags and defaults, names in
snake_case. Adding a message (or a version) is adding or editing a definition here; the
generic codec in :mod:`producer.protocol.codec` compiles a plan per (message, version).

Where regcast's ``valid_versions`` is narrower than Kafka's, the comment says why.
"""

from __future__ import annotations

from typing import Final

from producer.protocol.api_keys import ApiKey
from producer.protocol.primitives import ZERO_UUID
from producer.protocol.schema import Field, Message

__all__ = [
    "REQUESTS",
    "REQUEST_HEADER",
    "RESPONSES",
    "RESPONSE_HEADER",
]

_F = Field

# ----------------------------------------------------------------- headers

# RequestHeader.json. v1 for non-flexible request versions, v2 for flexible ones.
REQUEST_HEADER: Final = Message(
    name="RequestHeader",
    api_key=None,
    valid_versions="1-2",  # v0 only served ControlledShutdown v0
    flexible_versions="2+",
    fields=(
        _F("request_api_key", "int16"),
        _F("request_api_version", "int16"),
        _F("correlation_id", "int32"),
        _F(
            "client_id",
            "string",
            versions="1+",
            nullable_versions="1+",
            default=None,
            flexible_versions="none",
        ),
    ),
)

# ResponseHeader.json. v0 for non-flexible response versions, v1 for flexible ones,
# except that ApiVersions responses always use v0.
RESPONSE_HEADER: Final = Message(
    name="ResponseHeader",
    api_key=None,
    valid_versions="0-1",
    flexible_versions="1+",
    fields=(_F("correlation_id", "int32"),),
)

# ----------------------------------------------------------------- Produce (0)

# ProduceRequest.json / ProduceResponse.json. regcast writes record batches v2 only, which
# needs Produce v3+; v9 is the first flexible version.
_PRODUCE_REQUEST = Message(
    name="ProduceRequest",
    api_key=ApiKey.PRODUCE,
    valid_versions="3-9",
    flexible_versions="9+",
    fields=(
        _F("transactional_id", "string", versions="3+", nullable_versions="3+", default=None),
        _F("acks", "int16"),
        _F("timeout_ms", "int32"),
        _F(
            "topic_data",
            "[]TopicProduceData",
            fields=(
                _F("name", "string"),
                _F(
                    "partition_data",
                    "[]PartitionProduceData",
                    fields=(
                        _F("index", "int32"),
                        _F("records", "records", nullable_versions="0+"),
                    ),
                ),
            ),
        ),
    ),
)

_PRODUCE_RESPONSE = Message(
    name="ProduceResponse",
    api_key=ApiKey.PRODUCE,
    valid_versions="3-9",
    flexible_versions="9+",
    fields=(
        _F(
            "responses",
            "[]TopicProduceResponse",
            fields=(
                _F("name", "string"),
                _F(
                    "partition_responses",
                    "[]PartitionProduceResponse",
                    fields=(
                        _F("index", "int32"),
                        _F("error_code", "int16"),
                        _F("base_offset", "int64"),
                        _F("log_append_time_ms", "int64", versions="2+", default=-1),
                        _F("log_start_offset", "int64", versions="5+", default=-1),
                        _F(
                            "record_errors",
                            "[]BatchIndexAndErrorMessage",
                            versions="8+",
                            default=(),  # implicit in the JSON: an empty list
                            fields=(
                                _F("batch_index", "int32", versions="8+"),
                                _F(
                                    "batch_index_error_message",
                                    "string",
                                    versions="8+",
                                    nullable_versions="8+",
                                    default=None,
                                ),
                            ),
                        ),
                        _F(
                            "error_message",
                            "string",
                            versions="8+",
                            nullable_versions="8+",
                            default=None,
                        ),
                    ),
                ),
            ),
        ),
        _F("throttle_time_ms", "int32", versions="1+", default=0),
    ),
)

# ----------------------------------------------------------------- Metadata (3)

# MetadataRequest.json / MetadataResponse.json, v0-v12 (v13 only adds a top-level
# response error code). v9 is the first flexible version.
_METADATA_REQUEST = Message(
    name="MetadataRequest",
    api_key=ApiKey.METADATA,
    valid_versions="0-12",
    flexible_versions="9+",
    fields=(
        # v0: an empty array means all topics; v1+: null means all, empty means none.
        _F(
            "topics",
            "[]MetadataRequestTopic",
            nullable_versions="1+",
            fields=(
                # implicit in the JSON: the zero UUID (look the topic up by name)
                _F("topic_id", "uuid", versions="10+", default=ZERO_UUID),
                _F("name", "string", nullable_versions="10+"),
            ),
        ),
        _F("allow_auto_topic_creation", "bool", versions="4+", default=True),
        # implicit in the JSON: false
        _F("include_cluster_authorized_operations", "bool", versions="8-10", default=False),
        _F("include_topic_authorized_operations", "bool", versions="8+", default=False),
    ),
)

_METADATA_RESPONSE = Message(
    name="MetadataResponse",
    api_key=ApiKey.METADATA,
    valid_versions="0-12",
    flexible_versions="9+",
    fields=(
        _F("throttle_time_ms", "int32", versions="3+", default=0),
        _F(
            "brokers",
            "[]MetadataResponseBroker",
            fields=(
                _F("node_id", "int32"),
                _F("host", "string"),
                _F("port", "int32"),
                _F("rack", "string", versions="1+", nullable_versions="1+", default=None),
            ),
        ),
        _F("cluster_id", "string", versions="2+", nullable_versions="2+", default=None),
        _F("controller_id", "int32", versions="1+", default=-1),
        _F(
            "topics",
            "[]MetadataResponseTopic",
            fields=(
                _F("error_code", "int16"),
                _F("name", "string", nullable_versions="12+"),
                # implicit in the JSON: the zero UUID
                _F("topic_id", "uuid", versions="10+", default=ZERO_UUID),
                _F("is_internal", "bool", versions="1+", default=False),
                _F(
                    "partitions",
                    "[]MetadataResponsePartition",
                    fields=(
                        _F("error_code", "int16"),
                        _F("partition_index", "int32"),
                        _F("leader_id", "int32"),
                        _F("leader_epoch", "int32", versions="7+", default=-1),
                        _F("replica_nodes", "[]int32"),
                        _F("isr_nodes", "[]int32"),
                        # implicit in the JSON: an empty list
                        _F("offline_replicas", "[]int32", versions="5+", default=()),
                    ),
                ),
                _F(
                    "topic_authorized_operations",
                    "int32",
                    versions="8+",
                    default=-2147483648,
                ),
            ),
        ),
        _F(
            "cluster_authorized_operations",
            "int32",
            versions="8-10",
            default=-2147483648,
        ),
    ),
)

# ----------------------------------------------------------------- ApiVersions (18)

# ApiVersionsRequest.json / ApiVersionsResponse.json, v0-v3 (v4 only changes how
# features with min version 0 are reported). v3 is the first flexible version.
_API_VERSIONS_REQUEST = Message(
    name="ApiVersionsRequest",
    api_key=ApiKey.API_VERSIONS,
    valid_versions="0-3",
    flexible_versions="3+",
    fields=(
        # implicit in the JSON: the empty string
        _F("client_software_name", "string", versions="3+", default=""),
        _F("client_software_version", "string", versions="3+", default=""),
    ),
)

_API_VERSIONS_RESPONSE = Message(
    name="ApiVersionsResponse",
    api_key=ApiKey.API_VERSIONS,
    valid_versions="0-3",
    flexible_versions="3+",
    fields=(
        _F("error_code", "int16"),
        _F(
            "api_keys",
            "[]ApiVersion",
            fields=(
                _F("api_key", "int16"),
                _F("min_version", "int16"),
                _F("max_version", "int16"),
            ),
        ),
        _F("throttle_time_ms", "int32", versions="1+", default=0),
        _F(
            "supported_features",
            "[]SupportedFeatureKey",
            versions="3+",
            tag=0,
            tagged_versions="3+",
            default=(),
            fields=(
                _F("name", "string", versions="3+"),
                _F("min_version", "int16", versions="3+"),
                _F("max_version", "int16", versions="3+"),
            ),
        ),
        _F(
            "finalized_features_epoch",
            "int64",
            versions="3+",
            tag=1,
            tagged_versions="3+",
            default=-1,
        ),
        _F(
            "finalized_features",
            "[]FinalizedFeatureKey",
            versions="3+",
            tag=2,
            tagged_versions="3+",
            default=(),
            fields=(
                _F("name", "string", versions="3+"),
                _F("max_version_level", "int16", versions="3+"),
                _F("min_version_level", "int16", versions="3+"),
            ),
        ),
        _F(
            "zk_migration_ready",
            "bool",
            versions="3+",
            tag=3,
            tagged_versions="3+",
            default=False,
        ),
    ),
)

# ----------------------------------------------------------------- InitProducerId (22)

# InitProducerIdRequest.json / InitProducerIdResponse.json, v0-v4 (v5+ add two-phase
# commit, which regcast does not use). v2 is the first flexible version.
_INIT_PRODUCER_ID_REQUEST = Message(
    name="InitProducerIdRequest",
    api_key=ApiKey.INIT_PRODUCER_ID,
    valid_versions="0-4",
    flexible_versions="2+",
    fields=(
        # no default in the JSON; None (an idempotent, non-transactional producer)
        _F("transactional_id", "string", nullable_versions="0+", default=None),
        _F("transaction_timeout_ms", "int32"),
        _F("producer_id", "int64", versions="3+", default=-1),
        _F("producer_epoch", "int16", versions="3+", default=-1),
    ),
)

_INIT_PRODUCER_ID_RESPONSE = Message(
    name="InitProducerIdResponse",
    api_key=ApiKey.INIT_PRODUCER_ID,
    valid_versions="0-4",
    flexible_versions="2+",
    fields=(
        _F("throttle_time_ms", "int32", default=0),
        _F("error_code", "int16"),
        _F("producer_id", "int64", default=-1),
        _F("producer_epoch", "int16"),
    ),
)

# ----------------------------------------------------------------- FindCoordinator (10)

# FindCoordinatorRequest.json / FindCoordinatorResponse.json. v1 adds KeyType (0 group,
# 1 transaction); v0 (groups only, deprecated) is not offered. v3 is the first flexible
# version; v4 (KIP-699) asks for several keys at once and answers a list; v5 only adds
# the error code TRANSACTION_ABORTABLE and v6 share-group keys (KIP-932), with the same
# layout as v4.
_FIND_COORDINATOR_REQUEST = Message(
    name="FindCoordinatorRequest",
    api_key=ApiKey.FIND_COORDINATOR,
    valid_versions="1-6",
    flexible_versions="3+",
    fields=(
        _F("key", "string", versions="0-3", default=""),
        _F("key_type", "int8", versions="1+", default=0),
        _F("coordinator_keys", "[]string", versions="4+", default=()),
    ),
)

_FIND_COORDINATOR_RESPONSE = Message(
    name="FindCoordinatorResponse",
    api_key=ApiKey.FIND_COORDINATOR,
    valid_versions="1-6",
    flexible_versions="3+",
    fields=(
        _F("throttle_time_ms", "int32", versions="1+", default=0),
        _F("error_code", "int16", versions="0-3", default=0),
        _F("error_message", "string", versions="1-3", nullable_versions="1-3", default=None),
        _F("node_id", "int32", versions="0-3", default=-1),
        _F("host", "string", versions="0-3", default=""),
        _F("port", "int32", versions="0-3", default=-1),
        _F(
            "coordinators",
            "[]Coordinator",
            versions="4+",
            default=(),
            fields=(
                _F("key", "string", versions="4+"),
                _F("node_id", "int32", versions="4+"),
                _F("host", "string", versions="4+"),
                _F("port", "int32", versions="4+"),
                _F("error_code", "int16", versions="4+"),
                _F(
                    "error_message",
                    "string",
                    versions="4+",
                    nullable_versions="4+",
                    default=None,
                ),
            ),
        ),
    ),
)

# ----------------------------------------------------------------- AddPartitionsToTxn (24)

# AddPartitionsToTxnRequest.json / AddPartitionsToTxnResponse.json. Kafka reserves v4+
# (several transactions per request, VerifyOnly) for brokers; clients send v0-v3, so
# only those are offered and only their fields are transcribed (the JSON's
# ``V3AndBelow...`` names). v2 adds PRODUCER_FENCED, v3 is flexible.
_TXN_TOPIC = (
    _F("name", "string"),
    _F("partitions", "[]int32"),
)

_ADD_PARTITIONS_TO_TXN_REQUEST = Message(
    name="AddPartitionsToTxnRequest",
    api_key=ApiKey.ADD_PARTITIONS_TO_TXN,
    valid_versions="0-3",
    flexible_versions="3+",
    fields=(
        _F("v3_and_below_transactional_id", "string", versions="0-3"),
        _F("v3_and_below_producer_id", "int64", versions="0-3"),
        _F("v3_and_below_producer_epoch", "int16", versions="0-3"),
        _F("v3_and_below_topics", "[]AddPartitionsToTxnTopic", versions="0-3", fields=_TXN_TOPIC),
    ),
)

_ADD_PARTITIONS_TO_TXN_RESPONSE = Message(
    name="AddPartitionsToTxnResponse",
    api_key=ApiKey.ADD_PARTITIONS_TO_TXN,
    valid_versions="0-3",
    flexible_versions="3+",
    fields=(
        _F("throttle_time_ms", "int32", default=0),
        _F(
            "results_by_topic_v3_and_below",
            "[]AddPartitionsToTxnTopicResult",
            versions="0-3",
            fields=(
                _F("name", "string"),
                _F(
                    "results_by_partition",
                    "[]AddPartitionsToTxnPartitionResult",
                    fields=(
                        _F("partition_index", "int32"),
                        _F("partition_error_code", "int16"),
                    ),
                ),
            ),
        ),
    ),
)

# ----------------------------------------------------------------- AddOffsetsToTxn (25)

# The fields that name a transaction's producer, and the answer of "did it work", shared
# word for word by AddOffsetsToTxn and EndTxn in Kafka's JSON.
_TXN_PRODUCER = (
    _F("transactional_id", "string"),
    _F("producer_id", "int64"),
    _F("producer_epoch", "int16"),
)
_THROTTLE_AND_ERROR = (
    _F("throttle_time_ms", "int32", default=0),
    _F("error_code", "int16"),
)

# AddOffsetsToTxnRequest.json / AddOffsetsToTxnResponse.json, v0-v4: v2 adds
# PRODUCER_FENCED, v3 is flexible, v4 adds TRANSACTION_ABORTABLE; one layout throughout.
_ADD_OFFSETS_TO_TXN_REQUEST = Message(
    name="AddOffsetsToTxnRequest",
    api_key=ApiKey.ADD_OFFSETS_TO_TXN,
    valid_versions="0-4",
    flexible_versions="3+",
    fields=(*_TXN_PRODUCER, _F("group_id", "string")),
)

_ADD_OFFSETS_TO_TXN_RESPONSE = Message(
    name="AddOffsetsToTxnResponse",
    api_key=ApiKey.ADD_OFFSETS_TO_TXN,
    valid_versions="0-4",
    flexible_versions="3+",
    fields=_THROTTLE_AND_ERROR,
)

# ----------------------------------------------------------------- EndTxn (26)

# EndTxnRequest.json / EndTxnResponse.json. v3 is flexible, v4 adds
# TRANSACTION_ABORTABLE. v5 (KIP-890 part 2: a new epoch per transaction, returned in
# the response) is marked latestVersionUnstable in Kafka's JSON, so it is not offered.
_END_TXN_REQUEST = Message(
    name="EndTxnRequest",
    api_key=ApiKey.END_TXN,
    valid_versions="0-4",
    flexible_versions="3+",
    fields=(*_TXN_PRODUCER, _F("committed", "bool")),
)

_END_TXN_RESPONSE = Message(
    name="EndTxnResponse",
    api_key=ApiKey.END_TXN,
    valid_versions="0-4",
    flexible_versions="3+",
    fields=_THROTTLE_AND_ERROR,
)

# ----------------------------------------------------------------- TxnOffsetCommit (28)

# TxnOffsetCommitRequest.json / TxnOffsetCommitResponse.json, v0-v4: v2 adds the
# committed leader epoch, v3 (flexible) the consumer group's generation, member id and
# instance id (KIP-447, so a fenced consumer's offsets are refused), v4
# TRANSACTION_ABORTABLE.
_TXN_OFFSET_COMMIT_REQUEST = Message(
    name="TxnOffsetCommitRequest",
    api_key=ApiKey.TXN_OFFSET_COMMIT,
    valid_versions="0-4",
    flexible_versions="3+",
    fields=(
        _F("transactional_id", "string"),
        _F("group_id", "string"),
        _F("producer_id", "int64"),
        _F("producer_epoch", "int16"),
        _F("generation_id", "int32", versions="3+", default=-1),
        _F("member_id", "string", versions="3+", default=""),
        _F(
            "group_instance_id",
            "string",
            versions="3+",
            nullable_versions="3+",
            default=None,
        ),
        _F(
            "topics",
            "[]TxnOffsetCommitRequestTopic",
            fields=(
                _F("name", "string"),
                _F(
                    "partitions",
                    "[]TxnOffsetCommitRequestPartition",
                    fields=(
                        _F("partition_index", "int32"),
                        _F("committed_offset", "int64"),
                        _F("committed_leader_epoch", "int32", versions="2+", default=-1),
                        _F("committed_metadata", "string", nullable_versions="0+", default=None),
                    ),
                ),
            ),
        ),
    ),
)

_TXN_OFFSET_COMMIT_RESPONSE = Message(
    name="TxnOffsetCommitResponse",
    api_key=ApiKey.TXN_OFFSET_COMMIT,
    valid_versions="0-4",
    flexible_versions="3+",
    fields=(
        _F("throttle_time_ms", "int32", default=0),
        _F(
            "topics",
            "[]TxnOffsetCommitResponseTopic",
            fields=(
                _F("name", "string"),
                _F(
                    "partitions",
                    "[]TxnOffsetCommitResponsePartition",
                    fields=(
                        _F("partition_index", "int32"),
                        _F("error_code", "int16"),
                    ),
                ),
            ),
        ),
    ),
)

# ----------------------------------------------------------------- SaslHandshake (17)

# SaslHandshakeRequest.json / SaslHandshakeResponse.json. v1 (KIP-152) means the SASL
# tokens that follow travel in SaslAuthenticate requests; v0 sent them as raw frames,
# which regcast does not speak, so only v1 is offered.
_SASL_HANDSHAKE_REQUEST = Message(
    name="SaslHandshakeRequest",
    api_key=ApiKey.SASL_HANDSHAKE,
    valid_versions="1",
    flexible_versions="none",
    fields=(_F("mechanism", "string"),),
)

_SASL_HANDSHAKE_RESPONSE = Message(
    name="SaslHandshakeResponse",
    api_key=ApiKey.SASL_HANDSHAKE,
    valid_versions="1",
    flexible_versions="none",
    fields=(
        _F("error_code", "int16"),
        _F("mechanisms", "[]string"),
    ),
)

# ----------------------------------------------------------------- SaslAuthenticate (36)

# SaslAuthenticateRequest.json / SaslAuthenticateResponse.json, v0-v2. v1 adds the
# session lifetime (KIP-368 re-authentication); v2 is the first flexible version.
_SASL_AUTHENTICATE_REQUEST = Message(
    name="SaslAuthenticateRequest",
    api_key=ApiKey.SASL_AUTHENTICATE,
    valid_versions="0-2",
    flexible_versions="2+",
    fields=(_F("auth_bytes", "bytes"),),
)

_SASL_AUTHENTICATE_RESPONSE = Message(
    name="SaslAuthenticateResponse",
    api_key=ApiKey.SASL_AUTHENTICATE,
    valid_versions="0-2",
    flexible_versions="2+",
    fields=(
        _F("error_code", "int16"),
        _F("error_message", "string", nullable_versions="0+", default=None),
        _F("auth_bytes", "bytes"),
        _F("session_lifetime_ms", "int64", versions="1+", default=0),
    ),
)

REQUESTS: Final[dict[ApiKey, Message]] = {
    ApiKey.PRODUCE: _PRODUCE_REQUEST,
    ApiKey.METADATA: _METADATA_REQUEST,
    ApiKey.API_VERSIONS: _API_VERSIONS_REQUEST,
    ApiKey.INIT_PRODUCER_ID: _INIT_PRODUCER_ID_REQUEST,
    ApiKey.FIND_COORDINATOR: _FIND_COORDINATOR_REQUEST,
    ApiKey.ADD_PARTITIONS_TO_TXN: _ADD_PARTITIONS_TO_TXN_REQUEST,
    ApiKey.ADD_OFFSETS_TO_TXN: _ADD_OFFSETS_TO_TXN_REQUEST,
    ApiKey.END_TXN: _END_TXN_REQUEST,
    ApiKey.TXN_OFFSET_COMMIT: _TXN_OFFSET_COMMIT_REQUEST,
    ApiKey.SASL_HANDSHAKE: _SASL_HANDSHAKE_REQUEST,
    ApiKey.SASL_AUTHENTICATE: _SASL_AUTHENTICATE_REQUEST,
}

RESPONSES: Final[dict[ApiKey, Message]] = {
    ApiKey.PRODUCE: _PRODUCE_RESPONSE,
    ApiKey.METADATA: _METADATA_RESPONSE,
    ApiKey.API_VERSIONS: _API_VERSIONS_RESPONSE,
    ApiKey.INIT_PRODUCER_ID: _INIT_PRODUCER_ID_RESPONSE,
    ApiKey.FIND_COORDINATOR: _FIND_COORDINATOR_RESPONSE,
    ApiKey.ADD_PARTITIONS_TO_TXN: _ADD_PARTITIONS_TO_TXN_RESPONSE,
    ApiKey.ADD_OFFSETS_TO_TXN: _ADD_OFFSETS_TO_TXN_RESPONSE,
    ApiKey.END_TXN: _END_TXN_RESPONSE,
    ApiKey.TXN_OFFSET_COMMIT: _TXN_OFFSET_COMMIT_RESPONSE,
    ApiKey.SASL_HANDSHAKE: _SASL_HANDSHAKE_RESPONSE,
    ApiKey.SASL_AUTHENTICATE: _SASL_AUTHENTICATE_RESPONSE,
}
