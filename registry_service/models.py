"""Request bodies, and reading them whatever the client put in Content-Type.

Bodies are parsed here rather than by FastAPI's body binding because Confluent clients
send ``application/vnd.schemaregistry.v1+json``, ``application/json`` and sometimes
``application/octet-stream``, and every failure must be a 422 with Confluent's body,
never a 500. Unknown properties are ignored (newer clients send ``metadata``,
``ruleSet``, ``schemaTagsToAdd``...).

Responses are plain dicts built by the service in Confluent's shape (fields omitted
when empty, as its ``@JsonInclude(NON_EMPTY)`` does), so they have no models here.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from registry_service.errors import RequestValidationFailed
from registry_service.formats import SchemaReference
from registry_service.service import SchemaRequest

M = TypeVar("M", bound=BaseModel)

# Confluent's ids and versions are Java ints; larger numbers are a 422, not a 500 later.
JavaInt = Annotated[int, Field(strict=True, ge=-(2**31), le=2**31 - 1)]


class ReferenceModel(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: StrictStr
    subject: StrictStr
    version: JavaInt


class RegisterSchemaRequest(BaseModel):
    """Body of register, lookup and compatibility calls."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    schema_: StrictStr = Field(alias="schema")
    schema_type: StrictStr | None = Field(default=None, alias="schemaType")
    references: list[ReferenceModel] | None = None
    version: JavaInt | None = None
    id: JavaInt | None = None
    metadata: Any = None
    rule_set: Any = Field(default=None, alias="ruleSet")

    def to_request(self) -> SchemaRequest:
        return SchemaRequest(
            schema=self.schema_,
            schema_type=self.schema_type or "AVRO",
            references=tuple(
                SchemaReference(r.name, r.subject, r.version) for r in self.references or ()
            ),
            version=self.version,
            id=self.id,
        )


class ConfigUpdateRequest(BaseModel):
    """``PUT /config``: the level key is ``compatibility`` (``compatibilityLevel`` accepted)."""

    model_config = ConfigDict(extra="ignore")

    compatibility: Any = None
    compatibilityLevel: Any = None  # the wire name
    normalize: bool | None = None

    @property
    def level(self) -> Any:
        return self.compatibility if self.compatibility is not None else self.compatibilityLevel


class ModeUpdateRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    mode: Any = None


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error["msg"])
    return "; ".join(parts)


async def read_body(request: Request, model: type[M]) -> M:
    """Parse the JSON body into ``model`` or raise a 422 naming what is wrong."""
    raw = await request.body()
    if not raw.strip():
        raise RequestValidationFailed("Request body is missing; a JSON object is expected")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestValidationFailed(f"Malformed JSON in request body: {exc}") from None
    if not isinstance(data, dict):
        raise RequestValidationFailed("Request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationFailed(f"Invalid request body: {_describe(exc)}") from None


async def read_schema_request(request: Request) -> SchemaRequest:
    return (await read_body(request, RegisterSchemaRequest)).to_request()
