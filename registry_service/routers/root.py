"""``GET /``, the health check, and the association lookup newer clients probe."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from registry_service.errors import (
    AssociationNotFoundError,
    AssociationsNotSupportedError,
    json_response,
)
from registry_service.routers import service_of

router = APIRouter()


@router.get("/")
async def root() -> Response:
    return json_response({})


@router.get("/health")
async def health(request: Request) -> Response:
    """200 ``{"status": "UP"}`` when the database answers; a 5000x error otherwise."""
    return json_response(await run_in_threadpool(service_of(request).health))


@router.get("/associations/resources/{namespace:segment}/{name:segment}")
async def associations(namespace: str, name: str) -> Response:
    """confluent-kafka >= 2.14 asks this before its first serialize and falls back to
    ``{topic}-value`` only on a 404; associations are not implemented here."""
    raise AssociationNotFoundError(name)


@router.post("/associations")
async def create_association() -> Response:
    raise AssociationsNotSupportedError()


@router.delete("/associations/resources/{resource_id:segment}")
async def delete_associations(resource_id: str) -> Response:
    raise AssociationNotFoundError(resource_id)
