"""``regcast serve`` over TLS, mutual TLS with the certificate's CN as principal, and the
audit trail, through the installed command as the docs start it.

Two servers for the module, certificates made by ``tests.support.tls``:

- ``mtls``: ``--ssl-client-auth required`` with ``REGCAST_AUTH=mtls``; the client
  certificate's CN (``regcast-client``) is a user of the users file with ``Write`` on
  ``Subject:orders-.*`` only. httpx and confluent-kafka's ``SchemaRegistryClient``
  (``ssl.ca.location``, ``ssl.certificate.location``, ``ssl.key.location``) get in with
  the certificate; without one, or with one from another CA, the handshake is refused;
  a client trusting another CA refuses the server.
- ``basic``: TLS without client certificates (an encrypted key and its password, all
  from ``REGCAST_SSL_*`` variables) and ``REGCAST_AUTH=basic``, with
  ``REGCAST_AUDIT_FILE``: confluent-kafka with ``ssl.ca.location`` and
  ``basic.auth.user.info``; writes and refusals are audit lines; no password or
  ``Authorization`` value reaches the audit file or the server's output.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError
from cryptography.hazmat.primitives import serialization

from regcast.local_broker import free_port, stop_process, wait_for_port
from tests.integration.registry.auth_support import PASSWORDS, user_entry, users_document
from tests.support.tls import Certificates, make_certificates

REGCAST = Path(sys.executable).parent / "regcast"
ORDER = json.dumps({"type": "record", "name": "Order", "fields": [{"name": "id", "type": "long"}]})
CLIENT_CN = "regcast-client"  # make_certificates' client certificate
SERVER_KEY_PASSWORD = "server-key-secret"


@dataclass
class Server:
    url: str
    log: Path
    audit: Path
    process: subprocess.Popen[bytes]


def start_serve(tmp: Path, name: str, *options: str, **settings: str) -> Server:
    """``regcast serve`` on a free loopback port; stdout and stderr to ``<name>.log``."""
    port = free_port()
    log, audit = tmp / f"{name}.log", tmp / f"{name}-audit.jsonl"
    env = dict(os.environ, REGCAST_AUDIT_FILE=str(audit))
    env.update({f"REGCAST_{key.upper()}": value for key, value in settings.items()})
    command = [
        str(REGCAST),
        "serve",
        "--port",
        str(port),
        "--database-url",
        f"sqlite:///{tmp / name}.db",
        *options,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    if not wait_for_port("127.0.0.1", port, 30):
        stop_process(process)
        raise RuntimeError(f"regcast serve did not start: {log.read_text()[-2000:]}")
    return Server(f"https://127.0.0.1:{port}", log, audit, process)


def tls_options(certs: Certificates) -> list[str]:
    return ["--ssl-certfile", str(certs.server_cert), "--ssl-keyfile", str(certs.server_key)]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls-serve-certs"))


@pytest.fixture(scope="module")
def mtls(tmp_path_factory: pytest.TempPathFactory, certs: Certificates) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("tls-serve-mtls")
    users = tmp / "users.json"
    document = users_document()
    document["users"].append(user_entry(CLIENT_CN, "unused-password"))
    document["permissions"].append(
        {"username": CLIENT_CN, "operation": "Write", "resource": "Subject:orders-.*"}
    )
    users.write_text(json.dumps(document))
    server = start_serve(
        tmp,
        "mtls",
        *tls_options(certs),
        "--ssl-ca-certs",
        str(certs.ca),
        "--ssl-client-auth",
        "required",
        auth="mtls",
        auth_file=str(users),
    )
    yield server
    stop_process(server.process)


@pytest.fixture(scope="module")
def basic(tmp_path_factory: pytest.TempPathFactory, certs: Certificates) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("tls-serve-basic")
    users = tmp / "users.json"
    users.write_text(json.dumps(users_document()))
    # the TLS files from the environment, as a container would give them, the key
    # encrypted (REGCAST_SSL_KEYFILE_PASSWORD)
    key = serialization.load_pem_private_key(certs.server_key.read_bytes(), None)
    encrypted = tmp / "server-encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(SERVER_KEY_PASSWORD.encode()),
        )
    )
    server = start_serve(
        tmp,
        "basic",
        auth="basic",
        auth_file=str(users),
        ssl_certfile=str(certs.server_cert),
        ssl_keyfile=str(encrypted),
        ssl_keyfile_password=SERVER_KEY_PASSWORD,
    )
    yield server
    stop_process(server.process)


def context(certs: Certificates, ca: Path | None = None, client: bool = True) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca or certs.ca))
    if client:
        ctx.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    return ctx


def audit_lines(server: Server, count: int) -> list[dict[str, Any]]:
    """The audit file's lines once it holds ``count`` (its writer is a thread)."""
    deadline = time.monotonic() + 10
    while True:
        text = server.audit.read_text() if server.audit.exists() else ""
        lines = [json.loads(line) for line in text.splitlines()]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


# -- mutual TLS --------------------------------------------------------------------------


def test_mtls_client_certificate_is_the_principal(mtls: Server, certs: Certificates) -> None:
    with httpx.Client(base_url=mtls.url, verify=context(certs)) as http:
        registered = http.post("/subjects/orders-value/versions", json={"schema": ORDER})
        assert registered.status_code == 200, registered.text
        refused = http.post("/subjects/payments-value/versions", json={"schema": ORDER})
        assert refused.status_code == 403
        assert refused.json()["error_code"] == 40301
        assert CLIENT_CN in refused.json()["message"]
        assert http.get("/subjects").json() == ["orders-value"]
    lines = audit_lines(mtls, 2)
    register = next(line for line in lines if line["outcome"] == "success")
    assert register["principal"] == CLIENT_CN
    assert (register["operation"], register["subject"]) == ("register", "orders-value")
    assert register["id"] == registered.json()["id"]
    denied = next(line for line in lines if line["outcome"] == "refused")
    assert (denied["principal"], denied["status"], denied["subject"]) == (
        CLIENT_CN,
        403,
        "payments-value",
    )


def test_confluent_client_over_mutual_tls(mtls: Server, certs: Certificates) -> None:
    client = SchemaRegistryClient(
        {
            "url": mtls.url,
            "ssl.ca.location": str(certs.ca),
            "ssl.certificate.location": str(certs.client_cert),
            "ssl.key.location": str(certs.client_key),
        }
    )
    schema_id = client.register_schema("orders-key", Schema('"string"', "AVRO"))
    assert client.get_schema(schema_id).schema_str == '"string"'
    assert "orders-key" in client.get_subjects()


@pytest.mark.parametrize("who", ["no certificate", "another CA's certificate"])
def test_mtls_refuses_the_handshake_without_a_trusted_certificate(
    mtls: Server, certs: Certificates, who: str
) -> None:
    ctx = context(certs, client=False)
    if who != "no certificate":
        ctx.load_cert_chain(str(certs.other_client_cert), str(certs.other_client_key))
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(mtls.url + "/subjects", verify=ctx)


def test_confluent_client_without_a_certificate_is_refused(
    mtls: Server, certs: Certificates
) -> None:
    client = SchemaRegistryClient(
        {"url": mtls.url, "ssl.ca.location": str(certs.ca), "max.retries": 0}
    )
    with pytest.raises(Exception) as refused:  # httpx's transport error, not an answer
        client.get_subjects()
    assert not isinstance(refused.value, SchemaRegistryError)


def test_a_client_trusting_another_ca_refuses_the_server(mtls: Server, certs: Certificates) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(mtls.url + "/subjects", verify=context(certs, ca=certs.other_ca))


# -- TLS with basic auth, the audit trail -----------------------------------------------


def test_confluent_client_over_tls_with_basic_auth(basic: Server, certs: Certificates) -> None:
    client = SchemaRegistryClient(
        {
            "url": basic.url,
            "ssl.ca.location": str(certs.ca),
            "basic.auth.user.info": f"admin:{PASSWORDS['admin']}",
        }
    )
    schema_id = client.register_schema("tls-value", Schema(ORDER, "AVRO"))
    assert client.get_schema(schema_id).schema_str is not None


def test_audit_records_writes_and_refusals_without_secrets(
    basic: Server, certs: Certificates
) -> None:
    secrets = [PASSWORDS["admin"], PASSWORDS["writer"], "not-the-password", SERVER_KEY_PASSWORD]
    admin = ("admin", PASSWORDS["admin"])
    with httpx.Client(base_url=basic.url, verify=context(certs, client=False)) as http:
        http.post("/subjects/audit-value/versions", json={"schema": ORDER}, auth=admin)
        http.put("/config/audit-value", json={"compatibility": "FULL"}, auth=admin)
        http.delete("/subjects/audit-value/versions/1", auth=admin)
        wrong = http.get("/subjects", auth=("admin", "not-the-password"))
        assert wrong.status_code == 401
        forbidden = http.delete("/subjects/orders-value", auth=("writer", PASSWORDS["writer"]))
        assert forbidden.status_code == 403
    lines = audit_lines(basic, 5)
    by_operation = {(line["operation"], line["status"]): line for line in lines}
    register = by_operation[("register", 200)]
    assert (register["principal"], register["subject"], register["outcome"]) == (
        "admin",
        "audit-value",
        "success",
    )
    assert isinstance(register["id"], int)
    assert by_operation[("set_config", 200)]["compatibility"] == "FULL"
    deleted = by_operation[("delete_version", 200)]
    assert (deleted["subject"], deleted["version"]) == ("audit-value", 1)
    refused = by_operation[("read", 401)]
    assert (refused["principal"], refused["outcome"], refused["error_code"]) == (
        None,
        "refused",
        40101,
    )
    assert by_operation[("delete_subject", 403)]["principal"] == "writer"
    for line in lines:
        assert {"time", "client", "path", "status", "outcome"} <= line.keys()
    time.sleep(0.5)  # the access log's thread writes every 0.2 s
    everything = basic.audit.read_text() + basic.log.read_text()
    assert '"GET /subjects HTTP/1.1" 401' in everything  # the access log is there
    for secret in secrets:
        assert secret not in everything
        token = base64.b64encode(f"admin:{secret}".encode()).decode()
        assert token not in everything
    assert "authorization" not in everything.lower()


def test_serve_exports_the_listen_host_for_the_exposure_warning(tmp_path: Path) -> None:
    """Auth off on 0.0.0.0: the warning is logged at start-up, before any request."""
    port = free_port()
    log = tmp_path / "serve.log"
    command = [str(REGCAST), "serve", "--host", "0.0.0.0", "--port", str(port)]
    command += ["--database-url", f"sqlite:///{tmp_path / 'open.db'}"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        assert wait_for_port("127.0.0.1", port, 30), log.read_text()
    finally:
        stop_process(process)
    assert "REGCAST_AUTH=none and the registry is reachable on 0.0.0.0" in log.read_text()
