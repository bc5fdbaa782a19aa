"""Bearer tokens for the registry client: a static token, or OIDC client credentials.

The two mirror confluent-kafka's ``bearer.auth.credentials.source``: ``STATIC_TOKEN``
(:class:`StaticToken`, ``bearer.auth.token``) and ``OAUTHBEARER``
(:class:`OidcClientCredentials`, ``bearer.auth.issuer.endpoint.url``,
``bearer.auth.client.id``/``secret``, ``bearer.auth.scope``). Both are ``httpx.Auth``
flows, passed as ``SchemaRegistryClient(url, auth=...)`` (or the async client).

Theory of operation (client credentials)
----------------------------------------
The flow is I/O-free, as httpx intends: when the cached token is due it *yields* the
token request (``grant_type=client_credentials``, the client's id and secret in HTTP
Basic as RFC 6749 §2.3.1 prefers, ``scope`` when set) and httpx sends it on the same
client, sync or async, with its TLS settings and timeouts. A token is refreshed once 80%
of its ``expires_in`` has passed (librdkafka's and confluent-kafka's refresh point), so
it never expires in flight; a registry that still answers 401 to a cached token (revoked
early, keys rotated) gets one fresh token and one retry, no more.

Threads and tasks sharing a client may, at a refresh, fetch a token each; the last one
fetched is kept. That costs a spare request once per lifetime and needs no lock held
across I/O.

Errors: the token endpoint refusing the client (400/401/403) is a
:class:`~serdes.errors.RegistryAuthenticationError`; any other failed or malformed
answer a :class:`~serdes.errors.RegistryUnavailableError`. Neither is retried: an
authentication failure is final. No repr, log line or message holds the secret or a
token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator

import httpx

from serdes.errors import RegistryAuthenticationError, RegistryUnavailableError

__all__ = ["REFRESH_FRACTION", "OidcClientCredentials", "StaticToken"]

log = logging.getLogger(__name__)

REFRESH_FRACTION = 0.8
"""A token is fetched again once this fraction of its lifetime has passed."""


def _bearer(request: httpx.Request, token: str) -> None:
    request.headers["Authorization"] = f"Bearer {token}"


class StaticToken(httpx.Auth):
    """``Authorization: Bearer <token>`` on every request (refreshing it is the caller's
    job: build a new client, or use :class:`OidcClientCredentials`)."""

    def __init__(self, token: str) -> None:
        if not token or any(ch.isspace() for ch in token):
            raise ValueError("a bearer token must be one non-empty word")
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken(***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        _bearer(request, self._token)
        yield request


class OidcClientCredentials(httpx.Auth):
    """Tokens from an OIDC token endpoint (client credentials), cached and refreshed
    before they expire (module docstring). ``clock_s`` is monotonic seconds; tests
    inject one."""

    requires_response_body = True  # the token endpoint's JSON is read inside the flow

    def __init__(
        self,
        token_endpoint_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        *,
        clock_s: Callable[[], float] = time.monotonic,
    ) -> None:
        if not token_endpoint_url.startswith(("http://", "https://")):
            raise ValueError(
                f"token endpoint {token_endpoint_url!r} must start with http:// or https://"
            )
        if not client_id:
            raise ValueError("client_id is empty")
        self.token_endpoint_url = token_endpoint_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self._clock_s = clock_s
        self._token: str | None = None
        self._refresh_at_s = 0.0
        self.fetched = 0

    def __repr__(self) -> str:
        return f"OidcClientCredentials({self.token_endpoint_url!r}, client_id={self.client_id!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        fresh = False
        if self._token is None or self._clock_s() >= self._refresh_at_s:
            self._on_token((yield self._token_request()))
            fresh = True
        assert self._token is not None
        _bearer(request, self._token)
        response = yield request
        if response.status_code == 401 and not fresh:
            self._on_token((yield self._token_request()))
            assert self._token is not None
            _bearer(request, self._token)
            yield request

    def _token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        request = httpx.Request(
            "POST",
            self.token_endpoint_url,
            data=form,
            headers={"Accept": "application/json"},
        )
        # the client's Basic credentials (httpx.BasicAuth builds the header)
        next(httpx.BasicAuth(self.client_id, self._client_secret).auth_flow(request))
        return request

    def _on_token(self, response: httpx.Response) -> None:
        where = f"the OIDC token endpoint {self.token_endpoint_url}"
        if response.status_code in (400, 401, 403):
            raise RegistryAuthenticationError(
                response.status_code,
                -1,
                f"{where} refused client id {self.client_id!r}: HTTP "
                f"{response.status_code}{_oauth_error(response)} (check the client id, "
                "secret and scope)",
            )
        if response.status_code != 200:
            raise RegistryUnavailableError(
                response.status_code, -1, f"{where} answered HTTP {response.status_code}"
            )
        try:
            body = response.json()
            token = body["access_token"]
            lifetime_s = float(body.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise RegistryUnavailableError(
                200, -1, f"{where} answered without a JSON access_token"
            ) from None
        if not isinstance(token, str) or not token:
            raise RegistryUnavailableError(200, -1, f"{where} answered an empty access_token")
        self._token = token
        self._refresh_at_s = self._clock_s() + max(lifetime_s, 0.0) * REFRESH_FRACTION
        self.fetched += 1
        log.debug("fetched a registry bearer token from %s, valid %.0f s", where, lifetime_s)


def _oauth_error(response: httpx.Response) -> str:
    """`` (invalid_client)`` from an OAuth error answer, printable and short."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    if not isinstance(error, str):
        return ""
    return f" ({''.join(ch for ch in error[:100] if ch.isprintable())})"
