"""Grants, principals, roles, and the users file that declares them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from registry_service.auth import users_file
from registry_service.auth.permissions import Operation, Principal, compile_grant
from registry_service.auth.users_file import UsersFileError, parse

READ, WRITE = Operation.READ, Operation.WRITE


def user(name: str, roles: list[str] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "username": name,
        "algorithm": "scrypt",
        "salt": "s",
        "password_hash": "h",
    }
    if roles is not None:
        entry["roles"] = roles
    return entry


def test_write_implies_read_and_the_regex_matches_whole_names() -> None:
    p = Principal("w", [compile_grant("write", "Subject:orders-value")])
    assert p.may_subject(READ, "orders-value") and p.may_subject(WRITE, "orders-value")
    assert not p.may_subject(READ, "orders-value-secret")  # Karapace's re.match would allow
    assert not p.may_config(READ)
    r = Principal(
        "r", [compile_grant("Read", "Subject:orders-.*"), compile_grant("Read", "Config:")]
    )
    assert r.may_read("orders-x") and not r.may_subject(WRITE, "orders-x")
    assert not r.may_read("payments-x")
    assert r.may_config(READ) and not r.may_config(WRITE)
    admin = Principal("a", [], is_admin=True)
    assert admin.may_subject(WRITE, "anything") and admin.may_config(WRITE)


def test_bad_grants_are_refused() -> None:
    with pytest.raises(ValueError, match="operation"):
        compile_grant("Delete", "Subject:.*")
    with pytest.raises(ValueError, match="regular expression"):
        compile_grant("Read", "Subject:(")


def test_users_file_with_roles_and_permissions() -> None:
    parsed = parse(
        {
            "users": [user("ci", ["admin"]), user("app"), user("viewer", ["readers"])],
            "roles": {"readers": [{"operation": "Read", "resource": "Subject:.*"}]},
            "permissions": [
                {"username": "app", "operation": "Write", "resource": "Subject:orders-value"},
                {"role": "readers", "operation": "Read", "resource": "Config:"},
            ],
        }
    )
    ci, app, viewer = (parsed.principal(n) for n in ("ci", "app", "viewer"))
    assert ci is not None and ci.is_admin
    assert app is not None and app.may_subject(WRITE, "orders-value") and not app.may_read("x")
    assert viewer is not None and viewer.may_read("x") and viewer.may_config(READ)
    assert not viewer.may_subject(WRITE, "x")
    assert parsed.principal("nobody") is None
    anonymous = parsed.role_principal("readers")
    assert anonymous.may_read("x") and not anonymous.is_admin
    with pytest.raises(UsersFileError, match="anonymous role 'ghosts'"):
        parsed.role_principal("ghosts")


def test_a_karapace_file_reads_as_it_is() -> None:
    parsed = parse(
        {
            "users": [user("k")],
            "permissions": [{"username": "k", "operation": "Read", "resource": "Subject:a.*"}],
        }
    )
    k = parsed.principal("k")
    assert k is not None and k.may_read("abc")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"users": {}}, "'users' must be a list"),
        ({"users": [user("a"), user("a")]}, "appears twice"),
        ({"users": [{**user("a"), "algorithm": "sha512"}]}, "not accepted, only 'scrypt'"),
        ({"users": [{**user("a"), "salt": ""}]}, "'salt'"),
        ({"users": [{**user("a"), "password_hash": None}]}, "'password_hash'"),
        ({"users": [user("a:b")]}, "without ':'"),
        ({"users": [user("a", ["ghosts"])]}, "role 'ghosts'"),
        ({"roles": {"admin": []}}, "built in"),
        ({"permissions": [{"username": "x", "operation": "Read", "resource": ".*"}]}, "not in"),
        (
            {"users": [user("a")], "permissions": [{"operation": "Read", "resource": ".*"}]},
            "exactly one",
        ),
        (
            {"users": [user("a")], "permissions": [{"username": "a", "operation": "Read"}]},
            "resource",
        ),
    ],
)
def test_invalid_users_files_name_the_entry(document: dict[str, Any], message: str) -> None:
    with pytest.raises(UsersFileError, match=message) as info:
        parse(document)
    assert "'h'" not in str(info.value)  # never the hash


def test_json_and_toml_files_and_set_user(tmp_path: Path) -> None:
    toml = tmp_path / "users.toml"
    toml.write_text(
        '[[users]]\nusername = "t"\nalgorithm = "scrypt"\nsalt = "s"\npassword_hash = "h"\n'
        'roles = ["admin"]\n'
    )
    loaded = users_file.load(toml)
    principal = loaded.principal("t")
    assert principal is not None and principal.is_admin
    path = tmp_path / "users.json"
    document: dict[str, Any] = {}
    assert users_file.set_user(document, "u", "salt", "hash", ["admin"])
    assert not users_file.set_user(document, "u", "salt2", "hash2", None)  # roles kept
    users_file.write_document(path, document)
    assert path.stat().st_mode & 0o777 == 0o600
    saved = json.loads(path.read_text())
    assert saved["users"] == [
        {
            "username": "u",
            "algorithm": "scrypt",
            "salt": "salt2",
            "password_hash": "hash2",
            "roles": ["admin"],
        }
    ]
    with pytest.raises(UsersFileError, match="not valid JSON"):
        (tmp_path / "bad.json").write_text("{")
        users_file.load(tmp_path / "bad.json")
