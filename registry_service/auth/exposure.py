"""The start-up warning for a registry without authentication reachable beyond loopback.

The application does not know which interface uvicorn binds (the lifespan runs before
the socket is bound, and ``--host`` is uvicorn's). So the warning is given where it can
be: at start-up when ``REGCAST_LISTEN_HOST`` says where it listens, and in any case on
the first request that arrived on a non-loopback address (``scope["server"]``), once.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

log = logging.getLogger("registry_service.auth")

WARNING = (
    "REGCAST_AUTH=none and the registry is reachable on %s: anyone who can reach this "
    "port can register, delete and reconfigure every subject. Set REGCAST_AUTH=basic "
    "and REGCAST_AUTH_FILE (see docs/registry/security.md), or listen on 127.0.0.1."
)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost`` (``0.0.0.0`` is not)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: assume it resolves beyond loopback


def warn_if_exposed(host: str | None) -> bool:
    if host is None or is_loopback(host):
        return False
    log.warning(WARNING, host)
    return True


ASGIApp = Any


class ExposureWarning:
    """Logs ``WARNING`` once, on the first request received on a non-loopback address.
    Costs one attribute test per request once it has spoken, and one set lookup per
    request before: each server address is judged once (parsing it with ``ipaddress``
    per request cost about 0.4 us of a cached read's ~10 us, measured)."""

    def __init__(self, app: ASGIApp, warned: bool = False) -> None:
        self.app = app
        self.pending = not warned
        self._judged: set[str] = set()  # server addresses found to be loopback

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.pending and scope["type"] == "http":
            server = scope.get("server")
            if server:
                host = str(server[0])
                if host not in self._judged:
                    if warn_if_exposed(host):
                        self.pending = False
                    else:
                        self._judged.add(host)
        await self.app(scope, receive, send)
