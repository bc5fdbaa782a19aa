"""Two registry processes on one database: twenty clients at once, and cache coherence.

Each process is a real ``uvicorn --factory registry_service.app:create_app``; the
clients are threads with their own HTTP connections, half talking to each process.
They register the same schemas (which must get one id between them) and different
schemas under one subject (which must get distinct, gap-free versions). Then one
process's writes must show in the other's cached reads: on PostgreSQL through
``LISTEN``/``NOTIFY`` (the poll interval is set to a minute, so nothing else could
explain it), on a shared SQLite file through polling the write counter.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from regcast.local_broker import stop_process
from tests.integration.registry.conftest import reset_postgres
from tests.support.registry import serve_registry

CLIENTS = 20
ROUNDS = 5
SHARED = [
    json.dumps({"type": "record", "name": f"Shared{i}", "fields": [{"name": "a", "type": "int"}]})
    for i in range(ROUNDS)
]


def unique_schema(client: int, round_: int) -> str:
    return json.dumps(
        {"type": "record", "name": f"U{client}x{round_}", "fields": [{"name": "b", "type": "long"}]}
    )


@pytest.fixture
def two_registries(postgres_url: str, tmp_path: Path) -> Iterator[list[str]]:
    reset_postgres(postgres_url)
    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for i in range(2):
            process, url = serve_registry(postgres_url, tmp_path / f"registry-{i}.log")
            processes.append(process)
            urls.append(url)
        yield urls
    finally:
        for process in processes:
            stop_process(process)


def _client_run(url: str, client: int) -> list[tuple[str, str, int, int]]:
    """Register this client's schemas; returns (subject, schema, id, version) per call."""
    answers = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for round_ in range(ROUNDS):
            for subject, schema in (
                ("shared", SHARED[round_]),
                ("mixed", unique_schema(client, round_)),
                (f"own-{client}", SHARED[round_]),
            ):
                response = http.post(f"/subjects/{subject}/versions", json={"schema": schema})
                assert response.status_code == 200, response.text
                body = response.json()
                answers.append((subject, schema, body["id"], body["version"]))
    return answers


def test_two_processes_agree_on_ids_and_versions(two_registries: list[str]) -> None:
    first = two_registries[0]
    assert httpx.put(f"{first}/config", json={"compatibility": "NONE"}).status_code == 200

    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(_client_run, two_registries[c % 2], c) for c in range(CLIENTS)]
        answers = [a for f in futures for a in f.result(timeout=120)]

    ids_by_schema: dict[str, set[int]] = {}
    for _, schema, schema_id, _ in answers:
        ids_by_schema.setdefault(schema, set()).add(schema_id)
    assert all(len(ids) == 1 for ids in ids_by_schema.values()), "one schema, several ids"
    distinct = len(SHARED) + CLIENTS * ROUNDS
    assert len(ids_by_schema) == distinct
    all_ids = sorted(next(iter(ids)) for ids in ids_by_schema.values())
    assert all_ids == list(range(1, distinct + 1)), "ids must be unique and dense"

    mixed_versions = sorted(v for s, _, _, v in answers if s == "mixed")
    assert mixed_versions == list(range(1, CLIENTS * ROUNDS + 1)), "lost or duplicate versions"

    for url in two_registries:
        assert httpx.get(f"{url}/subjects/shared/versions").json() == list(range(1, ROUNDS + 1))
        assert httpx.get(f"{url}/subjects/mixed/versions").json() == mixed_versions
        for subject, schema, schema_id, version in answers[:: CLIENTS // 2]:
            got = httpx.get(f"{url}/subjects/{subject}/versions/{version}").json()
            assert got["id"] == schema_id
            by_id = httpx.get(f"{url}/schemas/ids/{schema_id}").json()
            assert json.loads(by_id["schema"]) == json.loads(schema)


def test_cache_sees_another_instance_write(registry_app: Callable[..., FastAPI]) -> None:
    """Instance B serves a subject from its cache until its watcher sees the write
    counter move; one ``check()`` stands in for the watcher thread's next poll."""
    with TestClient(registry_app()) as a, TestClient(registry_app()) as b:
        b_service = b.app.state.service  # type: ignore[attr-defined]
        b_service.watcher.check()
        a.post("/subjects/s/versions", json={"schema": SHARED[0]})
        assert b.get("/subjects/s/versions/latest").json()["version"] == 1
        a.put("/config/s", json={"compatibility": "NONE"})
        a.post("/subjects/s/versions", json={"schema": SHARED[1]})
        assert b.get("/subjects/s/versions/latest").json()["version"] == 1  # cached
        b_service.watcher.check()
        assert b.get("/subjects/s/versions/latest").json()["version"] == 2
        assert b.get("/config/s").json() == {"compatibilityLevel": "NONE"}


@pytest.mark.parametrize(("backend", "poll_interval_ms"), [("postgresql", 60_000), ("sqlite", 100)])
def test_other_process_writes_reach_cached_reads(
    backend: str, poll_interval_ms: int, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "postgresql":
        database_url: str = request.getfixturevalue("postgres_url")
        reset_postgres(database_url)
    else:
        database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    processes = []
    try:
        for name in ("a", "b"):
            process, url = serve_registry(
                database_url,
                tmp_path / f"registry-{name}.log",
                cache_poll_interval_ms=str(poll_interval_ms),
            )
            processes.append((process, url))
        a, b = (url for _, url in processes)
        latest = f"{b}/subjects/seen/versions/latest"
        assert httpx.get(latest).json()["error_code"] == 40401  # B now caches "no versions"
        assert httpx.get(latest).json()["error_code"] == 40401

        def seen_by_b(check: Callable[[], bool]) -> float:
            began = time.monotonic()
            while not check():
                assert time.monotonic() - began < 5, "B never saw A's write"
                time.sleep(0.01)
            return time.monotonic() - began

        httpx.post(f"{a}/subjects/seen/versions", json={"schema": SHARED[0]}).raise_for_status()
        delays = [seen_by_b(lambda: httpx.get(latest).status_code == 200)]
        assert httpx.get(latest).json()["version"] == 1

        httpx.put(f"{a}/config/seen", json={"compatibility": "NONE"}).raise_for_status()
        delays.append(seen_by_b(lambda: httpx.get(f"{b}/config/seen").status_code == 200))
        assert httpx.get(f"{b}/config/seen").json() == {"compatibilityLevel": "NONE"}

        httpx.delete(f"{a}/subjects/seen/versions/1").raise_for_status()
        delays.append(seen_by_b(lambda: httpx.get(latest).status_code == 404))
        # A minute-long poll interval cannot explain PostgreSQL's answers: NOTIFY did.
        assert max(delays) < 2, delays
    finally:
        for process, _ in processes:
            stop_process(process)
