"""The ``regcast`` command line (typer + rich): assembles the commands in :mod:`regcast.commands`.

Exit codes, the same for every command:

- 0: success;
- 1: a schema was rejected (incompatible with its subject, or invalid);
- 2: usage or configuration error, registry or broker unreachable, registry error
  (unknown subject or version, ...);
- 130: interrupted by Ctrl-C (``produce`` and ``demo`` also stop cleanly on SIGTERM,
  with 143).
"""

from __future__ import annotations

import platform
from typing import Annotated

import typer

from regcast import __version__
from regcast.commands import auth, check, demo, produce, registry, serve

EPILOG = (
    "Exit codes: 0 success; 1 a schema was rejected (incompatible or invalid); "
    "2 usage, network or registry error; 130 interrupted (Ctrl-C)."
)

app = typer.Typer(
    name="regcast",
    help="regcast: typed records to Kafka, with schemas in a Confluent-compatible registry.",
    epilog=EPILOG,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def version_line() -> str:
    """``regcast --version``: the distribution's version and which producer hot path runs."""
    from producer import native

    return (
        f"regcast {__version__} (producer hot path: {native.hot_path()}; "
        f"Python {platform.python_version()})"
    )


def _print_version(requested: bool) -> None:
    if requested:
        typer.echo(version_line())
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Print the version and whether the producer's hot path is compiled.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """regcast: typed records to Kafka, with schemas in a Confluent-compatible registry."""


app.command("serve", epilog=EPILOG)(serve.serve)
app.command("register", epilog=EPILOG)(registry.register)
app.command("subjects", epilog=EPILOG)(registry.subjects)
app.command("versions", epilog=EPILOG)(registry.versions)
app.command("get", epilog=EPILOG)(registry.get)
app.command("check", epilog=EPILOG)(check.check)
app.command("produce", epilog=EPILOG)(produce.produce)
app.command("demo", epilog=EPILOG)(demo.demo)
app.add_typer(auth.app, name="auth")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="regcast")


if __name__ == "__main__":
    main()
