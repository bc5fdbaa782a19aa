"""``regcast serve``: run the schema registry (``registry_service``) under uvicorn.

The registry reads its settings from ``REGCAST_*`` environment variables
(``registry_service.settings``); ``--database-url`` is passed on as
``REGCAST_DATABASE_URL`` so that every uvicorn worker process sees it. uvicorn is given
the import string of the application factory, which is what lets ``--workers`` start
several processes.
"""

from __future__ import annotations

import importlib
import os
from enum import StrEnum
from typing import Annotated

import typer

from regcast.commands._common import console, fail

APP_FACTORY = "registry_service.app:create_app"
DATABASE_URL_ENV = "REGCAST_DATABASE_URL"
DEFAULT_PORT = 8081


class LogLevel(StrEnum):
    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    DEBUG = "debug"
    TRACE = "trace"


def _redact(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in userinfo else url


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 in containers).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TCP port.", min=0, max=65535)] = DEFAULT_PORT,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.", min=1)] = 1,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar=DATABASE_URL_ENV,
            help="sqlite:///path.db or postgresql://user@host/db [default: the registry's "
            "own, SQLite].",
            show_default=False,
        ),
    ] = None,
    log_level: Annotated[LogLevel, typer.Option(help="uvicorn log level.")] = LogLevel.INFO,
) -> None:
    """Run the Confluent-compatible schema registry.

    Runs until interrupted (Ctrl-C or SIGTERM); exit 2 when it cannot start.
    """
    if database_url:
        os.environ[DATABASE_URL_ENV] = database_url
    module_name = APP_FACTORY.split(":", 1)[0]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        fail(f"cannot import the registry application ({APP_FACTORY}): {exc}")
    if not hasattr(module, "create_app"):
        fail(f"{module_name} has no create_app factory")
    import uvicorn

    where = _redact(database_url) if database_url else "the registry's default (SQLite)"
    console.print(
        f"[green]regcast registry[/] on http://{host}:{port}  storage: {where}  workers: {workers}",
        highlight=False,
    )
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=str(log_level),
        )
    except SystemExit as exc:  # uvicorn exits 1 when it cannot bind or start the app
        if exc.code not in (0, None):
            fail(f"the registry stopped with status {exc.code} (see the log above)")
        raise
