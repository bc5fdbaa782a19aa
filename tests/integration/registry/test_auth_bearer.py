"""Bearer tokens in-process (``REGCAST_AUTH=basic,bearer``) against a real issuer.

The issuer is ``tests.support.token_endpoint.TokenEndpoint`` on a loopback port: it
serves its JWKS over HTTP, and the registry (``create_app`` under Starlette's
TestClient) fetches it with httpx as it would a real identity provider's. Tokens are
real RS256 JWTs signed with keys the test generated. Every way a token can be wrong is
refused with 401/40101 and ``WWW-Authenticate: Bearer ... error="invalid_token"``, never
500; a new ``kid`` is picked up after a JWKS refresh; a burst of unknown kids costs the
issuer one fetch; the roles claim maps to the users file's roles (allowed, 403,
filtered listings). The guard's clock (used for the JWKS refresh interval) is the
test's.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from registry_service.app import create_app
from registry_service.auth.credentials import cache_key
from registry_service.auth.guard import AuthGuard
from registry_service.auth.jwks import JwksCache
from registry_service.settings import Settings
from tests.integration.registry.auth_support import basic_header, write_users_file
from tests.integration.registry.test_auth_guard import Clock, find_guard
from tests.support.token_endpoint import TokenEndpoint

AUDIENCE = "regcast-registry"
ORDER = json.dumps({"type": "record", "name": "Order", "fields": [{"name": "id", "type": "long"}]})


class Registry:
    def __init__(self, client: TestClient, guard: AuthGuard, clock: Clock) -> None:
        self.client, self.guard, self.clock = client, guard, clock

    def get(self, path: str, token: str) -> Any:
        return self.client.get(path, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def issuer() -> Iterator[TokenEndpoint]:
    with TokenEndpoint(clients={}, audience=AUDIENCE) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def registry(issuer: TokenEndpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    tmp = tmp_path_factory.mktemp("bearer")
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'registry.db'}",
        cache_poll_interval_ms=0,
        auth="basic,bearer",
        auth_file=write_users_file(tmp / "users.json"),
        auth_bearer_jwks_url=issuer.jwks_url,
        auth_bearer_issuer=issuer.issuer,
        auth_bearer_audience=AUDIENCE,
    )
    with TestClient(create_app(settings)) as client:
        guard = find_guard(client)
        clock = Clock()
        guard.clock_ms = clock
        admin = {"Authorization": f"Bearer {issuer.issue('ci', roles=['admin'])}"}
        for subject in ("orders-value", "payments-value"):
            answer = client.post(
                f"/subjects/{subject}/versions", json={"schema": ORDER}, headers=admin
            )
            assert answer.status_code == 200, answer.text
        yield Registry(client, guard, clock)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(issuer: TokenEndpoint, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": issuer.issuer,
        "aud": AUDIENCE,
        "sub": "mallory",
        "iat": now,
        "exp": now + 300,
        "roles": ["admin"],
        **overrides,
    }


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def alg_none(issuer: TokenEndpoint) -> str:
    return _unsigned({"alg": "none", "typ": "JWT", "kid": issuer.kid}, _claims(issuer)) + "."


def hs256_with_public_key(issuer: TokenEndpoint) -> str:
    """The classic confusion attack: HMAC with the issuer's public key as the secret."""
    pem = issuer.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}, _claims(issuer))
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def tampered(issuer: TokenEndpoint) -> str:
    """A valid reader token whose payload was rewritten to claim the admin role."""
    header, _, signature = issuer.issue("reader-app", roles=["orders-readers"]).split(".")
    forged = _b64(json.dumps(_claims(issuer, sub="reader-app")).encode())
    return f"{header}.{forged}.{signature}"


def unknown_key(issuer: TokenEndpoint) -> str:
    rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return issuer.issue("mallory", key=rogue, kid="rogue-key", roles=["admin"])


REFUSED = {
    "expired": (lambda i: i.issue("app", lifetime_s=-120, roles=["admin"]), "expired"),
    "not-yet-valid": (
        lambda i: i.issue("app", nbf=int(time.time()) + 600, roles=["admin"]),
        "not valid yet",
    ),
    "wrong-audience": (
        lambda i: i.issue("app", aud="another-service", roles=["admin"]),
        "audience",
    ),
    "wrong-issuer": (
        lambda i: i.issue("app", iss="https://evil.example", roles=["admin"]),
        "issued by",
    ),
    "unknown-key": (unknown_key, "key the issuer does not publish"),
    "alg-none": (alg_none, "algorithm 'none' is not accepted"),
    "tampered-payload": (tampered, "signature does not verify"),
    "hs256-with-public-key": (hs256_with_public_key, "algorithm 'HS256' is not accepted"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_bad_token_is_refused_with_invalid_token(
    case: str, registry: Registry, issuer: TokenEndpoint
) -> None:
    make, reason = REFUSED[case]
    token = make(issuer)
    answer = registry.get("/subjects", token)
    assert answer.status_code == 401, answer.text
    body = answer.json()
    assert body["error_code"] == 40101
    assert reason in body["message"]
    assert token not in answer.text
    challenges = answer.headers.get_list("www-authenticate")
    assert challenges == ['Basic realm="regcast"', 'Bearer realm="regcast", error="invalid_token"']


@pytest.mark.parametrize(
    "header",
    [
        b"Bearer",
        b"Bearer ",
        b"Bearer not-a-jwt",
        b"Bearer a.b",
        b"Bearer \xff\xfe.\x00.x",
        b"Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln",  # no kid
        b"Bearer " + b"x" * 5000,
        b"bEaReR two words",
    ],
    ids=["no-token", "empty", "not-jwt", "two-parts", "binary", "no-kid", "too-long", "two-words"],
)
def test_a_malformed_bearer_header_is_401_never_500(header: bytes, registry: Registry) -> None:
    answer = registry.client.get("/subjects", headers={"Authorization": header})  # type: ignore[dict-item]
    assert answer.status_code == 401, answer.text
    assert answer.json()["error_code"] == 40101
    assert "www-authenticate" in answer.headers


def test_no_credentials_names_both_schemes_without_an_error(registry: Registry) -> None:
    answer = registry.client.get("/subjects")
    assert answer.status_code == 401
    assert answer.headers.get_list("www-authenticate") == [
        'Basic realm="regcast"',
        'Bearer realm="regcast"',
    ]
    assert "Bearer token" in answer.json()["message"]


def test_a_valid_token_is_verified_once_and_cached(
    registry: Registry, issuer: TokenEndpoint
) -> None:
    token = issuer.issue("ci", roles=["admin"])
    assert registry.get("/subjects", token).status_code == 200
    verdict = registry.guard.credentials.get(
        cache_key(f"Bearer {token}".encode()), registry.clock.now_ms
    )
    assert verdict is not None and verdict.principal is not None
    assert verdict.principal.name == "ci" and verdict.principal.is_admin
    # cached no longer than the token lives (exp - now, here <= 3600 s)
    assert verdict.expires_ms - registry.clock.now_ms <= issuer.lifetime_s * 1000
    assert registry.get("/subjects", token).status_code == 200


def test_basic_still_works_beside_bearer(registry: Registry) -> None:
    answer = registry.client.get("/subjects", headers=basic_header("admin"))
    assert answer.status_code == 200
    assert answer.json() == ["orders-value", "payments-value"]


def test_roles_claim_grants_filters_and_forbids(registry: Registry, issuer: TokenEndpoint) -> None:
    reader = issuer.issue("reader-app", roles=["orders-readers", "not-in-the-users-file"])
    assert registry.get("/subjects", reader).json() == ["orders-value"]
    assert registry.get("/subjects/orders-value/versions", reader).json() == [1]
    forbidden = registry.get("/subjects/payments-value/versions", reader)
    assert forbidden.status_code == 403
    assert forbidden.json() == {
        "error_code": 40301,
        "message": "User 'reader-app' may not Read subject 'payments-value'",
    }
    write = registry.client.post(
        "/subjects/orders-value/versions",
        json={"schema": ORDER},
        headers={"Authorization": f"Bearer {reader}"},
    )
    assert write.status_code == 403 and write.json()["error_code"] == 40301
    nobody = issuer.issue("nobody")  # no roles claim: authenticated, sees nothing
    assert registry.get("/subjects", nobody).json() == []
    assert registry.get("/config", nobody).status_code == 403


def test_a_rotated_key_is_picked_up_after_a_jwks_refresh(
    registry: Registry, issuer: TokenEndpoint
) -> None:
    registry.clock.now_ms += 60_000  # past any earlier refresh's rate limit
    fetches = issuer.jwks_requests
    old_kid = issuer.kid
    new_kid = issuer.rotate()
    try:
        token = issuer.issue("ci", roles=["admin"])
        answer = registry.get("/subjects", token)
        assert answer.status_code == 200, answer.text
        assert issuer.jwks_requests == fetches + 1
        assert new_kid in registry.guard.bearer.jwks.keys  # type: ignore[union-attr]
        old = issuer.issue("ci", roles=["admin"], key=issuer.signing_keys[old_kid], kid=old_kid)
        assert registry.get("/subjects", old).status_code == 200  # still published
    finally:
        issuer.private_key = issuer.signing_keys[old_kid]
        issuer.kid = old_kid


def test_a_burst_of_unknown_kids_fetches_the_jwks_once(
    registry: Registry, issuer: TokenEndpoint
) -> None:
    registry.clock.now_ms += 60_000
    fetches = issuer.jwks_requests
    rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for n in range(25):
        token = issuer.issue("mallory", key=rogue, kid=f"made-up-{n}", roles=["admin"])
        assert registry.get("/subjects", token).status_code == 401
    assert issuer.jwks_requests == fetches + 1
    registry.clock.now_ms += 10_000  # one interval later: one more fetch is allowed
    token = issuer.issue("mallory", key=rogue, kid="made-up-late", roles=["admin"])
    assert registry.get("/subjects", token).status_code == 401
    assert issuer.jwks_requests == fetches + 2


def test_concurrent_unknown_kids_share_one_jwks_fetch(issuer: TokenEndpoint) -> None:
    """Single flight: 20 tasks asking at once for kids the issuer does not publish wait
    for one fetch, and the known key is served from it."""
    jwks = JwksCache(
        issuer.jwks_url, refresh_ms=3_600_000, min_refresh_interval_ms=10_000, timeout_ms=5_000
    )
    fetches = issuer.jwks_requests

    async def ask_all() -> list[object]:
        unknown = [jwks.key(f"unknown-{n}", 1_000) for n in range(20)]
        return await asyncio.gather(*unknown, jwks.key(issuer.kid, 1_000))

    answers = asyncio.run(ask_all())
    assert answers[:20] == [None] * 20 and answers[20] is not None
    assert issuer.jwks_requests == fetches + 1 == fetches + jwks.fetches


def test_bearer_alone_refuses_basic_and_challenges_bearer_only(
    issuer: TokenEndpoint, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'registry.db'}",
        cache_poll_interval_ms=0,
        auth="bearer",
        auth_file=write_users_file(tmp_path / "users.json"),
        auth_bearer_jwks_url=issuer.jwks_url,
        auth_bearer_issuer=issuer.issuer,
        auth_bearer_audience=AUDIENCE,
        auth_bearer_roles_claim="realm_access.roles",
    )
    with TestClient(create_app(settings)) as client:
        basic = client.get("/subjects", headers=basic_header("admin"))
        assert basic.status_code == 401
        assert basic.json()["message"] == "Unauthorized: the Authorization scheme is not Bearer"
        assert basic.headers.get_list("www-authenticate") == ['Bearer realm="regcast"']
        nested = issuer.issue("kc-app", realm_access={"roles": ["admin"]})
        answer = client.get("/subjects", headers={"Authorization": f"Bearer {nested}"})
        assert answer.status_code == 200, answer.text
        flat = issuer.issue("kc-app", roles=["admin"])  # the claim configured is nested
        assert client.get("/config", headers={"Authorization": f"Bearer {flat}"}).status_code == 403
