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

__all__ = ["JwksCache"]


class JwksCache:
    """The keys of one issuer by ``kid`` (see the module docstring). Runs on the event
    loop."""

    def __init__(
        self, url: str, *, refresh_ms: int, min_refresh_interval_ms: int, timeout_ms: int
    ) -> None:
        self.url = url
        self.refresh_ms = refresh_ms
        self.min_refresh_interval_ms = min_refresh_interval_ms
        self.timeout_ms = timeout_ms
        self.keys: dict[str, PyJWK] = {}
        self.fetches = 0
        self._tls = httpx.create_ssl_context()
        self._fetched_ms: int | None = None  # last successful fetch
        self._attempted_ms: int | None = None  # last attempt, successful or not
        self._lock = asyncio.Lock()

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
                    self.url,
                    len(self.keys),
                    exc,
                )
                return
            self.keys = keys
            self._fetched_ms = now_ms

    async def _fetch(self) -> dict[str, PyJWK]:
        async with httpx.AsyncClient(timeout=self.timeout_ms / 1000, verify=self._tls) as client:
            response = await client.get(self.url, headers={"Accept": "application/json"})
        response.raise_for_status()
        return parse_jwks(response.json())


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
