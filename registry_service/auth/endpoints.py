"""Every route of the registry and the permission it needs: the one table.

``ENDPOINTS`` maps (method, route path template) to an ``Access`` class. The guard
(``guard``) looks each request up here before anything else answers it (the cached hot
paths included); ``tests/unit/registry_service/test_auth_endpoints.py`` walks the
application's routes and fails on any route missing from the table, and
``create_app`` refuses to start with authentication on if one is. A request that
matches no route (404/405 to come) needs an authenticated principal and nothing more.

Classes, after Karapace's checks:

- ``OPEN``: no credential needed (``/``, ``/health``, the API's own documentation).
- ``AUTHENTICATED``: any principal, the anonymous role included (answers that name no
  subject: the schema types, the contexts, the association stubs).
- ``LISTING``: any principal; the answer is filtered to the subjects it may read.
- ``SCHEMA_ID``/``SCHEMA_GUID``: a schema by id (guid): allowed when a subject the
  principal may read uses it; otherwise answered as an unknown id (40403), so ids
  cannot be probed.
- ``SUBJECT_READ``, ``SUBJECT_WRITE``, ``SUBJECT_DELETE``: ``Read``/``Write``/``Write``
  on ``Subject:<the path's subject>`` (lookups and compatibility checks are reads, as
  in Karapace; subject-level config is the subject's).
- ``CONFIG_READ``, ``CONFIG_WRITE``: ``Read``/``Write`` on ``Config:`` (global level).
- ``ADMIN``: the ``admin`` role only: mode changes (READONLY and IMPORT, in which ids
  are chosen by the caller, change what every writer may do) and deleting a context.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Access(Enum):
    OPEN = "open"
    AUTHENTICATED = "authenticated"
    LISTING = "listing"
    SCHEMA_ID = "schema id"
    SCHEMA_GUID = "schema guid"
    SUBJECT_READ = "subject read"
    SUBJECT_WRITE = "subject write"
    SUBJECT_DELETE = "subject delete"
    CONFIG_READ = "config read"
    CONFIG_WRITE = "config write"
    ADMIN = "admin"


_S = "/subjects/{subject:segment}"
_ID = "/schemas/ids/{schema_id:segment}"
_GUID = "/schemas/guids/{guid:segment}"
_COMPAT = "/compatibility/subjects/{subject:segment}/versions"

ENDPOINTS: Mapping[tuple[str, str], Access] = {
    ("GET", "/"): Access.OPEN,
    ("GET", "/health"): Access.OPEN,
    ("GET", "/openapi.json"): Access.OPEN,
    ("GET", "/docs"): Access.OPEN,
    ("GET", "/docs/oauth2-redirect"): Access.OPEN,
    ("GET", "/associations/resources/{namespace:segment}/{name:segment}"): Access.AUTHENTICATED,
    ("POST", "/associations"): Access.AUTHENTICATED,
    ("DELETE", "/associations/resources/{resource_id:segment}"): Access.AUTHENTICATED,
    ("GET", "/schemas/types"): Access.AUTHENTICATED,
    ("GET", "/contexts"): Access.AUTHENTICATED,
    ("DELETE", "/contexts/{context:segment}"): Access.ADMIN,
    # listings, filtered
    ("GET", "/subjects"): Access.LISTING,
    ("GET", "/schemas"): Access.LISTING,
    ("GET", _ID + "/subjects"): Access.LISTING,
    ("GET", _ID + "/versions"): Access.LISTING,
    # schemas by id or guid
    ("GET", _ID): Access.SCHEMA_ID,
    ("GET", _ID + "/schema"): Access.SCHEMA_ID,
    ("GET", _GUID): Access.SCHEMA_GUID,
    ("GET", _GUID + "/ids"): Access.SCHEMA_GUID,
    # one subject
    ("GET", _S + "/metadata"): Access.SUBJECT_READ,
    ("GET", _S + "/versions"): Access.SUBJECT_READ,
    ("GET", _S + "/versions/{version:segment}"): Access.SUBJECT_READ,
    ("GET", _S + "/versions/{version:segment}/schema"): Access.SUBJECT_READ,
    ("GET", _S + "/versions/{version:segment}/referencedby"): Access.SUBJECT_READ,
    ("POST", _S): Access.SUBJECT_READ,  # lookup
    ("POST", _COMPAT): Access.SUBJECT_READ,
    ("POST", _COMPAT + "/{version:segment}"): Access.SUBJECT_READ,
    ("POST", _S + "/versions"): Access.SUBJECT_WRITE,
    ("DELETE", _S): Access.SUBJECT_DELETE,
    ("DELETE", _S + "/versions/{version:segment}"): Access.SUBJECT_DELETE,
    ("GET", "/config/{subject:segment}"): Access.SUBJECT_READ,
    ("PUT", "/config/{subject:segment}"): Access.SUBJECT_WRITE,
    ("DELETE", "/config/{subject:segment}"): Access.SUBJECT_WRITE,
    ("GET", "/mode/{subject:segment}"): Access.SUBJECT_READ,
    ("PUT", "/mode/{subject:segment}"): Access.ADMIN,
    ("DELETE", "/mode/{subject:segment}"): Access.ADMIN,
    # global config and mode
    ("GET", "/config"): Access.CONFIG_READ,
    ("PUT", "/config"): Access.CONFIG_WRITE,
    ("DELETE", "/config"): Access.CONFIG_WRITE,
    ("GET", "/mode"): Access.CONFIG_READ,
    ("PUT", "/mode"): Access.ADMIN,
    ("DELETE", "/mode"): Access.ADMIN,
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A matched request: its route's class and the raw (canonical) segment of the
    parameter the check needs (subject, id or guid), if any."""

    access: Access
    template: str
    parameter: str | None


@dataclass(frozen=True, slots=True)
class _Pattern:
    segments: tuple[str | None, ...]  # None: a parameter
    parameter_index: int | None
    endpoint_access: Access
    template: str


_CHECKED_PARAMETERS = ("subject", "schema_id", "guid")


def _compile(template: str, access: Access) -> _Pattern:
    parts = template.split("/")
    segments: list[str | None] = []
    index = None
    for position, part in enumerate(parts):
        if part.startswith("{") and part.endswith("}"):
            segments.append(None)
            if part[1:-1].split(":", 1)[0] in _CHECKED_PARAMETERS:
                index = position
        else:
            segments.append(part)
    return _Pattern(tuple(segments), index, access, template)


class EndpointTable:
    """Matches a canonical path (``paths.PathSegments``) to its ``Endpoint``, as the
    routes would: one segment per parameter, literal segments preferred over parameters
    (no two routes of the table can match the same path otherwise; a test checks)."""

    def __init__(self, table: Mapping[tuple[str, str], Access] = ENDPOINTS) -> None:
        self._patterns: dict[tuple[str, int], list[_Pattern]] = {}
        for (method, template), access in table.items():
            pattern = _compile(template, access)
            self._patterns.setdefault((method, len(pattern.segments)), []).append(pattern)
        for patterns in self._patterns.values():
            # more literal segments first, so /schemas/types beats /schemas/{x} and so on
            patterns.sort(key=lambda p: sum(s is None for s in p.segments))

    def match(self, method: str, path: str) -> Endpoint | None:
        if method == "HEAD":
            method = "GET"
        parts = path.split("/")
        for pattern in self._patterns.get((method, len(parts)), ()):
            if _fits(pattern.segments, parts):
                index = pattern.parameter_index
                parameter = None if index is None else parts[index]
                return Endpoint(pattern.endpoint_access, pattern.template, parameter)
        return None


def _fits(segments: tuple[str | None, ...], parts: list[str]) -> bool:
    """Literal segments equal, parameters non-empty (``[^/]+``, as the routes')."""
    for literal, part in zip(segments, parts, strict=True):
        if (literal is None and not part) or (literal is not None and literal != part):
            return False
    return True


def app_routes(routes: Iterable[Any]) -> Iterator[tuple[str, str]]:
    """(method, path template) of every route of an application, HEAD left out
    (Starlette adds it to GET routes), included routers walked."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from app_routes(included.routes)
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                yield method, route.path


def unclassified(routes: Iterable[Any]) -> list[tuple[str, str]]:
    """Routes of an application that ``ENDPOINTS`` does not classify."""
    return [key for key in app_routes(routes) if key not in ENDPOINTS]
