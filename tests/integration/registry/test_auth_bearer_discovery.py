"""OIDC discovery: the registry finds the issuer's JWKS from ``<issuer>/.well-known/
openid-configuration`` when ``REGCAST_AUTH_BEARER_JWKS_URL`` is not set.

The issuer is ``TokenEndpoint`` with its own base URL as issuer (``issuer=None``), serving
the discovery document over HTTP. Proven: the start-up check (``with_discovered_jwks``)
takes the document's ``jwks_uri``; an explicit JWKS URL wins (nothing fetched); another
issuer in the document, a document without ``jwks_uri`` and an unreachable issuer each
give one clear ``DiscoveryError``; an app built without the check discovers lazily and
accepts a token signed by the published key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from regcast.local_broker import free_port
from registry_service.app import create_app
from registry_service.auth.bearer import with_discovered_jwks
from registry_service.auth.jwks import DiscoveryError
from registry_service.settings import Settings
from tests.integration.registry.auth_support import write_users_file
from tests.support.token_endpoint import TokenEndpoint

AUDIENCE = "regcast-registry"


@pytest.fixture
def issuer() -> Iterator[TokenEndpoint]:
    with TokenEndpoint(clients={}, audience=AUDIENCE, issuer=None) as endpoint:
        yield endpoint


def settings(tmp_path: Path, issuer: str, **extra: str) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'registry.db'}",
        cache_poll_interval_ms=0,
        auth="bearer",
        auth_file=write_users_file(tmp_path / "users.json"),
        auth_bearer_issuer=issuer,
        auth_bearer_audience=AUDIENCE,
        **extra,  # type: ignore[arg-type]
    )


def test_discovery_finds_the_jwks_and_an_explicit_url_wins(
    tmp_path: Path, issuer: TokenEndpoint
) -> None:
    found = with_discovered_jwks(settings(tmp_path, issuer.issuer))
    assert found.auth_bearer_jwks_url == issuer.jwks_url
    assert issuer.discovery_requests == 1
    explicit = settings(tmp_path, issuer.issuer, auth_bearer_jwks_url="http://keys.example/jwks")
    assert with_discovered_jwks(explicit) is explicit
    assert issuer.discovery_requests == 1


def test_a_bad_discovery_document_is_one_clear_error(tmp_path: Path, issuer: TokenEndpoint) -> None:
    issuer.discovery_overrides = {"issuer": "https://elsewhere.example"}
    with pytest.raises(DiscoveryError) as other:
        with_discovered_jwks(settings(tmp_path, issuer.issuer))
    assert "names the issuer 'https://elsewhere.example'" in str(other.value)
    assert f"REGCAST_AUTH_BEARER_ISSUER={issuer.issuer!r}" in str(other.value)
    issuer.discovery_overrides = {"jwks_uri": None}
    with pytest.raises(DiscoveryError, match="has no jwks_uri"):
        with_discovered_jwks(settings(tmp_path, issuer.issuer))
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DiscoveryError, match=r"cannot fetch .*/\.well-known/openid-configuration"):
        with_discovered_jwks(settings(tmp_path, closed))


def test_a_non_url_issuer_without_a_jwks_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="REGCAST_AUTH_BEARER_ISSUER as a URL"):
        settings(tmp_path, "regcast-test-idp")


def test_the_registry_discovers_lazily_without_the_start_up_check(
    tmp_path: Path, issuer: TokenEndpoint
) -> None:
    with TestClient(create_app(settings(tmp_path, issuer.issuer))) as client:
        token = issuer.issue("ci", roles=["admin"])
        answer = client.get("/subjects", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        assert (issuer.discovery_requests, issuer.jwks_requests) == (1, 1)
