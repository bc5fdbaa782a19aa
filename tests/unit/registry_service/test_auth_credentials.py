"""Basic credential parsing, scrypt hashes and the verified-credential cache."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from registry_service.auth.credentials import (
    MAX_HEADER_BYTES,
    CredentialCache,
    MalformedCredentials,
    cache_key,
    parse_basic,
)
from registry_service.auth.guard import Users
from registry_service.auth.passwords import hash_password, new_salt, password_matches


def basic(raw: bytes) -> bytes:
    return b"Basic " + base64.b64encode(raw)


def test_parse_basic() -> None:
    creds = parse_basic(basic(b"alice:s3cr:et"))
    assert (creds.username, creds.password) == ("alice", "s3cr:et")
    assert "s3cr" not in repr(creds)
    assert parse_basic(b"basic " + base64.b64encode(b"b:")).password == ""
    assert parse_basic(basic("jörg:pässword".encode())).username == "jörg"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (b"Bearer abc", "scheme"),
        (b"Digest x", "scheme"),
        (b"Basic", "':'"),  # nothing after the scheme: no colon
        (b"Basic !!!!", "base64"),
        (b"Basic YWJj", "':'"),  # "abc"
        (basic(b"\xff\xfe:pw"), "UTF-8"),
        (basic(b":pw"), "no user"),
        (b"Basic " + b"A" * (MAX_HEADER_BYTES + 1), "too long"),
    ],
)
def test_malformed_headers_say_why_without_the_secret(header: bytes, reason: str) -> None:
    with pytest.raises(MalformedCredentials, match=reason) as info:
        parse_basic(header)
    assert "pw" not in str(info.value)


def test_scrypt_hashes_are_salted_and_compared() -> None:
    salt_a, salt_b = new_salt(), new_salt()
    assert salt_a != salt_b
    hashed = hash_password("hunter2", salt_a)
    assert hashed != hash_password("hunter2", salt_b)
    assert password_matches("hunter2", salt_a, hashed)
    assert not password_matches("hunter3", salt_a, hashed)
    assert not password_matches("hunter2", salt_a, "not-a-hash")


def test_karapace_scrypt_entries_verify() -> None:
    """The hash of Karapace's ``hash_password(SCRYPT, salt, pw)``: scrypt(N=16384, r=8,
    p=1) of the UTF-8 password with the UTF-8 salt, 64 bytes, base64."""
    import hashlib

    salt = "fixed-salt"
    expected = base64.b64encode(
        hashlib.scrypt(b"pw", salt=salt.encode(), n=16384, r=8, p=1)
    ).decode()
    assert hash_password("pw", salt) == expected


def test_cache_is_keyed_by_digest_bounded_and_expires() -> None:
    cache = CredentialCache(max_entries=2, ttl_ms=1000, failure_ttl_ms=100)
    a, b, c = (cache_key(basic(x)) for x in (b"a:1", b"b:2", b"c:3"))
    assert len(a) == 32 and b"a:1" not in a
    cache.put(a, "a", now_ms=0)
    cache.put(b, None, now_ms=0)
    verdict = cache.get(a, now_ms=999)
    assert verdict is not None and verdict.username == "a"
    failure = cache.get(b, now_ms=99)
    assert failure is not None and failure.username is None
    assert cache.get(b, now_ms=100) is None  # refusals expire soon
    cache.put(b, "b", now_ms=100)
    cache.get(a, now_ms=100)  # a most recently used
    cache.put(c, "c", now_ms=100)  # evicts b
    assert cache.get(b, now_ms=100) is None
    assert cache.get(a, now_ms=100) is not None
    assert cache.get(a, now_ms=1000) is None  # expired
    cache.clear()
    assert len(cache) == 0


def test_a_certificate_only_user_never_logs_in_with_a_password(tmp_path: Path) -> None:
    """A users-file entry without algorithm, salt or hash is a user for client
    certificates (REGCAST_AUTH=mtls): it has its roles and permissions, and HTTP Basic
    refuses it whatever the password (an empty hash never matches)."""
    path = tmp_path / "users.json"
    path.write_text(
        json.dumps(
            {
                "users": [{"username": "orders-service", "roles": ["readers"]}],
                "roles": {"readers": [{"operation": "Read", "resource": "Subject:.*"}]},
            }
        )
    )
    users = Users(path, anonymous_role=None, reload_interval_ms=1_000)
    assert users.file.users["orders-service"].roles == ("readers",)
    assert users.principals["orders-service"].name == "orders-service"
    for password in ("", "anything"):
        assert not users.verify("orders-service", password)
