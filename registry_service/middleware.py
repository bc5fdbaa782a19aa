"""Thin ASGI layers in front of the FastAPI routers: media types, body size, hot paths.

``MediaTypes`` (outermost) does Confluent's content negotiation: answers are JSON under
``application/vnd.schemaregistry.v1+json`` unless the request's ``Accept`` asks only for
``application/vnd.schemaregistry+json`` or ``application/json``, in which case that is
the label; an ``Accept`` naming none of the three (nor a wildcard) gets 406, as in
Confluent's and Karapace's registries. Request bodies are read as JSON whatever their
``Content-Type`` (see ``models``). (``paths.PathSegments``, next in line, makes the
path's segments those of the raw path.)

``RequestBodyLimit`` refuses a body above ``max_request_bytes`` with 413 (code 413, see
``errors``) before it is read: at once when ``Content-Length`` says so, without reading
a byte of the body, and for a body of unknown length (chunked) as soon as the bytes
received pass the limit, so nothing buffers more than the limit. The answer closes the
connection (``Connection: close``) instead of reading the rest of the body to keep it.
The server's event loop only ever waits for body bytes, so a slow or huge body holds up
its own request and no other.

``HotPaths`` answers the calls every serializer and deserializer makes -
``GET /schemas/ids/{id}``, ``GET /subjects/{s}/versions/{v}`` and registering a schema
(``POST /subjects/{s}/versions``) - before FastAPI routes the request. FastAPI's routing
and parameter binding cost about 100 us a request (300 us for a register), several times
what a cached answer costs, and these are the requests a fleet of clients repeats. Reads
and re-registrations are answered from the service's cache alone, by the same
``cached_*`` methods the routers call first, so an answer is the same whichever layer
gives it. A plain registration (no references, id or version) that the cache cannot
answer goes to ``RegistryService.register`` on a worker thread, exactly as the router
would pass it. The body is judged by ``models.schema_request_from_json``, the function
the routers use, so a body the router would refuse is refused here with the same answer.
On anything it does not handle exactly (a read the cache cannot answer, an unknown or
malformed query parameter, an invalid version, a body with references, ids or versions)
it passes the request on - with the body it read, replayed - and the router answers.
Paths are split on ``/`` and decoded per segment with ``paths.decode_segment``, as the
routes' ``{name:segment}`` parameters are, so both read the same subject from a path.
Only registrations reach the database from here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.concurrency import run_in_threadpool

from registry_service.errors import (
    MEDIA_TYPE,
    InvalidVersionError,
    RegistryError,
    RequestTooLargeError,
    encode_json,
    store_failure,
)
from registry_service.models import schema_request_from_json
from registry_service.paths import decode_segment
from registry_service.service import LATEST, RegistryService, SchemaRequest, parse_version
from registry_service.storage import StoreError

ASGIApp = Any  # (scope, receive, send) -> awaitable; Starlette's types are not needed here

_V1 = MEDIA_TYPE.encode()
_GENERIC = b"application/vnd.schemaregistry+json"
_JSON = b"application/json"
_WILDCARDS = (b"*/*", b"application/*")
_NOT_ACCEPTABLE = orjson.dumps({"error_code": 406, "message": "HTTP 406 Not Acceptable"})
_UNNEGOTIATED_PREFIXES = ("/docs", "/openapi.json")  # FastAPI's own pages

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_INT_MAX = 2**31 - 1
_ID_PARAMS = frozenset({"subject", "format", "fetchMaxId"})
_VERSION_PARAMS = frozenset({"deleted", "format"})
_REGISTER_PARAMS = frozenset({"normalize"})
_MAX_SHORTCUT_BODY_BYTES = 256 * 1024  # larger register bodies go the ordinary way
_CLOSE = (b"connection", b"close")
_BODILESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


def negotiate(accept: bytes | None) -> bytes | None:
    """The media type to answer with for an ``Accept`` header; None means 406."""
    if accept is None or accept == b"*/*" or accept.startswith(_V1) or not accept.strip():
        return _V1
    best: bytes | None = None
    for item in accept.split(b","):
        media, *params = item.split(b";")
        if any(_is_q_zero(p) for p in params):
            continue  # q=0: explicitly not acceptable
        media = media.strip().lower()
        if media == _V1 or media in _WILDCARDS:
            return _V1
        if media == _GENERIC:
            best = _GENERIC
        elif media == _JSON and best is None:
            best = _JSON
    return best


def _is_q_zero(param: bytes) -> bool:
    name, _, value = param.partition(b"=")
    if name.strip().lower() != b"q":
        return False
    try:
        return float(value) == 0
    except ValueError:
        return False


class MediaTypes:
    """Confluent's content negotiation for every response (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accept = None
        for name, value in scope["headers"]:
            if name == b"accept":
                accept = value
                break
        media = negotiate(accept)
        if media is _V1 or scope["path"].startswith(_UNNEGOTIATED_PREFIXES):
            await self.app(scope, receive, send)
            return
        if media is None:
            await _send_json(send, 406, _NOT_ACCEPTABLE, _V1)
            return

        async def relabel(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (name, media if name == b"content-type" and value == _V1 else value)
                    for name, value in message.get("headers", ())
                ]
            await send(message)

        await self.app(scope, receive, relabel)


class RequestBodyLimit:
    """413 for bodies above ``max_bytes``, before they are read (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in _BODILESS:
            # No handler of these reads a body, so none is buffered: the server reads
            # and drops whatever was sent after the answer.
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None:
            if length > self.max_bytes:
                refusal = RequestTooLargeError(self.max_bytes, length)
                await _send_json(send, refusal.status, encode_json(refusal.body()), _V1, True)
                return
            # The server delivers no more than Content-Length: nothing to count.
            await self.app(scope, receive, send)
            return
        await self.app(scope, *_counted(receive, send, self.max_bytes))


def _counted(receive: Any, send: Any, max_bytes: int) -> tuple[Any, Any]:
    """``receive`` that raises ``RequestTooLargeError`` once more than ``max_bytes`` of
    body arrived (whoever reads it answers that error as any other), and ``send`` that
    then adds ``Connection: close`` to the answer."""
    received = 0
    refused = False

    async def counting_receive() -> Any:
        nonlocal received, refused
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                refused = True
                raise RequestTooLargeError(max_bytes)
        return message

    async def closing_send(message: dict[str, Any]) -> None:
        if refused and message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), _CLOSE]
        await send(message)

    return counting_receive, closing_send


class HotPaths:
    """Cached reads and plain registrations, before routing (see the module docstring)."""

    def __init__(self, app: ASGIApp, service: RegistryService) -> None:
        self.app = app
        self.service = service
        self.max_schema_bytes = service.settings.max_schema_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        try:
            if method == "GET":
                body = self._answer(scope["path"], scope["query_string"])
            elif method == "POST" and scope["path"].endswith("/versions"):
                body, receive = await self._register(scope, receive)
            else:
                body = None
        except RegistryError as exc:
            await _send_json(send, exc.status, encode_json(exc.body()), _V1)
            return
        if body is not None:
            await _send_json(send, 200, encode_json(body), _V1)
            return
        await self.app(scope, receive, send)

    async def _register(self, scope: dict[str, Any], receive: Any) -> tuple[Any, Any]:
        """A plain registration's answer (from the cache if it can), or None and a
        ``receive`` that replays the body for the router."""
        parts = scope["path"].split("/")  # "", "subjects", subject, "versions"
        if len(parts) != 4 or parts[1] != "subjects" or not parts[2]:
            return None, receive
        subject = decode_segment(parts[2])
        params = _params(scope["query_string"], _REGISTER_PARAMS)
        normalize = None if params is None else _flag(params.get("normalize"))
        length = _content_length(scope)
        if normalize is None or length is None:
            return None, receive
        if length > _MAX_SHORTCUT_BODY_BYTES:
            return None, receive
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None, _replay(b"", message, receive)
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        replay = _replay(raw, None, receive)
        # The routers' own judgement of the body: its refusals are answered from here.
        request = schema_request_from_json(raw, self.max_schema_bytes)
        if not _is_plain(request):
            return None, replay
        body = self.service.cached_register(subject, request, normalize)
        if body is None:
            try:
                body = await run_in_threadpool(self.service.register, subject, request, normalize)
            except StoreError as exc:
                raise store_failure(exc) from exc
        return body, replay

    def _answer(self, path: str, query: bytes) -> dict[str, Any] | None:
        """The answer from the cache, or None to let the routers handle the request."""
        parts = path.split("/")
        if len(parts) == 4 and parts[1] == "schemas" and parts[2] == "ids":
            digits = parts[3]
            if not (digits.isascii() and digits.isdigit()) or len(digits) > 10:
                return None
            schema_id = int(digits)
            params = _params(query, _ID_PARAMS)
            if params is None or not 0 < schema_id <= _INT_MAX:
                return None
            fetch_max_id = _flag(params.get("fetchMaxId"))
            if fetch_max_id is not False:
                return None
            return self.service.cached_schema_by_id(
                schema_id, params.get("format") or None, params.get("subject"), False
            )
        if len(parts) == 5 and parts[1] == "subjects" and parts[3] == "versions" and parts[2]:
            params = _params(query, _VERSION_PARAMS)
            if params is None:
                return None
            deleted = _flag(params.get("deleted"))
            if deleted is None:
                return None
            try:
                version = parse_version(decode_segment(parts[4]))
            except InvalidVersionError:
                return None  # the router answers 42202
            return self.service.cached_version(
                decode_segment(parts[2]), version, deleted, params.get("format") or None
            )
        return None


def _is_plain(request: SchemaRequest) -> bool:
    """Whether the shortcut takes a registration: no references, id, version (other
    than latest), metadata or rule set; the router handles the rest."""
    return (
        not request.references
        and request.id is None
        and request.version in (None, LATEST)
        and not request.contract
    )


def _content_length(scope: dict[str, Any]) -> int | None:
    """The request's Content-Length, None when it has none (the server has already
    refused a malformed one); absurdly long values count as larger than any limit."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            if not value.isdigit():
                return None
            return int(value) if len(value) <= 18 else 10**18
    return None


def _replay(body: bytes, pending: dict[str, Any] | None, receive: Any) -> Any:
    """A ``receive`` that first hands over what the shortcut already read."""
    first: list[dict[str, Any]] = [
        pending if pending is not None else {"type": "http.request", "body": body}
    ]

    async def replayed() -> dict[str, Any]:
        if first:
            return first.pop()
        return await receive()  # type: ignore[no-any-return]

    return replayed


def _params(query: bytes, allowed: frozenset[str]) -> dict[str, str] | None:
    """Query parameters as Starlette reads them (last value wins), or None when one is
    not in ``allowed``."""
    if not query:
        return {}
    params = dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    if not allowed.issuperset(params):
        return None
    return params


def _flag(value: str | None) -> bool | None:
    """A boolean query value (absent = False); None when the router should judge it."""
    if value is None:
        return False
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


async def _send_json(
    send: Any, status: int, body: bytes, media: bytes, close: bool = False
) -> None:
    headers = [(b"content-type", media), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append(_CLOSE)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
