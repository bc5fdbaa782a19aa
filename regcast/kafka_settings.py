"""The producer's security settings as the CLI takes them: flags, env vars, regcast.toml.

``regcast produce`` and ``regcast demo --bootstrap ...`` connect to Kafka with the same
settings :class:`producer.Producer` takes (``security_protocol``, ``ssl_*``,
``sasl_*``). Each one can come from three places, first found wins:

1. a flag (``--security-protocol SASL_SSL``);
2. an environment variable ``REGCAST_KAFKA_<NAME>`` (``REGCAST_KAFKA_SASL_PASSWORD``);
3. the ``[kafka]`` table of regcast.toml, for the settings that are not secrets::

       [kafka]
       security_protocol = "SASL_SSL"
       ssl_cafile = "certs/ca.pem"          # relative to regcast.toml
       sasl_mechanism = "SCRAM-SHA-512"
       sasl_username = "orders-producer"

Flags and environment variables are resolved by typer (an option's ``envvar=``); this
module holds the table of settings (:data:`KAFKA_SETTINGS`), the ``[kafka]`` parser that
refuses secrets (:func:`parse_kafka_table`) and the merge into the producer's keyword
arguments (:func:`producer_security_settings`). Whether the settings fit together is the
producer's judgement (:class:`producer.errors.ConfigError`), not repeated here.

Secrets (``ssl_password``, ``sasl_password``, ``sasl_oauthbearer_client_secret``) are
refused in regcast.toml, which is usually committed to git, and no message here ever
carries a value of theirs: errors name the setting and where it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "KAFKA_SETTINGS",
    "KafkaSetting",
    "KafkaTableError",
    "parse_kafka_table",
    "producer_security_settings",
    "setting",
]

ENV_PREFIX = "REGCAST_KAFKA_"


@dataclass(frozen=True, slots=True)
class KafkaSetting:
    """One security setting: its CLI/toml name and the producer keyword it feeds."""

    name: str  # regcast.toml key; the flag and env var are derived from it
    producer_name: str  # Producer(**settings) keyword
    secret: bool = False
    path: bool = False  # a file path: relative ones in regcast.toml resolve against it
    kind: type = str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()


KAFKA_SETTINGS: tuple[KafkaSetting, ...] = (
    KafkaSetting("security_protocol", "security_protocol"),
    KafkaSetting("ssl_cafile", "ssl_cafile", path=True),
    KafkaSetting("ssl_certfile", "ssl_certfile", path=True),
    KafkaSetting("ssl_keyfile", "ssl_keyfile", path=True),
    KafkaSetting("ssl_password", "ssl_password", secret=True),
    KafkaSetting("ssl_check_hostname", "ssl_check_hostname", kind=bool),
    KafkaSetting("sasl_mechanism", "sasl_mechanism"),
    KafkaSetting("sasl_username", "sasl_plain_username"),
    KafkaSetting("sasl_password", "sasl_plain_password", secret=True),
    KafkaSetting("sasl_oauthbearer_token_endpoint_url", "sasl_oauthbearer_token_endpoint_url"),
    KafkaSetting("sasl_oauthbearer_client_id", "sasl_oauthbearer_client_id"),
    KafkaSetting("sasl_oauthbearer_client_secret", "sasl_oauthbearer_client_secret", secret=True),
    KafkaSetting("sasl_oauthbearer_scope", "sasl_oauthbearer_scope"),
)
_BY_NAME = {s.name: s for s in KAFKA_SETTINGS}
# The producer's spelling of a setting, accepted nowhere but named in the hint.
_BY_PRODUCER_NAME = {s.producer_name: s for s in KAFKA_SETTINGS if s.producer_name != s.name}


def setting(name: str) -> KafkaSetting:
    return _BY_NAME[name]


class KafkaTableError(ValueError):
    """regcast.toml's ``[kafka]`` table is wrong; the message names the key, never a value."""


def parse_kafka_table(table: Mapping[str, Any], where: str, root: Path) -> dict[str, Any]:
    """The non-secret settings of a ``[kafka]`` table; file paths resolved against ``root``.

    Raises :class:`KafkaTableError` for a secret (with the env var and flag to use instead),
    an unknown key, or a value of the wrong type.
    """
    values: dict[str, Any] = {}
    for key, value in table.items():
        known = _BY_NAME.get(key)
        if known is None:
            renamed = _BY_PRODUCER_NAME.get(key)
            hint = (
                f"; regcast.toml spells it {renamed.name!r}"
                if renamed is not None
                else f"; expected one of {sorted(s.name for s in KAFKA_SETTINGS if not s.secret)}"
            )
            raise KafkaTableError(f"{where}: unknown key {key!r}{hint}")
        if known.secret:
            raise KafkaTableError(
                f"{where}: {key} is a secret and regcast.toml is not the place for it "
                f"(the file is usually committed): set {known.env_var} or pass {known.flag}"
            )
        if known.kind is bool:
            if not isinstance(value, bool):
                raise KafkaTableError(f"{where}: {key!r} must be true or false")
        elif not isinstance(value, str) or not value:
            raise KafkaTableError(f"{where}: {key!r} must be a non-empty string")
        if known.path:
            value = str((root / Path(value).expanduser()).resolve())
        values[key] = value
    return values


def producer_security_settings(
    given: Mapping[str, Any], from_toml: Mapping[str, Any]
) -> dict[str, Any]:
    """Producer keyword arguments: ``given`` (flag or env, None when unset) over the toml's.

    Settings set nowhere are left out, so the producer's defaults apply (PLAINTEXT,
    hostname checks on).
    """
    unknown = sorted(set(given) - set(_BY_NAME))
    if unknown:
        raise KeyError(f"not security settings: {unknown}")
    settings: dict[str, Any] = {}
    for spec in KAFKA_SETTINGS:
        value = given.get(spec.name)
        if value is None:
            value = from_toml.get(spec.name)
        if value is not None:
            settings[spec.producer_name] = value
    return settings
