"""Registry storage: one interface (``base``), one SQLAlchemy implementation (``sql``)
serving SQLite and PostgreSQL. Never imports the formats or the routers."""

from registry_service.storage.base import (
    GLOBAL_SCOPE,
    ConfigRecord,
    Store,
    StoredReference,
    StoredSchema,
    StoreError,
    StoreReader,
    StoreTimeoutError,
    StoreUnavailableError,
    StoreWriter,
    SubjectState,
    SubjectVersion,
)

__all__ = [
    "GLOBAL_SCOPE",
    "ConfigRecord",
    "Store",
    "StoreError",
    "StoreReader",
    "StoreTimeoutError",
    "StoreUnavailableError",
    "StoreWriter",
    "StoredReference",
    "StoredSchema",
    "SubjectState",
    "SubjectVersion",
    "open_store",
]


def open_store(database_url: str, **options: object) -> Store:
    """Open (and create or migrate) the database at ``database_url``."""
    from registry_service.storage.sql import SqlStore

    return SqlStore(database_url, **options)  # type: ignore[arg-type]
