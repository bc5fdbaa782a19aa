"""The users file (``REGCAST_AUTH_FILE``): users with salted hashes, roles, permissions.

JSON (any name) or TOML (a name ending in ``.toml``), in Karapace's shape with two
additions, ``roles`` on a user and a ``roles`` table::

    {
      "users": [
        {"username": "ci", "algorithm": "scrypt", "salt": "...", "password_hash": "...",
         "roles": ["admin"]},
        {"username": "orders-app", "algorithm": "scrypt", "salt": "...", "password_hash": "..."}
      ],
      "roles": {
        "readers": [{"operation": "Read", "resource": "Subject:.*"},
                    {"operation": "Read", "resource": "Config:"}]
      },
      "permissions": [
        {"username": "orders-app", "operation": "Write", "resource": "Subject:orders-.*"}
      ]
    }

A Karapace file (``users`` and ``permissions`` only, scrypt hashes) is read as it is.
A user with no ``algorithm``, ``salt`` or ``password_hash`` logs in only with a client
certificate whose CN is its name (``REGCAST_AUTH=mtls``), never with a password.
``admin`` is a built-in role (everything allowed) and cannot be defined in ``roles``.
A permission entry names a ``username`` or a ``role``. Anything wrong in the file is a
``UsersFileError`` that names the entry and field, never a password hash.

Pure logic plus reading and writing the file: no HTTP.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry_service.auth.passwords import ALGORITHM
from registry_service.auth.permissions import ADMIN_ROLE, Grant, Principal, compile_grant


class UsersFileError(ValueError):
    """The users file cannot be read or holds an invalid entry."""


@dataclass(frozen=True, slots=True)
class User:
    """A user; ``password_hash`` is empty for one that only logs in with a client
    certificate (its CN, ``REGCAST_AUTH=mtls``): HTTP Basic never lets it in."""

    username: str
    salt: str = field(repr=False)
    password_hash: str = field(repr=False)
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UsersFile:
    """A parsed users file: who exists and what each user and role may do."""

    users: Mapping[str, User]
    roles: Mapping[str, tuple[Grant, ...]]
    user_grants: Mapping[str, tuple[Grant, ...]]

    def principal(self, username: str) -> Principal | None:
        """The principal for a user in the file (its grants and its roles')."""
        user = self.users.get(username)
        if user is None:
            return None
        grants = list(self.user_grants.get(username, ()))
        for role in user.roles:
            grants.extend(self.roles.get(role, ()))
        return Principal(username, grants, is_admin=ADMIN_ROLE in user.roles)

    def role_principal(self, role: str) -> Principal:
        """A principal holding one role (the anonymous caller's); ``UsersFileError`` when
        the file does not define it."""
        if role == ADMIN_ROLE:
            return Principal(f"anonymous ({role})", (), is_admin=True)
        if role not in self.roles:
            raise UsersFileError(
                f"the anonymous role {role!r} is not defined in the users file's roles "
                f"(defined: {sorted(self.roles) or 'none'})"
            )
        return Principal(f"anonymous ({role})", self.roles[role])


def read_document(path: Path) -> dict[str, Any]:
    """The file's content as a dict (TOML when the name ends in ``.toml``, else JSON)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsersFileError(f"cannot read the users file {path}: {exc.strerror}") from exc
    try:
        if path.suffix.lower() == ".toml":
            document = tomllib.loads(raw.decode("utf-8"))
        else:
            document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        # the message of a parse error names a line and column, never the content
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        raise UsersFileError(f"the users file {path} is not valid {kind}: {exc}") from exc
    if not isinstance(document, dict):
        raise UsersFileError(f"the users file {path} must hold an object with 'users'")
    return document


def parse(document: Mapping[str, Any], where: str = "the users file") -> UsersFile:
    """Validate a users file's content (see the module docstring)."""
    users_raw = document.get("users", [])
    if not isinstance(users_raw, list):
        raise UsersFileError(f"{where}: 'users' must be a list")
    roles = _parse_roles(document.get("roles", {}), where)
    users: dict[str, User] = {}
    for index, entry in enumerate(users_raw):
        user = _parse_user(entry, f"{where}: users[{index}]", roles)
        if user.username in users:
            raise UsersFileError(f"{where}: user {user.username!r} appears twice")
        users[user.username] = user
    user_grants: dict[str, list[Grant]] = {}
    role_grants: dict[str, list[Grant]] = {name: list(grants) for name, grants in roles.items()}
    permissions = document.get("permissions", [])
    if not isinstance(permissions, list):
        raise UsersFileError(f"{where}: 'permissions' must be a list")
    for index, entry in enumerate(permissions):
        context = f"{where}: permissions[{index}]"
        if not isinstance(entry, dict):
            raise UsersFileError(f"{context} must be an object")
        grant = _grant(entry, context)
        username, role = entry.get("username"), entry.get("role")
        if (username is None) == (role is None):
            raise UsersFileError(f"{context} must name exactly one of 'username' or 'role'")
        if username is not None:
            if username not in users:
                raise UsersFileError(f"{context} names user {username!r}, not in 'users'")
            user_grants.setdefault(username, []).append(grant)
        else:
            if role == ADMIN_ROLE or role not in role_grants:
                raise UsersFileError(f"{context} names role {role!r}, not in 'roles'")
            role_grants[role].append(grant)
    return UsersFile(
        users=users,
        roles={name: tuple(grants) for name, grants in role_grants.items()},
        user_grants={name: tuple(grants) for name, grants in user_grants.items()},
    )


def load(path: Path) -> UsersFile:
    return parse(read_document(path), f"the users file {path}")


def _parse_roles(raw: object, where: str) -> dict[str, tuple[Grant, ...]]:
    if not isinstance(raw, dict):
        raise UsersFileError(f"{where}: 'roles' must be an object of role name -> grants")
    roles: dict[str, tuple[Grant, ...]] = {}
    for name, grants in raw.items():
        if name == ADMIN_ROLE:
            raise UsersFileError(f"{where}: role 'admin' is built in and cannot be redefined")
        if not isinstance(grants, list):
            raise UsersFileError(f"{where}: roles.{name} must be a list of grants")
        roles[name] = tuple(
            _grant(entry, f"{where}: roles.{name}[{i}]") for i, entry in enumerate(grants)
        )
    return roles


def _grant(entry: object, context: str) -> Grant:
    if not isinstance(entry, dict):
        raise UsersFileError(f"{context} must be an object with 'operation' and 'resource'")
    try:
        return compile_grant(entry.get("operation"), entry.get("resource"))
    except ValueError as exc:
        raise UsersFileError(f"{context}: {exc}") from exc


def _parse_user(entry: object, context: str, roles: Mapping[str, object]) -> User:
    if not isinstance(entry, dict):
        raise UsersFileError(f"{context} must be an object")
    username = entry.get("username")
    if not isinstance(username, str) or not username or ":" in username:
        raise UsersFileError(f"{context}: 'username' must be a non-empty string without ':'")
    user_roles = _user_roles(entry, context, username, roles)
    if not any(key in entry for key in ("algorithm", "salt", "password_hash")):
        # a user for client certificates only (REGCAST_AUTH=mtls): no password to log in with
        return User(username, "", "", user_roles)
    algorithm = entry.get("algorithm")
    if algorithm != ALGORITHM:
        raise UsersFileError(
            f"{context} (user {username!r}): algorithm {algorithm!r} is not accepted, only "
            f"'{ALGORITHM}' (PBKDF2 with 5000 rounds is too cheap to brute-force); set the "
            f"password again with `regcast auth add-user {username}`"
        )
    salt, password_hash = entry.get("salt"), entry.get("password_hash")
    if not isinstance(salt, str) or not salt:
        raise UsersFileError(f"{context} (user {username!r}): 'salt' must be a non-empty string")
    if not isinstance(password_hash, str) or not password_hash:
        raise UsersFileError(f"{context} (user {username!r}): 'password_hash' is missing")
    return User(username, salt, password_hash, user_roles)


def _user_roles(
    entry: dict[str, Any], context: str, username: str, roles: Mapping[str, object]
) -> tuple[str, ...]:
    user_roles = entry.get("roles", [])
    if not isinstance(user_roles, list) or not all(isinstance(r, str) for r in user_roles):
        raise UsersFileError(f"{context} (user {username!r}): 'roles' must be a list of names")
    for role in user_roles:
        if role != ADMIN_ROLE and role not in roles:
            raise UsersFileError(
                f"{context} (user {username!r}): role {role!r} is not defined in 'roles'"
            )
    return tuple(user_roles)


def set_user(
    document: dict[str, Any],
    username: str,
    salt: str,
    password_hash: str,
    roles: list[str] | None,
) -> bool:
    """Add or update one user's entry in a users file's content (roles kept when
    ``roles`` is None); True when the user was new. The result is validated."""
    users = document.setdefault("users", [])
    if not isinstance(users, list):
        raise UsersFileError("'users' must be a list")
    entry: dict[str, Any] = {
        "username": username,
        "algorithm": ALGORITHM,
        "salt": salt,
        "password_hash": password_hash,
    }
    for existing in users:
        if isinstance(existing, dict) and existing.get("username") == username:
            kept = existing.get("roles")
            existing.clear()
            existing.update(entry)
            if roles is not None:
                existing["roles"] = roles
            elif kept:
                existing["roles"] = kept
            parse(document)
            return False
    if roles:
        entry["roles"] = roles
    users.append(entry)
    parse(document)
    return True


def write_document(path: Path, document: Mapping[str, Any]) -> None:
    """Replace the file atomically (a reader never sees half of it), readable by its
    owner only when it is new."""
    if path.suffix.lower() == ".toml":
        raise UsersFileError(
            f"{path}: writing TOML users files is not supported (no TOML writer is "
            "installed); use a JSON users file, or edit the TOML by hand"
        )
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    text = json.dumps(document, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
