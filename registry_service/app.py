"""The FastAPI application: ``uvicorn --factory registry_service.app:create_app``.

``create_app`` opens the store at once (creating tables if needed), so a bad
``REGCAST_DATABASE_URL`` stops the process before it listens. The lifespan starts the
cache watcher and closes the store on shutdown. Requests pass ``middleware.MediaTypes``
(content negotiation), ``paths.PathSegments`` (the path's segments taken from the raw
path, so ``%2F`` stays inside its segment), ``middleware.RequestBodyLimit`` (413 above
``max_request_bytes``) and ``middleware.HotPaths`` (cache hits of the two hottest reads,
and plain registrations) before FastAPI routes them. With ``REGCAST_AUTH=basic``,
``auth.guard.AuthGuard`` sits between the path's segments and the body limit, so every
answer (the hot paths' included) is given only to callers allowed to see it; with
authentication off (the default) it is not in the stack at all, and a one-shot
``auth.exposure.ExposureWarning`` logs a warning if requests arrive beyond loopback.
``auth.audit.AuditTrail`` (behind the guard) records every write; ``access_log.AccessLog``
(outermost, ``REGCAST_ACCESS_LOG``) logs every request, both written off the event loop by
threads the lifespan starts and stops.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from registry_service.access_log import AccessLog, AccessLogWriter
from registry_service.auth import audit
from registry_service.auth.endpoints import unclassified
from registry_service.auth.exposure import ExposureWarning, warn_if_exposed
from registry_service.context_paths import ContextPaths
from registry_service.errors import install_error_handlers
from registry_service.middleware import HotPaths, MediaTypes, RequestBodyLimit
from registry_service.paths import PathSegments
from registry_service.routers import all_routers
from registry_service.service import RegistryService
from registry_service.settings import Settings
from registry_service.storage import open_store


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build one registry process's application (settings from ``REGCAST_*`` by default)."""
    settings = settings or Settings()
    store = open_store(
        settings.database_url,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        pool_size=settings.database_pool_size,
    )
    service = RegistryService(store, settings)
    warned_at_start = not settings.auth_schemes and warn_if_exposed(settings.listen_host)
    access_log = AccessLogWriter.open(settings.access_log_file) if settings.access_log else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.start()
        stop_audit = audit.install(settings.audit_file)
        if access_log is not None:
            access_log.start()
        # Everything alive now (modules, FastAPI, SQLAlchemy, protoc...) lives as long as
        # the process: keep it out of the garbage collector's full collections, which
        # otherwise walk ~100k such objects (~50 ms here) in the middle of some request.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            service.close()
            if access_log is not None:
                access_log.stop()
            stop_audit()

    app = FastAPI(
        title="regcast schema registry",
        description="A Confluent-compatible schema registry",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.service = service
    install_error_handlers(app)
    for router in all_routers():
        app.include_router(router)
    # The last added runs first: negotiation, then the path's segments (which HotPaths
    # and the routes both read), then the body limit, then the shortcuts.
    app.add_middleware(HotPaths, service=service)
    app.add_middleware(RequestBodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(audit.AuditTrail)
    if settings.auth_schemes:
        missing = unclassified(app.routes)
        if missing:  # fail closed: a route nobody classified would be open to everyone
            raise RuntimeError(f"routes missing from auth.endpoints.ENDPOINTS: {missing}")
        from registry_service.auth.guard import AuthGuard, Users

        users = Users.from_settings(settings)  # now: Starlette builds middleware lazily
        app.add_middleware(AuthGuard, service=service, settings=settings, users=users)
    else:
        app.add_middleware(ExposureWarning, warned=warned_at_start)
    app.add_middleware(ContextPaths)  # /contexts/{c}/..., on PathSegments' canonical path
    app.add_middleware(PathSegments)
    app.add_middleware(MediaTypes)
    if access_log is not None:
        app.add_middleware(AccessLog, writer=access_log)
    return app
