"""The audit trail: one JSON line per write and per refused request, logger ``regcast.audit``.

What is recorded
----------------
- Every write that reaches the registry (register, delete subject or version, set or
  delete a config or mode, delete a context), whatever its answer: ``AuditTrail`` sits
  behind ``guard.AuthGuard`` (so it knows the principal) and in front of the hot paths
  and the routes (so a re-registration answered from the cache is recorded too).
- Every request ``AuthGuard`` refuses (401, 403, 429, and the 40403 that hides a
  schema id the caller may not read), reads included: ``refused`` is called by the
  guard.

Each line holds ``time`` (UTC, ISO 8601), ``principal`` (None with authentication off
or before the caller was authenticated), ``client``, ``operation``, ``method``, ``path``,
``subject``/``version`` when the path names them, ``id`` (the schema id a register
answered), ``status``, ``error_code`` on failures and ``outcome`` (``success``,
``failure`` or ``refused``). No header is ever read, so no password, token or
``Authorization`` value can reach it; request bodies are not logged either.

Where it goes: records are made on the event loop and handed to a
``logging.handlers.QueueHandler``; a ``QueueListener`` thread writes them to stderr and to
``REGCAST_AUDIT_FILE`` when set (``install``), so file I/O never blocks the loop. Reads
cost one method test per request here (``AuditTrail`` passes GET and HEAD straight on).
"""

from __future__ import annotations

import datetime
import json
import logging
import logging.handlers
import queue
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from registry_service.auth import PRINCIPAL_KEY
from registry_service.auth.endpoints import Endpoint, EndpointTable
from registry_service.errors import RegistryError
from registry_service.paths import decode_segment

LOGGER = "regcast.audit"
log = logging.getLogger(LOGGER)

_S = "/subjects/{subject:segment}"
OPERATIONS: dict[tuple[str, str], str] = {
    ("POST", _S + "/versions"): "register",
    ("DELETE", _S): "delete_subject",
    ("DELETE", _S + "/versions/{version:segment}"): "delete_version",
    ("PUT", "/config"): "set_config",
    ("DELETE", "/config"): "delete_config",
    ("PUT", "/config/{subject:segment}"): "set_config",
    ("DELETE", "/config/{subject:segment}"): "delete_config",
    ("PUT", "/mode"): "set_mode",
    ("DELETE", "/mode"): "delete_mode",
    ("PUT", "/mode/{subject:segment}"): "set_mode",
    ("DELETE", "/mode/{subject:segment}"): "delete_mode",
    ("DELETE", "/contexts/{context:segment}"): "delete_context",
}
_REFUSALS = frozenset({401, 403, 429})
_MAX_CAPTURED_BYTES = 4096
ASGIApp = Any


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def _path_fields(template: str, path: str) -> dict[str, Any]:
    """``subject``, ``version`` and ``context`` from the path, by the route's template."""
    fields: dict[str, Any] = {}
    for name, part in zip(template.split("/"), path.split("/"), strict=False):
        if name.startswith("{"):
            key = name[1:].split(":", 1)[0]
            if key in ("subject", "version", "context"):
                fields[key] = decode_segment(part)
    return fields


def _entry(
    scope: dict[str, Any], endpoint: Endpoint | None, operation: str, principal: Any
) -> dict[str, Any]:
    client = scope.get("client")
    entry: dict[str, Any] = {
        "time": _now(),
        "principal": None if principal is None else principal.name,
        "client": None if not client else client[0],
        "operation": operation,
        "method": scope["method"],
        "path": scope["path"],
    }
    if endpoint is not None:
        entry.update(_path_fields(endpoint.template, scope["path"]))
    return entry


def _emit(entry: dict[str, Any]) -> None:
    """One JSON line, ASCII only: a path may hold bytes that are not UTF-8 (kept as lone
    surrogates, which orjson refuses), and non-ASCII names become ``\\uXXXX``."""
    log.info(json.dumps(entry, separators=(",", ":")))


def refused(
    scope: dict[str, Any], endpoint: Endpoint | None, exc: RegistryError, principal: Any
) -> None:
    """Record a request the guard refuses (runs on the event loop, before the answer)."""
    operation = "read"
    if endpoint is not None:
        operation = OPERATIONS.get((scope["method"], endpoint.template), operation)
    entry = _entry(scope, endpoint, operation, principal)
    entry.update(status=exc.status, error_code=exc.error_code, outcome="refused")
    if exc.status not in _REFUSALS:  # the 40403 of a schema id the caller may not read
        entry["hidden"] = True
    _emit(entry)


class AuditTrail:
    """ASGI layer recording every write with its answer (module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.table = EndpointTable()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        endpoint = self.table.match(scope["method"], scope["path"])
        operation = None
        if endpoint is not None:
            operation = OPERATIONS.get((scope["method"], endpoint.template))
        if operation is None:  # lookups and compatibility checks are reads
            await self.app(scope, receive, send)
            return
        status = 500
        body = bytearray()

        async def send_recorded(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and len(body) < _MAX_CAPTURED_BYTES:
                body.extend(message.get("body", b"")[:_MAX_CAPTURED_BYTES])
            await send(message)

        try:
            await self.app(scope, receive, send_recorded)
        finally:
            entry = _entry(scope, endpoint, operation, scope.get(PRINCIPAL_KEY))
            entry["status"] = status
            entry.update(_answer_fields(operation, status, bytes(body)))
            _emit(entry)


def _answer_fields(operation: str, status: int, body: bytes) -> dict[str, Any]:
    """What the answer says about the write: the id registered, the versions deleted,
    the level or mode set; the error code of a failure."""
    try:
        answer = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        answer = None
    if status >= 300:
        fields: dict[str, Any] = {"outcome": "failure"}
        if isinstance(answer, dict) and isinstance(answer.get("error_code"), int):
            fields["error_code"] = answer["error_code"]
        return fields
    fields = {"outcome": "success"}
    if isinstance(answer, dict):
        for key in ("id", "compatibility", "mode"):
            if key in answer:
                fields[key] = answer[key]
    elif operation == "delete_version" and isinstance(answer, int):
        fields["version"] = answer
    elif operation == "delete_subject" and isinstance(answer, list):
        fields["versions"] = answer
    return fields


def install(audit_file: Path | None) -> Callable[[], None]:
    """Send ``regcast.audit`` to stderr (and ``audit_file``) through a queue and a writer
    thread; returns the function that flushes and stops it (the lifespan's end)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if audit_file is not None:
        handlers.append(logging.FileHandler(audit_file, encoding="utf-8"))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, *handlers)
    handler = logging.handlers.QueueHandler(records)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    listener.start()

    def stop() -> None:
        log.removeHandler(handler)
        listener.stop()
        for each in handlers:
            each.close()

    return stop
