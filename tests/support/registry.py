"""Start a real registry process (``uvicorn --factory registry_service.app:create_app``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from regcast.local_broker import free_port, wait_for_port


def serve_registry(
    database_url: str,
    log_path: Path,
    *uvicorn_args: str,
    scheme: str = "http",
    **settings: str,
) -> tuple[subprocess.Popen[bytes], str]:
    """The registry on a free loopback port with ``REGCAST_DATABASE_URL`` and
    ``REGCAST_<NAME>`` for each keyword; ``uvicorn_args`` are passed on (TLS options).

    Returns the process and its base URL; raises with the log's tail if it does not start.
    """
    port = free_port()
    env = dict(os.environ, REGCAST_DATABASE_URL=database_url)
    env.update({f"REGCAST_{name.upper()}": value for name, value in settings.items()})
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "registry_service.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        *uvicorn_args,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    if not wait_for_port("127.0.0.1", port, 30):
        process.kill()
        process.wait()
        raise RuntimeError(f"registry did not start: {log_path.read_text()[-2000:]}")
    return process, f"{scheme}://127.0.0.1:{port}"
