"""Salted password hashes: scrypt from OpenSSL (``hashlib.scrypt``), compared in constant time.

The parameters and encoding are Karapace's ``scrypt`` entries (N=2**14, r=8, p=1, a
64-byte key, the salt string's UTF-8 bytes as salt, the key in base64), so a users
file written by ``regcast auth add-user`` is read by Karapace and one made with
``karapace_mkpasswd -a scrypt`` is read here. Karapace's PBKDF2 entries (``sha1``,
``sha256``, ``sha512``, 5000 iterations) are refused: 5000 iterations of SHA-2 are cheap
to brute-force on a GPU, and a users file should not silently accept them.

One verification costs ~16 MiB of memory and tens of milliseconds of CPU, by design:
callers cache the outcome (``credentials``) and bound how many run at once (``guard``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ALGORITHM = "scrypt"
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_KEY_BYTES = 64
SCRYPT_MAXMEM_BYTES = 64 * 1024 * 1024  # 128 * N * r is 16 MiB; OpenSSL's default is 32


def new_salt() -> str:
    """A random salt of 16 bytes, as Karapace makes them (URL-safe base64 text)."""
    return secrets.token_urlsafe(16)


def hash_password(password: str, salt: str) -> str:
    """The scrypt key of ``password`` with ``salt``, base64-encoded."""
    key = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt.encode("utf-8"),
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=SCRYPT_MAXMEM_BYTES,
        dklen=SCRYPT_KEY_BYTES,
    )
    return base64.b64encode(key).decode("ascii")


def password_matches(password: str, salt: str, password_hash: str) -> bool:
    """Whether ``password`` hashes to ``password_hash`` (constant-time comparison)."""
    return hmac.compare_digest(
        hash_password(password, salt).encode("ascii"), password_hash.encode("utf-8")
    )


_DUMMY_SALT = new_salt()


def burn_verification(password: str) -> None:
    """The work of one verification, for a user name that is not in the file: a wrong
    user name then costs the same time as a wrong password, so timing does not tell
    which names exist."""
    hash_password(password, _DUMMY_SALT)
