"""ProducerConfig: Kafka's producer settings in snake_case, checked once at construction.

Every setting is named as in Kafka's Java client (``linger.ms`` -> ``linger_ms``), with the
same defaults as Kafka 3.x/4.x. Contradictions are settled as Kafka settles them:

- Idempotence is on by default. If the user did not ask for it explicitly and another
  setting rules it out (``acks`` other than all, ``retries=0``, more than 5 requests in
  flight), it is quietly turned off, as in Java; if the user did ask for it, the
  contradiction is a :class:`ConfigError` naming both settings.
- ``delivery_timeout_ms`` must cover ``linger_ms + request_timeout_ms``: a record must be
  able to wait for its batch and for one request before its delivery can time out.

- Security settings (``security_protocol``, ``ssl_*``, ``sasl_*``) are checked by
  :mod:`producer.security`: settings the chosen protocol would ignore are errors, not
  silently dropped (a password with ``PLAINTEXT`` is a mistake worth hearing about).
  Secrets (``ssl_password``, ``sasl_plain_password``, ``sasl_oauthbearer_client_secret``,
  the token provider) are left out of the config's ``repr``.

Unknown settings are errors too (with the closest known name), because a misspelt
``lingers_ms`` silently ignored is worse than a crash.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from producer.errors import ConfigError
from producer.records import CompressionType
from producer.security import TokenProvider, check_security_settings

if TYPE_CHECKING:
    import ssl  # imported for real only when TLS is used: it costs ~9 MiB resident

__all__ = ["Acks", "PartitionerFn", "ProducerConfig", "Serializer"]

Acks = Literal[0, 1, -1]
PartitionerFn = Callable[[str, bytes | None, int], int]
"""``(topic, key_bytes, partition_count) -> partition`` for a user-supplied partitioner."""
Serializer = Callable[[Any, Any], bytes | None]
"""``(obj, ctx) -> bytes``: the shape of confluent-kafka's and regcast's serializers."""

_MAX_IDEMPOTENT_IN_FLIGHT = 5
_BUILT_IN_PARTITIONERS = ("sticky", "round_robin")


@dataclass(frozen=True, slots=True)
class ProducerConfig:
    """Validated producer settings; build it with :meth:`from_settings`."""

    bootstrap_servers: str
    client_id: str = "regcast-producer"
    acks: Acks = -1
    linger_ms: int = 5
    batch_size: int = 16_384
    buffer_memory: int = 33_554_432
    max_block_ms: int = 60_000
    max_request_size: int = 1_048_576
    compression_type: CompressionType = CompressionType.NONE
    enable_idempotence: bool = True
    max_in_flight_requests_per_connection: int = 5
    retries: int = 2_147_483_647
    retry_backoff_ms: int = 100
    delivery_timeout_ms: int = 120_000
    request_timeout_ms: int = 30_000
    metadata_max_age_ms: int = 300_000
    reconnect_backoff_ms: int = 50
    reconnect_backoff_max_ms: int = 1_000
    # TCP connect + TLS handshake + SASL, per attempt (Kafka's socket.connection.setup.timeout.ms)
    socket_connection_setup_timeout_ms: int = 10_000
    partitioner: str | PartitionerFn = "sticky"
    key_serializer: Serializer | None = None
    value_serializer: Serializer | None = None
    security_protocol: str = "PLAINTEXT"
    ssl_context: ssl.SSLContext | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_password: str | None = field(default=None, repr=False)
    ssl_check_hostname: bool = True
    sasl_mechanism: str | None = None
    sasl_plain_username: str | None = None
    sasl_plain_password: str | None = field(default=None, repr=False)
    sasl_oauth_token_provider: TokenProvider | None = field(default=None, repr=False)
    sasl_oauthbearer_token_endpoint_url: str | None = None
    sasl_oauthbearer_client_id: str | None = None
    sasl_oauthbearer_client_secret: str | None = field(default=None, repr=False)
    sasl_oauthbearer_scope: str | None = None
    # transactions (producer/transaction_manager.py): a transactional id turns them on
    transactional_id: str | None = None
    transaction_timeout_ms: int = 60_000

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ProducerConfig:
        """Check and normalise user settings; raises :class:`ConfigError` naming the setting."""
        known = {f.name for f in fields(cls)}
        for name in settings:
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"unknown producer setting {name!r}{hint}")
        if "bootstrap_servers" not in settings or not settings["bootstrap_servers"]:
            raise ConfigError("bootstrap_servers is required, e.g. '127.0.0.1:9092'")
        values = dict(settings)
        values["acks"] = _parse_acks(values.get("acks", -1))
        values["compression_type"] = _parse_compression(values.get("compression_type", "none"))
        for name in (
            "linger_ms",
            "batch_size",
            "buffer_memory",
            "max_block_ms",
            "max_request_size",
            "max_in_flight_requests_per_connection",
            "retries",
            "retry_backoff_ms",
            "delivery_timeout_ms",
            "request_timeout_ms",
            "metadata_max_age_ms",
            "reconnect_backoff_ms",
            "reconnect_backoff_max_ms",
            "socket_connection_setup_timeout_ms",
            "transaction_timeout_ms",
        ):
            if name in values:
                values[name] = _int_setting(name, values[name])
        _check_ranges(values)
        _check_callables(values)
        check_security_settings(values)
        _check_transactional_id(values)
        explicit_idempotence = "enable_idempotence" in settings or values["transactional_id"]
        values["enable_idempotence"] = _settle_idempotence(values, bool(explicit_idempotence))
        config = cls(**values)
        minimum = config.linger_ms + config.request_timeout_ms
        if config.delivery_timeout_ms < minimum:
            raise ConfigError(
                f"delivery_timeout_ms ({config.delivery_timeout_ms}) must be >= linger_ms + "
                f"request_timeout_ms ({minimum}): a record must be able to wait for its batch "
                "and one request before its delivery times out"
            )
        return config


def _parse_acks(raw: object) -> Acks:
    table: dict[object, Acks] = {0: 0, 1: 1, -1: -1, "0": 0, "1": 1, "-1": -1, "all": -1}
    key = raw.lower() if isinstance(raw, str) else raw
    if isinstance(key, bool) or key not in table:
        raise ConfigError(f"acks must be 0, 1, -1 or 'all', got {raw!r}")
    return table[key]


def _parse_compression(raw: object) -> CompressionType:
    if isinstance(raw, CompressionType):
        return raw
    if raw is None:
        return CompressionType.NONE
    return CompressionType.from_name(str(raw))  # raises ConfigError naming the setting


def _int_setting(name: str, raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ConfigError(f"{name} must be an integer, got {raw!r}")
    return raw


def _check_ranges(values: dict[str, Any]) -> None:
    positive = (
        "batch_size",
        "buffer_memory",
        "max_request_size",
        "request_timeout_ms",
        "socket_connection_setup_timeout_ms",
        "transaction_timeout_ms",
    )
    for name in positive:
        if name in values and values[name] <= 0:
            raise ConfigError(f"{name} must be > 0, got {values[name]}")
    non_negative = (
        "linger_ms",
        "max_block_ms",
        "retries",
        "retry_backoff_ms",
        "delivery_timeout_ms",
        "metadata_max_age_ms",
        "reconnect_backoff_ms",
        "reconnect_backoff_max_ms",
    )
    for name in non_negative:
        if name in values and values[name] < 0:
            raise ConfigError(f"{name} must be >= 0, got {values[name]}")
    in_flight = values.get("max_in_flight_requests_per_connection", 5)
    if in_flight < 1:
        raise ConfigError(f"max_in_flight_requests_per_connection must be >= 1, got {in_flight}")


def _check_callables(values: dict[str, Any]) -> None:
    partitioner = values.get("partitioner", "sticky")
    if isinstance(partitioner, str):
        if partitioner not in _BUILT_IN_PARTITIONERS:
            raise ConfigError(
                f"partitioner must be 'sticky', 'round_robin' or a callable "
                f"(topic, key_bytes, partition_count) -> int, got {partitioner!r}"
            )
    elif not callable(partitioner):
        raise ConfigError(f"partitioner must be a name or a callable, got {partitioner!r}")
    for name in ("key_serializer", "value_serializer"):
        serializer = values.get(name)
        if serializer is not None and not callable(serializer):
            raise ConfigError(f"{name} must be a callable (obj, ctx) -> bytes, got {serializer!r}")


def _check_transactional_id(values: dict[str, Any]) -> None:
    """A transactional id must be a non-empty str, and it needs idempotence (as in Kafka,
    where ``transactional.id`` with ``enable.idempotence=false`` is a ConfigException)."""
    transactional_id = values.setdefault("transactional_id", None)
    if transactional_id is None:
        return
    if not isinstance(transactional_id, str) or not transactional_id:
        raise ConfigError(f"transactional_id must be a non-empty str, got {transactional_id!r}")
    if values.get("enable_idempotence", True) is False:
        raise ConfigError(
            f"transactional_id={transactional_id!r} needs idempotence: remove "
            "enable_idempotence=False (transactions are built on the idempotent producer)"
        )


def _settle_idempotence(values: dict[str, Any], explicit: bool) -> bool:
    """Idempotence on or off; ``explicit`` when the user asked for it (or for
    transactions, which need it): then a contradicting setting is an error."""
    wanted = values.get("enable_idempotence", True)
    if not isinstance(wanted, bool):
        raise ConfigError(f"enable_idempotence must be a bool, got {wanted!r}")
    if not wanted:
        return False
    conflicts = []
    if values.get("acks", -1) != -1:
        conflicts.append(f"acks={values['acks']} (idempotence needs acks='all')")
    if values.get("retries", 1) == 0:
        conflicts.append("retries=0 (idempotence needs retries > 0)")
    in_flight = values.get("max_in_flight_requests_per_connection", 5)
    if in_flight > _MAX_IDEMPOTENT_IN_FLIGHT:
        conflicts.append(
            f"max_in_flight_requests_per_connection={in_flight} (idempotence allows at most "
            f"{_MAX_IDEMPOTENT_IN_FLIGHT})"
        )
    if conflicts and explicit:
        if values.get("transactional_id"):
            asked, alternative = f"transactional_id={values['transactional_id']!r}", ""
        else:
            asked, alternative = "enable_idempotence=True", " or set enable_idempotence=False"
        what = "; ".join(conflicts)
        raise ConfigError(f"{asked} conflicts with {what}: change those settings{alternative}")
    return not conflicts
