"""A throwaway PostgreSQL database on the machine's server (127.0.0.1:5432)."""

from __future__ import annotations

import os
import uuid

import psycopg

ADMIN_DSN = os.environ.get("REGCAST_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")


def create_database(prefix: str = "regcast_test") -> tuple[str, str]:
    """Create a fresh database; returns (name, SQLAlchemy-style URL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_DSN.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
