"""``regcast serve``: run the schema registry (``registry_service``) under uvicorn.

The registry reads its settings from ``REGCAST_*`` environment variables
(``registry_service.settings``); ``--database-url`` is passed on as
``REGCAST_DATABASE_URL`` so that every uvicorn worker process sees it. uvicorn is given
the import string of the application factory, which is what lets ``--workers`` start
several processes.

TLS is uvicorn's (``--ssl-*``, each also read from its ``REGCAST_SSL_*`` variable and
exported again so the application's settings agree with the socket); with TLS on,
uvicorn runs ``registry_service.tls``'s protocol, which hands the client certificate to
the application (``REGCAST_AUTH=mtls``). ``--host`` is exported as
``REGCAST_LISTEN_HOST`` for the warning about an unauthenticated registry beyond
loopback. uvicorn's own access log is off: the application writes a cheaper one
(``registry_service.access_log``), which ``--no-access-log`` turns off.
"""

from __future__ import annotations

import importlib
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from regcast.commands._common import console, fail
from registry_service.settings import ClientAuth

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
    access_log: Annotated[
        bool,
        typer.Option(
            envvar="REGCAST_ACCESS_LOG", help="One line per request, written off the event loop."
        ),
    ] = True,
    ssl_certfile: Annotated[
        Path | None,
        typer.Option(envvar="REGCAST_SSL_CERTFILE", help="Server certificate (PEM): TLS on."),
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(envvar="REGCAST_SSL_KEYFILE", help="Its private key (PEM).")
    ] = None,
    ssl_keyfile_password: Annotated[
        str | None,
        typer.Option(
            envvar="REGCAST_SSL_KEYFILE_PASSWORD",
            help="Password of an encrypted key (prefer the variable to the option).",
            show_default=False,
        ),
    ] = None,
    ssl_ca_certs: Annotated[
        Path | None,
        typer.Option(envvar="REGCAST_SSL_CA_CERTS", help="CA certificates for client certs."),
    ] = None,
    ssl_client_auth: Annotated[
        ClientAuth,
        typer.Option(envvar="REGCAST_SSL_CLIENT_AUTH", help="Ask for client certificates."),
    ] = ClientAuth.NONE,
) -> None:
    """Run the Confluent-compatible schema registry.

    Runs until interrupted (Ctrl-C or SIGTERM); exit 2 when it cannot start.
    """
    if database_url:
        os.environ[DATABASE_URL_ENV] = database_url
    tls = _tls_options(
        ssl_certfile, ssl_keyfile, ssl_keyfile_password, ssl_ca_certs, ssl_client_auth
    )
    os.environ["REGCAST_LISTEN_HOST"] = host
    os.environ["REGCAST_ACCESS_LOG"] = "true" if access_log else "false"
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
        f"[green]regcast registry[/] on {'https' if tls else 'http'}://{host}:{port}  "
        f"storage: {where}  workers: {workers}",
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
            access_log=False,
            **tls,
        )
    except SystemExit as exc:  # uvicorn exits 1 when it cannot bind or start the app
        if exc.code not in (0, None):
            fail(f"the registry stopped with status {exc.code} (see the log above)")
        raise


def _tls_options(
    certfile: Path | None,
    keyfile: Path | None,
    password: str | None,
    ca_certs: Path | None,
    client_auth: ClientAuth,
) -> dict[str, Any]:
    """uvicorn's TLS keywords (none without a certificate), each also exported as its
    ``REGCAST_SSL_*`` variable for the application's settings (the key's password
    excepted: only uvicorn, in this process, reads the key)."""
    from registry_service.tls import CERT_REQS, PROTOCOL  # uvicorn: only when serving

    if certfile is None:
        if keyfile or ca_certs or client_auth is not ClientAuth.NONE:
            fail("--ssl-keyfile, --ssl-ca-certs and --ssl-client-auth need --ssl-certfile")
        return {}
    if client_auth is not ClientAuth.NONE and ca_certs is None:
        fail(
            f"--ssl-client-auth {client_auth} needs --ssl-ca-certs (the CA clients' "
            "certificates are verified with)"
        )
    for path in (certfile, keyfile, ca_certs):
        if path is not None and not path.is_file():
            fail(f"no such file: {path}")
    exported = {
        "REGCAST_SSL_CERTFILE": str(certfile),
        "REGCAST_SSL_KEYFILE": str(keyfile) if keyfile else None,
        "REGCAST_SSL_CA_CERTS": str(ca_certs) if ca_certs else None,
        "REGCAST_SSL_CLIENT_AUTH": str(client_auth),
    }
    for name, value in exported.items():
        if value is not None:
            os.environ[name] = value
    return {
        "ssl_certfile": str(certfile),
        "ssl_keyfile": str(keyfile) if keyfile else None,
        "ssl_keyfile_password": password,
        "ssl_ca_certs": str(ca_certs) if ca_certs else None,
        "ssl_cert_reqs": CERT_REQS[client_auth],
        "http": PROTOCOL,
    }
