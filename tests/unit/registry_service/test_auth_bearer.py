"""Bearer tokens' pure parts: the roles claim, the header, which JWKS keys are kept."""

from __future__ import annotations

import pytest

from registry_service.auth.bearer import InvalidBearerToken, is_bearer, parse_bearer, roles_of
from registry_service.auth.jwks import parse_jwks
from tests.support.token_endpoint import TokenEndpoint


def test_roles_come_from_a_list_a_string_or_a_dotted_path() -> None:
    assert roles_of({"roles": ["a", "b", 3]}, ("roles",)) == ["a", "b"]
    assert roles_of({"scope": "read write"}, ("scope",)) == ["read", "write"]
    keycloak = {"realm_access": {"roles": ["admin"]}}
    assert roles_of(keycloak, ("realm_access", "roles")) == ["admin"]
    assert roles_of({"realm_access": "x"}, ("realm_access", "roles")) == []
    assert roles_of({}, ("groups",)) == []
    assert roles_of({"groups": {"a": 1}}, ("groups",)) == []


def test_the_bearer_header_is_one_ascii_word() -> None:
    assert is_bearer(b"Bearer abc") and is_bearer(b"bearer abc")
    assert not is_bearer(b"Basic abc") and not is_bearer(b"Bearerabc")
    assert parse_bearer(b"Bearer  a.b.c ") == "a.b.c"
    for bad in (b"Bearer", b"Bearer ", b"Bearer a b", b"Bearer \xff", b"Basic a.b.c"):
        with pytest.raises(InvalidBearerToken):
            parse_bearer(bad)


def test_only_published_signature_keys_with_a_kid_are_kept() -> None:
    jwks = TokenEndpoint(clients={}).jwks()
    rsa_key = jwks["keys"][0]
    document = {
        "keys": [
            rsa_key,
            {**rsa_key, "kid": "for-encryption", "use": "enc"},
            {"kty": "oct", "kid": "hmac-secret", "k": "c2VjcmV0"},
            {key: value for key, value in rsa_key.items() if key != "kid"},
            {"kty": "RSA", "kid": "broken", "n": "!", "e": "AQAB"},
            "not an object",
        ]
    }
    assert list(parse_jwks(document)) == ["key-1"]
    for bad in ([], {"keys": "x"}, "text"):
        with pytest.raises(ValueError, match="not a JWKS"):
            parse_jwks(bad)
