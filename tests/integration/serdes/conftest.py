"""Fixtures for serdes against a real regcast registry process.

One registry per test module (``serdes_registry``) keeps the suite fast; tests isolate
themselves with unique topic names (``topic``), so they never share subjects.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient as CkSchemaRegistryClient

from regcast.local_broker import stop_process
from serdes import SchemaRegistryClient
from tests.support.registry import serve_registry

PROTOS = Path(__file__).resolve().parent / "protos"
if str(PROTOS) not in sys.path:
    sys.path.insert(0, str(PROTOS))


@pytest.fixture(scope="module")
def serdes_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """regcast's registry in a uvicorn subprocess on its own SQLite file, per module."""
    if importlib.util.find_spec("registry_service.app") is None:
        pytest.skip("registry_service.app is not built yet")
    tmp = tmp_path_factory.mktemp("registry")
    process, url = serve_registry(f"sqlite:///{tmp / 'registry.db'}", tmp / "registry.log")
    try:
        yield url
    finally:
        stop_process(process)


@pytest.fixture
def client(serdes_registry: str) -> Iterator[SchemaRegistryClient]:
    with SchemaRegistryClient(serdes_registry, max_retries=1) as registry_client:
        yield registry_client


@pytest.fixture
def ck_client(serdes_registry: str) -> CkSchemaRegistryClient:
    return CkSchemaRegistryClient({"url": serdes_registry})


@pytest.fixture
def topic() -> str:
    return f"t{uuid.uuid4().hex[:12]}"
