"""Authentication and authorization for the registry (off unless ``REGCAST_AUTH`` is set).

Modules, each with one job:

- ``passwords``: scrypt hashes (Karapace-compatible), constant-time comparison;
- ``users_file``: the users file (JSON or TOML): users, roles, permissions;
- ``permissions``: operations, grants, principals (Karapace's ACL model + roles);
- ``credentials``: parsing ``Authorization: Basic``, the cache of verified credentials;
- ``bearer``: ``Authorization: Bearer`` JWTs (PyJWT): algorithms, claims, roles claim;
- ``jwks``: the issuer's signing keys, fetched, cached and refreshed (rate-limited);
- ``endpoints``: the table that classifies every route;
- ``answers``: the 401/403/429 refusals;
- ``guard``: the ASGI layer tying them together (the only one that speaks ASGI);
- ``exposure``: the warning when the registry is open beyond loopback.

The routers call ``visible_filter`` to filter listings to what the caller may read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

PRINCIPAL_KEY = "regcast.principal"


def visible_filter(scope: Mapping[str, Any]) -> Callable[[str], bool] | None:
    """The caller's "may read this subject" test, or None when authorization is off
    (everything visible)."""
    principal = scope.get(PRINCIPAL_KEY)
    if principal is None or principal.is_admin:
        return None
    may_read: Callable[[str], bool] = principal.may_read
    return may_read
