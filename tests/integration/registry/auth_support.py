"""A users file for the authorization tests, and Basic headers for its principals.

Principals (passwords are the names reversed):

- ``admin``: the built-in admin role;
- ``reader``: ``Read`` on ``Subject:orders-.*``;
- ``writer``: ``Write`` on ``Subject:payments-value`` only;
- anonymous (no credentials): the ``viewer`` role, ``Read`` on ``Subject:public-.*`` and
  on ``Config:``, when the app is started with ``auth_anonymous_role="viewer"``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from registry_service.auth.passwords import hash_password, new_salt

PASSWORDS = {"admin": "nimda", "reader": "redaer", "writer": "retirw"}


def user_entry(name: str, password: str, roles: list[str] | None = None) -> dict[str, Any]:
    salt = new_salt()
    entry: dict[str, Any] = {
        "username": name,
        "algorithm": "scrypt",
        "salt": salt,
        "password_hash": hash_password(password, salt),
    }
    if roles:
        entry["roles"] = roles
    return entry


def users_document() -> dict[str, Any]:
    return {
        "users": [
            user_entry("admin", PASSWORDS["admin"], ["admin"]),
            user_entry("reader", PASSWORDS["reader"], ["orders-readers"]),
            user_entry("writer", PASSWORDS["writer"]),
        ],
        "roles": {
            "orders-readers": [{"operation": "Read", "resource": "Subject:orders-.*"}],
            "viewer": [
                {"operation": "Read", "resource": "Subject:public-.*"},
                {"operation": "Read", "resource": "Config:"},
            ],
        },
        "permissions": [
            {"username": "writer", "operation": "Write", "resource": "Subject:payments-value"}
        ],
    }


def write_users_file(path: Path, document: dict[str, Any] | None = None) -> Path:
    path.write_text(json.dumps(document or users_document()))
    return path


def basic_header(user: str, password: str | None = None) -> dict[str, str]:
    secret = PASSWORDS[user] if password is None else password
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}
