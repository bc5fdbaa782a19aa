"""``/config``: compatibility level (and normalize), global and per subject.

GET answers ``compatibilityLevel``; PUT takes and echoes ``compatibility``.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from registry_service.errors import json_response
from registry_service.models import ConfigUpdateRequest, read_body
from registry_service.routers import service_of
from registry_service.service import CONTEXT_PREFIX

router = APIRouter()


def _scope(subject: str | None) -> str | None:
    """``/config/:.:`` is the default context, i.e. the global config."""
    if subject in (None, "", CONTEXT_PREFIX):
        return None
    return subject


@router.get("/config")
async def get_global(
    request: Request, default_to_global: bool = Query(False, alias="defaultToGlobal")
) -> Response:
    return json_response(
        await run_in_threadpool(service_of(request).get_config, None, default_to_global)
    )


@router.put("/config")
async def put_global(request: Request) -> Response:
    body = await read_body(request, ConfigUpdateRequest)
    return json_response(
        await run_in_threadpool(
            service_of(request).put_config,
            None,
            body.level,
            body.normalize,
            body.contract_defaults(),
        )
    )


@router.delete("/config")
async def delete_global(request: Request) -> Response:
    return json_response(await run_in_threadpool(service_of(request).delete_config, None))


@router.get("/config/{subject:segment}")
async def get_subject(
    request: Request,
    subject: str,
    default_to_global: bool = Query(False, alias="defaultToGlobal"),
) -> Response:
    return json_response(
        await run_in_threadpool(service_of(request).get_config, _scope(subject), default_to_global)
    )


@router.put("/config/{subject:segment}")
async def put_subject(request: Request, subject: str) -> Response:
    body = await read_body(request, ConfigUpdateRequest)
    return json_response(
        await run_in_threadpool(
            service_of(request).put_config,
            _scope(subject),
            body.level,
            body.normalize,
            body.contract_defaults(),
        )
    )


@router.delete("/config/{subject:segment}")
async def delete_subject(request: Request, subject: str) -> Response:
    return json_response(
        await run_in_threadpool(service_of(request).delete_config, _scope(subject))
    )
