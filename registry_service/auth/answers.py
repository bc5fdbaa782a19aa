"""The refusals authentication and authorization answer with (Confluent-shaped bodies).

- 401, code 40101: no credential, or one that is malformed or wrong; the answer carries
  a ``WWW-Authenticate`` challenge for every scheme in force (``Basic realm="regcast"``,
  ``Bearer realm="regcast"``), the Bearer one with ``error="invalid_token"`` when a
  token was sent and refused (RFC 6750 §3.1; none when no credential came). (Karapace
  answers 401 with ``{"message": "Unauthorized"}``; Confluent's security plugin uses
  40101.)
- 403, code 40301: authenticated, but the permissions do not grant the operation
  (Karapace and Confluent's authorizers both answer 40301).
- 429, code 42901: too many password verifications already waiting; clients retry 429.

Messages say what failed and never echo a password, a token or the header.
"""

from __future__ import annotations

from registry_service.errors import RegistryError

REALM = 'Basic realm="regcast"'
BEARER_REALM = 'Bearer realm="regcast"'


class UnauthenticatedError(RegistryError):
    status = 401
    error_code = 40101
    bearer_error: str | None = None


class RefusedTokenError(UnauthenticatedError):
    """A bearer token was sent and refused (expired, wrong audience, bad signature...)."""

    bearer_error = "invalid_token"


def challenges(schemes: tuple[str, ...], exc: RegistryError) -> list[bytes]:
    """The ``WWW-Authenticate`` values of a 401: one per header scheme in force."""
    values = []
    if "basic" in schemes or "bearer" not in schemes:
        values.append(REALM.encode())
    if "bearer" in schemes:
        error = getattr(exc, "bearer_error", None)
        bearer = BEARER_REALM if error is None else f'{BEARER_REALM}, error="{error}"'
        values.append(bearer.encode())
    return values


class ForbiddenError(RegistryError):
    status = 403
    error_code = 40301


class TooManyVerificationsError(RegistryError):
    status = 429
    error_code = 42901

    def __init__(self) -> None:
        super().__init__("Too many password verifications in progress; retry in a moment")
