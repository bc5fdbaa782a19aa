"""What every command shares: exit codes, consoles, the registry options, error handling.

The registry's credentials (``--registry-user``/``--registry-password`` for HTTP Basic,
or ``--registry-token`` for a bearer token, each also read from ``REGCAST_REGISTRY_*``)
go with ``--registry`` on every command that talks to a registry; user info in the URL
(``http://user:pw@host``) keeps working when none is given. For CI jobs with an OIDC
client of their own, ``REGCAST_REGISTRY_OIDC_TOKEN_URL``, ``_CLIENT_ID``,
``_CLIENT_SECRET`` (and optionally ``_SCOPE``) run the client-credentials flow instead,
tokens fetched and refreshed as needed; environment only, so the secret never shows in
the process list.

Exit codes (the same for every command, documented in ``regcast --help``):

- ``0`` success;
- ``1`` a schema was rejected: incompatible with its subject's history, or invalid
  (a file that does not parse);
- ``2`` the job could not be done: bad usage or configuration, the registry or broker
  could not be reached, or the registry answered an error (e.g. an unknown subject).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from regcast.checking import summarize_incompatibility
from regcast.config import (
    REGISTRY_URL_ENV,
    ConfigError,
    RegcastConfig,
    find_config,
    load_config,
)
from serdes import OidcClientCredentials, SchemaRegistryClient, StaticToken
from serdes.errors import (
    IncompatibleSchemaError,
    InvalidSchemaError,
    RegistryAuthenticationError,
    RegistryAuthorizationError,
    RegistryError,
    RegistryUnavailableError,
    SchemaNotFoundError,
    SubjectNotFoundError,
    VersionNotFoundError,
)

__all__ = [
    "ConfigOption",
    "ContextOption",
    "ExitCode",
    "RegistryOption",
    "RegistryPasswordOption",
    "RegistryTokenOption",
    "RegistryUserOption",
    "Terminated",
    "console",
    "context_url",
    "err_console",
    "fail",
    "load_cli_config",
    "open_registry",
    "registry_errors",
    "sigterm_as_interrupt",
]

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


class ExitCode(IntEnum):
    OK = 0
    REJECTED = 1  # incompatible or invalid schema
    ERROR = 2  # usage, configuration, network or registry error


RegistryOption = Annotated[
    str | None,
    typer.Option(
        "--registry",
        "-r",
        envvar=REGISTRY_URL_ENV,
        help="Schema registry URL [default: regcast.toml [registry] url, else "
        "http://127.0.0.1:8081].",
        show_default=False,
    ),
]

ContextOption = Annotated[
    str | None,
    typer.Option(
        "--context",
        help="Schema context to work in (e.g. staging or .staging): its subjects, ids "
        "and references [default: the default context].",
        show_default=False,
    ),
]


def context_url(url: str, context: str | None) -> str:
    """The registry URL that puts every request in ``context``: Confluent's
    ``/contexts/{context}`` prefix, which qualifies the subjects of paths and lookups
    (so a .proto file's imports and its references land in the same context too)."""
    if not context:
        return url
    name = context.strip(":")
    if not name or ":" in name or "/" in name or (name.strip(".") == "" and name != "."):
        fail(f"--context {context!r} is not a context name (letters, digits, '.', '-', '_')")
    if name == ".":
        return url
    if not name.startswith("."):
        name = "." + name
    return f"{url.rstrip('/')}/contexts/{name}"


REGISTRY_USER_ENV = "REGCAST_REGISTRY_USER"
REGISTRY_PASSWORD_ENV = "REGCAST_REGISTRY_PASSWORD"
REGISTRY_TOKEN_ENV = "REGCAST_REGISTRY_TOKEN"
REGISTRY_OIDC_ENV = "REGCAST_REGISTRY_OIDC_"  # + TOKEN_URL, CLIENT_ID, CLIENT_SECRET, SCOPE

RegistryUserOption = Annotated[
    str | None,
    typer.Option(
        "--registry-user",
        envvar=REGISTRY_USER_ENV,
        help="User for the registry's HTTP Basic authentication (with --registry-password).",
        show_default=False,
    ),
]

RegistryPasswordOption = Annotated[
    str | None,
    typer.Option(
        "--registry-password",
        envvar=REGISTRY_PASSWORD_ENV,
        help=f"Password of --registry-user (prefer ${REGISTRY_PASSWORD_ENV}: a flag shows "
        "in the process list).",
        show_default=False,
    ),
]

RegistryTokenOption = Annotated[
    str | None,
    typer.Option(
        "--registry-token",
        envvar=REGISTRY_TOKEN_ENV,
        help="Bearer token (an OIDC access token) for the registry, instead of a user "
        f"(prefer ${REGISTRY_TOKEN_ENV}).",
        show_default=False,
    ),
]

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="regcast.toml mapping schema files to subjects [default: the nearest "
        "regcast.toml in this folder or a parent].",
        show_default=False,
        dir_okay=False,
    ),
]


def fail(message: str, code: ExitCode = ExitCode.ERROR) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(int(code))


def load_cli_config(path: Path | None) -> RegcastConfig:
    """--config, else the nearest regcast.toml, else conventions only; exit 2 if broken."""
    if path is not None and not path.is_file():
        fail(f"config file {path} does not exist")
    try:
        return load_config(path if path is not None else find_config())
    except ConfigError as exc:
        fail(str(exc))


def open_registry(
    url: str,
    *,
    user: str | None = None,
    password: str | None = None,
    token: str | None = None,
) -> SchemaRegistryClient:
    """A client that gives up quickly: a CLI user wants an answer, not a long retry loop.
    ``user``/``password`` (HTTP Basic), ``token`` (Bearer) or the
    ``REGCAST_REGISTRY_OIDC_*`` variables (client credentials) authenticate it."""
    auth: tuple[str, str] | StaticToken | OidcClientCredentials | None = None
    if token is not None and user is not None:
        fail("give --registry-user or --registry-token, not both")
    client_credentials = _oidc_client_credentials()
    if client_credentials is not None:
        if token is not None or user is not None:
            fail(
                f"{REGISTRY_OIDC_ENV}TOKEN_URL is set: give no --registry-user or "
                "--registry-token as well (one way to authenticate)"
            )
        auth = client_credentials
    elif token is not None:
        try:
            auth = StaticToken(token.strip())
        except ValueError as exc:
            fail(f"--registry-token / {REGISTRY_TOKEN_ENV}: {exc}")
    elif user is not None:
        if password is None:
            fail(f"--registry-user needs --registry-password (or {REGISTRY_PASSWORD_ENV})")
        auth = (user, password)
    elif password is not None:
        fail(f"--registry-password needs --registry-user (or {REGISTRY_USER_ENV})")
    try:
        return SchemaRegistryClient(
            url, auth=auth, timeout_s=10.0, max_retries=1, retry_backoff_ms=100, latest_ttl_s=0.0
        )
    except ValueError as exc:
        fail(f"bad registry URL: {exc}")


def _oidc_client_credentials() -> OidcClientCredentials | None:
    """The OIDC client-credentials flow, if ``REGCAST_REGISTRY_OIDC_TOKEN_URL`` is set."""
    url = os.environ.get(f"{REGISTRY_OIDC_ENV}TOKEN_URL")
    if not url:
        return None
    client_id = os.environ.get(f"{REGISTRY_OIDC_ENV}CLIENT_ID", "")
    secret = os.environ.get(f"{REGISTRY_OIDC_ENV}CLIENT_SECRET", "")
    if not client_id or not secret:
        fail(
            f"{REGISTRY_OIDC_ENV}TOKEN_URL needs {REGISTRY_OIDC_ENV}CLIENT_ID and "
            f"{REGISTRY_OIDC_ENV}CLIENT_SECRET"
        )
    try:
        return OidcClientCredentials(
            url, client_id, secret, os.environ.get(f"{REGISTRY_OIDC_ENV}SCOPE") or None
        )
    except ValueError as exc:
        fail(f"{REGISTRY_OIDC_ENV}*: {exc}")


@contextmanager
def registry_errors(url: str, *, subject: str | None = None) -> Iterator[None]:
    """Turn registry failures into a one-line message and the documented exit code."""
    try:
        yield
    except RegistryUnavailableError as exc:
        fail(
            f"cannot reach the schema registry at {url}: {exc.message}\n"
            "  start one with `regcast serve`, or pass --registry / set "
            f"{REGISTRY_URL_ENV}"
        )
    except SubjectNotFoundError:
        fail(f"subject {subject!r} not found in the registry at {url}")
    except VersionNotFoundError as exc:
        fail(f"{exc.message} (subject {subject!r})")
    except SchemaNotFoundError as exc:
        fail(exc.message)
    except IncompatibleSchemaError as exc:
        fail(
            f"incompatible schema for subject {subject!r}, "
            f"{summarize_incompatibility(exc.message)}",
            ExitCode.REJECTED,
        )
    except InvalidSchemaError as exc:
        fail(f"the registry rejects the schema: {exc.message}", ExitCode.REJECTED)
    except RegistryAuthenticationError as exc:
        fail(
            f"the registry at {url} refused the credentials: {exc.message}\n"
            "  pass --registry-user and --registry-password, or --registry-token (or set "
            f"{REGISTRY_USER_ENV}/{REGISTRY_PASSWORD_ENV} or {REGISTRY_TOKEN_ENV})"
        )
    except RegistryAuthorizationError as exc:
        fail(f"the registry at {url} does not permit this: {exc.message}")
    except RegistryError as exc:
        fail(f"registry error from {url}: {exc}")


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``docker stop``), handled like Ctrl-C."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Stop on SIGTERM the way Ctrl-C stops: peers shut down, records accounted for.

    Without it SIGTERM kills the interpreter at once: records in flight are lost, and
    the registry and broker the demo started (in sessions of their own) outlive it.
    """

    def handler(signum: int, frame: object) -> None:
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
