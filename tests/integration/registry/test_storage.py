"""Storage lifecycle on SQLite and PostgreSQL: migrations, restarts, refusing what it
cannot read, and several processes creating the tables at once."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from registry_service.app import create_app
from registry_service.settings import Settings, resolve_database_url
from registry_service.storage import StoreError, StoreUnavailableError
from registry_service.storage.sql import SCHEMA_VERSION, SqlStore, registry_state
from tests.integration.registry.conftest import reset_postgres

SCHEMA = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})
OTHER = json.dumps({"type": "record", "name": "S", "fields": [{"name": "b", "type": "int"}]})


def layout_version(database_url: str) -> int:
    engine = sa.create_engine(resolve_database_url(database_url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(registry_state.c.schema_version)).scalar_one())
    finally:
        engine.dispose()


def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, cache_poll_interval_ms=0)


def test_new_database_gets_the_current_layout_and_keeps_data_across_restarts(
    database_url: str,
) -> None:
    with TestClient(create_app(settings(database_url))) as client:
        assert client.post("/subjects/r/versions", json={"schema": SCHEMA}).json()["id"] == 1
    assert layout_version(database_url) == SCHEMA_VERSION
    with TestClient(create_app(settings(database_url))) as client:
        assert json.loads(client.get("/schemas/ids/1").json()["schema"]) == json.loads(SCHEMA)
        assert client.post("/subjects/r/versions", json={"schema": SCHEMA}).json()["id"] == 1
        client.put("/config/r", json={"compatibility": "NONE"})
        again = client.post("/subjects/r/versions", json={"schema": OTHER}).json()
        assert (again["id"], again["version"]) == (2, 2)


def test_a_newer_layout_is_refused(database_url: str) -> None:
    SqlStore(resolve_database_url(database_url)).close()
    engine = sa.create_engine(resolve_database_url(database_url))
    with engine.begin() as conn:
        conn.execute(sa.update(registry_state).values(schema_version=SCHEMA_VERSION + 1))
    engine.dispose()
    with pytest.raises(StoreError, match="newer regcast"):
        create_app(settings(database_url))


def test_processes_starting_together_create_the_tables_once(
    postgres_url: str, tmp_path: Path
) -> None:
    for url in (postgres_url, f"sqlite:///{tmp_path / 'together.db'}"):
        if url == postgres_url:
            reset_postgres(url)
        with ThreadPoolExecutor(4) as pool:
            stores = list(pool.map(SqlStore, [resolve_database_url(url)] * 4))
        for store in stores:
            with store.read() as tx:
                assert tx.generation() == 0
            store.close()
        assert layout_version(url) == SCHEMA_VERSION


def test_an_unreachable_database_stops_the_process_before_it_listens() -> None:
    with pytest.raises(StoreUnavailableError):
        create_app(settings("postgresql://postgres@127.0.0.1:1/nowhere"))


def test_idle_connections_the_server_dropped_are_replaced_not_failed(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pooled connections are pinged only after sitting idle (``PING_AFTER_IDLE_S``);
    one the server has closed meanwhile (a restart, an idle timeout) is then replaced
    at checkout, so the request after it works."""
    reset_postgres(postgres_url)
    store = SqlStore(resolve_database_url(postgres_url), pool_size=2)
    try:
        with store.engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        admin = sa.create_engine(resolve_database_url(postgres_url))
        with admin.begin() as conn:
            assert conn.execute(sa.text(f"SELECT pg_terminate_backend({int(pid)})")).scalar()
        admin.dispose()
        monkeypatch.setattr("registry_service.storage.sql.PING_AFTER_IDLE_S", 0.0)
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != pid
        with store.read() as tx:
            assert tx.generation() == 0
    finally:
        store.close()
