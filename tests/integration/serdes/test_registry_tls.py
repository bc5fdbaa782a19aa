"""TLS options of the registry client against the real registry served over HTTPS.

The registry runs in uvicorn with a server certificate from a throwaway CA and demands
a client certificate from the same CA (mutual TLS), so ``verify`` and ``cert`` are both
exercised against a real TLS stack.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import ipaddress
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from regcast.local_broker import stop_process
from serdes import SchemaRegistryClient
from serdes.errors import RegistryUnavailableError
from tests.support.registry import serve_registry


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _issue(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    ip: str | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ip is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    tmp = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "regcast test CA")])
    ca_cert = _issue("regcast test CA", ca_key, ca_name, ca_key, ca=True)
    paths = Pki(
        tmp / "ca.pem",
        tmp / "server.pem",
        tmp / "server.key",
        tmp / "client.pem",
        tmp / "client.key",
    )
    paths.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    for cert_path, key_path, ip in (
        (paths.server_cert, paths.server_key, "127.0.0.1"),
        (paths.client_cert, paths.client_key, None),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue(cert_path.stem, key, ca_name, ca_key, ip=ip)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, key_path)
    return paths


@pytest.fixture(scope="module")
def tls_registry(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if importlib.util.find_spec("registry_service.app") is None:
        pytest.skip("registry_service.app is not built yet")
    tmp = tmp_path_factory.mktemp("tls-registry")
    process, url = serve_registry(
        f"sqlite:///{tmp / 'registry.db'}",
        tmp / "registry.log",
        "--ssl-certfile",
        str(pki.server_cert),
        "--ssl-keyfile",
        str(pki.server_key),
        "--ssl-ca-certs",
        str(pki.ca),
        "--ssl-cert-reqs",
        "2",  # ssl.CERT_REQUIRED: clients must present a certificate
        scheme="https",
    )
    try:
        yield url
    finally:
        stop_process(process)


def test_verify_ca_and_client_certificate(tls_registry: str, pki: Pki) -> None:
    with SchemaRegistryClient(
        tls_registry, verify=str(pki.ca), cert=(str(pki.client_cert), str(pki.client_key))
    ) as client:
        schema_id = client.register_schema("tls-value", '{"type": "string"}')
        assert client.get_schema(schema_id).schema_type == "AVRO"


def test_untrusted_server_certificate_is_reported(tls_registry: str, pki: Pki) -> None:
    sleeps: list[float] = []
    client = SchemaRegistryClient(
        tls_registry,
        cert=(str(pki.client_cert), str(pki.client_key)),
        max_retries=1,
        sleep_s=sleeps.append,
    )
    with client, pytest.raises(RegistryUnavailableError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get_subjects()


def test_missing_client_certificate_is_refused(tls_registry: str, pki: Pki) -> None:
    client = SchemaRegistryClient(tls_registry, verify=str(pki.ca), max_retries=0)
    with client, pytest.raises(RegistryUnavailableError):
        client.get_subjects()


def test_ssl_context_and_verify_off(tls_registry: str, pki: Pki) -> None:
    context = ssl.create_default_context(cafile=str(pki.ca))
    context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    with SchemaRegistryClient(tls_registry, verify=context) as client:
        schema_id = client.register_schema("tls-ctx-value", '{"type": "long"}')
    # verify=False skips the server check (still presenting the client certificate)
    with SchemaRegistryClient(
        tls_registry, verify=False, cert=(str(pki.client_cert), str(pki.client_key))
    ) as client:
        assert json.loads(client.get_schema(schema_id).schema_str) == {"type": "long"}
