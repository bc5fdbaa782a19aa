"""A real registry process to throw bad requests at, and what must hold after each one.

``registry_sqlite`` / ``registry_postgres`` start ``uvicorn --factory
registry_service.app:create_app`` (``tests.support.registry.serve_registry``) on a SQLite
file in a temporary directory / a throwaway PostgreSQL database, once per module; the
examples of a module share it, so later requests meet the state earlier ones left.

What every answer must satisfy (``check_answer``):

* no 5xx: a client cannot tell a 500 from an outage and retries it;
* every error body is Confluent's ``{"error_code": <int>, "message": <str>}`` and nothing
  else, with the HTTP status as the code's first three digits;
* a refused request (4xx) leaves the stored data as it was: ``Registry.snapshot`` reads
  every row of every table straight from the database, so nothing the API shows or hides
  can mask a change;
* the process is still running (a crash in protoc or upb would take it down).

Nothing lands in the work tree: the server runs with its working directory in a
temporary directory, Hypothesis keeps its files there too (``hypothesis_home``) and
every ``settings`` here says ``database=None`` and ``derandomize=True``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis.configuration import set_hypothesis_home_dir

from regcast.local_broker import stop_process
from registry_service.settings import resolve_database_url
from registry_service.storage.sql import metadata
from tests.support.postgres import create_database, drop_database
from tests.support.registry import serve_registry

Snapshot = dict[str, list[tuple[Any, ...]]]


@dataclass
class Registry:
    """A registry process, a client for it and a reader of its database."""

    url: str
    database_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    client: httpx.Client = field(init=False)
    engine: sa.Engine = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=60)
        self.engine = sa.create_engine(resolve_database_url(self.database_url))

    def snapshot(self) -> Snapshot:
        """Every row of every registry table, sorted: the whole stored state."""
        with self.engine.connect() as conn:
            return {
                table.name: sorted(tuple(row) for row in conn.execute(sa.select(table)))
                for table in metadata.sorted_tables
            }

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def close(self) -> None:
        self.client.close()
        self.engine.dispose()
        stop_process(self.process)


def check_answer(registry: Registry, response: httpx.Response, before: Snapshot | None) -> None:
    """The module docstring's rules for one answer; ``before`` is the state it was sent in."""
    request = response.request
    where = f"{request.method} {request.url.raw_path!r} -> {response.status_code}"
    check_status_and_body(registry, response.status_code, response.content, where, before)


def check_status_and_body(
    registry: Registry, status: int, content: bytes, where: str, before: Snapshot | None
) -> None:
    """``check_answer`` for any client's response: the status, the body and a description."""
    text = content.decode("utf-8", "replace")
    assert registry.alive(), f"{where}: the registry process died\n{registry.log_tail()}"
    assert status < 500, f"{where}: {text[:500]}"
    if status < 400:
        return
    try:
        body = json.loads(content)
    except ValueError:
        raise AssertionError(f"{where}: error body is not JSON: {text[:300]!r}") from None
    assert isinstance(body, dict) and set(body) == {"error_code", "message"}, f"{where}: {body}"
    code, message = body["error_code"], body["message"]
    assert isinstance(code, int) and not isinstance(code, bool), f"{where}: {body}"
    assert isinstance(message, str), f"{where}: {body}"
    assert str(code).startswith(str(status)), f"{where}: {body}"
    if before is not None:
        assert registry.snapshot() == before, f"{where}: a refused request changed the data"


def _start(database_url: str, directory: Path) -> Registry:
    log_path = directory / "registry.log"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)  # the server's working directory: nothing lands in the tree
        process, url = serve_registry(database_url, log_path)
    return Registry(url, database_url, process, log_path)


@pytest.fixture(scope="package", autouse=True)
def hypothesis_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Hypothesis's own files (its constants and Unicode caches) in a temporary directory."""
    home = tmp_path_factory.mktemp("hypothesis")
    set_hypothesis_home_dir(home)
    try:
        yield home
    finally:
        set_hypothesis_home_dir(None)


@pytest.fixture(scope="module")
def registry_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    directory = tmp_path_factory.mktemp("registry-sqlite")
    registry = _start(f"sqlite:///{directory / 'registry.db'}", directory)
    try:
        yield registry
    finally:
        registry.close()


@pytest.fixture(scope="module")
def registry_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    name, url = create_database("regcast_robust")
    try:
        registry = _start(url, tmp_path_factory.mktemp("registry-postgres"))
        try:
            yield registry
        finally:
            registry.close()
    finally:
        drop_database(name)
