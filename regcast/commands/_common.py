"""What every command shares: exit codes, consoles, the registry option, error handling.

Exit codes (the same for every command, documented in ``regcast --help``):

- ``0`` success;
- ``1`` a schema was rejected: incompatible with its subject's history, or invalid
  (a file that does not parse);
- ``2`` the job could not be done: bad usage or configuration, the registry or broker
  could not be reached, or the registry answered an error (e.g. an unknown subject).
"""

from __future__ import annotations

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
from serdes import SchemaRegistryClient
from serdes.errors import (
    IncompatibleSchemaError,
    InvalidSchemaError,
    RegistryError,
    RegistryUnavailableError,
    SchemaNotFoundError,
    SubjectNotFoundError,
    VersionNotFoundError,
)

__all__ = [
    "ConfigOption",
    "ExitCode",
    "RegistryOption",
    "Terminated",
    "console",
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


def open_registry(url: str) -> SchemaRegistryClient:
    """A client that gives up quickly: a CLI user wants an answer, not a long retry loop."""
    try:
        return SchemaRegistryClient(
            url, timeout_s=10.0, max_retries=1, retry_backoff_ms=100, latest_ttl_s=0.0
        )
    except ValueError as exc:
        fail(f"bad registry URL: {exc}")


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
