"""``/contexts/{context}/...``: Confluent's context URL prefix, rewritten to qualified
subjects before anything else reads the path.

Confluent's ``ContextFilter`` lets a client that knows nothing of qualified names point
at one context with a base URL such as ``http://registry/contexts/.orders``: the two
leading segments are dropped and the context is put where a subject is named. Rules,
taken from that filter:

* the segment after any ``subjects`` segment, and after a leading ``config`` or
  ``mode``, gets the context's qualifier (``:.orders:``) unless it already has one
  (``:.x:`` or ``:*:``); a leading ``config``/``mode`` with no subject segment becomes
  the context's own scope (``/config/:.orders:``);
* ``/schemas/ids/...`` gets the qualifier on its ``subject`` parameter (the context alone
  when there is none), so an id is looked up in that context;
* ``/subjects`` and ``/schemas`` get it on each ``subjectPrefix`` (the context alone when
  there is none), so listings show that context only;
* ``/contexts/{context}`` alone is left for the contexts router (``DELETE``).

The path it works on is ``paths.PathSegments``' canonical one (each ``/`` a segment
boundary), so this layer sits right inside it. A context holding a colon is refused with
400, as Confluent's filter refuses it (``normalizeContext``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from registry_service.errors import InvalidSubjectError, encode_json
from registry_service.paths import decode_segment, encode_segment
from registry_service.service.values import (
    CONTEXT_WILDCARD,
    context_scope,
    normalize_context,
)

ASGIApp = Any


def _qualified(value: str) -> bool:
    return value.startswith((":.", CONTEXT_WILDCARD))


def rewrite(path: str, query: bytes) -> tuple[str, bytes] | None:
    """The path and query ``/contexts/{c}/rest`` stands for, or None when ``path`` has
    no context prefix (or is ``/contexts/{c}`` itself). ``InvalidSubjectError`` for a
    context name Confluent refuses."""
    parts = path.split("/")
    if len(parts) < 4 or parts[0] != "" or parts[1] != "contexts" or not parts[3]:
        return None
    scope = context_scope(normalize_context(decode_segment(parts[2])))
    rest = parts[3:]
    out: list[str] = []
    subject_next = False
    root_setting = rest[0] in ("config", "mode")
    for index, part in enumerate(rest):
        if subject_next:
            if not _qualified(decode_segment(part)):
                part = encode_segment(scope) + part
            subject_next = False
        elif part == "subjects" or (index == 0 and root_setting):
            subject_next = True
        out.append(part)
    if subject_next and root_setting and scope:
        out.append(encode_segment(scope))
    params = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    resource = "/".join(p for p in out if p)
    if resource.startswith("schemas/ids"):
        params = _qualify_param(params, "subject", scope)
    elif resource in ("schemas", "subjects"):
        params = _qualify_param(params, "subjectPrefix", scope)
    return "/" + "/".join(out), urlencode(params).encode("latin-1")


def _qualify_param(params: list[tuple[str, str]], name: str, scope: str) -> list[tuple[str, str]]:
    if not any(key == name for key, _ in params):
        return [*params, (name, scope)]
    return [
        (key, scope + value if key == name and not _qualified(value) else value)
        for key, value in params
    ]


class ContextPaths:
    """Rewrites ``/contexts/{context}/...`` requests (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/contexts/"):
            try:
                found = rewrite(scope["path"], scope.get("query_string", b""))
            except InvalidSubjectError as exc:
                await _refuse(send, exc.message)
                return
            if found is not None:
                path, query = found
                scope = dict(scope, path=path, query_string=query)
        await self.app(scope, receive, send)


async def _refuse(send: Any, message: str) -> None:
    body = encode_json({"error_code": 400, "message": message})
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"application/vnd.schemaregistry.v1+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
