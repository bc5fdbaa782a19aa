"""One router per REST resource; each turns HTTP into ``RegistryService`` calls.

Subjects may contain ``/`` (Protobuf references use import paths such as
``common/address.proto`` as subjects, which clients send as ``%2F``). Every path
parameter is declared ``{name:segment}``: exactly one segment of the raw path, decoded
after the split (``paths``), so ``%2F`` never moves a request to another route and a
parameter never spans segments. No route may use ``path`` or the plain ``str``
converter: those would see the canonical path's escapes or cross segments.

Handlers that can be answered from the cache are ``async`` and try the service's
``cached_*`` method first; everything that may wait on the database runs on a worker
thread (``run_in_threadpool``) so one slow query never stalls the event loop.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

import registry_service.paths  # noqa: F401  (registers the "segment" converter first)
from registry_service.service import RegistryService


def service_of(request: Request) -> RegistryService:
    service: RegistryService = request.app.state.service
    return service


def all_routers() -> list[APIRouter]:
    from registry_service.routers import (
        compatibility,
        config,
        contexts,
        mode,
        root,
        schemas,
        subjects,
    )

    return [
        root.router,
        subjects.router,
        schemas.router,
        compatibility.router,
        config.router,
        mode.router,
        contexts.router,
    ]
