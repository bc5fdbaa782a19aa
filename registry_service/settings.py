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

from pydantic import Field, field_validator
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

    @field_validator("database_url")
    @classmethod
    def _resolve_url(cls, value: str) -> str:
        return resolve_database_url(value)
