"""The built-in OAUTHBEARER token source: OIDC client credentials, cached and refreshed.

As librdkafka's ``sasl.oauthbearer.method=oidc``: a POST of
``grant_type=client_credentials`` (and ``scope`` when set) to the token endpoint, the
client id and secret in HTTP Basic authentication (RFC 6749 §2.3.1), and from the JSON
answer ``access_token`` and ``expires_in`` (seconds).

Caching and refresh. A token is reused until 80% of its lifetime has passed (librdkafka's
refresh point), so most connections and re-authentications cost no HTTP round trip. The
fetch itself is synchronous: it runs on the sender thread when a connection starts
authenticating and the cached token is due, bounded by ``timeout_s``. That blocks the
sender for at most one HTTP exchange per ~80% of a token lifetime (minutes to hours for
real identity providers); a background refresher thread would avoid that stall but adds a
thread and its shutdown to every producer, which this does not justify.

Errors. The endpoint refusing the client (HTTP 400/401/403: wrong id or secret, unknown
scope) is an :class:`~producer.errors.AuthenticationFailedError`: final, as a broker's
refusal. An endpoint that cannot be reached or fails (timeouts, 5xx, a malformed answer)
is a :class:`~producer.errors.BrokerConnectionError` (retriable): the connection is tried
again after the reconnect backoff. Messages name the endpoint and the OAuth ``error``
code, never the secret or the token.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

from producer.errors import AuthenticationFailedError, BrokerConnectionError

__all__ = ["REFRESH_FRACTION", "OidcTokenProvider"]

log = logging.getLogger(__name__)

REFRESH_FRACTION = 0.8
"""A cached token is refreshed once this fraction of its lifetime has passed."""


class OidcTokenProvider:
    """``() -> (token, expires_at_ms)`` from an OIDC token endpoint (client credentials).

    Thread-safe (one lock around the cache). ``clock_ms`` is wall-clock epoch ms (the
    expiry is an absolute time, like a JWT's ``exp``); tests inject one.
    """

    __slots__ = (
        "_client_id",
        "_client_secret",
        "_clock_ms",
        "_expires_at_ms",
        "_lock",
        "_refresh_at_ms",
        "_scope",
        "_timeout_s",
        "_token",
        "_url",
    )

    def __init__(
        self,
        url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        *,
        timeout_s: float = 10.0,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self._url = url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._timeout_s = timeout_s
        self._clock_ms = clock_ms or _wall_clock_ms
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at_ms = 0
        self._refresh_at_ms = 0

    def __repr__(self) -> str:
        return f"OidcTokenProvider(url={self._url!r}, client_id={self._client_id!r})"

    def __call__(self) -> tuple[str, int]:
        with self._lock:
            now_ms = self._clock_ms()
            if self._token is None or now_ms >= self._refresh_at_ms:
                self._fetch(now_ms)
            assert self._token is not None
            return self._token, self._expires_at_ms

    def _fetch(self, now_ms: int) -> None:
        import httpx  # imported only when OIDC is used

        data = {"grant_type": "client_credentials"}
        if self._scope:
            data["scope"] = self._scope
        where = f"OIDC token endpoint {self._url}"
        try:
            response = httpx.post(
                self._url,
                data=data,
                auth=(self._client_id, self._client_secret),
                headers={"Accept": "application/json"},
                timeout=self._timeout_s,
            )
        except httpx.HTTPError as exc:
            raise BrokerConnectionError(
                f"{where} could not be reached: {type(exc).__name__}"
            ) from None
        if response.status_code in (400, 401, 403):
            raise AuthenticationFailedError(
                f"{where} refused client id {self._client_id!r}: HTTP "
                f"{response.status_code} {_oauth_error(response.content)}"
                " (check sasl_oauthbearer_client_id, sasl_oauthbearer_client_secret and "
                "sasl_oauthbearer_scope)"
            )
        if response.status_code != 200:
            raise BrokerConnectionError(f"{where} answered HTTP {response.status_code}")
        try:
            body = response.json()
            token = body["access_token"]
            expires_in_s = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise BrokerConnectionError(
                f"{where} answered without a JSON access_token and expires_in"
            ) from None
        if not isinstance(token, str) or not token:
            raise BrokerConnectionError(f"{where} answered an empty access_token")
        lifetime_ms = max(int(expires_in_s * 1000), 0)
        self._token = token
        self._expires_at_ms = now_ms + lifetime_ms
        self._refresh_at_ms = now_ms + int(lifetime_ms * REFRESH_FRACTION)
        log.debug("fetched an OAUTHBEARER token from %s, valid %d ms", self._url, lifetime_ms)


def _oauth_error(content: bytes) -> str:
    try:
        body = json.loads(content)
    except ValueError:
        return ""
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return ""
    return f"({''.join(ch for ch in body['error'][:100] if ch.isprintable())})"


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000
