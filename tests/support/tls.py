"""TLS peers for the tests and benchmarks: a CA of their own and a real OpenSSL server.

No broker here speaks TLS itself (Tansu 0.6's TLS flags build an acceptor it never uses),
so the TLS server is OpenSSL behind ``socat``::

    client --TLS--> socat OPENSSL-LISTEN:<port> --plaintext--> Tansu

and Tansu advertises socat's port (``LocalBroker(advertised_port=...)``), so the
Metadata answer sends clients back through the terminator.

- :func:`make_certificates` writes a CA, server certificates (valid for 127.0.0.1 and
  localhost; expired; for another host name), a client certificate for mutual TLS (with
  a plain and a password-protected key) and a second, unrelated CA, all made with the
  ``cryptography`` package.
- :class:`TlsTerminator` runs socat in front of one upstream port; ``require_client_cert``
  turns on mutual TLS (``verify=1`` against the CA).
- :class:`TlsKafka` is the pair: a Tansu broker behind a terminator, as one context
  manager with ``bootstrap`` (the TLS address) and ``plaintext_bootstrap``.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from regcast.local_broker import LocalBroker, free_port, stop_process, wait_for_port

KEY_PASSWORD = "client-key-secret"
"""The password of :attr:`Certificates.client_key_encrypted` (a test value, not a secret)."""


@dataclass(frozen=True, slots=True)
class Certificates:
    """Paths of the PEM files :func:`make_certificates` wrote."""

    ca: Path
    server_cert: Path
    server_key: Path
    expired_cert: Path
    wrong_host_cert: Path
    client_cert: Path
    client_key: Path
    client_key_encrypted: Path
    other_ca: Path
    other_client_cert: Path
    other_client_key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey, password: str | None = None) -> Path:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return path


def _write_cert(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    key: ec.EllipticCurvePrivateKey,
    common_name: str,
    *,
    names: list[x509.GeneralName],
    usage: x509.ObjectIdentifier,
    expired: bool = False,
) -> x509.Certificate:
    ca_cert, ca_key = ca
    now = datetime.datetime.now(datetime.UTC)
    start, end = (
        (now - datetime.timedelta(days=10), now - datetime.timedelta(days=1))
        if expired
        else (now - datetime.timedelta(days=1), now + datetime.timedelta(days=30))
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def make_certificates(directory: Path) -> Certificates:
    """Write a fresh CA and the certificates the TLS tests need into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = _ca("regcast test CA")
    other = _ca("some other CA")
    loopback: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName("localhost"),
    ]
    server_auth = ExtendedKeyUsageOID.SERVER_AUTH
    client_auth = ExtendedKeyUsageOID.CLIENT_AUTH
    server_key = _key()  # one key for every server certificate: socat is given one key file
    client_key = _key()
    other_client_key = _key()
    client_name = [x509.DNSName("regcast-client")]
    return Certificates(
        ca=_write_cert(directory / "ca.pem", ca[0]),
        server_cert=_write_cert(
            directory / "server.pem",
            _leaf(ca, server_key, "broker", names=loopback, usage=server_auth),
        ),
        server_key=_write_key(directory / "server.key", server_key),
        expired_cert=_write_cert(
            directory / "expired.pem",
            _leaf(ca, server_key, "broker", names=loopback, usage=server_auth, expired=True),
        ),
        wrong_host_cert=_write_cert(
            directory / "wrong-host.pem",
            _leaf(
                ca,
                server_key,
                "kafka.example.com",
                names=[x509.DNSName("kafka.example.com")],
                usage=server_auth,
            ),
        ),
        client_cert=_write_cert(
            directory / "client.pem",
            _leaf(ca, client_key, "regcast-client", names=client_name, usage=client_auth),
        ),
        client_key=_write_key(directory / "client.key", client_key),
        client_key_encrypted=_write_key(
            directory / "client-encrypted.key", client_key, KEY_PASSWORD
        ),
        other_ca=_write_cert(directory / "other-ca.pem", other[0]),
        other_client_cert=_write_cert(
            directory / "other-client.pem",
            _leaf(other, other_client_key, "stranger", names=client_name, usage=client_auth),
        ),
        other_client_key=_write_key(directory / "other-client.key", other_client_key),
    )


@dataclass
class TlsTerminator:
    """``socat`` terminating TLS (OpenSSL) on ``port`` and relaying plaintext upstream.

    ``cert`` defaults to the valid server certificate; pass ``expired_cert`` or
    ``wrong_host_cert`` to test what a client makes of them. ``require_client_cert``
    makes the server ask for a client certificate signed by the test CA and refuse the
    handshake without one.
    """

    upstream_port: int
    certs: Certificates
    cert: Path | None = None
    require_client_cert: bool = False
    host: str = "127.0.0.1"
    port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> TlsTerminator:
        socat = shutil.which("socat")
        if socat is None:
            raise RuntimeError("socat is not installed (`make tools` installs it)")
        if self.port == 0:
            self.port = free_port(self.host)
        options = [
            f"OPENSSL-LISTEN:{self.port}",
            f"bind={self.host}",
            "reuseaddr",
            "fork",
            f"cert={self.cert or self.certs.server_cert}",
            f"key={self.certs.server_key}",
            f"cafile={self.certs.ca}",
            f"verify={1 if self.require_client_cert else 0}",
            "openssl-min-proto-version=TLS1.2",
        ]
        self._process = subprocess.Popen(
            [socat, ",".join(options), f"TCP:127.0.0.1:{self.upstream_port},nodelay"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if not wait_for_port(self.host, self.port, 10.0):
            self.stop()
            raise RuntimeError(f"socat did not listen on {self.bootstrap} within 10 s")
        return self

    def stop(self) -> None:
        if self._process is not None:
            stop_process(self._process, grace_s=2.0)
            self._process = None

    def __enter__(self) -> TlsTerminator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@dataclass
class TlsKafka:
    """A Tansu broker that clients reach through a :class:`TlsTerminator` only.

    Tansu advertises the terminator's port, so after the bootstrap every connection a
    client opens (to the partition leaders) is TLS too.
    """

    certs: Certificates
    cert: Path | None = None
    require_client_cert: bool = False
    broker: LocalBroker = field(init=False)
    terminator: TlsTerminator = field(init=False)

    def __post_init__(self) -> None:
        tls_port = free_port()
        self.broker = LocalBroker(advertised_port=tls_port)
        self.terminator = TlsTerminator(
            0,
            self.certs,
            cert=self.cert,
            require_client_cert=self.require_client_cert,
            port=tls_port,
        )

    @property
    def bootstrap(self) -> str:
        return self.terminator.bootstrap

    @property
    def plaintext_bootstrap(self) -> str:
        """Tansu's own listener (its metadata still names the TLS port)."""
        return self.broker.bootstrap_servers

    def start(self) -> TlsKafka:
        self.broker.start()
        self.terminator.upstream_port = self.broker.port
        try:
            self.terminator.start()
        except BaseException:
            self.broker.stop()
            raise
        return self

    def stop(self) -> None:
        self.terminator.stop()
        self.broker.stop()

    def __enter__(self) -> TlsKafka:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def client_config(self, *, client_cert: bool = False) -> dict[str, object]:
        """librdkafka settings to reach this broker over TLS (confluent-kafka)."""
        return librdkafka_tls_config(self.certs, client_cert=client_cert)


def librdkafka_tls_config(certs: Certificates, *, client_cert: bool = False) -> dict[str, object]:
    """librdkafka settings to reach a broker behind a terminator with these certificates."""
    config: dict[str, object] = {"security.protocol": "SSL", "ssl.ca.location": str(certs.ca)}
    if client_cert:
        config["ssl.certificate.location"] = str(certs.client_cert)
        config["ssl.key.location"] = str(certs.client_key)
    return config
