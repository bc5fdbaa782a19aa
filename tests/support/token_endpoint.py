"""A local OIDC token endpoint for the tests: the client-credentials grant, RS256 JWTs.

``POST /token`` with ``grant_type=client_credentials`` and the client's id and secret in
HTTP Basic authentication (what librdkafka's ``sasl.oauthbearer.method=oidc`` and
regcast's built-in provider send; form fields ``client_id``/``client_secret`` are
accepted too) answers ``{"access_token": <JWT>, "token_type": "Bearer", "expires_in":
<lifetime_s>}``. The JWT carries ``iss``, ``aud``, ``sub`` (the client id), ``iat``,
``exp`` and ``scope``, signed with a key generated per endpoint; the SASL gateway checks
it with :attr:`TokenEndpoint.public_key`. A wrong client answers 401 ``invalid_client``.

It is also the issuer the registry's bearer authentication trusts: ``GET /jwks`` serves
the public keys (every key it has signed with, each with its ``kid``; tokens name the
``kid`` in their header), :meth:`TokenEndpoint.rotate` starts signing with a new key,
``client_claims`` adds claims (e.g. ``roles``) to a client's tokens, and
``jwks_requests`` counts the JWKS fetches.

OIDC discovery: ``GET /.well-known/openid-configuration`` answers the document a provider
such as Keycloak publishes (``issuer``, ``jwks_uri``, ``token_endpoint``...);
``issuer=None`` makes the endpoint's own base URL its issuer, as discovery requires
(:attr:`TokenEndpoint.issuer_url`), ``discovery_overrides`` replaces fields of the
document (another ``issuer``, no ``jwks_uri``; ``None`` removes one) and
``discovery_requests`` counts its fetches. Test code only.
"""

from __future__ import annotations

import base64
import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["TokenEndpoint"]


class TokenEndpoint:
    """Serves ``/token`` on 127.0.0.1 in a thread; counts the tokens it issued."""

    def __init__(
        self,
        *,
        clients: dict[str, str],
        lifetime_s: int = 3600,
        issuer: str | None = "regcast-test-idp",
        audience: str = "kafka",
        client_claims: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.clients = dict(clients)
        self.client_claims = dict(client_claims or {})
        self.lifetime_s = lifetime_s
        self._issuer = issuer  # None: the base URL, known once started
        self.audience = audience
        self.discovery_overrides: dict[str, Any] = {}
        self.discovery_requests = 0
        self.signing_keys: dict[str, Any] = {}  # kid -> private key, all published
        self.issued: list[str] = []
        self.refused = 0
        self.jwks_requests = 0
        self._server: ThreadingHTTPServer | None = None
        self.rotate()

    def rotate(self) -> str:
        """Sign from now on with a new RSA key (published beside the old ones); its kid."""
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.kid = f"key-{len(self.signing_keys) + 1}"
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = self.private_key.public_key()
        self.signing_keys[self.kid] = self.private_key
        return self.kid

    def jwks(self) -> dict[str, Any]:
        """The JWKS document ``GET /jwks`` answers."""
        from jwt.algorithms import RSAAlgorithm

        keys = []
        for kid, key in self.signing_keys.items():
            jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    @property
    def issuer(self) -> str:
        """The ``iss`` of its tokens: the given name, or :attr:`issuer_url`."""
        return self.issuer_url if self._issuer is None else self._issuer

    @property
    def issuer_url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>`` (where discovery looks)."""
        return self.url.removesuffix("/token")

    @property
    def jwks_url(self) -> str:
        return self.issuer_url + "/jwks"

    def discovery(self) -> dict[str, Any]:
        """The document ``GET /.well-known/openid-configuration`` answers."""
        document: dict[str, Any] = {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_url,
            "token_endpoint": self.url,
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "id_token_signing_alg_values_supported": ["RS256"],
        }
        document.update(self.discovery_overrides)
        return {name: value for name, value in document.items() if value is not None}

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/token"

    def issue(
        self,
        subject: str,
        *,
        lifetime_s: int | None = None,
        key: Any = None,
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        """A token as the endpoint would issue it (tests also use it for a user provider);
        ``key``/``kid`` sign it with another key (one the JWKS does not publish)."""
        import jwt

        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "exp": now + (self.lifetime_s if lifetime_s is None else lifetime_s),
            **claims,
        }
        return jwt.encode(
            payload,
            self.private_key if key is None else key,
            algorithm="RS256",
            headers={"kid": self.kid if kid is None else kid},
        )

    def start(self) -> TokenEndpoint:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    endpoint.discovery_requests += 1
                    return self._answer(200, endpoint.discovery())
                if self.path != "/jwks":
                    return self._answer(404, {"error": "not_found"})
                endpoint.jwks_requests += 1
                self._answer(200, endpoint.jwks())

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                client_id = (form.get("client_id") or [""])[0]
                secret = (form.get("client_secret") or [""])[0]
                auth = self.headers.get("Authorization") or ""
                if auth.startswith("Basic "):
                    decoded = base64.b64decode(auth[6:]).decode()
                    client_id, _, secret = decoded.partition(":")
                    client_id = urllib.parse.unquote_plus(client_id)
                    secret = urllib.parse.unquote_plus(secret)
                expected = endpoint.clients.get(client_id)
                grant = (form.get("grant_type") or [""])[0]
                if grant != "client_credentials":
                    return self._answer(400, {"error": "unsupported_grant_type"})
                if expected is None or not hmac.compare_digest(secret, expected):
                    endpoint.refused += 1
                    return self._answer(401, {"error": "invalid_client"})
                scope = (form.get("scope") or [""])[0]
                extra = endpoint.client_claims.get(client_id, {})
                token = endpoint.issue(client_id, scope=scope, **extra)
                endpoint.issued.append(token)
                self._answer(
                    200,
                    {
                        "access_token": token,
                        "token_type": "Bearer",
                        "expires_in": endpoint.lifetime_s,
                    },
                )

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, name="token-endpoint", daemon=True
        ).start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> TokenEndpoint:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
