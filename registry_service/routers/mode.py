"""``/mode``: READWRITE, READONLY or IMPORT, global and per subject."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from registry_service.errors import json_response
from registry_service.models import ModeUpdateRequest, read_body
from registry_service.routers import service_of
from registry_service.routers.config import _scope

router = APIRouter()


@router.get("/mode")
async def get_global(
    request: Request, default_to_global: bool = Query(False, alias="defaultToGlobal")
) -> Response:
    return json_response(
        await run_in_threadpool(service_of(request).get_mode, None, default_to_global)
    )


@router.put("/mode")
async def put_global(request: Request, force: bool = False) -> Response:
    body = await read_body(request, ModeUpdateRequest)
    return json_response(
        await run_in_threadpool(service_of(request).put_mode, None, body.mode, force)
    )


@router.delete("/mode")
async def delete_global(request: Request) -> Response:
    return json_response(await run_in_threadpool(service_of(request).delete_mode, None))


@router.get("/mode/{subject:segment}")
async def get_subject(
    request: Request,
    subject: str,
    default_to_global: bool = Query(False, alias="defaultToGlobal"),
) -> Response:
    return json_response(
        await run_in_threadpool(service_of(request).get_mode, _scope(subject), default_to_global)
    )


@router.put("/mode/{subject:segment}")
async def put_subject(request: Request, subject: str, force: bool = False) -> Response:
    body = await read_body(request, ModeUpdateRequest)
    return json_response(
        await run_in_threadpool(service_of(request).put_mode, _scope(subject), body.mode, force)
    )


@router.delete("/mode/{subject:segment}")
async def delete_subject(request: Request, subject: str) -> Response:
    return json_response(await run_in_threadpool(service_of(request).delete_mode, _scope(subject)))
