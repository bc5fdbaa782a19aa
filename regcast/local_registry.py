"""Start and stop a local schema registry (``regcast serve``) for the demo.

The registry runs in its own process, started exactly as a user or the container
image starts it (``python -m regcast serve``), on a free loopback port and a SQLite
file in a folder the caller owns. A separate process keeps the registry's work off
the demo's interpreter, which is busy producing, and is stopped with SIGTERM so
uvicorn shuts down cleanly.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from regcast.local_broker import free_port, stop_process

__all__ = ["LocalRegistry", "RegistryStartError"]


class RegistryStartError(RuntimeError):
    """The registry process exited or did not answer HTTP in time; carries its log."""


@dataclass
class LocalRegistry:
    """One ``regcast serve`` process on ``host:port`` with its SQLite file in ``folder``."""

    folder: Path
    host: str = "127.0.0.1"
    port: int = 0
    startup_timeout_s: float = 30.0
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.folder / 'registry.db'}"

    @property
    def log_path(self) -> Path:
        return self.folder / "registry.log"

    def start(self) -> LocalRegistry:
        if self._process is not None and self._process.poll() is None:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.port == 0:
            self.port = free_port(self.host)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "regcast",
                    "serve",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                    "--database-url",
                    self.database_url,
                    "--log-level",
                    "warning",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: Ctrl-C reaches the demo, which stops the registry last.
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:  # Ctrl-C while waiting included: never leave it running
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                if httpx.get(self.url + "/subjects", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        log = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        raise RegistryStartError(
            f"the registry did not start on {self.url}; the end of its log "
            f"({self.log_path}):\n{log}"
        )

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_process(process)

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
