"""`regcast produce` / `regcast demo` with the producer's security settings, as a user runs them.

- PLAINTEXT named explicitly against a plain Tansu: the flag reaches the producer and
  changes nothing else (the command the security guide shows).
- A contradiction is the producer's ``ConfigError``, printed with the flag and env var
  behind the setting, exit 2, before the registry or broker is touched; a secret in
  regcast.toml is refused the same way.
- SSL through a real OpenSSL server (socat, :mod:`tests.support.tls`) in front of Tansu,
  the settings given as ``REGCAST_KAFKA_*`` env vars; confluent-kafka reads the records
  back over TLS. ``regcast demo --bootstrap`` over the same terminator proves the
  read-back speaks TLS too; :func:`regcast.readback.read_back` is also tested there on its
  own, with confluent-kafka as the writer (it needs socat, not the producer's TLS).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from regcast.local_broker import free_port
from tests.integration.cli.conftest import REPO, RunCli, output_of, requires_producer

ORDER_AVSC = REPO / "schemas/avro/order.avsc"
SECRET = "cli-secret-that-must-not-leak"


def _line(i: int) -> str:
    return json.dumps(
        {
            "order_id": f"00000000-0000-4000-8000-{i:012d}",
            "customer_id": i,
            "status": "PAID",
            "placed_at": "2024-05-01T12:00:00Z",
            "total": f"{i}.50",
            "shipping_address": {
                "street": "S", "city": "Oslo", "postal_code": "0150", "country": "NO",
            },
            "lines": [{"sku": f"SKU-{i}", "quantity": 1, "unit_price": "9.99"}],
            "coupon_code": None,
        }
    )  # fmt: skip


def _tls_ready() -> str | None:
    """Why the TLS test cannot run here yet (no socat, or no TLS in the producer)."""
    if shutil.which("socat") is None:
        return "socat is not installed (`make tools`)"
    from producer import Producer
    from producer.errors import ConfigError

    try:
        Producer(bootstrap_servers=f"127.0.0.1:{free_port()}", security_protocol="SSL").close()
    except ConfigError as exc:
        return f"the producer does not speak TLS yet: {exc}"
    return None


@requires_producer
def test_produce_with_plaintext_named_explicitly(
    run_cli: RunCli, cli_registry: str, kafka_broker: Any, consume_all: Any, unique: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    topic = f"plain-{unique}"
    (tmp_path / "orders.jsonl").write_text("\n".join(_line(i) for i in range(20)) + "\n")
    result = run_cli(
        "produce", "--topic", topic, "--schema", str(ORDER_AVSC),
        "--bootstrap", kafka_broker.bootstrap, "--registry", cli_registry,
        "--security-protocol", "PLAINTEXT", "--input", "orders.jsonl",
    )  # fmt: skip
    assert result.returncode == 0, output_of(result)
    assert len(consume_all(kafka_broker.bootstrap, topic, expected=20)) == 20


def test_a_contradiction_exits_2_naming_the_setting_before_anything_is_contacted(
    run_cli: RunCli, unique: str
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    result = run_cli(
        "produce", "--topic", f"t-{unique}", "--schema", str(ORDER_AVSC),
        "--bootstrap", nowhere, "--registry", f"http://{nowhere}",
        "--security-protocol", "SASL_SSL", "--sasl-mechanism", "SCRAM-SHA-512",
        "--sasl-username", "orders",
        input=_line(1),
        env={"REGCAST_KAFKA_SSL_KEYFILE": "client.key", "REGCAST_KAFKA_SASL_PASSWORD": SECRET},
    )  # fmt: skip
    assert result.returncode == 2, output_of(result)
    assert (
        "error: bad Kafka security setting: ssl_keyfile is set without ssl_certfile"
        in result.stderr
    )
    assert "ssl_keyfile: --ssl-keyfile / REGCAST_KAFKA_SSL_KEYFILE" in result.stderr
    assert "registry" not in result.stderr  # stopped before the registry was asked
    assert SECRET not in output_of(result)


def test_a_secret_in_regcast_toml_exits_2_with_the_way_to_pass_it(
    run_cli: RunCli, tmp_path: Path, unique: str
) -> None:
    (tmp_path / "regcast.toml").write_text(
        f'[kafka]\nsecurity_protocol = "SASL_SSL"\nsasl_password = "{SECRET}"\n'
    )
    result = run_cli("produce", "--topic", f"t-{unique}", "--schema", str(ORDER_AVSC))
    assert result.returncode == 2, output_of(result)
    assert "sasl_password is a secret" in result.stderr
    assert "set REGCAST_KAFKA_SASL_PASSWORD or pass --sasl-password" in result.stderr
    assert SECRET not in output_of(result)


@pytest.fixture
def tls_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    reason = _tls_ready()
    if reason is not None:
        pytest.skip(reason)
    from tests.support.tls import TlsKafka, make_certificates

    certs = make_certificates(tmp_path_factory.mktemp("cli-tls"))
    with TlsKafka(certs) as kafka:
        yield kafka


@pytest.fixture
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Tansu behind socat, for tests that do not need the producer's TLS."""
    if shutil.which("socat") is None:
        pytest.skip("socat is not installed (`make tools`)")
    from tests.support.tls import TlsKafka, make_certificates

    certs = make_certificates(tmp_path_factory.mktemp("readback-tls"))
    with TlsKafka(certs) as kafka:
        yield kafka


def test_read_back_over_tls_uses_the_producers_tls_settings(tls_broker: Any) -> None:
    from confluent_kafka import Producer as CkProducer

    from regcast.readback import ReadBackError, read_back

    written: dict[tuple[str, int, int], bytes] = {}

    def on_delivery(error: Any, message: Any) -> None:
        assert error is None, error
        written[(message.topic(), message.partition(), message.offset())] = message.value()

    writer = CkProducer(
        {"bootstrap.servers": tls_broker.bootstrap, "log_level": 0,
         **tls_broker.client_config()}
    )  # fmt: skip
    for i in range(20):
        writer.produce("readback-tls", value=f"v{i}".encode(), on_delivery=on_delivery)
    assert writer.flush(15) == 0
    security = {"security_protocol": "SSL", "ssl_cafile": str(tls_broker.certs.ca)}
    found = read_back(tls_broker.bootstrap, written, timeout_s=15, security=security)
    assert {position: record.value for position, record in found.items()} == written

    wrong_ca = {"security_protocol": "SSL", "ssl_cafile": str(tls_broker.certs.other_ca)}
    with pytest.raises(ReadBackError, match="the broker's certificate was refused"):
        read_back(tls_broker.bootstrap, written, timeout_s=2, security=wrong_ca)
    started = time.monotonic()
    with pytest.raises(ReadBackError, match=r"TLS handshake with .* failed"):
        read_back(tls_broker.plaintext_bootstrap, written, timeout_s=1.5, security=security)
    # the silent plaintext port fails at the deadline, not after the Fetch grace (5 s)
    assert time.monotonic() - started < 4.0


@requires_producer
def test_produce_over_tls_with_the_settings_in_env_vars(
    run_cli: RunCli, cli_registry: str, tls_kafka: Any, consume_all: Any, unique: str
) -> None:
    topic = f"tls-{unique}"
    result = run_cli(
        "produce", "--topic", topic, "--schema", str(ORDER_AVSC),
        "--bootstrap", tls_kafka.bootstrap, "--registry", cli_registry,
        input="\n".join(_line(i) for i in range(30)),
        env={
            "REGCAST_KAFKA_SECURITY_PROTOCOL": "SSL",
            "REGCAST_KAFKA_SSL_CAFILE": str(tls_kafka.certs.ca),
        },
    )  # fmt: skip
    assert result.returncode == 0, output_of(result)
    records = consume_all(tls_kafka.bootstrap, topic, expected=30, config=tls_kafka.client_config())
    assert len(records) == 30


@requires_producer
def test_produce_over_tls_without_the_ca_fails_naming_the_check(
    run_cli: RunCli, cli_registry: str, tls_kafka: Any, unique: str
) -> None:
    result = run_cli(
        "produce", "--topic", f"tls-{unique}", "--schema", str(ORDER_AVSC),
        "--bootstrap", tls_kafka.bootstrap, "--registry", cli_registry,
        "--security-protocol", "SSL", "--timeout", "5",
        input=_line(1),
    )  # fmt: skip
    assert result.returncode == 2, output_of(result)
    assert "certificate" in result.stderr.lower(), output_of(result)


@requires_producer
def test_demo_over_tls_produces_and_reads_back_through_the_terminator(
    run_cli: RunCli, cli_registry: str, tls_kafka: Any
) -> None:
    result = run_cli(
        "demo", "--records", "200", "--sample", "3",
        "--bootstrap", tls_kafka.bootstrap, "--registry", cli_registry,
        "--security-protocol", "SSL", "--ssl-cafile", str(tls_kafka.certs.ca),
        cwd=REPO, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, output_of(result)
    assert "6 records fetched back (CRC-32C checked)" in result.stdout
