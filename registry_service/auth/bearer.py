"""``Authorization: Bearer <JWT>``: OIDC access tokens checked against the issuer's JWKS.

Theory of operation
-------------------
A token is accepted when, in this order:

1. its header is readable and names an ``alg`` from the allow-list
   (``REGCAST_AUTH_BEARER_ALGORITHMS``: asymmetric algorithms only; ``none`` and the
   HMAC ``HS*`` family can never be configured, so a token "signed" with the issuer's
   public key as an HMAC secret is refused before any key is looked up) and a ``kid``;
2. the issuer publishes that ``kid`` (``jwks.JwksCache``, refreshed on an unknown kid,
   rate-limited) and the key's type fits the algorithm (RSA for ``RS*``/``PS*``, EC for
   ``ES*``, OKP for ``EdDSA``);
3. PyJWT verifies the signature with that key and that algorithm only, and the claims:
   ``iss`` equal to the configured issuer, ``aud`` holding the configured audience,
   ``exp`` in the future and ``nbf``/``iat`` not in it, with ``clock_skew_ms`` leeway.

The JWKS is ``REGCAST_AUTH_BEARER_JWKS_URL``, or else the ``jwks_uri`` of the issuer's
OpenID Connect discovery document (``jwks`` module docstring; ``with_discovered_jwks``
is the start-up check ``regcast serve`` runs). While no JWKS could be fetched at all,
tokens are refused with a message saying so.

The principal is named by ``principal_claim`` (``sub`` by default). Its roles are the
values of ``roles_claim`` (a dotted path such as ``realm_access.roles`` for Keycloak;
a list of strings, or one space-separated string as ``scope`` is) that the users file
defines, plus the built-in ``admin``; other values are ignored. The principal's grants
are those roles' grants (``permissions``), so tokens and Basic users share one model.

Why a token is refused is said in the 401's message (``expired``, ``wrong audience``,
``unknown signing key``...) and never includes the token. The caller (the guard) caches
the verdict by the header's digest until the token's ``exp`` (bounded by the credential
cache's TTL), so the signature is checked once per token, not per request.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTokenError,
    MissingRequiredClaimError,
)

from registry_service.auth.answers import RefusedTokenError
from registry_service.auth.credentials import CredentialCache, cache_key
from registry_service.auth.jwks import JwksCache, discover_jwks_url
from registry_service.auth.permissions import ADMIN_ROLE, Grant, Principal
from registry_service.settings import Settings

__all__ = [
    "KEY_TYPES",
    "BearerAuthenticator",
    "InvalidBearerToken",
    "TokenIdentity",
    "is_bearer",
    "with_discovered_jwks",
]

KEY_TYPES = {
    **{f"{family}{bits}": "RSA" for family in ("RS", "PS") for bits in (256, 384, 512)},
    **{f"ES{bits}": "EC" for bits in (256, 384, 512)},
    "EdDSA": "OKP",
}
"""The asymmetric algorithms a token may use, and the JWK key type each needs."""


class InvalidBearerToken(ValueError):
    """Why a bearer token is refused (never holds the token)."""


@dataclass(frozen=True, slots=True)
class TokenIdentity:
    """What a verified token says: who, with which roles, until when (epoch ms)."""

    name: str
    roles: tuple[str, ...]
    expires_at_ms: int


def is_bearer(header: bytes) -> bool:
    """Whether an Authorization value names the Bearer scheme (the guard's dispatch)."""
    return header.lstrip()[:7].lower() == b"bearer "


def parse_bearer(value: bytes) -> str:
    """The token of ``Bearer <token>`` (RFC 6750 §2.1); ``InvalidBearerToken`` otherwise."""
    scheme, _, token = value.strip().partition(b" ")
    if scheme.lower() != b"bearer":
        raise InvalidBearerToken("the Authorization header's scheme is not Bearer")
    token = token.strip()
    if not token or not token.isascii() or b" " in token:
        raise InvalidBearerToken("the Bearer token is empty or not one ASCII word")
    return token.decode("ascii")


class BearerAuthenticator:
    """Verifies bearer tokens (module docstring). Runs on the event loop."""

    def __init__(self, settings: Settings) -> None:
        assert settings.auth_bearer_issuer and settings.auth_bearer_audience
        self.issuer = settings.auth_bearer_issuer
        self.audience = settings.auth_bearer_audience
        self.algorithms = frozenset(settings.auth_bearer_algorithm_list)
        self.leeway_s = settings.auth_bearer_clock_skew_ms / 1000
        self.roles_path = tuple(settings.auth_bearer_roles_claim.split("."))
        self.principal_claim = settings.auth_bearer_principal_claim
        self.jwks = JwksCache(
            settings.auth_bearer_jwks_url,
            refresh_ms=settings.auth_bearer_jwks_refresh_ms,
            min_refresh_interval_ms=settings.auth_bearer_jwks_min_refresh_interval_ms,
            timeout_ms=settings.auth_bearer_jwks_timeout_ms,
            issuer=settings.auth_bearer_issuer,  # discovery, without a JWKS URL
        )

    async def principal(
        self,
        header: bytes,
        now_ms: int,
        cache: CredentialCache,
        roles: Mapping[str, tuple[Grant, ...]],
    ) -> Principal:
        """The principal of a valid token, from ``cache`` (keyed by the header's digest)
        when it was verified before; ``RefusedTokenError`` (a 401) saying why not.

        Refusals are not cached: checking a bad token costs a parse and at most one
        signature check, and an unknown ``kid`` a JWKS fetch only once per interval."""
        key = cache_key(header)
        verdict = cache.get(key, now_ms)
        if verdict is not None and verdict.principal is not None:
            return verdict.principal
        try:
            identity = await self.verify(header, now_ms)
        except InvalidBearerToken as exc:
            raise RefusedTokenError(f"Unauthorized: {exc}") from None
        principal = token_principal(identity, roles)
        remaining_ms = identity.expires_at_ms - wall_clock_ms()
        cache.put(
            key, identity.name, now_ms, principal=principal, not_after_ms=now_ms + remaining_ms
        )
        return principal

    async def verify(self, header: bytes, now_ms: int) -> TokenIdentity:
        """The identity a valid token carries; ``InvalidBearerToken`` saying why not."""
        token = parse_bearer(header)
        try:
            unverified = jwt.get_unverified_header(token)
        except InvalidTokenError:
            raise InvalidBearerToken("the Bearer token is not a JWT") from None
        alg, kid = unverified.get("alg"), unverified.get("kid")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise InvalidBearerToken(
                f"the token's algorithm {alg!r} is not accepted "
                f"(accepted: {', '.join(sorted(self.algorithms))})"
            )
        if not isinstance(kid, str) or not kid:
            raise InvalidBearerToken("the token's header names no signing key ('kid')")
        key = await self.jwks.key(kid, now_ms)
        if key is None and not self.jwks.available:
            raise InvalidBearerToken(
                "the issuer's signing keys could not be fetched yet (see the registry's log)"
            )
        if key is None:
            raise InvalidBearerToken("the token is signed by a key the issuer does not publish")
        if key.key_type != KEY_TYPES[alg]:
            raise InvalidBearerToken(f"the token's algorithm {alg} does not fit its key")
        claims = self._decode(token, key.key, alg)
        return TokenIdentity(
            name=self._name(claims),
            roles=tuple(roles_of(claims, self.roles_path)),
            expires_at_ms=int(claims["exp"] * 1000),
        )

    def _decode(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )
        except ExpiredSignatureError:
            raise InvalidBearerToken("the token has expired") from None
        except ImmatureSignatureError:
            raise InvalidBearerToken("the token is not valid yet (nbf or iat)") from None
        except InvalidAudienceError:
            raise InvalidBearerToken(f"the token is not for audience {self.audience!r}") from None
        except InvalidIssuerError:
            raise InvalidBearerToken(f"the token is not issued by {self.issuer!r}") from None
        except InvalidSignatureError:
            raise InvalidBearerToken("the token's signature does not verify") from None
        except MissingRequiredClaimError as exc:
            raise InvalidBearerToken(f"the token has no {exc.claim!r} claim") from None
        except InvalidTokenError as exc:
            raise InvalidBearerToken(f"the token is invalid: {type(exc).__name__}") from None
        return claims

    def _name(self, claims: dict[str, Any]) -> str:
        name = claims.get(self.principal_claim)
        if not isinstance(name, str) or not name:
            raise InvalidBearerToken(f"the token has no {self.principal_claim!r} claim")
        return name


def with_discovered_jwks(settings: Settings) -> Settings:
    """``settings`` with ``auth_bearer_jwks_url`` discovered from the issuer when bearer
    authentication is on and none is configured (an explicit one wins); unchanged
    otherwise. Blocking: the start-up check. ``DiscoveryError`` says what is wrong."""
    if "bearer" not in settings.auth_schemes or settings.auth_bearer_jwks_url:
        return settings
    assert settings.auth_bearer_issuer
    url = discover_jwks_url(
        settings.auth_bearer_issuer, timeout_ms=settings.auth_bearer_jwks_timeout_ms
    )
    return settings.model_copy(update={"auth_bearer_jwks_url": url})


def roles_of(claims: dict[str, Any], path: tuple[str, ...]) -> list[str]:
    """The claim at a dotted path as a list of role names (a list, or a space-separated
    string); empty when absent or of another type."""
    value: Any = claims
    for part in path:
        if not isinstance(value, dict):
            return []
        value = value.get(part)
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def token_principal(identity: TokenIdentity, roles: Mapping[str, tuple[Grant, ...]]) -> Principal:
    """The principal of a verified token: the grants of the roles the users file
    defines (``roles``: role name -> grants), admin when it holds ``admin``."""
    grants: list[Grant] = []
    for role in identity.roles:
        grants.extend(roles.get(role, ()))
    return Principal(identity.name, grants, is_admin=ADMIN_ROLE in identity.roles)


def wall_clock_ms() -> int:
    """Epoch ms, the clock of a token's ``exp``."""
    return time.time_ns() // 1_000_000
