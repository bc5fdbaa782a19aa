"""The issuer's signing keys (JWKS), fetched over HTTP, cached, refreshed on demand.

Theory of operation
-------------------
``JwksCache.key(kid, now_ms)`` answers from the keys last fetched. The set is fetched
again when it is older than ``refresh_ms`` (the issuer rotates keys) or when a token
names a ``kid`` the set does not hold (a key published since), but **at most once per
``min_refresh_interval_ms``**: a burst of forged tokens, each with a new made-up
``kid``, costs the issuer one request per interval and not one per token. Fetches are
single-flight (one ``asyncio.Lock``): callers that arrive while a fetch is in flight
wait for it and use its result. The
fetch is an ``httpx.AsyncClient`` request, so the event loop keeps serving requests
with cached tokens while the issuer answers; it is bounded by ``timeout_ms``. The TLS
context (loading the CA bundle takes milliseconds of blocking work) is built once, with
the cache (when the guard is built), not per fetch.

A fetch that fails (unreachable issuer, an answer that is not a JWKS) keeps the keys
already known and logs a warning; tokens signed by them keep working.

OIDC discovery
--------------
Without ``REGCAST_AUTH_BEARER_JWKS_URL`` the keys' address comes from the issuer's
discovery document (OpenID Connect Discovery 1.0 §4): ``<issuer>/.well-known/
openid-configuration``, whose ``issuer`` must equal the configured issuer exactly (§4.3:
a provider answering for another issuer is refused) and whose ``jwks_uri`` is then used
as if configured. An explicit JWKS URL wins, and then nothing is discovered.

``discover_jwks_url`` is the start-up check (``regcast serve`` calls it through
``bearer.with_discovered_jwks`` before it listens, and refuses to start with one line
naming the URL and what is wrong: unreachable, not JSON, no ``jwks_uri``, another
issuer). A cache built without a JWKS URL (``create_app`` served some other way)
discovers it lazily on its first refresh, under the same rate limit as the JWKS, and
refuses tokens until discovery succeeds (each failure a warning in the log). The
discovered address is kept for the process's life; the document is not fetched again
(providers move keys within their JWKS, not the JWKS itself).

Only public keys for signatures are kept: ``use`` other than ``sig`` and symmetric
(``oct``) keys are skipped, so no JWKS entry can turn into an HMAC secret.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
from jwt import PyJWK
from jwt.exceptions import PyJWTError

log = logging.getLogger("registry_service.auth")

__all__ = [
    "DISCOVERY_PATH",
    "DiscoveryError",
    "JwksCache",
    "discover_jwks_url",
    "discovery_url",
    "jwks_uri_of",
]

DISCOVERY_PATH = "/.well-known/openid-configuration"


class DiscoveryError(ValueError):
    """Why the issuer's discovery document gives no usable JWKS address (names the URL)."""


class JwksCache:
    """The keys of one issuer by ``kid`` (see the module docstring). Runs on the event
    loop."""

    def __init__(
        self,
        url: str | None,
        *,
        refresh_ms: int,
        min_refresh_interval_ms: int,
        timeout_ms: int,
        issuer: str | None = None,
    ) -> None:
        if url is None and issuer is None:
            raise ValueError("a JWKS cache needs the JWKS URL or the issuer to discover it from")
        self.url = url  # None until discovered from ``issuer``
        self.issuer = issuer
        self.refresh_ms = refresh_ms
        self.min_refresh_interval_ms = min_refresh_interval_ms
        self.timeout_ms = timeout_ms
        self.keys: dict[str, PyJWK] = {}
        self.fetches = 0
        self._tls = httpx.create_ssl_context()
        self._fetched_ms: int | None = None  # last successful fetch
        self._attempted_ms: int | None = None  # last attempt, successful or not
        self._lock = asyncio.Lock()

    @property
    def available(self) -> bool:
        """Whether a JWKS was ever fetched (False: every token is refused for now)."""
        return self._fetched_ms is not None

    async def key(self, kid: str, now_ms: int) -> PyJWK | None:
        """The key named ``kid``; None when the issuer does not publish it (after a
        refresh, when one is allowed now)."""
        if self._stale(now_ms) or kid not in self.keys:
            await self._refresh(now_ms)
        return self.keys.get(kid)

    def _stale(self, now_ms: int) -> bool:
        return self._fetched_ms is None or now_ms - self._fetched_ms >= self.refresh_ms

    def _may_fetch(self, now_ms: int) -> bool:
        return (
            self._attempted_ms is None
            or now_ms - self._attempted_ms >= self.min_refresh_interval_ms
        )

    async def _refresh(self, now_ms: int) -> None:
        if not self._may_fetch(now_ms) and not self._lock.locked():
            return  # rate-limited, and no fetch in flight whose keys are worth waiting for
        async with self._lock:  # waits for a fetch in flight
            if not self._may_fetch(now_ms):  # another caller fetched while we waited
                return
            self._attempted_ms = now_ms
            self.fetches += 1
            try:
                keys = await self._fetch()
            except (httpx.HTTPError, ValueError) as exc:
                log.warning(
                    "JWKS not refreshed from %s, the %d known keys stay in force: %s",
                    self.url or discovery_url(self.issuer or ""),
                    len(self.keys),
                    exc,
                )
                return
            self.keys = keys
            self._fetched_ms = now_ms

    async def _fetch(self) -> dict[str, PyJWK]:
        async with httpx.AsyncClient(timeout=self.timeout_ms / 1000, verify=self._tls) as client:
            if self.url is None:  # discovered once, then kept (module docstring)
                assert self.issuer is not None
                where = discovery_url(self.issuer)
                answer = await client.get(where, headers=ACCEPT_JSON)
                self.url = _jwks_uri_from(answer, self.issuer, where)
                log.info("OIDC discovery: the keys of %s are at %s", self.issuer, self.url)
            response = await client.get(self.url, headers=ACCEPT_JSON)
        response.raise_for_status()
        return parse_jwks(response.json())


ACCEPT_JSON = {"Accept": "application/json"}


def discovery_url(issuer: str) -> str:
    """Where an issuer publishes its discovery document (one trailing ``/`` dropped, as
    OpenID Connect Discovery §4 says)."""
    return issuer.removesuffix("/") + DISCOVERY_PATH


def jwks_uri_of(document: Any, issuer: str, where: str) -> str:
    """The ``jwks_uri`` of a discovery document fetched from ``where`` for ``issuer``;
    ``DiscoveryError`` when it is not one, names another issuer, or has no JWKS URL."""
    if not isinstance(document, dict):
        raise DiscoveryError(f"{where} is not an OpenID Connect discovery document")
    named = document.get("issuer")
    if named != issuer:
        raise DiscoveryError(
            f"{where} names the issuer {named!r}, not REGCAST_AUTH_BEARER_ISSUER={issuer!r}; "
            "set REGCAST_AUTH_BEARER_ISSUER exactly as the provider names itself (the tokens' "
            "iss claim)"
        )
    uri = document.get("jwks_uri")
    if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
        raise DiscoveryError(f"{where} has no jwks_uri (an http or https URL)")
    return uri


def _jwks_uri_from(response: httpx.Response, issuer: str, where: str) -> str:
    if response.status_code != 200:
        raise DiscoveryError(f"{where} answered HTTP {response.status_code}")
    try:
        document = response.json()
    except ValueError:
        raise DiscoveryError(f"{where} did not answer JSON") from None
    return jwks_uri_of(document, issuer, where)


def discover_jwks_url(issuer: str, *, timeout_ms: int) -> str:
    """The issuer's JWKS address from its discovery document, fetched now (blocking; the
    start-up check). ``DiscoveryError`` says what is wrong in one line."""
    where = discovery_url(issuer)
    try:
        with httpx.Client(timeout=timeout_ms / 1000) as client:
            response = client.get(where, headers=ACCEPT_JSON)
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise DiscoveryError(f"cannot fetch {where}: {reason}") from None
    return _jwks_uri_from(response, issuer, where)


def parse_jwks(document: Any) -> dict[str, PyJWK]:
    """The signature keys of a JWKS document by ``kid``; ``ValueError`` when it is not
    one. Keys without a ``kid``, for encryption, symmetric or unreadable are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("the answer is not a JWKS (an object with a 'keys' list)")
    keys: dict[str, PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("kty") == "oct" or entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry["kid"]] = PyJWK(entry)
        except (PyJWTError, ValueError, TypeError) as exc:  # a malformed key
            log.warning("JWKS key %r skipped: %s", entry["kid"], exc)
    return keys
