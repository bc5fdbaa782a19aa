"""``/compatibility``: would this schema be accepted, and if not, why."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from registry_service.errors import json_response
from registry_service.models import read_schema_request
from registry_service.routers import service_of
from registry_service.service import parse_version

router = APIRouter()


@router.post("/compatibility/subjects/{subject:segment}/versions/{version:segment}")
async def against_version(
    request: Request,
    subject: str,
    version: str,
    normalize: bool = False,
    verbose: bool = False,
) -> Response:
    """Against one version (``latest`` on an empty subject is compatible)."""
    number = parse_version(version)
    body = await read_schema_request(request)
    return json_response(
        await run_in_threadpool(
            service_of(request).test_compatibility, subject, number, body, normalize, verbose
        )
    )


@router.post("/compatibility/subjects/{subject:segment}/versions")
async def against_all(
    request: Request, subject: str, normalize: bool = False, verbose: bool = False
) -> Response:
    """Against the live versions the subject's level selects (latest, or all if transitive)."""
    body = await read_schema_request(request)
    return json_response(
        await run_in_threadpool(
            service_of(request).test_compatibility_all, subject, body, normalize, verbose
        )
    )
