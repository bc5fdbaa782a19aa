"""The registry application in-process, on a SQLite file and on PostgreSQL.

``registry_app`` builds ``create_app(Settings(...))`` exactly as uvicorn's factory call
does; ``client`` wraps it in Starlette's TestClient (lifespan included) and is
parametrised over both databases. The PostgreSQL database comes from the session's
``postgres_url``; each test starts from dropped tables.
``tests.support.registry.serve_registry`` starts the real thing,
``uvicorn --factory registry_service.app:create_app``, with ``REGCAST_*`` settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from registry_service.app import create_app
from registry_service.settings import Settings, resolve_database_url
from registry_service.storage.sql import metadata

BACKENDS = ["sqlite", "postgresql"]


def reset_postgres(url: str) -> None:
    """Drop the registry's tables so the next app starts from an empty database."""
    engine = sa.create_engine(resolve_database_url(url))
    try:
        with engine.begin() as conn:
            metadata.drop_all(conn)
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    url: str = request.getfixturevalue("postgres_url")
    reset_postgres(url)
    return url


@pytest.fixture
def registry_app(database_url: str) -> Callable[..., FastAPI]:
    def build(**overrides: object) -> FastAPI:
        settings = Settings(database_url=database_url, cache_poll_interval_ms=0, **overrides)  # type: ignore[arg-type]
        return create_app(settings)

    return build


@pytest.fixture
def client(registry_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(registry_app()) as test_client:
        yield test_client
