"""HTTP Basic credentials: parsing the header, and the cache of verified ones.

Parsing (``parse_basic``) turns an ``Authorization`` value into a user name and a
password or says why it cannot: another scheme, bad base64, no colon, not UTF-8, too
long. Every such reason is a 401 for the caller; none is an exception that escapes.

``CredentialCache`` remembers what verifying a header concluded, so the scrypt work
(tens of milliseconds) runs once per credential and not per request. It is keyed by the
SHA-256 of the header value, never the value itself (a heap dump or a repr shows no
password), bounded (least recently used entries go first) and entries expire:
``ttl_ms`` for a verified credential, ``failure_ttl_ms`` (short) for a refused one, so
a client repeating a wrong password costs one hash per ``failure_ttl_ms`` and not one
per request. ``clear`` runs when the users file is reloaded: a revoked user or a changed
password stops working at the next request.

Pure logic: time is passed in (``now_ms``), no HTTP.
"""

from __future__ import annotations

import binascii
import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from registry_service.auth.permissions import Principal

MAX_HEADER_BYTES = 4096  # longer Authorization values are refused without decoding


@dataclass(frozen=True, slots=True)
class BasicCredentials:
    username: str
    password: str

    def __repr__(self) -> str:
        return f"BasicCredentials({self.username!r}, password=***)"


class MalformedCredentials(ValueError):
    """Why an Authorization header cannot be read (the message never holds the secret)."""


def parse_basic(value: bytes) -> BasicCredentials:
    """``Basic base64(user:password)`` (RFC 7617); ``MalformedCredentials`` otherwise."""
    if len(value) > MAX_HEADER_BYTES:
        raise MalformedCredentials("the Authorization header is too long")
    scheme, _, token = value.strip().partition(b" ")
    if scheme.lower() != b"basic":
        raise MalformedCredentials("the Authorization header's scheme is not Basic")
    token = token.strip()
    try:
        decoded = binascii.a2b_base64(token, strict_mode=True)
    except (binascii.Error, ValueError):
        raise MalformedCredentials("the Basic credentials are not valid base64") from None
    username_bytes, colon, password_bytes = decoded.partition(b":")
    if not colon:
        raise MalformedCredentials("the Basic credentials hold no ':' between user and password")
    try:
        username = username_bytes.decode("utf-8")
        password = password_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedCredentials("the Basic credentials are not UTF-8") from None
    if not username:
        raise MalformedCredentials("the Basic credentials name no user")
    return BasicCredentials(username, password)


def cache_key(header_value: bytes) -> bytes:
    """What the cache is keyed by: a digest of the header, not the secret it holds."""
    return hashlib.sha256(header_value).digest()


@dataclass(frozen=True, slots=True)
class Verdict:
    """What verifying a credential concluded: the user name, or None when refused; for
    a bearer token its principal (built from the token's roles)."""

    username: str | None
    expires_ms: int
    principal: Principal | None = None


class CredentialCache:
    """Bounded LRU of verdicts with expiry (see the module docstring). Runs on the event
    loop thread only, so it needs no lock."""

    def __init__(self, max_entries: int, ttl_ms: int, failure_ttl_ms: int) -> None:
        self.max_entries = max_entries
        self.ttl_ms = ttl_ms
        self.failure_ttl_ms = failure_ttl_ms
        self._entries: OrderedDict[bytes, Verdict] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes, now_ms: int) -> Verdict | None:
        verdict = self._entries.get(key)
        if verdict is None:
            return None
        if verdict.expires_ms <= now_ms:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return verdict

    def put(
        self,
        key: bytes,
        username: str | None,
        now_ms: int,
        *,
        principal: Principal | None = None,
        not_after_ms: int | None = None,
    ) -> None:
        """Remember a verdict for its TTL, or until ``not_after_ms`` (a token's expiry,
        on the same clock as ``now_ms``) when that comes first."""
        if self.max_entries <= 0:
            return
        ttl = self.ttl_ms if username is not None else self.failure_ttl_ms
        expires_ms = now_ms + ttl if not_after_ms is None else min(now_ms + ttl, not_after_ms)
        self._entries[key] = Verdict(username, expires_ms, principal)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
