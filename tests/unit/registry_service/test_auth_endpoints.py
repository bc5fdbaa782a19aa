"""The endpoint table classifies every route of the application, and matches as routes do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI

from registry_service.app import create_app
from registry_service.auth.endpoints import (
    ENDPOINTS,
    Access,
    EndpointTable,
    app_routes,
    unclassified,
)
from registry_service.settings import Settings


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    db = tmp_path_factory.mktemp("endpoints") / "r.db"
    return create_app(Settings(database_url=f"sqlite:///{db}", cache_poll_interval_ms=0))


def example_path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", template)


def test_every_route_of_the_app_is_classified(app: FastAPI) -> None:
    routes = set(app_routes(app.routes))
    assert len(routes) > 30
    assert unclassified(app.routes) == []
    assert set(ENDPOINTS) == routes, "the table names routes the app does not have"


@pytest.mark.parametrize(("method", "template"), sorted(ENDPOINTS))
def test_the_matcher_finds_each_route_and_no_other(method: str, template: str) -> None:
    endpoint = EndpointTable().match(method, example_path(template))
    assert endpoint is not None
    assert endpoint.template == template
    assert endpoint.access is ENDPOINTS[(method, template)]


def test_the_checked_parameter_is_the_raw_segment() -> None:
    table = EndpointTable()
    hit = table.match("POST", "/subjects/common%2Faddress.proto/versions")
    assert hit is not None and hit.access is Access.SUBJECT_WRITE
    assert hit.parameter == "common%2Faddress.proto"
    by_id = table.match("GET", "/schemas/ids/7")
    assert by_id is not None and by_id.parameter == "7"
    head = table.match("HEAD", "/subjects/s/versions/1")
    assert head is not None and head.access is Access.SUBJECT_READ


def test_literal_segments_beat_parameters_and_empty_segments_match_nothing() -> None:
    table = EndpointTable()
    types = table.match("GET", "/schemas/types")
    assert types is not None and types.access is Access.AUTHENTICATED
    assert table.match("GET", "/subjects/") is None  # the router redirects to /subjects
    assert table.match("GET", "/nowhere") is None


def test_a_new_route_without_a_class_is_found_and_auth_refuses_to_start(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text('{"users": []}')
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'r.db'}",
        cache_poll_interval_ms=0,
        auth="basic",
        auth_file=users,
    )
    from registry_service.routers import subjects

    @subjects.router.get("/subjects/{subject:segment}/secret-export")
    async def secret_export(subject: str) -> dict[str, str]:  # pragma: no cover
        return {}

    try:
        with pytest.raises(RuntimeError, match="secret-export"):
            create_app(settings)
    finally:
        subjects.router.routes.pop()
    assert ("GET", "/subjects/{subject:segment}/secret-export") not in set(ENDPOINTS)
