"""``/contexts``: list the contexts, delete an empty one (``service.contexts``)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from registry_service.errors import json_response
from registry_service.routers import service_of
from registry_service.service import paginate

router = APIRouter()


@router.get("/contexts")
async def list_contexts(
    request: Request,
    offset: int = 0,
    limit: int = -1,
    context_prefix: str = Query("", alias="contextPrefix"),
) -> Response:
    found = await run_in_threadpool(service_of(request).contexts, context_prefix)
    return json_response(paginate(found, offset, limit))


@router.delete("/contexts/{context:segment}")
async def delete_context(request: Request, context: str) -> Response:
    await run_in_threadpool(service_of(request).delete_context, context)
    return Response(status_code=204)
