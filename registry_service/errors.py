"""Confluent's error codes and the handlers that turn exceptions into their bodies.

Every error leaves the service as HTTP status + ``{"error_code": int, "message": str}``,
the status being the first three digits of the code (40401 -> 404). Clients such as
confluent-kafka retry 5xx answers, so bad input must never surface as a 500.

Messages quote what the client sent (subjects, versions), and that may be text no UTF-8
encoder accepts: a path segment of invalid UTF-8 decodes to lone surrogates
(``paths``). ``RegistryError`` escapes them when the message is made (``\\udcff``), and
``encode_json`` escapes any that reach an answer some other way, so an error body can
always be encoded and never turns into a 500 of its own.

413 (a request body above ``max_request_bytes``) is not one of Confluent's codes: its
framework (rest-utils' ``WebApplicationExceptionMapper``) answers errors of the HTTP
layer with the HTTP status as ``error_code`` (``{"error_code": 404, "message": "HTTP 404
Not Found"}``), and this one is of that kind - decided from the headers or the byte
count before any resource sees the request - so it is 413 with code 413. A schema above
``max_schema_bytes`` inside an acceptable body is Confluent's own 42209.

Hierarchy::

    RegistryError                      (status, error_code, message)
    ├── NotFoundError                  404
    │   ├── SubjectNotFoundError           40401
    │   ├── VersionNotFoundError           40402
    │   ├── SchemaNotFoundError            40403
    │   ├── SubjectSoftDeletedError        40404
    │   ├── SubjectNotSoftDeletedError     40405
    │   ├── VersionSoftDeletedError        40406
    │   ├── VersionNotSoftDeletedError     40407
    │   ├── SubjectConfigNotFoundError     40408
    │   ├── SubjectModeNotFoundError       40409
    │   └── AssociationNotFoundError       40410
    ├── IncompatibleSchemaError        409 (code 409, as CSR <= 8.1 and Karapace)
    ├── UnprocessableError             422
    │   ├── InvalidSchemaError             42201
    │   ├── InvalidVersionError            42202
    │   ├── InvalidCompatibilityLevelError 42203
    │   ├── InvalidModeError               42204
    │   ├── OperationNotPermittedError     42205
    │   ├── ReferenceExistsError           42206
    │   ├── ImportIdMismatchError          42207
    │   ├── InvalidSubjectError            42208
    │   ├── SchemaTooLargeError            42209
    │   ├── InvalidRuleSetError            42210
    │   ├── ContextNotEmptyError           42211
    │   ├── AssociationsNotSupportedError  42212
    │   └── RequestValidationFailed        422 (malformed JSON, wrong types)
    ├── RequestTooLargeError           413 (body above max_request_bytes; code 413)
    └── StoreFailure                   500
        ├── BackendStoreError              50001
        ├── OperationTimeoutError          50002
        └── StoreUnavailableError          50003 (database unreachable; CSR: leader unreachable)
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from registry_service.storage import StoreError, StoreTimeoutError, StoreUnavailableError

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"

INVALID_LEVEL_MESSAGE = (
    "Invalid compatibility level. Valid values are none, backward, forward, full, "
    "backward_transitive, forward_transitive, and full_transitive"
)
INVALID_MODE_MESSAGE = "Invalid mode. Valid values are READWRITE, READONLY, IMPORT and FORWARD."


def safe_text(text: str) -> str:
    """``text`` with lone surrogates written as escapes (``\\udc00``), so UTF-8 can encode
    it; text that has none (all valid Unicode) is returned as it is."""
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class RegistryError(Exception):
    """Root of every error the API answers with; carries its HTTP status and code."""

    status: int = 500
    error_code: int = 500

    def __init__(self, message: str) -> None:
        message = safe_text(message)
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "message": self.message}


class NotFoundError(RegistryError):
    status = 404
    error_code = 404


class SubjectNotFoundError(NotFoundError):
    error_code = 40401

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject '{subject}' not found.")


class VersionNotFoundError(NotFoundError):
    error_code = 40402

    def __init__(self, version: int | str) -> None:
        super().__init__(f"Version {version} not found.")


class SchemaNotFoundError(NotFoundError):
    error_code = 40403

    def __init__(self, schema_id: int | None = None) -> None:
        super().__init__(
            "Schema not found" if schema_id is None else f"Schema {schema_id} not found"
        )


class SubjectSoftDeletedError(NotFoundError):
    error_code = 40404

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently"
        )


class SubjectNotSoftDeletedError(NotFoundError):
    error_code = 40405

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' was not deleted first before being permanently deleted"
        )


class VersionSoftDeletedError(NotFoundError):
    error_code = 40406

    def __init__(self, subject: str, version: int) -> None:
        super().__init__(
            f"Subject '{subject}' Version {version} was soft deleted."
            "Set permanent=true to delete permanently"
        )


class VersionNotSoftDeletedError(NotFoundError):
    error_code = 40407

    def __init__(self, subject: str, version: int) -> None:
        super().__init__(
            f"Subject '{subject}' Version {version} was not deleted first before being "
            "permanently deleted"
        )


class SubjectConfigNotFoundError(NotFoundError):
    error_code = 40408

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' does not have subject-level compatibility configured"
        )


class SubjectModeNotFoundError(NotFoundError):
    error_code = 40409

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject '{subject}' does not have subject-level mode configured")


class AssociationNotFoundError(NotFoundError):
    """Associations (CSR 8.2) are not implemented; a 404 lets CKP fall back to topic names."""

    error_code = 40410

    def __init__(self, resource: str) -> None:
        super().__init__(f"Association for '{resource}' not found.")


class IncompatibleSchemaError(RegistryError):
    status = 409
    error_code = 409

    def __init__(self, subject: str, messages: list[str]) -> None:
        super().__init__(
            "Schema being registered is incompatible with an earlier schema for subject "
            f'"{subject}", details: [{", ".join(messages)}]'
        )
        self.messages = messages


class UnprocessableError(RegistryError):
    status = 422
    error_code = 422


class InvalidSchemaError(UnprocessableError):
    error_code = 42201


class InvalidVersionError(UnprocessableError):
    error_code = 42202

    def __init__(self, version: str) -> None:
        super().__init__(
            f"The specified version '{version}' is not a valid version id. Allowed values are "
            'between [1, 2^31-1] and the string "latest"'
        )


class InvalidCompatibilityLevelError(UnprocessableError):
    error_code = 42203

    def __init__(self) -> None:
        super().__init__(INVALID_LEVEL_MESSAGE)


class InvalidModeError(UnprocessableError):
    error_code = 42204

    def __init__(self) -> None:
        super().__init__(INVALID_MODE_MESSAGE)


class OperationNotPermittedError(UnprocessableError):
    error_code = 42205


class ReferenceExistsError(UnprocessableError):
    error_code = 42206

    def __init__(self, subject: str, version: int) -> None:
        super().__init__(
            "One or more references exist to the schema "
            f"{{magic=1,keytype=SCHEMA,subject={subject},version={version}}}."
        )


class ImportIdMismatchError(UnprocessableError):
    error_code = 42207

    def __init__(self) -> None:
        super().__init__("The ID of an imported schema does not match the existing ID")


class AssociationsNotSupportedError(UnprocessableError):
    """Creating associations (CSR 8.2) is refused; a 422 so clients do not retry."""

    error_code = 42212

    def __init__(self) -> None:
        super().__init__("Associations are not supported by this registry")


class InvalidSubjectError(UnprocessableError):
    error_code = 42208

    def __init__(self, subject: str) -> None:
        super().__init__(f"The specified subject '{subject}' is not a valid.")


class SchemaTooLargeError(UnprocessableError):
    """The schema text is above ``max_schema_bytes`` (Confluent: above what one record of
    its Kafka store may hold, about 1 MiB by default)."""

    error_code = 42209

    def __init__(self, size_bytes: int, limit_bytes: int) -> None:
        super().__init__(
            f"Schema is too large: {size_bytes} bytes of UTF-8, more than the {limit_bytes} "
            "bytes this registry accepts (setting REGCAST_MAX_SCHEMA_BYTES)"
        )


class InvalidRuleSetError(UnprocessableError):
    """A ``ruleSet`` (in a register body, or a config's default/override) that Confluent's
    ``RuleSet.validate`` would refuse: a rule without a valid name or a type, a duplicate
    name, a mode that does not fit its list."""

    error_code = 42210

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid rule set: {reason}")


class ContextNotEmptyError(UnprocessableError):
    error_code = 42211

    def __init__(self, context: str) -> None:
        super().__init__(f"The specified context '{context}' is not empty.")


class RequestValidationFailed(UnprocessableError):
    """Malformed JSON or a field of the wrong type (status and code 422)."""


class RequestTooLargeError(RegistryError):
    """The request body is above ``max_request_bytes`` (see the module docstring for the
    code). The connection is closed after the answer rather than read to its end."""

    status = 413
    error_code = 413

    def __init__(self, limit_bytes: int, size_bytes: int | None = None) -> None:
        size = "more than" if size_bytes is None else f"{size_bytes} bytes,"
        super().__init__(
            f"Request body is too large: {size} the {limit_bytes} bytes this registry "
            "accepts (setting REGCAST_MAX_REQUEST_BYTES)"
        )


class StoreFailure(RegistryError):
    status = 500


class BackendStoreError(StoreFailure):
    error_code = 50001


class OperationTimeoutError(StoreFailure):
    error_code = 50002


class StoreUnavailableFailure(StoreFailure):
    error_code = 50003


def encode_json(content: Any) -> bytes:
    """``content`` as JSON bytes, whatever strings it holds.

    orjson refuses strings with lone surrogates; then the content is copied with every
    string passed through ``safe_text`` and encoded again. The copy is made only on that
    failure, so answers that encode (all of them but some error bodies) cost nothing more.
    """
    try:
        return orjson.dumps(content)
    except orjson.JSONEncodeError:
        return orjson.dumps(_safe_copy(content))


def _safe_copy(value: Any) -> Any:
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {_safe_copy(k): _safe_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe_copy(v) for v in value]
    return value


def json_response(content: Any, status_code: int = 200) -> Response:
    """Serialise with orjson and label with the registry's media type."""
    return Response(encode_json(content), status_code=status_code, media_type=MEDIA_TYPE)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", ""))
    return "; ".join(parts) or "Unprocessable request"


def store_failure(exc: StoreError) -> StoreFailure:
    """Map a storage-level failure onto Confluent's 5000x codes (and log it: whichever
    layer answers the request, the operator sees the store's own message)."""
    log.warning("store failure: %s", exc)
    if isinstance(exc, StoreTimeoutError):
        return OperationTimeoutError(f"Operation timed out: {exc}")
    if isinstance(exc, StoreUnavailableError):
        return StoreUnavailableFailure(f"Error while reaching the backend store: {exc}")
    return BackendStoreError(f"Error in the backend data store: {exc}")


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure, including the framework's own, to a Confluent-shaped body."""

    async def on_registry_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RegistryError)
        return json_response(exc.body(), exc.status)

    async def on_store_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StoreError)
        failure = store_failure(exc)
        return json_response(failure.body(), failure.status)

    async def on_validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return json_response({"error_code": 422, "message": _describe_validation(exc)}, 422)

    async def on_http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = {404: "HTTP 404 Not Found", 405: "HTTP 405 Method Not Allowed"}.get(
            exc.status_code, f"HTTP {exc.status_code} {exc.detail}"
        )
        return json_response({"error_code": exc.status_code, "message": message}, exc.status_code)

    async def on_unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return json_response({"error_code": 500, "message": f"Internal Server Error: {exc}"}, 500)

    app.add_exception_handler(RegistryError, on_registry_error)
    app.add_exception_handler(StoreError, on_store_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
