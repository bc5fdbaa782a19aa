"""The one table from Kafka's error codes to names, retriability and a short explanation.

Codes, names and the retriable flag follow the Kafka protocol guide's error-code table
(retriable there means the client may succeed by retrying the same request, possibly
after refreshing metadata). The explanations are regcast's own words, with the action a
producer user can take where there is one.

:func:`error_for_code` turns a code from a response into an exception instance whose
class comes from :func:`producer.errors.kafka_error_class`, so each code has one class
(``NotLeaderOrFollowerError`` for 6, ...) that is also a
:class:`~producer.errors.RetriableError` when the code is retriable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from producer.errors import KafkaError, kafka_error_class

__all__ = [
    "ERRORS",
    "NONE",
    "KafkaErrorSpec",
    "code_for_name",
    "error_class",
    "error_for_code",
    "spec_for_code",
]

NONE: Final = 0


@dataclass(frozen=True, slots=True)
class KafkaErrorSpec:
    code: int
    name: str
    retriable: bool
    message: str


_T, _F = True, False

# fmt: off
_TABLE: Final[tuple[tuple[int, str, bool, str], ...]] = (
    (-1, "UNKNOWN_SERVER_ERROR", _F, "the broker failed in an unexpected way; see its log"),
    (0, "NONE", _F, "no error"),
    (1, "OFFSET_OUT_OF_RANGE", _F, "the requested offset is outside the partition's log"),
    (2, "CORRUPT_MESSAGE", _T, "the broker found a record batch whose CRC or size is wrong"),
    (3, "UNKNOWN_TOPIC_OR_PARTITION", _T,
     "the broker does not host this topic-partition (yet); check the topic exists"),
    (4, "INVALID_FETCH_SIZE", _F, "the requested fetch size is invalid"),
    (5, "LEADER_NOT_AVAILABLE", _T,
     "the partition has no leader right now (election in progress)"),
    (6, "NOT_LEADER_OR_FOLLOWER", _T,
     "the broker is not the partition's leader; metadata is stale"),
    (7, "REQUEST_TIMED_OUT", _T, "the broker timed out waiting (e.g. for replication)"),
    (8, "BROKER_NOT_AVAILABLE", _F, "the broker is not available"),
    (9, "REPLICA_NOT_AVAILABLE", _T, "a replica the request needs is not available"),
    (10, "MESSAGE_TOO_LARGE", _F,
     "the batch is larger than the broker or topic accepts; lower batch_size or raise "
     "the topic's max.message.bytes"),
    (11, "STALE_CONTROLLER_EPOCH", _F, "the request came from an outdated controller"),
    (12, "OFFSET_METADATA_TOO_LARGE", _F, "the committed offset metadata is too large"),
    (13, "NETWORK_EXCEPTION", _T, "the broker lost a connection while serving the request"),
    (14, "COORDINATOR_LOAD_IN_PROGRESS", _T, "the coordinator is still loading its state"),
    (15, "COORDINATOR_NOT_AVAILABLE", _T, "the coordinator is not available"),
    (16, "NOT_COORDINATOR", _T, "the broker is not the coordinator for this key"),
    (17, "INVALID_TOPIC_EXCEPTION", _F,
     "the topic name is invalid, or the topic is internal and cannot be written"),
    (18, "RECORD_LIST_TOO_LARGE", _F,
     "the request's records exceed the broker's segment size"),
    (19, "NOT_ENOUGH_REPLICAS", _T,
     "fewer in-sync replicas than min.insync.replicas; acks=all cannot be met now"),
    (20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", _T,
     "written to the leader, but too few in-sync replicas acknowledged it"),
    (21, "INVALID_REQUIRED_ACKS", _F, "acks must be -1 (all), 0 or 1"),
    (22, "ILLEGAL_GENERATION", _F, "the consumer group generation is not current"),
    (23, "INCONSISTENT_GROUP_PROTOCOL", _F, "the member's protocols do not match the group"),
    (24, "INVALID_GROUP_ID", _F, "the group id is invalid"),
    (25, "UNKNOWN_MEMBER_ID", _F, "the group does not know this member id"),
    (26, "INVALID_SESSION_TIMEOUT", _F, "the session timeout is outside the allowed range"),
    (27, "REBALANCE_IN_PROGRESS", _F, "the group is rebalancing"),
    (28, "INVALID_COMMIT_OFFSET_SIZE", _F, "the offset commit is too large"),
    (29, "TOPIC_AUTHORIZATION_FAILED", _F,
     "the client is not authorized to access the topic; check its ACLs"),
    (30, "GROUP_AUTHORIZATION_FAILED", _F, "the client is not authorized to use the group"),
    (31, "CLUSTER_AUTHORIZATION_FAILED", _F,
     "the client is not authorized for this cluster operation (idempotent writes need "
     "IDEMPOTENT_WRITE on old brokers)"),
    (32, "INVALID_TIMESTAMP", _F,
     "a record timestamp is outside the topic's message.timestamp.*.ms bounds"),
    (33, "UNSUPPORTED_SASL_MECHANISM", _F, "the broker does not offer this SASL mechanism"),
    (34, "ILLEGAL_SASL_STATE", _F, "the request is not valid in the SASL handshake state"),
    (35, "UNSUPPORTED_VERSION", _F, "the broker does not support this request version"),
    (36, "TOPIC_ALREADY_EXISTS", _F, "the topic already exists"),
    (37, "INVALID_PARTITIONS", _F, "the number of partitions is invalid"),
    (38, "INVALID_REPLICATION_FACTOR", _F, "the replication factor is invalid"),
    (39, "INVALID_REPLICA_ASSIGNMENT", _F, "the replica assignment is invalid"),
    (40, "INVALID_CONFIG", _F, "a configuration value is invalid"),
    (41, "NOT_CONTROLLER", _T, "the broker is not the controller"),
    (42, "INVALID_REQUEST", _F,
     "the broker could not make sense of the request (a client bug); see the broker log"),
    (43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", _F,
     "the topic's message format is too old for this request"),
    (44, "POLICY_VIOLATION", _F, "the request violates a broker-configured policy"),
    (45, "OUT_OF_ORDER_SEQUENCE_NUMBER", _F,
     "the broker saw a sequence number gap from this idempotent producer"),
    (46, "DUPLICATE_SEQUENCE_NUMBER", _F, "the broker already has a batch with this sequence"),
    (47, "INVALID_PRODUCER_EPOCH", _F,
     "the producer epoch is stale: another producer with the same id took over"),
    (48, "INVALID_TXN_STATE", _F, "the operation is not valid in the transaction's state"),
    (49, "INVALID_PRODUCER_ID_MAPPING", _F,
     "the producer id does not match the transactional id"),
    (50, "INVALID_TRANSACTION_TIMEOUT", _F,
     "transaction_timeout_ms exceeds the broker's transaction.max.timeout.ms"),
    (51, "CONCURRENT_TRANSACTIONS", _T,
     "the transaction coordinator is still completing an earlier transaction"),
    (52, "TRANSACTION_COORDINATOR_FENCED", _F,
     "the transaction coordinator that sent this is no longer current"),
    (53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", _F,
     "the client is not authorized to use the transactional id"),
    (54, "SECURITY_DISABLED", _F, "security features are disabled on the broker"),
    (55, "OPERATION_NOT_ATTEMPTED", _F,
     "the broker skipped this operation because another in the batch failed"),
    (56, "KAFKA_STORAGE_ERROR", _T, "the broker's disk holding the partition failed"),
    (57, "LOG_DIR_NOT_FOUND", _F, "the requested log directory does not exist"),
    (58, "SASL_AUTHENTICATION_FAILED", _F, "SASL authentication failed; check credentials"),
    (59, "UNKNOWN_PRODUCER_ID", _F,
     "the broker no longer has state for this producer id (its records expired)"),
    (60, "REASSIGNMENT_IN_PROGRESS", _F, "a partition reassignment is in progress"),
    (61, "DELEGATION_TOKEN_AUTH_DISABLED", _F, "delegation tokens are disabled"),
    (62, "DELEGATION_TOKEN_NOT_FOUND", _F, "the delegation token does not exist"),
    (63, "DELEGATION_TOKEN_OWNER_MISMATCH", _F, "the principal does not own the token"),
    (64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", _F,
     "delegation-token requests are not allowed on this channel"),
    (65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", _F,
     "the client is not authorized for this delegation token"),
    (66, "DELEGATION_TOKEN_EXPIRED", _F, "the delegation token has expired"),
    (67, "INVALID_PRINCIPAL_TYPE", _F, "the principal type is not supported"),
    (68, "NON_EMPTY_GROUP", _F, "the group is not empty"),
    (69, "GROUP_ID_NOT_FOUND", _F, "the group id does not exist"),
    (70, "FETCH_SESSION_ID_NOT_FOUND", _T, "the fetch session does not exist"),
    (71, "INVALID_FETCH_SESSION_EPOCH", _T, "the fetch session epoch is invalid"),
    (72, "LISTENER_NOT_FOUND", _T,
     "the leader has no listener matching the one the client connected through"),
    (73, "TOPIC_DELETION_DISABLED", _F, "topic deletion is disabled"),
    (74, "FENCED_LEADER_EPOCH", _T, "the request's leader epoch is older than the broker's"),
    (75, "UNKNOWN_LEADER_EPOCH", _T, "the request's leader epoch is newer than the broker's"),
    (76, "UNSUPPORTED_COMPRESSION_TYPE", _F,
     "the broker does not accept this compression codec for the request version"),
    (77, "STALE_BROKER_EPOCH", _F, "the broker epoch is stale"),
    (78, "OFFSET_NOT_AVAILABLE", _T, "the leader's high watermark is not yet known"),
    (79, "MEMBER_ID_REQUIRED", _F, "the group requires a member id; rejoin with it"),
    (80, "PREFERRED_LEADER_NOT_AVAILABLE", _T, "the preferred leader is not available"),
    (81, "GROUP_MAX_SIZE_REACHED", _F, "the group is at its maximum size"),
    (82, "FENCED_INSTANCE_ID", _F, "another member with this group instance id took over"),
    (83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", _T, "no eligible leader for the partition"),
    (84, "ELECTION_NOT_NEEDED", _T, "the leader election is not needed"),
    (85, "NO_REASSIGNMENT_IN_PROGRESS", _F, "no partition reassignment is in progress"),
    (86, "GROUP_SUBSCRIBED_TO_TOPIC", _F, "the group still subscribes to the topic"),
    (87, "INVALID_RECORD", _F,
     "the broker rejected a record (e.g. a null key on a compacted topic); see "
     "record_errors"),
    (88, "UNSTABLE_OFFSET_COMMIT", _T, "there are unstable offsets for the partition"),
    (89, "THROTTLING_QUOTA_EXCEEDED", _T, "the throttling quota was exceeded"),
    (90, "PRODUCER_FENCED", _F,
     "a newer producer with the same transactional id fenced this one"),
    (91, "RESOURCE_NOT_FOUND", _F, "the resource does not exist"),
    (92, "DUPLICATE_RESOURCE", _F, "the resource is given twice"),
    (93, "UNACCEPTABLE_CREDENTIAL", _F, "the credential does not meet the requirements"),
    (94, "INCONSISTENT_VOTER_SET", _F, "the voter set does not match the quorum's"),
    (95, "INVALID_UPDATE_VERSION", _F, "the update version is invalid"),
    (96, "FEATURE_UPDATE_FAILED", _F, "the feature update failed"),
    (97, "PRINCIPAL_DESERIALIZATION_FAILURE", _F, "the forwarded principal did not decode"),
    (98, "SNAPSHOT_NOT_FOUND", _F, "the snapshot does not exist"),
    (99, "POSITION_OUT_OF_RANGE", _F, "the position is outside the snapshot"),
    (100, "UNKNOWN_TOPIC_ID", _T, "the broker does not know this topic id"),
    (101, "DUPLICATE_BROKER_REGISTRATION", _F, "the broker id is already registered"),
    (102, "BROKER_ID_NOT_REGISTERED", _F, "the broker id is not registered"),
    (103, "INCONSISTENT_TOPIC_ID", _T, "the topic id does not match the topic name's"),
    (104, "INCONSISTENT_CLUSTER_ID", _F, "the cluster id does not match"),
    (105, "TRANSACTIONAL_ID_NOT_FOUND", _F, "the transactional id does not exist"),
    (106, "FETCH_SESSION_TOPIC_ID_ERROR", _T, "the fetch session's topic ids are inconsistent"),
    (107, "INELIGIBLE_REPLICA", _F, "the replica is not eligible to join the ISR"),
    (108, "NEW_LEADER_ELECTED", _F, "a new leader was elected for the partition"),
    (109, "OFFSET_MOVED_TO_TIERED_STORAGE", _F, "the offset has moved to tiered storage"),
    (110, "FENCED_MEMBER_EPOCH", _F, "the member epoch is fenced; rejoin with epoch 0"),
    (111, "UNRELEASED_INSTANCE_ID", _F, "the group instance id is still in use"),
    (112, "UNSUPPORTED_ASSIGNOR", _F, "the assignor is not supported by the group"),
    (113, "STALE_MEMBER_EPOCH", _F, "the member epoch is stale"),
    (114, "MISMATCHED_ENDPOINT_TYPE", _F, "the request went to the wrong kind of endpoint"),
    (115, "UNSUPPORTED_ENDPOINT_TYPE", _F, "this endpoint type does not serve the request"),
    (116, "UNKNOWN_CONTROLLER_ID", _F, "the controller id is unknown"),
    (117, "UNKNOWN_SUBSCRIPTION_ID", _F, "the client metrics subscription id is unknown"),
    (118, "TELEMETRY_TOO_LARGE", _F, "the pushed telemetry is too large"),
    (119, "INVALID_REGISTRATION", _F, "the controller rejected the broker registration"),
    (120, "TRANSACTION_ABORTABLE", _F,
     "the transaction failed but can be aborted; abort it and continue"),
    (121, "INVALID_RECORD_STATE", _F, "the record state does not allow the acknowledgement"),
    (122, "SHARE_SESSION_NOT_FOUND", _T, "the share session does not exist"),
    (123, "INVALID_SHARE_SESSION_EPOCH", _T, "the share session epoch is invalid"),
    (124, "FENCED_STATE_EPOCH", _F, "the share-group state epoch does not match"),
    (125, "INVALID_VOTER_KEY", _F, "the voter key does not match the replica's"),
    (126, "DUPLICATE_VOTER", _F, "the voter is already in the voter set"),
    (127, "VOTER_NOT_FOUND", _F, "the voter is not in the voter set"),
    (128, "INVALID_REGULAR_EXPRESSION", _F, "the regular expression is invalid"),
    (129, "REBOOTSTRAP_REQUIRED", _F,
     "the client's metadata is too stale; it must bootstrap again"),
    (130, "STREAMS_INVALID_TOPOLOGY", _F, "the streams topology is invalid"),
    (131, "STREAMS_INVALID_TOPOLOGY_EPOCH", _F, "the streams topology epoch is invalid"),
    (132, "STREAMS_TOPOLOGY_FENCED", _F, "the streams topology epoch is outdated"),
    (133, "SHARE_SESSION_LIMIT_REACHED", _F, "the broker's share-session limit is reached"),
)
# fmt: on

ERRORS: Final[dict[int, KafkaErrorSpec]] = {
    code: KafkaErrorSpec(code, name, retriable, message)
    for code, name, retriable, message in _TABLE
}

_BY_NAME: Final[dict[str, int]] = {spec.name: code for code, spec in ERRORS.items()}


def spec_for_code(code: int) -> KafkaErrorSpec:
    """The table row for ``code``; codes newer than the table get a non-retriable row."""
    spec = ERRORS.get(code)
    if spec is None:
        return KafkaErrorSpec(
            code,
            f"UNKNOWN_ERROR_CODE_{code}".replace("-", "MINUS_"),
            False,
            "an error code regcast does not know (a newer broker?)",
        )
    return spec


def code_for_name(name: str) -> int:
    """The code of Kafka's error ``name`` (``"NOT_LEADER_OR_FOLLOWER"`` -> 6)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"no Kafka error named {name!r}") from None


def error_class(code: int) -> type[KafkaError]:
    """The exception class of ``code`` (one per code; retriable ones are RetriableError)."""
    if code == NONE:
        raise ValueError("error code 0 (NONE) is not an error")
    spec = spec_for_code(code)
    return kafka_error_class(code, spec.name, spec.retriable)


def error_for_code(code: int, context: str) -> KafkaError:
    """An exception for broker error ``code``; ``context`` says what failed where.

    E.g. ``error_for_code(6, "produce to orders-3 on node 2")`` -> a
    ``NotLeaderOrFollowerError`` reading "produce to orders-3 on node 2:
    NOT_LEADER_OR_FOLLOWER (6): the broker is not the partition's leader; ...".
    """
    spec = spec_for_code(code)
    cls = error_class(code)
    return cls(f"{context}: {spec.name} ({code}): {spec.message}")
