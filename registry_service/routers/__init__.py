"""One router per REST resource; each turns HTTP into ``RegistryService`` calls.

Subjects may contain ``/`` (Protobuf references use import paths such as
``common/address.proto`` as subjects, which clients send as ``%2F``). Starlette decodes
the path before routing, so subject parameters use the ``path`` converter and routes
with more path after the subject are declared before the shorter ones.

Handlers that can be answered from the cache are ``async`` and try the service's
``cached_*`` method first; everything that may wait on the database runs on a worker
thread (``run_in_threadpool``) so one slow query never stalls the event loop.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

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
