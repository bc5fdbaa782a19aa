"""Every exception the producer raises, in one hierarchy.

Callers catch by meaning, not by origin: the sender decides whether to retry a batch
with ``isinstance(exc, RetriableError)``, applications catch :class:`ProducerError`
for anything regcast raised, and broker error codes arrive as :class:`KafkaError`
subclasses built from the one table in :mod:`producer.protocol.error_codes`::

    ProducerError
    ├── ConfigError                  a setting is invalid or contradicts another
    ├── ProducerClosedError          send()/flush() after close()
    ├── RecordTooLargeError          a record exceeds max_request_size or buffer_memory
    ├── InvalidRecordError           send() got a key, value, partition or header it cannot use
    ├── KafkaTimeoutError            a bounded wait ran out (also a TimeoutError)
    │   ├── BufferExhaustedError     buffer_memory stayed full for max_block_ms
    │   ├── MetadataTimeoutError     a topic's partitions unknown after max_block_ms
    │   └── DeliveryTimeoutError     a batch outlived delivery_timeout_ms
    ├── UnsupportedVersionError      no API version both sides speak
    ├── TransactionStateError        a transactional call in a state that does not allow it
    ├── TransactionError             a transaction failed; names the transactional id
    │   ├── TransactionAbortableError    the transaction cannot commit: abort it and go on
    │   └── TransactionAbortedError      a record's future: its transaction was aborted
    │                                    before the record was sent
    ├── AuthenticationError          a connection could not be secured or authenticated;
    │   │                            fatal: pending and later sends fail with it
    │   ├── AuthenticationFailedError    SASL refused (credentials, mechanism), or a server
    │   │                                that could not prove it knows the credentials;
    │   │                                broker codes 33, 34 and 58 are KafkaError
    │   │                                subclasses of it as well
    │   └── SslError                     the TLS handshake failed: which check, or a hint
    │                                    when one side speaks TLS and the other does not
    ├── ProtocolError                bytes that do not decode as the protocol says
    │   ├── CorrelationIdMismatchError
    │   └── CorruptRecordError       a record batch whose CRC or framing is wrong
    ├── RetriableError               a retry may succeed (marker base)
    │   └── NetworkError
    │       ├── BrokerConnectionError    connect refused / failed
    │       ├── DisconnectError          an open connection dropped
    │       └── RequestTimeoutError      no response within request_timeout_ms
    └── KafkaError                   a broker error code; one subclass per code,
                                     also a RetriableError when the code is retriable;
                                     three are named here because they end a
                                     transactional producer for good (close it):
                                     ProducerFencedError (90), InvalidProducerEpochError
                                     (47), TransactionalIdAuthorizationFailedError (53)
"""

from __future__ import annotations

from typing import ClassVar, cast


class ProducerError(Exception):
    """Root of everything regcast's producer raises."""

    retriable: ClassVar[bool] = False


class ConfigError(ProducerError, ValueError):
    """A producer setting is invalid; the message names the setting."""


class ProducerClosedError(ProducerError):
    """The producer (or the component) was closed before the operation could run."""


class RecordTooLargeError(ProducerError):
    """A serialized record cannot fit in one request or in the buffer."""


class InvalidRecordError(ProducerError, ValueError):
    """``send()`` got something it cannot write: the message names the argument."""


class KafkaTimeoutError(ProducerError, TimeoutError):
    """A bounded wait ran out; the message says which bound and what to raise."""


class BufferExhaustedError(KafkaTimeoutError):
    """``buffer_memory`` stayed full for ``max_block_ms``; nothing was enqueued."""


class MetadataTimeoutError(KafkaTimeoutError):
    """A topic's partitions were still unknown after ``max_block_ms``."""


class DeliveryTimeoutError(KafkaTimeoutError):
    """A batch was not acknowledged within ``delivery_timeout_ms``."""


class UnsupportedVersionError(ProducerError):
    """The broker and regcast share no version of a request type."""


class TransactionStateError(ProducerError):
    """A transactional call in the wrong state (``begin_transaction()`` twice, ``send()``
    outside a transaction, anything after a fatal error); the message says what to do."""


class TransactionError(ProducerError):
    """A transaction of ``transactional_id`` failed (see the subclasses)."""

    def __init__(self, message: str, transactional_id: str) -> None:
        super().__init__(message)
        self.transactional_id = transactional_id


class TransactionAbortableError(TransactionError):
    """The open transaction hit an error it cannot commit past (a record that failed for
    good, a refused partition or group): call ``abort_transaction()``, then begin the next
    one. ``__cause__`` is the error that made it abortable."""


class TransactionAbortedError(TransactionError):
    """The record's transaction was aborted before the record was sent: it was never
    written. (Records already written when the abort came are in the log, marked aborted,
    and their futures succeeded.)"""


class AuthenticationError(ProducerError):
    """Securing or authenticating a connection failed; retrying would fail the same way.

    As in Kafka's client, it is final: the producer fails the pending records and every
    later ``send()`` with it instead of reconnecting in a loop. Messages name the broker
    and the check that failed, never a password, secret or token.
    """


class AuthenticationFailedError(AuthenticationError):
    """SASL authentication failed: the broker's message, or the check regcast made."""


class SslError(AuthenticationError):
    """The TLS handshake failed; the message says which check (CA, hostname, expiry)."""


class ProtocolError(ProducerError):
    """Bytes from the wire do not decode as the Kafka protocol says they must."""


class CorrelationIdMismatchError(ProtocolError):
    """A response arrived out of request order; the connection cannot be trusted."""


class CorruptRecordError(ProtocolError):
    """A record batch's CRC or framing is wrong."""


class RetriableError(ProducerError):
    """Marker base: the same request may succeed if sent again later."""

    retriable: ClassVar[bool] = True


class NetworkError(RetriableError):
    """A connection-level failure; the affected requests may be retried."""


class BrokerConnectionError(NetworkError):
    """Connecting to a broker failed (refused, unreachable, reset during handshake)."""


class DisconnectError(NetworkError):
    """An established connection closed with requests still in flight."""


class RequestTimeoutError(NetworkError, TimeoutError):
    """No response arrived within ``request_timeout_ms``."""


class KafkaError(ProducerError):
    """A broker answered with a non-zero error code.

    Subclasses are generated per code by :func:`kafka_error_class`, so callers can
    catch e.g. ``NotLeaderOrFollowerError`` by name and the sender can decide on
    ``retriable`` without a second table.
    """

    code: ClassVar[int] = -1
    error_name: ClassVar[str] = "UNKNOWN_SERVER_ERROR"


_KAFKA_ERROR_CLASSES: dict[int, type[KafkaError]] = {}

# UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE, SASL_AUTHENTICATION_FAILED: a broker's
# SASL refusal is an AuthenticationFailedError (fatal) as well as a KafkaError (its code)
_AUTHENTICATION_CODES = frozenset({33, 34, 58})


def kafka_error_class(code: int, name: str, retriable: bool) -> type[KafkaError]:
    """The exception class for broker error ``code`` (created once, then cached).

    ``name`` is Kafka's constant (``NOT_LEADER_OR_FOLLOWER``); the class is named in
    CamelCase with an ``Error`` suffix. Retriable codes also derive from
    :class:`RetriableError`.
    """
    cls = _KAFKA_ERROR_CLASSES.get(code)
    if cls is not None:
        return cls
    class_name = "".join(part.capitalize() for part in name.split("_"))
    if not class_name.endswith(("Error", "Exception")):
        class_name += "Error"
    bases: tuple[type, ...] = (KafkaError, RetriableError) if retriable else (KafkaError,)
    if code in _AUTHENTICATION_CODES:
        bases = (KafkaError, AuthenticationFailedError)
    new_cls = cast(
        "type[KafkaError]",
        type(
            class_name,
            bases,
            {
                "code": code,
                "error_name": name,
                "retriable": retriable,
                "__module__": __name__,
                "__doc__": f"Broker error {code} ({name}).",
            },
        ),
    )
    _KAFKA_ERROR_CLASSES[code] = new_cls
    return new_cls


# The broker errors that end a transactional producer, as Kafka classifies them; named
# here so applications can catch them (``except ProducerFencedError``). The classes are
# the ones the error table hands out for these codes (kafka_error_class caches per code).
ProducerFencedError = kafka_error_class(90, "PRODUCER_FENCED", False)
InvalidProducerEpochError = kafka_error_class(47, "INVALID_PRODUCER_EPOCH", False)
TransactionalIdAuthorizationFailedError = kafka_error_class(
    53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", False
)
