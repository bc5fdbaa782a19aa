"""Request bodies, and reading them whatever the client put in Content-Type.

Bodies are parsed here rather than by FastAPI's body binding because Confluent clients
send ``application/vnd.schemaregistry.v1+json``, ``application/json`` and sometimes
``application/octet-stream``, and every failure must be a 422 with Confluent's body,
never a 500. Unknown properties are ignored (newer clients send ``schemaTagsToAdd``...);
``metadata`` and ``ruleSet`` are validated here (``service.data_contracts``).

``schema_request_from_json`` is the one judgement of a register / lookup /
compatibility body: the routers call it (``read_schema_request``) and so does the
registration shortcut in ``middleware.HotPaths``, so the two cannot disagree on what a
body means or which are refused (a ``schemaType`` of ``{}`` or ``false`` is a 422 on
both, never AVRO).

Responses are plain dicts built by the service in Confluent's shape (fields omitted
when empty, as its ``@JsonInclude(NON_EMPTY)`` does), so they have no models here.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from registry_service.errors import (
    InvalidSchemaError,
    RequestValidationFailed,
    SchemaTooLargeError,
)
from registry_service.formats import SchemaReference
from registry_service.service import SchemaRequest
from registry_service.service.data_contracts import (
    CONFIG_KEYS,
    Contract,
    ContractDefaults,
    metadata_from_json,
    rule_set_from_json,
)

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

    def to_request(self, max_schema_bytes: int) -> SchemaRequest:
        """The service's request; 42209 for a schema above ``max_schema_bytes`` and 42201
        for one holding NUL.

        NUL is valid in no format (JSON and .proto text allow no raw control characters
        where a NUL could stand, a base64 descriptor has none) and PostgreSQL cannot store
        it, so it is refused here, before any store or parser sees it. An absent or null
        ``schemaType`` is AVRO; any other string is judged by the service (``""`` is an
        invalid type, as in Confluent).
        """
        schema = self.schema_
        if len(schema) * 4 > max_schema_bytes:  # else even 4-byte characters fit
            size = len(schema) if schema.isascii() else _utf8_length(schema)
            if size > max_schema_bytes:
                raise SchemaTooLargeError(size, max_schema_bytes)
        if "\x00" in schema:
            raise InvalidSchemaError(
                "Invalid schema, details: the schema text holds a NUL character (U+0000)"
            )
        return SchemaRequest(
            schema=schema,
            schema_type="AVRO" if self.schema_type is None else self.schema_type,
            references=tuple(
                SchemaReference(r.name, r.subject, r.version) for r in self.references or ()
            ),
            version=self.version,
            id=self.id,
            contract=Contract(metadata_from_json(self.metadata), rule_set_from_json(self.rule_set)),
        )


class ConfigUpdateRequest(BaseModel):
    """``PUT /config``: the level key is ``compatibility`` (``compatibilityLevel`` accepted)."""

    model_config = ConfigDict(extra="ignore")

    compatibility: Any = None
    compatibilityLevel: Any = None  # the wire name
    normalize: bool | None = None
    defaultMetadata: Any = None
    overrideMetadata: Any = None
    defaultRuleSet: Any = None
    overrideRuleSet: Any = None

    def contract_defaults(self) -> ContractDefaults | None:
        """The data-contract fields of the body, validated; None when it sets none."""
        body = {key: getattr(self, key) for key in CONFIG_KEYS}
        if all(value is None for value in body.values()):
            return None
        return ContractDefaults.from_request(body)

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


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _validate(raw: bytes, model: type[M]) -> M:
    """``raw`` as a JSON object validated by ``model``, or a 422 naming what is wrong."""
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


async def read_body(request: Request, model: type[M]) -> M:
    """Parse the JSON body into ``model`` or raise a 422 naming what is wrong."""
    return _validate(await request.body(), model)


def schema_request_from_json(raw: bytes, max_schema_bytes: int) -> SchemaRequest:
    """A register / lookup / compatibility body, judged (see the module docstring)."""
    return _validate(raw, RegisterSchemaRequest).to_request(max_schema_bytes)


async def read_schema_request(request: Request) -> SchemaRequest:
    settings = request.app.state.settings
    return schema_request_from_json(await request.body(), settings.max_schema_bytes)
