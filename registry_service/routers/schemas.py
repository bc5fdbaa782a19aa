"""``/schemas``: schemas by global id, the list of all schemas, the supported types."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from registry_service.auth import visible_filter
from registry_service.errors import MEDIA_TYPE, RegistryError, SchemaNotFoundError, json_response
from registry_service.routers import service_of
from registry_service.service import paginate

router = APIRouter()


class _PathNotFound(RegistryError):
    """What Confluent answers when ``{id}`` is not an integer: the framework's 404."""

    status = 404
    error_code = 404

    def __init__(self) -> None:
        super().__init__("HTTP 404 Not Found")


_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def _schema_id(value: str) -> int:
    """A Java ``int`` as Confluent parses ``{id}``; anything else is the framework's 404
    (ids <= 0 are valid integers that name no schema: 40403 later)."""
    text = value[1:] if value[:1] in ("+", "-") else value
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        raise _PathNotFound()
    number = int(value)
    if not _INT_MIN <= number <= _INT_MAX:
        raise _PathNotFound()
    return number


@router.get("/schemas/types")
async def schema_types(request: Request) -> Response:
    return json_response(service_of(request).schema_types())


@router.get("/schemas")
async def list_schemas(
    request: Request,
    subject_prefix: str = Query("", alias="subjectPrefix"),
    deleted: bool = False,
    latest_only: bool = Query(False, alias="latestOnly"),
    offset: int = 0,
    limit: int = -1,
) -> Response:
    items = await run_in_threadpool(
        service_of(request).list_schemas, subject_prefix, deleted, latest_only
    )
    visible = visible_filter(request.scope)
    if visible is not None:  # authorization on: only the subjects the caller may read
        items = [item for item in items if visible(item["subject"])]
    return json_response(paginate(items, offset, limit))


@router.get("/schemas/ids/{schema_id:segment}")
async def schema_by_id(
    request: Request,
    schema_id: str,
    subject: str | None = None,
    fmt: str | None = Query(None, alias="format"),
    fetch_max_id: bool = Query(False, alias="fetchMaxId"),
) -> Response:
    service = service_of(request)
    number = _schema_id(schema_id)
    cached = service.cached_schema_by_id(number, fmt, subject, fetch_max_id)
    if cached is not None:
        return json_response(cached)
    return json_response(
        await run_in_threadpool(service.schema_by_id, number, fmt, subject, fetch_max_id)
    )


@router.get("/schemas/guids/{guid:segment}")
async def schema_by_guid(
    request: Request, guid: str, fmt: str | None = Query(None, alias="format")
) -> Response:
    return json_response(await run_in_threadpool(service_of(request).schema_by_guid, guid, fmt))


@router.get("/schemas/guids/{guid:segment}/ids")
async def ids_by_guid(request: Request, guid: str) -> Response:
    return json_response(await run_in_threadpool(service_of(request).ids_by_guid, guid))


@router.get("/schemas/ids/{schema_id:segment}/schema")
async def schema_text_by_id(
    request: Request,
    schema_id: str,
    subject: str | None = None,
    fmt: str | None = Query(None, alias="format"),
) -> Response:
    text = await run_in_threadpool(
        service_of(request).schema_text_by_id, _schema_id(schema_id), fmt
    )
    return Response(text, media_type=MEDIA_TYPE)


@router.get("/schemas/ids/{schema_id:segment}/subjects")
async def subjects_by_id(
    request: Request,
    schema_id: str,
    subject: str | None = None,
    deleted: bool = False,
    offset: int = 0,
    limit: int = -1,
) -> Response:
    names = await run_in_threadpool(
        service_of(request).subjects_by_id, _schema_id(schema_id), subject, deleted
    )
    visible = visible_filter(request.scope)
    if visible is not None:  # none readable: as unknown as an id no subject uses
        names = [name for name in names if visible(name)]
        if not names:
            raise SchemaNotFoundError()
    return json_response(paginate(names, offset, limit))


@router.get("/schemas/ids/{schema_id:segment}/versions")
async def versions_by_id(
    request: Request,
    schema_id: str,
    subject: str | None = None,
    deleted: bool = False,
    offset: int = 0,
    limit: int = -1,
) -> Response:
    items = await run_in_threadpool(
        service_of(request).versions_by_id, _schema_id(schema_id), subject, deleted
    )
    visible = visible_filter(request.scope)
    if visible is not None:  # none readable: as unknown as an id no subject uses
        items = [item for item in items if visible(item["subject"])]
        if not items:
            raise SchemaNotFoundError()
    return json_response(paginate(items, offset, limit))
