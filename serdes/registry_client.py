"""HTTP client for a Confluent-compatible schema registry (httpx; sync and async).

Theory of operation
-------------------
Serializers talk to the registry only on the first record of each subject (register or
look up the schema) and deserializers on the first record of each schema id; everything
after that is served from caches here or in the serde. Three caches, with the lifetimes
the registry's data model allows:

- **id -> schema**, forever: a schema id never changes meaning (registries never hand an
  old id to different content). Keyed by ``(id, format)`` because ``format=serialized``
  returns a Protobuf schema as a base64 descriptor instead of ``.proto`` text.
- **(subject, schema, normalize) -> id** (and the version when the registry told us),
  forever for this client: registering the same schema twice returns the same id.
- **latest version per subject**, for ``latest_ttl_s`` seconds (measured on an injected
  monotonic clock): "latest" moves when someone registers a new version. The newest
  version with given metadata properties (``get_latest_with_metadata``) is cached the
  same way, per (subject, properties, deleted, format).
  Fixed versions ``(subject, n)`` are cached forever.

Deleting a subject through this client drops that subject's entries. Caches are bounded
(``cache_capacity`` entries each, oldest first out).

Retries: a request that fails with a connection error, a timeout, or HTTP 408/429/5xx is
retried up to ``max_retries`` times with "full jitter" exponential backoff
(``uniform(0, min(retry_backoff_max_ms, retry_backoff_ms * 2**attempt))``), moving to the
next URL when several are configured. Registration is safe to retry: the same schema
gets the same id. Other 4xx answers are raised at once as the matching
:class:`~serdes.errors.RegistryError` subclass carrying ``http_status``, ``error_code``
and ``message``; exhausted retries raise
:class:`~serdes.errors.RegistryUnavailableError`.

Layering: :class:`_RegistryCore` builds requests, parses answers and owns the caches
without doing any I/O; :class:`SchemaRegistryClient` and
:class:`AsyncSchemaRegistryClient` are the thin sync/async shells that send the
requests (one pooled ``httpx.Client``/``httpx.AsyncClient`` each) and sleep between
retries. Both are safe to share between threads (sync) or tasks (async).
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from serdes.data_contracts import Metadata, RuleSet
from serdes.errors import (
    RETRIABLE_HTTP_STATUSES,
    RegistryError,
    RegistryUnavailableError,
    registry_error_for,
)

__all__ = [
    "AsyncSchemaRegistryClient",
    "RegisteredSchema",
    "Schema",
    "SchemaReference",
    "SchemaRegistryClient",
]

_ACCEPT = (
    "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json"
)
_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class SchemaReference:
    """A named dependency of a schema: an Avro full name or a Protobuf import path."""

    name: str
    subject: str
    version: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "subject": self.subject, "version": self.version}


@dataclass(frozen=True, slots=True)
class Schema:
    """A schema as the registry stores it: text, type, references, and its data contract
    (``metadata`` and ``rule_set``, see :mod:`serdes.data_contracts`), which take part in
    its identity as they do in the registry."""

    schema_str: str
    schema_type: str = "AVRO"
    references: tuple[SchemaReference, ...] = ()
    metadata: Metadata | None = None
    rule_set: RuleSet | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schema": self.schema_str,
            "schemaType": self.schema_type,
            "references": [r.to_json() for r in self.references],
        }
        if self.metadata is not None:
            body["metadata"] = self.metadata.to_json()
        if self.rule_set is not None:
            body["ruleSet"] = self.rule_set.to_json()
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Schema:
        refs = tuple(
            SchemaReference(str(r["name"]), str(r["subject"]), int(r["version"]))
            for r in body.get("references") or ()
        )
        metadata = body.get("metadata")
        rule_set = body.get("ruleSet")
        return cls(
            str(body["schema"]),
            str(body.get("schemaType") or "AVRO"),
            refs,
            None if metadata is None else Metadata.from_json(metadata),
            None if rule_set is None else RuleSet.from_json(rule_set),
        )


@dataclass(frozen=True, slots=True)
class RegisteredSchema:
    """A schema under a subject: its global id and its version within the subject."""

    schema_id: int
    subject: str
    version: int
    schema: Schema

    @classmethod
    def from_json(cls, body: Mapping[str, Any], subject: str) -> RegisteredSchema:
        return cls(
            int(body["id"]),
            str(body.get("subject") or subject),
            int(body["version"]),
            Schema.from_json(body),
        )

    @property
    def metadata(self) -> Metadata | None:
        """The version's metadata (the schema's), or None."""
        return self.schema.metadata

    @property
    def rule_set(self) -> RuleSet | None:
        """The version's rule set (the schema's), or None."""
        return self.schema.rule_set


class _BoundedCache(Generic[K, V]):
    """Insertion-ordered dict that forgets its oldest entries past ``capacity``."""

    __slots__ = ("_data", "_lock", "capacity")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        return self._data.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.capacity:
                self._data.popitem(last=False)

    def drop_where(self, predicate: Callable[[K], bool]) -> None:
        with self._lock:
            for key in [k for k in self._data if predicate(k)]:
                del self._data[key]

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    body: Mapping[str, Any] | None = None


def _subject_path(subject: str) -> str:
    # "/" is legal in subjects (Protobuf import paths): percent-encode everything.
    return quote(subject, safe="")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _version_str(version: int | str) -> str:
    if isinstance(version, str):
        return version
    return str(version)


def _http_options(
    auth: tuple[str, str] | httpx.Auth | None,
    timeout_s: float,
    verify: bool | str | ssl.SSLContext,
    cert: str | tuple[str, str] | tuple[str, str, str] | None,
    max_connections: int,
    headers: Mapping[str, str] | None,
) -> dict[str, Any]:
    """The httpx settings the sync and async clients share."""
    return {
        "auth": httpx.BasicAuth(*auth) if isinstance(auth, tuple) else auth,
        "timeout": timeout_s,
        "verify": _ssl_context(verify, cert),
        "limits": httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        "headers": {"Accept": _ACCEPT, **(headers or {})},
    }


def _ssl_context(
    verify: bool | str | ssl.SSLContext, cert: str | tuple[str, str] | tuple[str, str, str] | None
) -> bool | ssl.SSLContext:
    """httpx wants an SSLContext for CA bundles and client certificates."""
    if isinstance(verify, ssl.SSLContext):
        if cert is not None:
            _load_cert(verify, cert)
        return verify
    if isinstance(verify, bool) and cert is None:
        return verify
    if isinstance(verify, str):
        ctx = ssl.create_default_context(cafile=verify)
    else:
        ctx = ssl.create_default_context()
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        _load_cert(ctx, cert)
    return ctx


def _load_cert(ctx: ssl.SSLContext, cert: str | tuple[str, str] | tuple[str, str, str]) -> None:
    if isinstance(cert, str):
        ctx.load_cert_chain(cert)
    elif len(cert) == 2:
        ctx.load_cert_chain(cert[0], cert[1])
    else:
        ctx.load_cert_chain(cert[0], cert[1], cert[2])


class _RegistryCore:
    """Request building, answer parsing, caches and retry policy; no I/O here."""

    def __init__(
        self,
        url: str | Sequence[str],
        *,
        cache_capacity: int,
        latest_ttl_s: float,
        max_retries: int,
        retry_backoff_ms: int,
        retry_backoff_max_ms: int,
        clock_s: Callable[[], float],
        rng: random.Random,
    ) -> None:
        urls = [url] if isinstance(url, str) else list(url)
        urls = [u.strip().rstrip("/") for raw in urls for u in raw.split(",") if u.strip()]
        if not urls:
            raise ValueError("schema registry url is empty")
        for u in urls:
            if not u.startswith(("http://", "https://")):
                raise ValueError(f"schema registry url {u!r} must start with http:// or https://")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.urls = urls
        self._url_index = 0
        self.latest_ttl_s = latest_ttl_s
        self.max_retries = max_retries
        self.retry_backoff_ms = retry_backoff_ms
        self.retry_backoff_max_ms = retry_backoff_max_ms
        self.clock_s = clock_s
        self._rng = rng
        self.schema_by_id: _BoundedCache[tuple[int, str | None], Schema] = _BoundedCache(
            cache_capacity
        )
        self.id_by_schema: _BoundedCache[tuple[str, Schema, bool], int] = _BoundedCache(
            cache_capacity
        )
        self.lookup_by_schema: _BoundedCache[tuple[str, Schema, bool], RegisteredSchema] = (
            _BoundedCache(cache_capacity)
        )
        self.latest: _BoundedCache[tuple[str, str | None], tuple[RegisteredSchema, float]] = (
            _BoundedCache(cache_capacity)
        )
        self.versions: _BoundedCache[tuple[str, int, str | None], RegisteredSchema] = _BoundedCache(
            cache_capacity
        )
        self.latest_with_metadata: _BoundedCache[
            tuple[str, frozenset[tuple[str, str]], bool, str | None],
            tuple[RegisteredSchema, float],
        ] = _BoundedCache(cache_capacity)

    # -- transport policy -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.urls[self._url_index]

    def rotate_url(self) -> None:
        """Fail over to the next configured URL (round robin)."""
        self._url_index = (self._url_index + 1) % len(self.urls)

    def backoff_s(self, attempt: int) -> float:
        """Full-jitter exponential backoff before retry number ``attempt`` (0-based)."""
        cap = min(self.retry_backoff_max_ms, self.retry_backoff_ms * (2**attempt))
        return self._rng.uniform(0, cap) / 1000.0

    def http_arguments(self, request: _Request) -> dict[str, Any]:
        """What ``httpx.Client.request`` (or the async one) takes to send ``request``."""
        return {
            "method": request.method,
            "url": self.full_url(request),
            "params": request.params,
            "content": None if request.body is None else json.dumps(request.body),
            "headers": None if request.body is None else {"Content-Type": _CONTENT_TYPE},
        }

    def retriable_failure(self, response: httpx.Response) -> RegistryError:
        """The error a failed answer carries, returned when another attempt may help and
        raised at once when not."""
        error = self.error_from_response(response)
        if not self.is_retriable_status(response.status_code):
            raise error
        return error

    def full_url(self, request: _Request) -> str:
        return self.base_url + request.path

    @staticmethod
    def error_from_response(response: httpx.Response) -> RegistryError:
        error_code = -1
        message = ""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            code = body.get("error_code")
            if isinstance(code, int):
                error_code = code
            message = str(body.get("message") or "")
        if not message:
            text = response.text.strip()
            message = text[:300] if text else f"HTTP {response.status_code}"
        return registry_error_for(response.status_code, error_code, message)

    def unavailable(self, request: _Request, cause: BaseException | RegistryError) -> RegistryError:
        if isinstance(cause, RegistryError):
            return cause
        return RegistryUnavailableError(
            None,
            -1,
            f"cannot reach the schema registry at {self.base_url} "
            f"({request.method} {request.path}): {type(cause).__name__}: {cause}",
        )

    @staticmethod
    def is_retriable_status(status: int) -> bool:
        return status in RETRIABLE_HTTP_STATUSES or status >= 500

    # -- requests and answers ---------------------------------------------------------

    @staticmethod
    def register_request(subject: str, schema: Schema, normalize: bool) -> _Request:
        return _Request(
            "POST",
            f"/subjects/{_subject_path(subject)}/versions",
            (("normalize", _bool(normalize)),),
            schema.to_json(),
        )

    def on_registered(self, subject: str, schema: Schema, normalize: bool, body: Any) -> int:
        schema_id = int(body["id"])
        self.id_by_schema.put((subject, schema, normalize), schema_id)
        if "version" in body and body.get("version") is not None:
            self.lookup_by_schema.put(
                (subject, schema, normalize),
                RegisteredSchema(schema_id, subject, int(body["version"]), _stored(schema, body)),
            )
        return schema_id

    @staticmethod
    def lookup_request(subject: str, schema: Schema, normalize: bool, deleted: bool) -> _Request:
        return _Request(
            "POST",
            f"/subjects/{_subject_path(subject)}",
            (("normalize", _bool(normalize)), ("deleted", _bool(deleted))),
            schema.to_json(),
        )

    def on_lookup(
        self, subject: str, schema: Schema, normalize: bool, body: Any
    ) -> RegisteredSchema:
        result = RegisteredSchema(
            int(body["id"]), subject, int(body["version"]), _stored(schema, body)
        )
        self.lookup_by_schema.put((subject, schema, normalize), result)
        self.id_by_schema.put((subject, schema, normalize), result.schema_id)
        return result

    @staticmethod
    def get_schema_request(schema_id: int, subject: str | None, fmt: str | None) -> _Request:
        params: list[tuple[str, str]] = []
        if subject is not None:
            params.append(("subject", subject))
        if fmt is not None:
            params.append(("format", fmt))
        return _Request("GET", f"/schemas/ids/{int(schema_id)}", tuple(params))

    def on_schema(self, schema_id: int, fmt: str | None, body: Any) -> Schema:
        schema = Schema.from_json(body)
        self.schema_by_id.put((schema_id, fmt), schema)
        return schema

    def cached_latest(self, subject: str, fmt: str | None) -> RegisteredSchema | None:
        entry = self.latest.get((subject, fmt))
        if entry is None:
            return None
        registered, expires_at = entry
        if self.clock_s() >= expires_at:
            return None
        return registered

    @staticmethod
    def get_version_request(
        subject: str, version: int | str, deleted: bool, fmt: str | None
    ) -> _Request:
        params: list[tuple[str, str]] = [("deleted", _bool(deleted))]
        if fmt is not None:
            params.append(("format", fmt))
        return _Request(
            "GET",
            f"/subjects/{_subject_path(subject)}/versions/{_version_str(version)}",
            tuple(params),
        )

    def on_version(
        self, subject: str, version: int | str, fmt: str | None, body: Any
    ) -> RegisteredSchema:
        registered = RegisteredSchema.from_json(body, subject)
        if version == "latest" or version == -1:
            self.latest.put((subject, fmt), (registered, self.clock_s() + self.latest_ttl_s))
        self.versions.put((subject, registered.version, fmt), registered)
        self.schema_by_id.put((registered.schema_id, fmt), registered.schema)
        return registered

    @staticmethod
    def latest_with_metadata_request(
        subject: str, metadata: Mapping[str, str], deleted: bool, fmt: str | None
    ) -> _Request:
        params: list[tuple[str, str]] = [("deleted", _bool(deleted))]
        for key, value in metadata.items():
            params.append(("key", key))
            params.append(("value", value))
        if fmt is not None:
            params.append(("format", fmt))
        return _Request("GET", f"/subjects/{_subject_path(subject)}/metadata", tuple(params))

    @staticmethod
    def latest_with_metadata_key(
        subject: str, metadata: Mapping[str, str], deleted: bool, fmt: str | None
    ) -> tuple[str, frozenset[tuple[str, str]], bool, str | None]:
        return (subject, frozenset(metadata.items()), deleted, fmt)

    def cached_latest_with_metadata(
        self, key: tuple[str, frozenset[tuple[str, str]], bool, str | None]
    ) -> RegisteredSchema | None:
        entry = self.latest_with_metadata.get(key)
        if entry is None or self.clock_s() >= entry[1]:
            return None
        return entry[0]

    def on_latest_with_metadata(
        self,
        key: tuple[str, frozenset[tuple[str, str]], bool, str | None],
        body: Any,
    ) -> RegisteredSchema:
        registered = RegisteredSchema.from_json(body, key[0])
        self.latest_with_metadata.put(key, (registered, self.clock_s() + self.latest_ttl_s))
        self.schema_by_id.put((registered.schema_id, key[3]), registered.schema)
        return registered

    def forget_subject(self, subject: str) -> None:
        self.id_by_schema.drop_where(lambda k: k[0] == subject)
        self.latest_with_metadata.drop_where(lambda k: k[0] == subject)
        self.lookup_by_schema.drop_where(lambda k: k[0] == subject)
        self.latest.drop_where(lambda k: k[0] == subject)
        self.versions.drop_where(lambda k: k[0] == subject)

    @staticmethod
    def compatibility_request(
        subject: str, schema: Schema, version: int | str | None, verbose: bool, normalize: bool
    ) -> _Request:
        path = f"/compatibility/subjects/{_subject_path(subject)}/versions"
        if version is not None:
            path += f"/{_version_str(version)}"
        return _Request(
            "POST",
            path,
            (("normalize", _bool(normalize)), ("verbose", _bool(verbose))),
            schema.to_json(),
        )

    @staticmethod
    def on_compatibility(body: Any) -> tuple[bool, list[str]]:
        return bool(body["is_compatible"]), [str(m) for m in body.get("messages") or ()]


def _schema(
    schema_str: str,
    schema_type: str,
    references: Iterable[SchemaReference],
    metadata: Metadata | None = None,
    rule_set: RuleSet | None = None,
) -> Schema:
    return Schema(schema_str, schema_type.upper(), tuple(references), metadata, rule_set)


def _stored(sent: Schema, body: Any) -> Schema:
    """The schema the registry holds for an answer to ``sent``: the registry may have
    given it a contract (the previous version's, the config's defaults), and says so."""
    if not isinstance(body, Mapping) or ("metadata" not in body and "ruleSet" not in body):
        return sent
    metadata = body.get("metadata")
    rule_set = body.get("ruleSet")
    return Schema(
        sent.schema_str,
        sent.schema_type,
        sent.references,
        None if metadata is None else Metadata.from_json(metadata),
        None if rule_set is None else RuleSet.from_json(rule_set),
    )


def _config_path(subject: str | None) -> str:
    return "/config" if subject is None else f"/config/{_subject_path(subject)}"


class SchemaRegistryClient:
    """Blocking registry client with pooled connections, caches and retries.

    Args:
        url: base URL, or several (a list or a comma-separated string) tried in turn on
            retriable failures. Userinfo in the URL (``http://user:pw@host``) works too.
        auth: ``(user, password)`` for HTTP basic auth, a bearer token source
            (:class:`~serdes.auth.StaticToken`, :class:`~serdes.auth.OidcClientCredentials`),
            or any ``httpx.Auth``. 401/403 answers raise
            :class:`~serdes.errors.RegistryAuthenticationError` /
            :class:`~serdes.errors.RegistryAuthorizationError` at once.
        timeout_s: connect/read/write/pool timeout per attempt.
        verify: TLS server verification: ``True``, ``False``, a CA bundle path, or an
            ``ssl.SSLContext``.
        cert: client certificate: a PEM path (cert+key), ``(cert, key)`` or
            ``(cert, key, password)``.
        max_retries: extra attempts after a retriable failure (see the module docstring).
        latest_ttl_s: how long ``get_latest_version`` answers are reused.
        clock_s / sleep_s / transport: injection points for tests.
    """

    def __init__(
        self,
        url: str | Sequence[str],
        *,
        auth: tuple[str, str] | httpx.Auth | None = None,
        timeout_s: float = 10.0,
        verify: bool | str | ssl.SSLContext = True,
        cert: str | tuple[str, str] | tuple[str, str, str] | None = None,
        max_retries: int = 3,
        retry_backoff_ms: int = 100,
        retry_backoff_max_ms: int = 5000,
        cache_capacity: int = 1000,
        latest_ttl_s: float = 60.0,
        max_connections: int = 10,
        headers: Mapping[str, str] | None = None,
        clock_s: Callable[[], float] = time.monotonic,
        sleep_s: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._core = _RegistryCore(
            url,
            cache_capacity=cache_capacity,
            latest_ttl_s=latest_ttl_s,
            max_retries=max_retries,
            retry_backoff_ms=retry_backoff_ms,
            retry_backoff_max_ms=retry_backoff_max_ms,
            clock_s=clock_s,
            rng=random.Random(),
        )
        self._sleep_s = sleep_s
        self._http = httpx.Client(
            transport=transport,
            **_http_options(auth, timeout_s, verify, cert, max_connections, headers),
        )

    # -- plumbing -------------------------------------------------------------------

    def _send(self, request: _Request) -> Any:
        core = self._core
        attempt = 0
        while True:
            try:
                response = self._http.request(**core.http_arguments(request))
            except httpx.TransportError as exc:
                failure: BaseException | RegistryError = exc
            else:
                if response.is_success:
                    return response.json()
                failure = core.retriable_failure(response)
            if attempt >= core.max_retries:
                raise core.unavailable(request, failure)
            self._sleep_s(core.backoff_s(attempt))
            attempt += 1
            core.rotate_url()

    def close(self) -> None:
        """Close pooled connections."""
        self._http.close()

    def __enter__(self) -> SchemaRegistryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- schemas ----------------------------------------------------------------------

    def register_schema(
        self,
        subject: str,
        schema_str: str,
        schema_type: str = "AVRO",
        references: Iterable[SchemaReference] = (),
        normalize: bool = False,
        *,
        metadata: Metadata | None = None,
        rule_set: RuleSet | None = None,
    ) -> int:
        """Register (or find) ``schema_str`` under ``subject``; return its global id.

        ``metadata`` / ``rule_set`` are sent with the schema (its data contract) when
        given. Cached per (subject, schema, normalize): a repeat does no HTTP. Raises
        :class:`~serdes.errors.IncompatibleSchemaError` when the subject's level rejects
        it and :class:`~serdes.errors.InvalidSchemaError` when it does not parse.
        """
        schema = _schema(schema_str, schema_type, references, metadata, rule_set)
        cached = self._core.id_by_schema.get((subject, schema, normalize))
        if cached is not None:
            return cached
        body = self._send(self._core.register_request(subject, schema, normalize))
        return self._core.on_registered(subject, schema, normalize, body)

    def lookup_schema(
        self,
        subject: str,
        schema_str: str,
        schema_type: str = "AVRO",
        references: Iterable[SchemaReference] = (),
        normalize: bool = False,
        deleted: bool = False,
        *,
        metadata: Metadata | None = None,
        rule_set: RuleSet | None = None,
    ) -> RegisteredSchema:
        """Find ``schema_str`` under ``subject`` without registering it (id and version)."""
        schema = _schema(schema_str, schema_type, references, metadata, rule_set)
        key = (subject, schema, normalize)
        cached = self._core.lookup_by_schema.get(key)
        if cached is not None:
            return cached
        body = self._send(self._core.lookup_request(subject, schema, normalize, deleted))
        return self._core.on_lookup(subject, schema, normalize, body)

    def get_schema(
        self, schema_id: int, *, subject: str | None = None, fmt: str | None = None
    ) -> Schema:
        """The schema with global id ``schema_id`` (cached forever).

        ``fmt="serialized"`` asks for Protobuf as a base64 ``FileDescriptorProto``.
        """
        cached = self._core.schema_by_id.get((schema_id, fmt))
        if cached is not None:
            return cached
        body = self._send(self._core.get_schema_request(schema_id, subject, fmt))
        return self._core.on_schema(schema_id, fmt, body)

    def get_latest_version(self, subject: str, *, fmt: str | None = None) -> RegisteredSchema:
        """The newest live version of ``subject`` (cached for ``latest_ttl_s``)."""
        cached = self._core.cached_latest(subject, fmt)
        if cached is not None:
            return cached
        body = self._send(self._core.get_version_request(subject, "latest", False, fmt))
        return self._core.on_version(subject, "latest", fmt, body)

    def get_latest_with_metadata(
        self,
        subject: str,
        metadata: Mapping[str, str],
        deleted: bool = False,
        fmt: str | None = None,
    ) -> RegisteredSchema:
        """The newest version of ``subject`` whose metadata properties hold every pair of
        ``metadata`` (``GET /subjects/{s}/metadata``); cached for ``latest_ttl_s``.

        Raises :class:`~serdes.errors.SchemaNotFoundError` when no version matches.
        """
        key = self._core.latest_with_metadata_key(subject, metadata, deleted, fmt)
        cached = self._core.cached_latest_with_metadata(key)
        if cached is not None:
            return cached
        body = self._send(self._core.latest_with_metadata_request(subject, metadata, deleted, fmt))
        return self._core.on_latest_with_metadata(key, body)

    def get_version(
        self, subject: str, version: int | str, *, deleted: bool = False, fmt: str | None = None
    ) -> RegisteredSchema:
        """Version ``version`` (a number, or ``"latest"``) of ``subject``."""
        if version == "latest" or version == -1:
            if not deleted:
                return self.get_latest_version(subject, fmt=fmt)
        elif isinstance(version, int):
            cached = self._core.versions.get((subject, version, fmt))
            if cached is not None:
                return cached
        body = self._send(self._core.get_version_request(subject, version, deleted, fmt))
        return self._core.on_version(subject, version, fmt, body)

    def get_subjects(self, *, deleted: bool = False) -> list[str]:
        """All subjects (soft-deleted ones too with ``deleted=True``)."""
        body = self._send(_Request("GET", "/subjects", (("deleted", _bool(deleted)),)))
        return [str(s) for s in body]

    def get_versions(self, subject: str, *, deleted: bool = False) -> list[int]:
        """Version numbers of ``subject``."""
        body = self._send(
            _Request(
                "GET",
                f"/subjects/{_subject_path(subject)}/versions",
                (("deleted", _bool(deleted)),),
            )
        )
        return [int(v) for v in body]

    def delete_subject(self, subject: str, permanent: bool = False) -> list[int]:
        """Soft-delete ``subject`` (or hard-delete an already soft-deleted one)."""
        params = (("permanent", "true"),) if permanent else ()
        body = self._send(_Request("DELETE", f"/subjects/{_subject_path(subject)}", params))
        self._core.forget_subject(subject)
        return [int(v) for v in body]

    def delete_version(self, subject: str, version: int | str, permanent: bool = False) -> int:
        """Soft- (or hard-) delete one version; returns the version number deleted."""
        params = (("permanent", "true"),) if permanent else ()
        body = self._send(
            _Request(
                "DELETE",
                f"/subjects/{_subject_path(subject)}/versions/{_version_str(version)}",
                params,
            )
        )
        self._core.forget_subject(subject)
        return int(body)

    # -- compatibility ----------------------------------------------------------------

    def test_compatibility(
        self,
        subject: str,
        schema_str: str,
        version: int | str | None = "latest",
        *,
        schema_type: str = "AVRO",
        references: Iterable[SchemaReference] = (),
        verbose: bool = True,
        normalize: bool = False,
    ) -> tuple[bool, list[str]]:
        """Would ``schema_str`` be accepted? ``(is_compatible, messages)``.

        ``version=None`` checks against every version the subject's level asks for.
        """
        schema = _schema(schema_str, schema_type, references)
        body = self._send(
            self._core.compatibility_request(subject, schema, version, verbose, normalize)
        )
        return self._core.on_compatibility(body)

    def get_compatibility(self, subject: str | None = None) -> str:
        """The compatibility level of ``subject``, or the global one."""
        body = self._send(_Request("GET", _config_path(subject)))
        return str(body.get("compatibilityLevel") or body.get("compatibility"))

    def set_compatibility(self, subject: str | None = None, level: str | None = None) -> str:
        """Set the level of ``subject`` (or the global level); returns the level set."""
        if level is None:
            raise ValueError("set_compatibility needs a level, e.g. level='BACKWARD'")
        body = self._send(
            _Request("PUT", _config_path(subject), body={"compatibility": level.upper()})
        )
        return str(body.get("compatibility") or body.get("compatibilityLevel"))


class AsyncSchemaRegistryClient:
    """The asyncio twin of :class:`SchemaRegistryClient` (same arguments and caches)."""

    def __init__(
        self,
        url: str | Sequence[str],
        *,
        auth: tuple[str, str] | httpx.Auth | None = None,
        timeout_s: float = 10.0,
        verify: bool | str | ssl.SSLContext = True,
        cert: str | tuple[str, str] | tuple[str, str, str] | None = None,
        max_retries: int = 3,
        retry_backoff_ms: int = 100,
        retry_backoff_max_ms: int = 5000,
        cache_capacity: int = 1000,
        latest_ttl_s: float = 60.0,
        max_connections: int = 10,
        headers: Mapping[str, str] | None = None,
        clock_s: Callable[[], float] = time.monotonic,
        sleep_s: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._core = _RegistryCore(
            url,
            cache_capacity=cache_capacity,
            latest_ttl_s=latest_ttl_s,
            max_retries=max_retries,
            retry_backoff_ms=retry_backoff_ms,
            retry_backoff_max_ms=retry_backoff_max_ms,
            clock_s=clock_s,
            rng=random.Random(),
        )
        self._sleep_s = sleep_s
        self._http = httpx.AsyncClient(
            transport=transport,
            **_http_options(auth, timeout_s, verify, cert, max_connections, headers),
        )

    async def _send(self, request: _Request) -> Any:
        core = self._core
        attempt = 0
        while True:
            try:
                response = await self._http.request(**core.http_arguments(request))
            except httpx.TransportError as exc:
                failure: BaseException | RegistryError = exc
            else:
                if response.is_success:
                    return response.json()
                failure = core.retriable_failure(response)
            if attempt >= core.max_retries:
                raise core.unavailable(request, failure)
            await self._sleep_s(core.backoff_s(attempt))
            attempt += 1
            core.rotate_url()

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncSchemaRegistryClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def register_schema(
        self,
        subject: str,
        schema_str: str,
        schema_type: str = "AVRO",
        references: Iterable[SchemaReference] = (),
        normalize: bool = False,
        *,
        metadata: Metadata | None = None,
        rule_set: RuleSet | None = None,
    ) -> int:
        """See :meth:`SchemaRegistryClient.register_schema`."""
        schema = _schema(schema_str, schema_type, references, metadata, rule_set)
        cached = self._core.id_by_schema.get((subject, schema, normalize))
        if cached is not None:
            return cached
        body = await self._send(self._core.register_request(subject, schema, normalize))
        return self._core.on_registered(subject, schema, normalize, body)

    async def lookup_schema(
        self,
        subject: str,
        schema_str: str,
        schema_type: str = "AVRO",
        references: Iterable[SchemaReference] = (),
        normalize: bool = False,
        deleted: bool = False,
        *,
        metadata: Metadata | None = None,
        rule_set: RuleSet | None = None,
    ) -> RegisteredSchema:
        """See :meth:`SchemaRegistryClient.lookup_schema`."""
        schema = _schema(schema_str, schema_type, references, metadata, rule_set)
        cached = self._core.lookup_by_schema.get((subject, schema, normalize))
        if cached is not None:
            return cached
        body = await self._send(self._core.lookup_request(subject, schema, normalize, deleted))
        return self._core.on_lookup(subject, schema, normalize, body)

    async def get_schema(
        self, schema_id: int, *, subject: str | None = None, fmt: str | None = None
    ) -> Schema:
        """See :meth:`SchemaRegistryClient.get_schema`."""
        cached = self._core.schema_by_id.get((schema_id, fmt))
        if cached is not None:
            return cached
        body = await self._send(self._core.get_schema_request(schema_id, subject, fmt))
        return self._core.on_schema(schema_id, fmt, body)

    async def get_latest_version(self, subject: str, *, fmt: str | None = None) -> RegisteredSchema:
        """See :meth:`SchemaRegistryClient.get_latest_version`."""
        cached = self._core.cached_latest(subject, fmt)
        if cached is not None:
            return cached
        body = await self._send(self._core.get_version_request(subject, "latest", False, fmt))
        return self._core.on_version(subject, "latest", fmt, body)

    async def get_latest_with_metadata(
        self,
        subject: str,
        metadata: Mapping[str, str],
        deleted: bool = False,
        fmt: str | None = None,
    ) -> RegisteredSchema:
        """See :meth:`SchemaRegistryClient.get_latest_with_metadata`."""
        key = self._core.latest_with_metadata_key(subject, metadata, deleted, fmt)
        cached = self._core.cached_latest_with_metadata(key)
        if cached is not None:
            return cached
        body = await self._send(
            self._core.latest_with_metadata_request(subject, metadata, deleted, fmt)
        )
        return self._core.on_latest_with_metadata(key, body)

    async def get_version(
        self, subject: str, version: int | str, *, deleted: bool = False, fmt: str | None = None
    ) -> RegisteredSchema:
        """See :meth:`SchemaRegistryClient.get_version`."""
        if version == "latest" or version == -1:
            if not deleted:
                return await self.get_latest_version(subject, fmt=fmt)
        elif isinstance(version, int):
            cached = self._core.versions.get((subject, version, fmt))
            if cached is not None:
                return cached
        body = await self._send(self._core.get_version_request(subject, version, deleted, fmt))
        return self._core.on_version(subject, version, fmt, body)

    async def get_subjects(self, *, deleted: bool = False) -> list[str]:
        """See :meth:`SchemaRegistryClient.get_subjects`."""
        body = await self._send(_Request("GET", "/subjects", (("deleted", _bool(deleted)),)))
        return [str(s) for s in body]

    async def get_versions(self, subject: str, *, deleted: bool = False) -> list[int]:
        """See :meth:`SchemaRegistryClient.get_versions`."""
        body = await self._send(
            _Request(
                "GET",
                f"/subjects/{_subject_path(subject)}/versions",
                (("deleted", _bool(deleted)),),
            )
        )
        return [int(v) for v in body]

    async def delete_subject(self, subject: str, permanent: bool = False) -> list[int]:
        """See :meth:`SchemaRegistryClient.delete_subject`."""
        params = (("permanent", "true"),) if permanent else ()
        body = await self._send(_Request("DELETE", f"/subjects/{_subject_path(subject)}", params))
        self._core.forget_subject(subject)
        return [int(v) for v in body]

    async def delete_version(
        self, subject: str, version: int | str, permanent: bool = False
    ) -> int:
        """See :meth:`SchemaRegistryClient.delete_version`."""
        params = (("permanent", "true"),) if permanent else ()
        body = await self._send(
            _Request(
                "DELETE",
                f"/subjects/{_subject_path(subject)}/versions/{_version_str(version)}",
                params,
            )
        )
        self._core.forget_subject(subject)
        return int(body)

    async def test_compatibility(
        self,
        subject: str,
        schema_str: str,
        version: int | str | None = "latest",
        *,
        schema_type: str = "AVRO",
        references: Iterable[SchemaReference] = (),
        verbose: bool = True,
        normalize: bool = False,
    ) -> tuple[bool, list[str]]:
        """See :meth:`SchemaRegistryClient.test_compatibility`."""
        schema = _schema(schema_str, schema_type, references)
        body = await self._send(
            self._core.compatibility_request(subject, schema, version, verbose, normalize)
        )
        return self._core.on_compatibility(body)

    async def get_compatibility(self, subject: str | None = None) -> str:
        """See :meth:`SchemaRegistryClient.get_compatibility`."""
        body = await self._send(_Request("GET", _config_path(subject)))
        return str(body.get("compatibilityLevel") or body.get("compatibility"))

    async def set_compatibility(self, subject: str | None = None, level: str | None = None) -> str:
        """See :meth:`SchemaRegistryClient.set_compatibility`."""
        if level is None:
            raise ValueError("set_compatibility needs a level, e.g. level='BACKWARD'")
        body = await self._send(
            _Request("PUT", _config_path(subject), body={"compatibility": level.upper()})
        )
        return str(body.get("compatibility") or body.get("compatibilityLevel"))
