"""Every error ``serdes`` raises, in one tree rooted at :class:`SerializationError`.

Serializers run inside a producer's ``send()`` and deserializers inside a consumer loop,
so callers want one ``except SerializationError`` that catches everything a serde can
throw, including the registry calls a serde makes on its first record. The registry
client is also used on its own (CLI, tooling); there ``except RegistryError`` is the
natural catch, so :class:`RegistryError` is the root of the client's branch.

Hierarchy::

    SerializationError                    root of the package (also catches registry errors)
    ├── FramingError                      bytes are not Confluent wire format
    │   ├── InvalidMagicByteError         first byte is not 0
    │   └── TruncatedFrameError           shorter than header / message-index array
    ├── SchemaError                       a schema that cannot be loaded, parsed or generated
    ├── RecordError                       a record does not fit its schema (names the field)
    │   └── RecordValidationError         fails JSON Schema validation (.path, .subject,
    │                                     .schema_id)
    ├── SchemaEvolutionError              writer schema cannot be read with the reader schema
    │                                     (names the field)
    ├── RuleError                         a data-contract rule failed or cannot run
    │   │                                 (.rule_name, .subject; names the rule)
    │   └── RuleConditionError            a CONDITION rule was false or raised
    └── RegistryError                     any failure talking to the registry
        │                                 (.http_status, .error_code, .message)
        ├── SubjectNotFoundError          40401
        ├── VersionNotFoundError          40402
        ├── SchemaNotFoundError           40403 (unknown schema id / schema not under subject)
        ├── IncompatibleSchemaError       409 / 40901
        ├── InvalidSchemaError            42201
        ├── InvalidVersionError           42202
        ├── InvalidCompatibilityLevelError 42203
        ├── RegistryAuthenticationError   401 / 40101: no, wrong or expired credentials (or
        │                                 the OIDC token endpoint refused the client)
        ├── RegistryAuthorizationError    403 / 40301: authenticated, not permitted
        └── RegistryUnavailableError      retries exhausted on 5xx / 408 / 429 / connection
                                          errors; ``retriable`` is True

``RegistryError.error_code`` is the registry's own code (``40401`` ...), or ``-1`` when the
body was not a Confluent error document (a proxy's HTML page, a connection failure).
Use :func:`registry_error_for` to build the right subclass from an HTTP answer.
"""

from __future__ import annotations

__all__ = [
    "FramingError",
    "IncompatibleSchemaError",
    "InvalidCompatibilityLevelError",
    "InvalidMagicByteError",
    "InvalidSchemaError",
    "InvalidVersionError",
    "RecordError",
    "RecordValidationError",
    "RegistryAuthenticationError",
    "RegistryAuthorizationError",
    "RegistryError",
    "RegistryUnavailableError",
    "RuleConditionError",
    "RuleError",
    "SchemaError",
    "SchemaEvolutionError",
    "SchemaNotFoundError",
    "SerializationError",
    "SubjectNotFoundError",
    "TruncatedFrameError",
    "VersionNotFoundError",
    "registry_error_for",
]

#: HTTP statuses worth retrying: the registry (or a proxy in front of it) is overloaded,
#: restarting or timed out. Anything else is the caller's mistake and retrying it would
#: only repeat the same answer.
RETRIABLE_HTTP_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})


class SerializationError(Exception):
    """Root of every error raised by ``serdes``."""


class FramingError(SerializationError):
    """The bytes are not in Confluent's wire format (magic byte, schema id, indexes)."""


class InvalidMagicByteError(FramingError):
    """The first byte is not the magic byte 0: not written by a registry-aware serializer."""


class TruncatedFrameError(FramingError):
    """The buffer ends before the 5-byte header or the message-index array is complete."""


class SchemaError(SerializationError):
    """A schema could not be loaded (file), parsed (fastavro/protobuf) or generated."""


class RecordError(SerializationError):
    """A record does not match its schema; the message names the field."""


class RecordValidationError(RecordError):
    """A record fails validation against its JSON Schema (writer or reader side).

    ``path`` is where in the record (``$.lines[0].quantity``, ``$`` for the whole
    record), ``schema_path`` the keyword that failed (``properties/lines/items/...``),
    ``subject`` / ``schema_id`` the schema when it came from the registry.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        schema_path: str,
        subject: str | None = None,
        schema_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.schema_path = schema_path
        self.subject = subject
        self.schema_id = schema_id


class SchemaEvolutionError(SerializationError):
    """Data written with one schema cannot be read with the reader schema.

    The message names the field (``Order.amount``) and says why, e.g. a field the reader
    added without a default, or a type change Avro's resolution rules do not allow.
    """


class RuleError(SerializationError):
    """A rule of the schema's rule set failed, or cannot run (unknown type, DLQ action).

    ``rule_name`` is the rule's name (``None`` for a problem with the rule set as a
    whole) and ``subject`` the subject whose schema carries it. The message names both.
    """

    def __init__(self, message: str, *, rule_name: str | None = None, subject: str | None = None):
        super().__init__(message)
        self.rule_name = rule_name
        self.subject = subject


class RuleConditionError(RuleError):
    """A CONDITION rule evaluated to false (or raised) for this record: the record was
    refused (on write) or not returned (on read). The message names the rule and gives
    its ``doc`` or ``expr``."""


class RegistryError(SerializationError):
    """The registry answered with an error, or could not be reached.

    ``http_status`` is the HTTP status (``None`` when no answer arrived), ``error_code``
    the registry's error code from the JSON body (``-1`` when absent), ``message`` its
    human text.
    """

    def __init__(self, http_status: int | None, error_code: int, message: str) -> None:
        super().__init__(http_status, error_code, message)
        self.http_status = http_status
        self.error_code = error_code
        self.message = message

    @property
    def retriable(self) -> bool:
        """True when asking again later may succeed (5xx, 408, 429, no answer)."""
        return self.http_status is None or self.http_status in RETRIABLE_HTTP_STATUSES

    def __str__(self) -> str:
        status = "no response" if self.http_status is None else f"HTTP {self.http_status}"
        return f"{self.message} ({status}, error_code {self.error_code})"


class SubjectNotFoundError(RegistryError):
    """40401: the subject has no (live) versions."""


class VersionNotFoundError(RegistryError):
    """40402: the subject exists but not that version."""


class SchemaNotFoundError(RegistryError):
    """40403: unknown schema id, or the schema is not registered under the subject."""


class IncompatibleSchemaError(RegistryError):
    """409 / 40901: the schema breaks the subject's compatibility level."""


class InvalidSchemaError(RegistryError):
    """42201: the registry could not parse the schema (or its references)."""


class InvalidVersionError(RegistryError):
    """42202: not a valid version id (``latest`` or 1..2^31-1)."""


class InvalidCompatibilityLevelError(RegistryError):
    """42203: not one of NONE, BACKWARD, FORWARD, FULL and their _TRANSITIVE forms."""


class RegistryAuthenticationError(RegistryError):
    """401 / 40101: the registry does not accept the credentials (none, wrong, expired),
    or the OIDC token endpoint refused the client. Final: not retried."""


class RegistryAuthorizationError(RegistryError):
    """403 / 40301: the principal is known but may not do this (the subject, config or
    mode). Final: not retried."""


class RegistryUnavailableError(RegistryError):
    """Retries exhausted: 5xx, 408, 429 or a connection/timeout error on every attempt."""


_BY_ERROR_CODE: dict[int, type[RegistryError]] = {
    40401: SubjectNotFoundError,
    40402: VersionNotFoundError,
    40403: SchemaNotFoundError,
    409: IncompatibleSchemaError,
    40901: IncompatibleSchemaError,
    42201: InvalidSchemaError,
    42202: InvalidVersionError,
    42203: InvalidCompatibilityLevelError,
    40101: RegistryAuthenticationError,
    40301: RegistryAuthorizationError,
}
# registries that answer 401/403 without a Confluent code (Karapace, proxies)
_BY_HTTP_STATUS: dict[int, type[RegistryError]] = {
    401: RegistryAuthenticationError,
    403: RegistryAuthorizationError,
}


def registry_error_for(http_status: int | None, error_code: int, message: str) -> RegistryError:
    """Build the most specific :class:`RegistryError` for a registry answer.

    The registry's ``error_code`` decides first (it is finer than the status); retriable
    statuses without a known code become :class:`RegistryUnavailableError`.
    """
    cls = _BY_ERROR_CODE.get(error_code)
    if cls is None and http_status is not None:
        cls = _BY_HTTP_STATUS.get(http_status)
    if cls is None and (http_status is None or http_status in RETRIABLE_HTTP_STATUSES):
        cls = RegistryUnavailableError
    return (cls or RegistryError)(http_status, error_code, message)
