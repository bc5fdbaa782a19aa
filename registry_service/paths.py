"""Request paths split into segments before they are decoded, for every route alike.

Theory of operation
-------------------
Subjects may contain ``/`` (Protobuf reference subjects are import paths such as
``common/address.proto``, which clients send as ``common%2Faddress.proto``). The ASGI
server decodes ``%2F`` in ``scope["path"]``, so routing on it cannot tell the subject
``a/versions`` from the subject ``a`` followed by the ``versions`` resource:
``POST /subjects/seed-value%2Fversions`` (a lookup) was routed as a registration, and
``DELETE /subjects/s%2Fversions%2F1`` deleted version 1 of ``s``. With per-subject
authorization that is also a way around the check.

So the path is split on the ``/`` bytes of ``scope["raw_path"]`` first and each
segment is percent-decoded afterwards (``canonical_path``, the one function that decides
what the segments are). ``PathSegments``, the layer in front of everything else, puts
the result back into ``scope["path"]`` in a canonical form in which every ``/`` is a
segment boundary: inside a segment only ``%`` and ``/`` stay escaped (``%25``, ``%2F``),
plus the bytes of invalid UTF-8 (``%FF``), so the path holds no lone surrogates. Routes
declare their parameters ``{name:segment}``, whose convertor (``SegmentConvertor``)
decodes one canonical segment (``decode_segment``); ``middleware.HotPaths`` splits the
same canonical path on ``/`` and decodes with the same function. A literal segment such
as ``versions`` matches whether or not the client percent-encoded its letters.

Invalid UTF-8 in a segment decodes to lone surrogates (``surrogateescape``), never to
U+FFFD: two different paths must not name the same subject, and a name holding a
surrogate is refused as invalid (42208) by ``service.check_name``.

Cost: a path without ``%`` (what clients send for ordinary subjects) is left as the
server decoded it, after one scan of its bytes; only percent-encoded paths are rebuilt
(about 5 us).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.convertors import Convertor, register_url_convertor

ASGIApp = Any  # (scope, receive, send) -> awaitable

# What stays escaped inside a canonical segment: the escape character, the separator,
# and each byte of invalid UTF-8 (decoded by surrogateescape to U+DC80..U+DCFF).
_ESCAPES: dict[int, str] = {ord("%"): "%25", ord("/"): "%2F"}
_ESCAPES.update({0xDC80 + byte: f"%{0x80 + byte:02X}" for byte in range(128)})


def decode_raw_segment(raw: bytes) -> str:
    """One segment of a raw path, percent-decoded; invalid UTF-8 as lone surrogates."""
    return unquote_to_bytes(raw).decode("utf-8", "surrogateescape")


def encode_segment(text: str) -> str:
    """``text`` as one canonical segment (the inverse of ``decode_segment``)."""
    return text.translate(_ESCAPES)


def decode_segment(segment: str) -> str:
    """A decoded path parameter from one segment of the canonical path."""
    if "%" not in segment:
        return segment
    return unquote_to_bytes(segment).decode("utf-8", "surrogateescape")


def canonical_path(raw_path: bytes) -> str:
    """The path split on its raw ``/`` bytes, each segment decoded and re-escaped so
    that ``/`` inside a segment (and ``%``, and invalid UTF-8) stays escaped."""
    if b"%" not in raw_path and raw_path.isascii():
        return raw_path.decode("ascii")
    parts = []
    for raw in raw_path.split(b"/"):
        if b"%" in raw or not raw.isascii():
            parts.append(encode_segment(decode_raw_segment(raw)))
        else:
            parts.append(raw.decode("ascii"))
    return "/".join(parts)


def split_path(path: str) -> list[str]:
    """The decoded segments of a canonical path (``"/a%2Fb/c"`` -> ``["", "a/b", "c"]``)."""
    return [decode_segment(part) for part in path.split("/")]


class SegmentConvertor(Convertor[str]):
    """``{name:segment}``: exactly one path segment, decoded (see the module docstring)."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return decode_segment(value)

    def to_string(self, value: str) -> str:
        return encode_segment(value)


register_url_convertor("segment", SegmentConvertor())


class PathSegments:
    """Rewrites ``scope["path"]`` into the canonical form, from ``raw_path``.

    ``root_path`` (a prefix the server was told to mount the application under) is kept
    as given; uvicorn includes it in ``raw_path`` too. A server that sends no
    ``raw_path`` (it is optional in ASGI) leaves the decoded path as the only source:
    then ``%2F`` cannot be told from ``/``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raw = scope.get("raw_path")
        if raw is not None and (b"%" in raw or not raw.isascii()):  # lifespan: no raw_path
            root: str = scope.get("root_path", "")
            prefix = root.encode("utf-8", "surrogateescape")
            if root and raw.startswith(prefix):
                raw = raw[len(prefix) :]
            else:
                root = ""
            scope = dict(scope, path=root + canonical_path(raw))
        await self.app(scope, receive, send)
