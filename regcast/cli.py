"""The ``regcast`` command line (typer).

Exit codes: 0 success, 1 a check found an incompatible schema, 2 usage, network or
registry errors.
"""

from __future__ import annotations

import time

import typer
from rich.console import Console

from regcast.local_broker import LocalBroker

app = typer.Typer(
    help="regcast: typed records to Kafka with a schema registry.", no_args_is_help=True
)
console = Console()


@app.command()
def demo() -> None:
    """Start a local broker (Tansu) and show where it listens; Ctrl-C stops it."""
    with LocalBroker() as broker:
        console.print(f"[green]broker[/] listening on {broker.bootstrap_servers}")
        try:
            while broker.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            console.print("stopping")


if __name__ == "__main__":
    app()
