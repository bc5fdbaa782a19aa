"""Registry settings, read from ``REGCAST_*`` environment variables.

uvicorn builds the application with ``--factory``, so every worker process reads the
environment itself; ``regcast serve --database-url`` works by setting
``REGCAST_DATABASE_URL`` before uvicorn starts. Relative SQLite paths are resolved
against the working directory when the settings are built, so the file does not move if
the process later changes directory.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from registry_service.formats import CompatibilityLevel

DEFAULT_DATABASE_URL = "sqlite:///./regcast-registry.db"

# Confluent's registry refuses a schema bigger than one record of its Kafka store may be
# (the producer's max.request.size, 1 MiB by default: 42209). Its HTTP layer (Jetty under
# rest-utils) has no body limit of its own. A body holds the schema JSON-escaped: ``"``
# becomes ``\"`` and, from some clients, every non-ASCII character a 6-byte ``\uXXXX``
# (12 for a pair), so 8 MiB carries any 1 MiB schema with its references.
DEFAULT_MAX_SCHEMA_BYTES = 1024 * 1024
DEFAULT_MAX_REQUEST_BYTES = 8 * 1024 * 1024


class Mode(StrEnum):
    """Registry modes (``/mode``): what writes a scope accepts."""

    READWRITE = "READWRITE"
    READONLY = "READONLY"
    READONLY_OVERRIDE = "READONLY_OVERRIDE"
    IMPORT = "IMPORT"


def resolve_database_url(url: str) -> str:
    """Absolutise relative SQLite paths and pick the psycopg driver for PostgreSQL.

    ``postgresql://`` alone would make SQLAlchemy look for psycopg2, which regcast does
    not install.
    """
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path = url[len("sqlite:///") :]
        if path and path != ":memory:" and not path.startswith("file:"):
            return "sqlite:///" + str((Path.cwd() / path).resolve())
    return url


AUTH_SCHEMES = frozenset({"none", "basic", "mtls", "bearer"})
LATER_AUTH_SCHEMES: frozenset[str] = frozenset()  # issue 16, later stages
# Asymmetric only: "none" and HS* (where the issuer's public key could be used as the
# HMAC secret) can never be configured.
BEARER_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


def parse_auth(value: str) -> tuple[str, ...]:
    """``REGCAST_AUTH``: ``none`` or a comma-separated list of schemes (``basic``,
    ``bearer``, ``mtls``, e.g. ``basic,bearer``). ``ValueError`` names what is wrong."""
    schemes = tuple(dict.fromkeys(p.strip().lower() for p in value.split(",") if p.strip()))
    if not schemes:
        return ("none",)
    for scheme in schemes:
        if scheme in LATER_AUTH_SCHEMES:
            raise ValueError(
                f"REGCAST_AUTH={value!r}: '{scheme}' authentication is not available yet "
                "in this version of regcast; use 'basic'"
            )
        if scheme not in AUTH_SCHEMES:
            raise ValueError(
                f"REGCAST_AUTH={value!r}: unknown scheme {scheme!r} "
                "(use 'none', 'basic', 'bearer' or 'mtls')"
            )
    if "none" in schemes and len(schemes) > 1:
        raise ValueError(f"REGCAST_AUTH={value!r}: 'none' cannot be combined with a scheme")
    return schemes


class ClientAuth(StrEnum):
    """``REGCAST_SSL_CLIENT_AUTH``: whether the TLS handshake asks for a client certificate
    (``ssl.CERT_NONE``, ``CERT_OPTIONAL``, ``CERT_REQUIRED``)."""

    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


class Settings(BaseSettings):
    """Everything the registry process can be told from outside."""

    model_config = SettingsConfigDict(env_prefix="REGCAST_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="sqlite:///relative.db, sqlite:////abs/path.db or postgresql://user@host/db",
    )
    compatibility_level: CompatibilityLevel = Field(
        default=CompatibilityLevel.BACKWARD,
        description="Global compatibility level until PUT /config sets one",
    )
    mode: Mode = Field(default=Mode.READWRITE, description="Global mode until PUT /mode sets one")
    mode_mutability: bool = Field(
        default=True, description="False makes PUT/DELETE /mode answer 42205"
    )
    sqlite_busy_timeout_ms: int = Field(
        default=5000, ge=0, description="How long SQLite waits for another writer's lock"
    )
    database_pool_size: int = Field(default=10, ge=1)
    cache_poll_interval_ms: int = Field(
        default=100,
        ge=0,
        description="How often the cache asks the database whether another instance wrote "
        "(0 disables the watcher: only this process's writes invalidate)",
    )
    cache_max_schemas: int = Field(default=10_000, ge=0)
    max_request_bytes: int = Field(
        default=DEFAULT_MAX_REQUEST_BYTES,
        ge=1024,
        description="Largest request body accepted; a larger one gets 413 (code 413) as soon "
        "as its Content-Length, or the bytes read so far, say so",
    )
    max_schema_bytes: int = Field(
        default=DEFAULT_MAX_SCHEMA_BYTES,
        ge=1,
        description="Largest schema text (UTF-8 bytes) in register, lookup and compatibility "
        "bodies; a larger one gets 42209",
    )

    auth: str = Field(
        default="none",
        description="none (no authentication: anyone reaching the port may do anything) "
        "or basic (HTTP Basic against REGCAST_AUTH_FILE), bearer (OIDC JWTs checked "
        "against REGCAST_AUTH_BEARER_JWKS_URL), mtls (the client certificate's common "
        "name); a comma-separated list",
    )
    auth_file: Path | None = Field(
        default=None,
        description="Users file (JSON, or TOML when named *.toml): users with scrypt "
        "hashes, roles and permissions; reloaded when it changes",
    )
    auth_anonymous_role: str | None = Field(
        default=None,
        description="Role (defined in the users file) given to requests without "
        "credentials; unset: such requests get 401",
    )
    auth_cache_ttl_ms: int = Field(
        default=300_000, ge=0, description="How long a verified credential is remembered"
    )
    auth_failure_cache_ttl_ms: int = Field(
        default=2_000, ge=0, description="How long a refused credential is remembered"
    )
    auth_cache_max_entries: int = Field(default=10_000, ge=0)
    auth_reload_interval_ms: int = Field(
        default=1_000, ge=0, description="How often the users file is checked for changes"
    )
    auth_max_concurrent_verifications: int = Field(
        default=1, ge=1, description="Password hashes computed at once (each ~16 MiB, ~50 ms)"
    )
    auth_max_pending_verifications: int = Field(
        default=32, ge=1, description="Verifications waiting beyond which new ones get 429"
    )
    auth_bearer_jwks_url: str | None = Field(
        default=None,
        description="The issuer's JWKS (its signing keys) [default: the jwks_uri of "
        "<issuer>/.well-known/openid-configuration]; an explicit URL wins over discovery",
    )
    auth_bearer_issuer: str | None = Field(
        default=None,
        description="The tokens' expected iss claim, and (as a URL) where the OIDC "
        "discovery document is; required with bearer",
    )
    auth_bearer_audience: str | None = Field(
        default=None, description="The aud claim tokens must hold; required with bearer"
    )
    auth_bearer_roles_claim: str = Field(
        default="roles",
        description="Claim (dotted path, e.g. realm_access.roles) holding role names of the "
        "users file",
    )
    auth_bearer_principal_claim: str = Field(
        default="sub", description="Claim naming the principal"
    )
    auth_bearer_algorithms: str = Field(
        default=",".join(sorted(BEARER_ALGORITHMS)),
        description="Comma-separated signature algorithms accepted (asymmetric only)",
    )
    auth_bearer_clock_skew_ms: int = Field(
        default=30_000, ge=0, description="Leeway on exp, nbf and iat"
    )
    auth_bearer_jwks_refresh_ms: int = Field(
        default=3_600_000, ge=1000, description="Age after which the JWKS is fetched again"
    )
    auth_bearer_jwks_min_refresh_interval_ms: int = Field(
        default=10_000,
        ge=0,
        description="At most one JWKS fetch per interval, however many unknown kids arrive",
    )
    auth_bearer_jwks_timeout_ms: int = Field(default=5_000, ge=1)
    listen_host: str | None = Field(
        default=None,
        description="Where the server listens, when whoever starts it says so: only for "
        "the start-up warning about REGCAST_AUTH=none beyond loopback",
    )

    ssl_certfile: Path | None = Field(
        default=None, description="Server certificate (PEM, chain after it): TLS on"
    )
    ssl_keyfile: Path | None = Field(default=None, description="The certificate's private key")
    ssl_keyfile_password: SecretStr | None = Field(
        default=None, description="Password of an encrypted private key"
    )
    ssl_ca_certs: Path | None = Field(
        default=None, description="CA certificates (PEM) client certificates are verified with"
    )
    ssl_client_auth: ClientAuth = Field(
        default=ClientAuth.NONE,
        description="none, optional (verified when sent) or required (handshake refused "
        "without a certificate signed by REGCAST_SSL_CA_CERTS)",
    )
    access_log: bool = Field(
        default=True,
        description="One line per request (access_log.AccessLog), written off the event loop",
    )
    access_log_file: Path | None = Field(
        default=None, description="Where the access log goes (appended); unset: stdout"
    )
    audit_file: Path | None = Field(
        default=None,
        description="Also append the audit trail (JSON lines, logger regcast.audit) here; "
        "unset: stderr only",
    )

    @property
    def auth_schemes(self) -> tuple[str, ...]:
        """The schemes in force; empty when authentication is off."""
        schemes = parse_auth(self.auth)
        return () if schemes == ("none",) else schemes

    @property
    def auth_bearer_algorithm_list(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.auth_bearer_algorithms.split(",") if a.strip())

    @field_validator("auth_bearer_algorithms")
    @classmethod
    def _check_algorithms(cls, value: str) -> str:
        given = [a.strip() for a in value.split(",") if a.strip()]
        refused = [a for a in given if a not in BEARER_ALGORITHMS]
        if refused or not given:
            raise ValueError(
                f"REGCAST_AUTH_BEARER_ALGORITHMS: {refused or 'none given'} not accepted; "
                f"choose from {', '.join(sorted(BEARER_ALGORITHMS))} (never none or HS*)"
            )
        return value

    @field_validator("auth")
    @classmethod
    def _check_auth(cls, value: str) -> str:
        return ",".join(parse_auth(value))

    @field_validator("auth_anonymous_role")
    @classmethod
    def _empty_role_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @model_validator(mode="after")
    def _auth_needs_file(self) -> Settings:
        if "basic" in self.auth_schemes and self.auth_file is None:
            raise ValueError("REGCAST_AUTH=basic needs REGCAST_AUTH_FILE (the users file)")
        if "bearer" in self.auth_schemes:
            missing = [
                f"REGCAST_{name.upper()}"
                for name in ("auth_file", "auth_bearer_issuer", "auth_bearer_audience")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(
                    f"REGCAST_AUTH=bearer needs {', '.join(missing)} (the users file defines "
                    "the roles tokens name)"
                )
            issuer = self.auth_bearer_issuer or ""
            if not self.auth_bearer_jwks_url and not issuer.startswith(("https://", "http://")):
                raise ValueError(
                    "REGCAST_AUTH=bearer needs REGCAST_AUTH_BEARER_JWKS_URL, or "
                    f"REGCAST_AUTH_BEARER_ISSUER as a URL (not {issuer!r}) to discover it "
                    "from <issuer>/.well-known/openid-configuration"
                )
        return self

    @model_validator(mode="after")
    def _mtls_needs_client_certificates(self) -> Settings:
        if "mtls" in self.auth_schemes and (
            self.ssl_client_auth is ClientAuth.NONE or self.ssl_ca_certs is None
        ):
            raise ValueError(
                "REGCAST_AUTH=mtls needs client certificates: REGCAST_SSL_CA_CERTS and "
                "REGCAST_SSL_CLIENT_AUTH=required (or optional), with REGCAST_SSL_CERTFILE"
            )
        if "mtls" in self.auth_schemes and self.auth_file is None:
            raise ValueError(
                "REGCAST_AUTH=mtls needs REGCAST_AUTH_FILE (the permissions of each "
                "certificate's common name)"
            )
        return self

    @field_validator("database_url")
    @classmethod
    def _resolve_url(cls, value: str) -> str:
        return resolve_database_url(value)
