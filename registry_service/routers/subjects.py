"""``/subjects``: list subjects, register, look up, read and delete versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from registry_service.auth import visible_filter
from registry_service.errors import MEDIA_TYPE, json_response
from registry_service.models import read_schema_request
from registry_service.routers import service_of
from registry_service.service import paginate, parse_version

router = APIRouter()


@router.get("/subjects")
async def list_subjects(
    request: Request,
    subject_prefix: str | None = Query(None, alias="subjectPrefix"),
    subject: str | None = Query(None, description="confluent-kafka's name for subjectPrefix"),
    deleted: bool = False,
    deleted_only: bool = Query(False, alias="deletedOnly"),
    deleted_only_snake: bool = Query(False, alias="deleted_only"),
    offset: int = 0,
    limit: int = -1,
) -> Response:
    names = await run_in_threadpool(
        service_of(request).list_subjects,
        subject_prefix or subject or "",
        deleted,
        deleted_only or deleted_only_snake,
    )
    visible = visible_filter(request.scope)
    if visible is not None:  # authorization on: only the subjects the caller may read
        names = [name for name in names if visible(name)]
    return json_response(paginate(names, offset, limit))


@router.get("/subjects/{subject:segment}/metadata")
async def latest_with_metadata(
    request: Request,
    subject: str,
    key: Annotated[list[str] | None, Query()] = None,
    value: Annotated[list[str] | None, Query()] = None,
    deleted: bool = False,
    fmt: str | None = Query(None, alias="format"),
) -> Response:
    """The latest version whose metadata holds every ``key``/``value`` pair."""
    pairs = list(zip(key or [], value or [], strict=False))
    return json_response(
        await run_in_threadpool(
            service_of(request).latest_with_metadata, subject, pairs, deleted, fmt
        )
    )


@router.get("/subjects/{subject:segment}/versions/{version:segment}/referencedby")
async def referenced_by(
    request: Request,
    subject: str,
    version: str,
    deleted: bool = False,
    offset: int = 0,
    limit: int = -1,
) -> Response:
    ids = await run_in_threadpool(
        service_of(request).referenced_by, subject, parse_version(version), deleted
    )
    return json_response(paginate(ids, offset, limit))


@router.get("/subjects/{subject:segment}/versions/{version:segment}/schema")
async def get_version_schema(
    request: Request,
    subject: str,
    version: str,
    deleted: bool = False,
    fmt: str | None = Query(None, alias="format"),
) -> Response:
    text = await run_in_threadpool(
        service_of(request).get_version_schema, subject, parse_version(version), deleted, fmt
    )
    return Response(text, media_type=MEDIA_TYPE)


@router.get("/subjects/{subject:segment}/versions/{version:segment}")
async def get_version(
    request: Request,
    subject: str,
    version: str,
    deleted: bool = False,
    fmt: str | None = Query(None, alias="format"),
) -> Response:
    service = service_of(request)
    number = parse_version(version)
    cached = service.cached_version(subject, number, deleted, fmt)
    if cached is not None:
        return json_response(cached)
    return json_response(
        await run_in_threadpool(service.get_version, subject, number, deleted, fmt)
    )


@router.delete("/subjects/{subject:segment}/versions/{version:segment}")
async def delete_version(
    request: Request, subject: str, version: str, permanent: bool = False
) -> Response:
    deleted = await run_in_threadpool(
        service_of(request).delete_version, subject, parse_version(version), permanent
    )
    return json_response(deleted)


@router.get("/subjects/{subject:segment}/versions")
async def list_versions(
    request: Request,
    subject: str,
    deleted: bool = False,
    deleted_only: bool = Query(False, alias="deletedOnly"),
    deleted_only_snake: bool = Query(False, alias="deleted_only"),
    deleted_as_negative: bool = Query(False, alias="deletedAsNegative"),
    offset: int = 0,
    limit: int = -1,
) -> Response:
    versions = await run_in_threadpool(
        service_of(request).list_versions,
        subject,
        deleted,
        deleted_only or deleted_only_snake,
        deleted_as_negative,
    )
    return json_response(paginate(versions, offset, limit))


@router.post("/subjects/{subject:segment}/versions")
async def register(request: Request, subject: str, normalize: bool = False) -> Response:
    """Register (or find) a schema under ``subject``; the answer carries its global id."""
    body = await read_schema_request(request)
    service = service_of(request)
    cached = service.cached_register(subject, body, normalize)
    if cached is not None:
        return json_response(cached)
    return json_response(await run_in_threadpool(service.register, subject, body, normalize))


@router.post("/subjects/{subject:segment}")
async def lookup(
    request: Request,
    subject: str,
    normalize: bool = False,
    deleted: bool = False,
    fmt: str | None = Query(None, alias="format"),
) -> Response:
    body = await read_schema_request(request)
    return json_response(
        await run_in_threadpool(service_of(request).lookup, subject, body, normalize, deleted, fmt)
    )


@router.delete("/subjects/{subject:segment}")
async def delete_subject(request: Request, subject: str, permanent: bool = False) -> Response:
    versions = await run_in_threadpool(service_of(request).delete_subject, subject, permanent)
    return json_response(versions)
