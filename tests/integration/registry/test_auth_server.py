"""Basic authentication through the real server (uvicorn, ``REGCAST_AUTH=basic``).

One registry process for the module on SQLite, started as ``serve_registry`` starts it
with ``REGCAST_AUTH``/``REGCAST_AUTH_FILE`` in its environment. confluent-kafka's own
``SchemaRegistryClient`` (``basic.auth.user.info``) and its Avro serializers work
against it and get a clear 401 with a wrong password; raw httpx requests with
malformed ``Authorization`` headers, a 1 MB one included, get 401s (or the server's
own 431) and never a 500; a user removed from the users file stops working within
seconds; a flood of wrong passwords does not slow down callers whose credentials are
cached; nothing secret reaches the server's log.
"""

from __future__ import annotations

import base64
import json
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from regcast.local_broker import stop_process
from tests.integration.registry.auth_support import (
    PASSWORDS,
    basic_header,
    users_document,
    write_users_file,
)
from tests.support.registry import serve_registry

ORDER = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "namespace": "com.example",
        "fields": [{"name": "id", "type": "long"}],
    }
)


class Server:
    def __init__(self, url: str, users: Path, log: Path) -> None:
        self.url, self.users, self.log = url, users, log


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("auth-server")
    users = write_users_file(tmp / "users.json")
    log = tmp / "registry.log"
    process, url = serve_registry(
        f"sqlite:///{tmp / 'registry.db'}",
        log,
        "--log-level",
        "debug",
        auth="basic",
        auth_file=str(users),
        auth_reload_interval_ms="200",
    )
    try:
        yield Server(url, users, log)
    finally:
        stop_process(process)


def client_for(url: str, user: str, password: str) -> SchemaRegistryClient:
    return SchemaRegistryClient(
        {"url": url, "basic.auth.user.info": f"{user}:{password}", "max.retries": 0}
    )


def test_confluent_client_registers_and_reads_with_basic_auth(server: Server) -> None:
    admin = client_for(server.url, "admin", PASSWORDS["admin"])
    schema_id = admin.register_schema("orders-value", Schema(ORDER, "AVRO"))
    reader = client_for(server.url, "reader", PASSWORDS["reader"])
    assert reader.get_schema(schema_id).schema_str is not None
    assert reader.get_latest_version("orders-value").schema_id == schema_id
    assert reader.get_subjects() == ["orders-value"]
    with pytest.raises(SchemaRegistryError) as denied:
        reader.register_schema("orders-value", Schema(ORDER, "AVRO"))
    assert (denied.value.http_status_code, denied.value.error_code) == (403, 40301)

    serializer = AvroSerializer(admin, ORDER, conf={"auto.register.schemas": True})
    context = SerializationContext("orders", MessageField.VALUE)
    payload = serializer({"id": 7}, context)
    assert payload is not None
    assert AvroDeserializer(reader)(payload, context) == {"id": 7}


def test_confluent_client_gets_a_clear_error_with_wrong_credentials(server: Server) -> None:
    wrong = client_for(server.url, "admin", "not-the-password")
    with pytest.raises(SchemaRegistryError) as refused:
        wrong.get_subjects()
    assert (refused.value.http_status_code, refused.value.error_code) == (401, 40101)
    assert "wrong user name or password" in refused.value.error_message
    assert "not-the-password" not in str(refused.value)


@pytest.mark.parametrize(
    "header",
    [
        b"Basic !!!not-base64",
        b"Basic " + base64.b64encode(b"no-colon"),
        b"Basic " + base64.b64encode(b"\xff\xfe:\xfd"),
        b"Bearer some.jwt.token",
        b"Negotiate abc",
        b"Basic",
        b"",
        b"Basic " + base64.b64encode(b"admin:" + b"x" * 3000),
    ],
)
def test_malformed_authorization_headers_are_401(server: Server, header: bytes) -> None:
    answer = httpx.get(f"{server.url}/subjects", headers={b"Authorization": header})
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"] == 'Basic realm="regcast"'
    assert answer.json()["error_code"] == 40101


def test_a_one_megabyte_authorization_header_is_refused_cleanly(server: Server) -> None:
    huge = b"Basic " + base64.b64encode(b"admin:" + b"x" * (1024 * 1024))
    # uvicorn's httptools parser takes the head; the guard refuses it unread (h11, without
    # uvicorn[standard], answers 431 itself)
    answer = httpx.get(f"{server.url}/subjects", headers={b"Authorization": huge}, timeout=10)
    assert answer.status_code in (401, 431), answer.text
    if answer.status_code == 401:
        assert answer.json() == {
            "error_code": 40101,
            "message": "Unauthorized: the Authorization header is too long",
        }
    # and the server still answers
    assert httpx.get(f"{server.url}/health").status_code == 200
    assert httpx.get(f"{server.url}/subjects", headers=basic_header("admin")).status_code == 200


def test_health_is_open(server: Server) -> None:
    assert httpx.get(f"{server.url}/health").status_code == 200
    assert httpx.get(f"{server.url}/subjects").status_code == 401


def test_a_removed_user_stops_working_within_seconds(server: Server) -> None:
    headers = basic_header("writer")
    assert httpx.get(f"{server.url}/subjects", headers=headers).status_code == 200
    document = users_document()
    kept = [u for u in document["users"] if u["username"] != "writer"]
    document["users"] = kept
    document["permissions"] = []
    original = server.users.read_text()
    write_users_file(server.users, document)
    try:
        deadline = time.monotonic() + 5
        status = 200
        while time.monotonic() < deadline:
            status = httpx.get(f"{server.url}/subjects", headers=headers).status_code
            if status == 401:
                break
            time.sleep(0.1)
        assert status == 401
        # the admin's cached credential was dropped too and verifies again
        assert httpx.get(f"{server.url}/subjects", headers=basic_header("admin")).status_code == 200
    finally:
        server.users.write_text(original)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if httpx.get(f"{server.url}/subjects", headers=headers).status_code == 200:
                break
            time.sleep(0.1)


def test_wrong_passwords_do_not_slow_down_cached_callers(server: Server) -> None:
    good = basic_header("admin")
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/subjects", headers=good).status_code == 200  # cached now
        stop = threading.Event()
        refused: list[int] = []

        def attack(worker: int) -> None:
            with httpx.Client(base_url=server.url) as own:
                attempt = 0
                while not stop.is_set():
                    attempt += 1
                    wrong = basic_header("admin", f"guess-{worker}-{attempt}")
                    refused.append(own.get("/subjects", headers=wrong).status_code)

        attackers = [threading.Thread(target=attack, args=(i,)) for i in range(8)]
        for thread in attackers:
            thread.start()
        try:
            time.sleep(0.3)
            latencies = []
            for _ in range(40):
                started = time.perf_counter()
                assert client.get("/subjects", headers=good).status_code == 200
                latencies.append(time.perf_counter() - started)
        finally:
            stop.set()
            for thread in attackers:
                thread.join()
    assert refused and set(refused) <= {401, 429}
    # One scrypt at a time on a worker thread: the event loop keeps serving cached
    # credentials (a few ms each here) while the guesses queue.
    assert statistics.median(latencies) < 0.1, latencies


def test_no_secret_reaches_the_server_log(server: Server) -> None:
    httpx.get(f"{server.url}/subjects", headers=basic_header("reader"))
    text = server.log.read_text(errors="replace")
    assert "GET /subjects" in text  # the access log is there, at debug level
    for password in PASSWORDS.values():
        assert password not in text
    assert "Authorization" not in text and "Basic " not in text
