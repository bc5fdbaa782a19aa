"""The refusals authentication and authorization answer with (Confluent-shaped bodies).

- 401, code 40101: no credential, or one that is malformed or wrong; the answer carries
  ``WWW-Authenticate: Basic realm="regcast"`` naming the scheme to use. (Karapace
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


class UnauthenticatedError(RegistryError):
    status = 401
    error_code = 40101


class ForbiddenError(RegistryError):
    status = 403
    error_code = 40301


class TooManyVerificationsError(RegistryError):
    status = 429
    error_code = 42901

    def __init__(self) -> None:
        super().__init__("Too many password verifications in progress; retry in a moment")
