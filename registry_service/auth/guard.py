"""``AuthGuard``: the ASGI layer that authenticates and authorizes every request.

Theory of operation
-------------------
It runs after ``paths.PathSegments`` (so it reads the same canonical path as the routes)
and before ``RequestBodyLimit`` and ``HotPaths``: no cached answer is given to a caller
the permissions do not allow. For each request:

1. The path is matched to its route's class (``endpoints.EndpointTable``). ``OPEN``
   routes pass at once.
2. The caller is authenticated: no ``Authorization`` header gives the anonymous role
   (401 when anonymous access is off); a header is looked up in the
   ``CredentialCache`` by its digest, and only on a miss parsed and verified. At most
   ``auth_max_concurrent_verifications`` scrypt verifications run at once, on worker
   threads, so the event loop keeps serving cached credentials while a wrong password
   is being hashed; past ``auth_max_pending_verifications`` waiting, 429. Refusals are
   cached briefly too.
3. The principal is checked against the class: the path's subject, ``Config:``, the
   admin role; for a schema id, whether a subject the principal may read uses it (the
   subjects of an id are remembered until the registry's cache epoch moves, i.e. until
   the next write).
4. The principal goes into ``scope["regcast.principal"]`` for the routers that filter
   listings (``visibility``).

The users file is checked for changes (mtime, size, inode) at most every
``auth_reload_interval_ms``, on the request path (one ``stat``); a change reloads it,
rebuilds the principals and empties the credential cache. A file that no longer parses
keeps the previous users and logs a warning.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from registry_service.auth import PRINCIPAL_KEY, audit, users_file
from registry_service.auth.answers import (
    ForbiddenError,
    TooManyVerificationsError,
    UnauthenticatedError,
    challenges,
)
from registry_service.auth.bearer import BearerAuthenticator, is_bearer
from registry_service.auth.certificates import client_cert_name, common_name
from registry_service.auth.credentials import (
    MAX_HEADER_BYTES,
    CredentialCache,
    MalformedCredentials,
    cache_key,
    parse_basic,
)
from registry_service.auth.endpoints import Access, EndpointTable
from registry_service.auth.passwords import burn_verification, password_matches
from registry_service.auth.permissions import Operation, Principal
from registry_service.errors import MEDIA_TYPE, RegistryError, SchemaNotFoundError
from registry_service.paths import decode_segment
from registry_service.service import RegistryService, normalize_subject
from registry_service.service.values import DEFAULT_CONTEXT, context_of, context_scope
from registry_service.settings import Settings

log = logging.getLogger("registry_service.auth")

ASGIApp = Any
_ID_SUBJECTS_MAX_ENTRIES = 10_000
_V1 = MEDIA_TYPE.encode()
_SUBJECT_OPERATIONS = {
    Access.SUBJECT_READ: Operation.READ,
    Access.SUBJECT_WRITE: Operation.WRITE,
    Access.SUBJECT_DELETE: Operation.WRITE,
}


def monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class Users:
    """The users file as last loaded, and its principals (built once per load).
    ``create_app`` builds it, so a missing or invalid file stops the start."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Users:
        assert settings.auth_file is not None  # checked by Settings
        return cls(
            settings.auth_file, settings.auth_anonymous_role, settings.auth_reload_interval_ms
        )

    def __init__(self, path: Path, anonymous_role: str | None, reload_interval_ms: int) -> None:
        self.path = path
        self.anonymous_role = anonymous_role
        self.reload_interval_ms = reload_interval_ms
        self._stamp = self._stat()
        self._checked_ms = 0
        self._install(users_file.load(path))  # at start-up a bad file is fatal

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _install(self, parsed: users_file.UsersFile) -> None:
        anonymous = None
        if self.anonymous_role:
            anonymous = parsed.role_principal(self.anonymous_role)
        self.file = parsed
        self.anonymous: Principal | None = anonymous
        self.principals = {name: parsed.principal(name) for name in parsed.users}

    def refresh(self, now_ms: int) -> bool:
        """Reload when the file changed (checked at most every interval); True when the
        users were replaced."""
        if now_ms - self._checked_ms < self.reload_interval_ms:
            return False
        self._checked_ms = now_ms
        stamp = self._stat()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            self._install(users_file.load(self.path))
        except users_file.UsersFileError as exc:
            log.warning("users file not reloaded, the previous users stay in force: %s", exc)
            return False
        log.info("users file %s reloaded: %d users", self.path, len(self.principals))
        return True

    def certificate_principal(self, scope: dict[str, Any]) -> Principal | None:
        """The principal named by the client certificate's CN (``REGCAST_AUTH=mtls``):
        the user of that name, or one with no permissions when the file has none."""
        subject = client_cert_name(scope)
        name = None if subject is None else common_name(subject)
        if name is None:
            return None
        return self.principals.get(name) or Principal(name, ())

    def verify(self, username: str, password: str) -> bool:
        """Runs on a worker thread: one scrypt verification."""
        user = self.file.users.get(username)
        if user is None or not user.password_hash:  # unknown, or certificate-only
            burn_verification(password)
            return False
        return password_matches(password, user.salt, user.password_hash)


class AuthGuard:
    """Authentication and authorization in front of everything (module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        service: RegistryService,
        settings: Settings,
        users: Users,
        clock_ms: Callable[[], int] = monotonic_ms,
    ) -> None:
        self.app = app
        self.service = service
        self.clock_ms = clock_ms
        self.table = EndpointTable()
        self.users = users
        self.credentials = CredentialCache(
            settings.auth_cache_max_entries,
            settings.auth_cache_ttl_ms,
            settings.auth_failure_cache_ttl_ms,
        )
        self.max_pending = settings.auth_max_pending_verifications
        self.pending = 0
        self._verifications = asyncio.Semaphore(settings.auth_max_concurrent_verifications)
        self._id_subjects: dict[tuple[int, str], tuple[int, frozenset[str]]] = {}
        self.schemes = settings.auth_schemes
        self.bearer = BearerAuthenticator(settings) if "bearer" in self.schemes else None
        self._required = "Authentication required: send " + " or ".join(
            {"basic": "HTTP Basic credentials", "bearer": "a Bearer token"}[scheme]
            for scheme in self.schemes
            if scheme in ("basic", "bearer")
        )
        schemes = settings.auth_schemes
        self.mtls = "mtls" in schemes
        self.header_schemes = bool(set(schemes) - {"mtls"})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = self.table.match(scope["method"], scope["path"])
        if endpoint is not None and endpoint.access is Access.OPEN:
            await self.app(scope, receive, send)
            return
        principal = None
        try:
            principal = await self._authenticate(scope)
            if endpoint is not None:
                await self._authorize(principal, endpoint.access, endpoint.parameter, scope)
        except RegistryError as exc:
            audit.refused(scope, endpoint, exc, principal)
            await _refuse(send, exc, self.schemes)
            return
        scope[PRINCIPAL_KEY] = principal
        await self.app(scope, receive, send)

    # -- authentication -----------------------------------------------------------------

    async def _authenticate(self, scope: dict[str, Any]) -> Principal:
        now_ms = self.clock_ms()
        if self.users.refresh(now_ms):
            self.credentials.clear()
        if self.mtls:  # a verified client certificate comes first (tls.py)
            principal = self.users.certificate_principal(scope)
            if principal is not None:
                return principal
            if not self.header_schemes:
                if self.users.anonymous is not None:
                    return self.users.anonymous
                raise UnauthenticatedError("Authentication required: present a client certificate")
        header = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
                break
        if header is None:
            if self.users.anonymous is not None:
                return self.users.anonymous
            raise UnauthenticatedError(self._required)
        if len(header) > MAX_HEADER_BYTES:  # not even hashed for the cache
            raise UnauthenticatedError("Unauthorized: the Authorization header is too long")
        if self.bearer is not None and is_bearer(header):
            return await self.bearer.principal(
                header, now_ms, self.credentials, self.users.file.roles
            )
        if "basic" not in self.schemes:
            raise UnauthenticatedError("Unauthorized: the Authorization scheme is not Bearer")
        key = cache_key(header)
        verdict = self.credentials.get(key, now_ms)
        if verdict is None:
            try:
                credentials = parse_basic(header)
            except MalformedCredentials as exc:
                raise UnauthenticatedError(f"Unauthorized: {exc}") from None
            ok = await self._verify(credentials.username, credentials.password)
            username = credentials.username if ok else None
            self.credentials.put(key, username, self.clock_ms())
        else:
            username = verdict.username
        principal = None if username is None else self.users.principals.get(username)
        if principal is None:
            raise UnauthenticatedError("Unauthorized: wrong user name or password")
        return principal

    async def _verify(self, username: str, password: str) -> bool:
        if self.pending >= self.max_pending:
            raise TooManyVerificationsError()
        self.pending += 1
        try:
            async with self._verifications:
                return await run_in_threadpool(self.users.verify, username, password)
        finally:
            self.pending -= 1

    # -- authorization ------------------------------------------------------------------

    async def _authorize(
        self, principal: Principal, access: Access, parameter: str | None, scope: dict[str, Any]
    ) -> None:
        if access in (Access.AUTHENTICATED, Access.LISTING) or principal.is_admin:
            return
        operation = _SUBJECT_OPERATIONS.get(access)
        if operation is not None:
            assert parameter is not None
            try:
                subject = normalize_subject(decode_segment(parameter))
            except RegistryError:
                return  # no subject can have this name: the route answers 42208
            if not principal.may_subject(operation, subject):
                raise ForbiddenError(
                    f"User {principal.name!r} may not {operation.value} subject {subject!r}"
                )
        elif access is Access.CONFIG_READ or access is Access.CONFIG_WRITE:
            operation = Operation.READ if access is Access.CONFIG_READ else Operation.WRITE
            if not principal.may_config(operation):
                raise ForbiddenError(
                    f"User {principal.name!r} may not {operation.value} the global config"
                )
        elif access is Access.ADMIN:
            raise ForbiddenError(f"User {principal.name!r} is not an admin")
        elif access is Access.SCHEMA_ID or access is Access.SCHEMA_GUID:
            assert parameter is not None
            await self._authorize_schema(principal, access, parameter, scope)

    async def _authorize_schema(
        self, principal: Principal, access: Access, parameter: str, scope: dict[str, Any]
    ) -> None:
        """A schema is readable when a subject the principal may read uses it; otherwise
        it is answered as unknown. Unknown ids and guids go on to the route (40403)."""
        if access is Access.SCHEMA_ID:
            digits = decode_segment(parameter)
            if not (digits.isascii() and digits.isdigit()) or len(digits) > 10:
                return  # the route answers 404 for what is not an id
            schema_id = int(digits)
            context = DEFAULT_CONTEXT
        else:
            try:
                ids = await run_in_threadpool(self.service.ids_by_guid, decode_segment(parameter))
            except RegistryError:
                return
            schema_id, context = ids[0]["id"], ids[0]["context"]
        asked = _query_subject(scope)
        if asked is not None:
            try:
                if access is Access.SCHEMA_ID:
                    # The subject answered for (an unqualified one may be found in
                    # another context), in whose context the id is looked up.
                    found, _, _ = await run_in_threadpool(
                        self.service.id_in_context, schema_id, asked
                    )
                    asked = found or normalize_subject(asked)
                    context = context_of(asked)
                else:
                    asked = normalize_subject(asked)
            except RegistryError:
                asked = None
        subjects = await self._subjects_of(schema_id, context)
        if subjects is None:
            return
        if asked is not None and not principal.may_read(asked):
            raise SchemaNotFoundError(schema_id)
        if not any(principal.may_read(subject) for subject in subjects):
            raise SchemaNotFoundError(schema_id)

    async def _subjects_of(self, schema_id: int, context: str) -> frozenset[str] | None:
        """The subjects (soft-deleted ones included) using an id of ``context`` (each
        context has its own ids); None when none does. Remembered until the registry's
        cache epoch moves (any write)."""
        epoch = self.service.cache.epoch
        key = (schema_id, context)
        known = self._id_subjects.get(key)
        if known is not None and known[0] == epoch:
            return known[1]
        try:
            names = await run_in_threadpool(
                self.service.subjects_by_id, schema_id, context_scope(context) or None, True
            )
        except RegistryError:
            return None
        subjects = frozenset(names)
        if len(self._id_subjects) >= _ID_SUBJECTS_MAX_ENTRIES:
            self._id_subjects.clear()
        self._id_subjects[key] = (epoch, subjects)
        return subjects


def _query_subject(scope: dict[str, Any]) -> str | None:
    query = scope.get("query_string", b"")
    if b"subject=" not in query:
        return None
    from urllib.parse import parse_qsl

    value = dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True)).get("subject")
    return value or None


async def _refuse(send: Any, exc: RegistryError, schemes: tuple[str, ...]) -> None:
    body = orjson.dumps(exc.body())
    headers = [(b"content-type", _V1), (b"content-length", str(len(body)).encode())]
    if exc.status == 401:
        headers.extend((b"www-authenticate", value) for value in challenges(schemes, exc))
    elif exc.status == 429:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
