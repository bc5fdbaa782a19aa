"""TlsSession (sans-I/O): a client session against an in-memory server SSLObject."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from producer.network.tls import TlsSession
from tests.support.tls import Certificates, make_certificates


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(Path(tmp_path_factory.mktemp("tls")))


def _server(certs: Certificates, cert: Path) -> tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, certs.server_key)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    return context.wrap_bio(incoming, outgoing, server_side=True), incoming, outgoing


def _client_context(ca: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _pump_byte_by_byte(
    client: TlsSession, server: ssl.SSLObject, s_in: ssl.MemoryBIO, s_out: ssl.MemoryBIO
) -> None:
    server_done = False

    def server_step() -> bool:
        try:
            server.do_handshake()
        except ssl.SSLWantReadError:
            return False
        return True

    for _ in range(100_000):
        done = client.do_handshake()
        for byte in client.ciphertext():
            s_in.write(bytes([byte]))
            server_done = server_done or server_step()
        for byte in s_out.read():
            client.receive(bytes([byte]))
        if done and server_done and not s_out.pending:
            return
        server_done = server_done or server_step()
    raise AssertionError("handshake did not finish")


def test_handshake_and_frames_byte_by_byte(certs: Certificates) -> None:
    server, s_in, s_out = _server(certs, certs.server_cert)
    client = TlsSession(_client_context(certs.ca), "127.0.0.1")
    _pump_byte_by_byte(client, server, s_in, s_out)
    assert client.handshake_done
    client.write(b"\x00\x00\x00\x05hello")
    s_in.write(client.ciphertext())
    assert server.read(100) == b"\x00\x00\x00\x05hello"
    server.write(b"x" * 10_000)
    buf = bytearray(64)
    got = b""
    for byte in s_out.read():
        client.receive(bytes([byte]))
        while (n := client.read_into(memoryview(buf))) > 0:
            got += bytes(buf[:n])
    assert got == b"x" * 10_000
    assert client.read_into(memoryview(buf)) == -1  # wants more ciphertext


def test_pending_plaintext_is_visible(certs: Certificates) -> None:
    server, s_in, s_out = _server(certs, certs.server_cert)
    client = TlsSession(_client_context(certs.ca), "127.0.0.1")
    _pump_byte_by_byte(client, server, s_in, s_out)
    server.write(b"y" * 5000)
    client.receive(s_out.read())
    buf = bytearray(100)
    assert client.read_into(memoryview(buf)) == 100
    assert client.has_buffered_plaintext  # what select() would never signal


def test_unknown_ca_raises(certs: Certificates) -> None:
    server, s_in, s_out = _server(certs, certs.server_cert)
    client = TlsSession(_client_context(certs.other_ca), "127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError):
        _pump_byte_by_byte(client, server, s_in, s_out)


def test_wrong_host_raises(certs: Certificates) -> None:
    server, s_in, s_out = _server(certs, certs.wrong_host_cert)
    client = TlsSession(_client_context(certs.ca), "127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError):
        _pump_byte_by_byte(client, server, s_in, s_out)
