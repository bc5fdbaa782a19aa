"""``/contexts``: only Confluent's default context ``.`` exists here."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from registry_service.errors import json_response
from registry_service.routers import service_of
from registry_service.service import paginate

router = APIRouter()


@router.get("/contexts")
async def list_contexts(request: Request, offset: int = 0, limit: int = -1) -> Response:
    return json_response(paginate(service_of(request).contexts(), offset, limit))


@router.delete("/contexts/{context:segment}")
async def delete_context(request: Request, context: str) -> Response:
    await run_in_threadpool(service_of(request).delete_context, context)
    return Response(status_code=204)
