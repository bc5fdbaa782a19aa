"""The registry's rules, between the HTTP routers and the store.

Theory of operation
-------------------
Routers turn HTTP into calls on ``RegistryService`` and its answers (plain dicts and
lists, already in Confluent's JSON shape) back into responses; every rule about ids,
versions, soft and permanent deletes, modes and compatibility lives here. The formats
package says what a schema *means* (parse, canonical form, compatibility); the store
keeps rows.

Identity: a schema's ``fingerprint`` (type + canonical text + references, computed by
the formats) names one global id. Registering looks the fingerprint up; only a schema
never seen before gets ``max(id) + 1``. The id and the version number are taken inside
``Store.write()``, which excludes every other writer in every process, so they cannot
race. What decides whether a registration may write at all (parsing, mode, version
rules, compatibility) runs before the lock on the cached snapshot of the subject, and
runs again under the lock only if another write has landed since; a subject not cached
is read and judged under the lock (``register``). Registrations that wait for the lock
together share one transaction (``group_commit.GroupCommit``).

Reads go through ``RegistryCache``: schema rows and parsed schemas by id forever (ids
never change content), subject versions, configs and modes until a write changes them
(a registration of this process replaces the one subject's versions it changed; other
writes, and any write of another process, drop them all).
Methods named ``cached_*`` answer only from the cache and return ``None`` on a miss, so
async routers can serve hits without leaving the event loop; everything else may block
on the database and is run on a worker thread by the routers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from registry_service.cache import GenerationWatcher, RegistryCache
from registry_service.errors import (
    ContextNotEmptyError,
    ImportIdMismatchError,
    IncompatibleSchemaError,
    InvalidCompatibilityLevelError,
    InvalidModeError,
    InvalidSchemaError,
    InvalidSubjectError,
    InvalidVersionError,
    OperationNotPermittedError,
    ReferenceExistsError,
    RegistryError,
    SchemaNotFoundError,
    SubjectConfigNotFoundError,
    SubjectModeNotFoundError,
    SubjectNotFoundError,
    SubjectNotSoftDeletedError,
    SubjectSoftDeletedError,
    VersionNotFoundError,
    VersionNotSoftDeletedError,
    VersionSoftDeletedError,
)
from registry_service.formats import (
    CompatibilityLevel,
    Direction,
    ParsedSchema,
    SchemaReference,
    SchemaType,
    check_compatibility,
    compatibility_messages,
    parse_schema,
)
from registry_service.formats import (
    InvalidSchemaError as FormatInvalidSchemaError,
)
from registry_service.group_commit import GroupCommit
from registry_service.settings import Mode, Settings
from registry_service.storage import (
    GLOBAL_SCOPE,
    ConfigRecord,
    Store,
    StoredReference,
    StoredSchema,
    StoreReader,
    StoreWriter,
    SubjectState,
    SubjectVersion,
)

log = logging.getLogger(__name__)

LATEST = -1
MAX_VERSION = 2**31 - 1
DEFAULT_CONTEXT = "."
CONTEXT_PREFIX = ":.:"
SUPPORTED_TYPES = (SchemaType.AVRO, SchemaType.PROTOBUF)


# -- request values --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemaRequest:
    """A register / lookup / compatibility body, already type-checked by the router."""

    schema: str
    schema_type: str = "AVRO"
    references: tuple[SchemaReference, ...] = ()
    version: int | None = None
    id: int | None = None


# ASCII digits only: ``[0-9]`` in a str pattern matches no other script's digits.
_VERSION_NUMBER = re.compile(r"-?[0-9]+")
_INT_DIGITS = 10  # 2^31-1 has ten digits


def parse_version(value: str) -> int:
    """A ``{version}`` path segment: ``LATEST`` (-1) or a number 1..2^31-1, else 42202.

    Confluent's ``VersionId`` (``core/.../rest/VersionId.java``): ``latest`` after
    ``trim()`` and ``toLowerCase()`` is -1; otherwise ``Integer.parseInt(trim())``, valid
    when ``>= 1`` or ``== -1``. What it accepts, and so what is accepted here:

    * ``latest`` in any ASCII case (``LATEST``, ``Latest``);
    * ``-1``, and ASCII digits meaning 1..2147483647; leading zeros are allowed, as
      ``parseInt`` allows them (``01`` is 1, ``-01`` is -1).

    Refused with 42202 (Confluent too): ``0`` (also spelled ``00`` or ``-0``), other
    negative numbers, anything beyond a Java int (``2147483648``: ``parseInt`` overflows),
    and anything that is not a number (``0_1``, ``1.0``, ``1e3``, ``0x1``, empty). For a
    number that parses but is not a valid version the message shows it as parsed
    (``00`` -> ``'0'``), as Confluent's does (``String.valueOf`` of the int); otherwise
    the text as sent.

    Refused here although Confluent accepts them, so that one version has one spelling
    (a path an authorization rule or a cache key matches cannot mean a second one):
    surrounding whitespace and control characters (``trim()`` drops everything up to
    U+0020), a leading ``+`` (``parseInt("+1")`` is 1), and digits of other scripts
    (``parseInt`` takes any Unicode decimal digit: ``"\u0661"`` is 1). Python's ``int()``
    would also take underscores (``0_1``), which Confluent does not.
    """
    if value.isascii():
        if len(value) == 6 and value.lower() == "latest":
            return LATEST
        if _VERSION_NUMBER.fullmatch(value) and len(value.lstrip("-").lstrip("0")) <= _INT_DIGITS:
            number = int(value)
            if number == LATEST or 1 <= number <= MAX_VERSION:
                return number
            if number >= -(2**31):
                raise InvalidVersionError(str(number))
    raise InvalidVersionError(value)


# Characters no name may hold: the Unicode control characters (category Cc: C0
# U+0000-U+001F, DEL U+007F, C1 U+0080-U+009F) and lone surrogates (category Cs, which
# invalid UTF-8 in a path decodes to, and which no UTF-8 encoder accepts).
_FORBIDDEN_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def name_is_valid(name: str) -> bool:
    """Whether ``name`` (a subject, a reference name) holds no control character and no
    lone surrogate.

    The rule is the registry's, not a database's: PostgreSQL refuses NUL in text and
    SQLite stores it, so without it what is valid would depend on the store. Checked
    before any store sees a name. ``isprintable`` (one C loop, true for the names in
    use) answers first; only names that fail it are searched for the forbidden
    characters, since format characters such as U+200D (emoji sequences) and spaces
    other than U+0020 are not printable but are allowed.
    """
    return name.isprintable() or _FORBIDDEN_IN_NAMES.search(name) is None


def normalize_subject(subject: str) -> str:
    """Strip the default context's qualifier (``:.:orders-value`` is ``orders-value``).

    A name that ``name_is_valid`` refuses can never be a subject (``check_subject``
    refuses to create one, and PostgreSQL cannot even compare text holding NUL), so it
    is 42208 on reads too.
    """
    if subject.startswith(CONTEXT_PREFIX):
        subject = subject[len(CONTEXT_PREFIX) :]
    if not name_is_valid(subject):
        raise InvalidSubjectError(subject)
    return subject


def check_subject(subject: str) -> str:
    """42208 for names no subject can have: empty, or refused by ``name_is_valid``."""
    name = normalize_subject(subject)
    if not name or name == "__GLOBAL":
        raise InvalidSubjectError(subject)
    return name


def schema_guid(fingerprint: str) -> str:
    """The schema's GUID (Confluent 8.x): the first 128 bits of its fingerprint as a UUID,
    so every registry process sharing the database derives the same one."""
    f = fingerprint
    return f"{f[0:8]}-{f[8:12]}-{f[12:16]}-{f[16:20]}-{f[20:32]}"


def guid_prefix(guid: str) -> str | None:
    """The fingerprint prefix a GUID names, or None when it is not a UUID."""
    text = guid.strip().lower().replace("-", "")
    if len(text) != 32 or any(ch not in "0123456789abcdef" for ch in text):
        return None
    return text


def parse_level(value: object) -> CompatibilityLevel:
    """Level names are case-insensitive, as in Confluent's ``CompatibilityLevel.forName``."""
    if isinstance(value, str):
        try:
            return CompatibilityLevel(value.strip().upper())
        except ValueError:
            pass
    raise InvalidCompatibilityLevelError()


def parse_mode(value: object) -> Mode:
    if isinstance(value, str):
        try:
            return Mode(value.strip().upper())
        except ValueError:
            pass
    raise InvalidModeError()


def paginate(items: list[Any], offset: int, limit: int) -> list[Any]:
    """Confluent's ``offset``/``limit`` (limit -1 or 0 = everything)."""
    start = max(offset, 0)
    if limit is None or limit <= 0:
        return items[start:]
    return items[start : start + limit]


def _references_json(refs: Sequence[StoredReference]) -> list[dict[str, Any]]:
    return [{"name": r.name, "subject": r.subject, "version": r.version} for r in refs]


def _live(versions: Sequence[SubjectVersion]) -> list[SubjectVersion]:
    return [v for v in versions if not v.deleted]


@dataclass(frozen=True, slots=True)
class ScopeSettings:
    """What applies to one subject after falling back to the global settings."""

    level: CompatibilityLevel
    normalize: bool
    mode: Mode


@dataclass(frozen=True, slots=True)
class SubjectSnapshot:
    """A subject's settings and versions as the database held them at ``generation``
    (or, from the cache, at ``generation`` or later: see ``RegistryCache``)."""

    generation: int
    settings: ScopeSettings
    versions: list[SubjectVersion]


@dataclass(frozen=True, slots=True)
class _Registered:
    """What a registration's write did: the answer, the subject's settings and versions
    as of that write (for the cache), and the schema if it was inserted as a new row."""

    subject: str
    body: dict[str, Any]
    versions: list[SubjectVersion]
    settings: ScopeSettings
    inserted: tuple[StoredSchema, ParsedSchema] | None


# -- the service -----------------------------------------------------------------------


class RegistryService:
    """One registry process's view of the shared store; thread-safe."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.cache = RegistryCache(settings.cache_max_schemas)
        self.watcher = GenerationWatcher(store, self.cache, settings.cache_poll_interval_ms)
        # shared by one transaction's registrations: the subjects they wrote
        self._registrations: GroupCommit[_Registered, set[str]] = GroupCommit(
            store, self._registrations_committed, self._registrations_rolled_back, set, bool
        )

    def start(self) -> None:
        """Runs in the app's lifespan, before the first request."""
        self._warm_up()
        self.watcher.start()

    def _warm_up(self) -> None:
        """Pay the one-time costs - importing the format modules, loading protoc,
        compiling the common SQL statements - now rather than in the first requests
        (tens of milliseconds on a small machine)."""
        avro = '{"type": "record", "name": "W", "fields": [{"name": "a", "type": "int"}]}'
        parse_schema(SchemaType.AVRO, avro).compatibility_errors(
            parse_schema(SchemaType.AVRO, avro), Direction.BACKWARD
        )
        parse_schema(SchemaType.PROTOBUF, 'syntax = "proto3";\nmessage W { int32 a = 1; }\n')
        with self.store.read() as tx:
            tx.subject_versions(GLOBAL_SCOPE)
            tx.schemas_by_ids([0])
            tx.configs([GLOBAL_SCOPE])
            tx.modes([GLOBAL_SCOPE])

    def close(self) -> None:
        self.watcher.stop()
        self.store.close()

    @contextmanager
    def _write(self) -> Iterator[StoreWriter]:
        """A write transaction after which this process's mutable cache entries are
        dropped (so its own reads see the write at once), the cache then being up to date
        with the generation written. Registrations instead keep what they did not change
        (``register``)."""
        try:
            with self.store.write() as tx:
                yield tx
        except BaseException:
            self.cache.invalidate()
            raise
        self.cache.invalidate(tx.new_generation)

    # -- cached building blocks ----------------------------------------------------------

    def _schema(self, schema_id: int, tx: StoreReader | None = None) -> StoredSchema | None:
        stored = self.cache.schemas.get(schema_id)
        if stored is not None:
            return stored  # type: ignore[no-any-return]
        if tx is None:
            with self.store.read() as reader:
                stored = reader.schema_by_id(schema_id)
        else:
            stored = tx.schema_by_id(schema_id)
        if stored is not None:
            self._remember(stored)
        return stored

    def _remember(self, stored: StoredSchema) -> None:
        self.cache.schemas.put(stored.id, stored)
        self.cache.fingerprints.put(stored.fingerprint, stored.id)

    def _schemas(
        self, schema_ids: Sequence[int], tx: StoreReader | None = None
    ) -> dict[int, StoredSchema]:
        """Several schemas by id: cache hits, the rest in one read (compatibility checks
        against 100 versions must not cost 100 round trips)."""
        found: dict[int, StoredSchema] = {}
        missing: list[int] = []
        for schema_id in schema_ids:
            stored = self.cache.schemas.get(schema_id)
            if stored is None:
                missing.append(schema_id)
            else:
                found[schema_id] = stored
        if missing:
            if tx is None:
                with self.store.read() as reader:
                    loaded = reader.schemas_by_ids(missing)
            else:
                loaded = tx.schemas_by_ids(missing)
            for stored in loaded.values():
                self._remember(stored)
            found.update(loaded)
        return found

    def _previous(
        self, versions: Sequence[SubjectVersion], tx: StoreReader | None = None
    ) -> list[tuple[int, ParsedSchema]]:
        """The live versions as ``(version, parsed schema)``, oldest first."""
        live = _live(versions)
        stored = self._schemas([v.schema_id for v in live], tx)
        return [
            (item.version, self._parsed_by_id(stored[item.schema_id], tx))
            for item in live
            if item.schema_id in stored
        ]

    def _subject_versions(self, subject: str) -> list[SubjectVersion]:
        def load() -> list[SubjectVersion]:
            with self.store.read() as tx:
                return tx.subject_versions(subject)

        return self.cache.load(("versions", subject), load)

    def _cached_snapshot(self, subject: str) -> SubjectSnapshot | None:
        """Settings and versions of ``subject`` from the cache alone, or None."""
        generation = self.cache.generation  # first: the entries are at least this new
        settings = self.cache.get(("settings", subject))
        versions = self.cache.get(("versions", subject))
        if isinstance(settings, ScopeSettings) and isinstance(versions, list):
            return SubjectSnapshot(generation, settings, versions)
        return None

    def _snapshot_of(self, subject: str, state: SubjectState) -> SubjectSnapshot:
        settings = self._merge_settings([subject, GLOBAL_SCOPE], state.configs, state.modes)
        return SubjectSnapshot(state.generation, settings, state.versions)

    def _config(self, scope: str) -> ConfigRecord | None:
        def load() -> ConfigRecord | None:
            with self.store.read() as tx:
                return tx.config(scope)

        return self.cache.load(("config", scope), load)

    def _mode_record(self, scope: str) -> str | None:
        def load() -> str | None:
            with self.store.read() as tx:
                return tx.mode(scope)

        return self.cache.load(("mode", scope), load)

    def _scope_settings(self, subject: str | None, tx: StoreReader | None = None) -> ScopeSettings:
        """Level, normalize and mode in force for ``subject`` (its own, else global, else
        the process settings); read in one go and cached as one entry."""
        if tx is not None:
            return self._load_scope_settings(subject, tx)

        def load() -> ScopeSettings:
            with self.store.read() as reader:
                return self._load_scope_settings(subject, reader)

        return self.cache.load(("settings", subject or GLOBAL_SCOPE), load)

    def _load_scope_settings(self, subject: str | None, tx: StoreReader) -> ScopeSettings:
        scopes = [subject, GLOBAL_SCOPE] if subject else [GLOBAL_SCOPE]
        return self._merge_settings(scopes, tx.configs(scopes), tx.modes(scopes))

    def _merge_settings(
        self, scopes: Sequence[str], configs: dict[str, ConfigRecord], modes: dict[str, str]
    ) -> ScopeSettings:
        """``scopes`` most specific first; the process settings where none says."""
        level = self.settings.compatibility_level
        normalize: bool | None = None
        mode = self.settings.mode
        for scope in reversed(scopes):  # global first, the subject's own overrides it
            record = configs.get(scope)
            if record is not None and record.compatibility_level:
                level = CompatibilityLevel(record.compatibility_level)
            if record is not None and record.normalize is not None:
                normalize = record.normalize
            if scope in modes:
                mode = Mode(modes[scope])
        return ScopeSettings(level, bool(normalize), mode)

    def _effective_level(
        self, subject: str | None, tx: StoreReader | None = None
    ) -> CompatibilityLevel:
        return self._scope_settings(subject, tx).level

    def _effective_normalize(self, subject: str) -> bool:
        return self._scope_settings(subject).normalize

    def _effective_mode(self, subject: str | None, tx: StoreReader | None = None) -> Mode:
        return self._scope_settings(subject, tx).mode

    # -- parsing ------------------------------------------------------------------------

    def _find_version(
        self, versions: Sequence[SubjectVersion], version: int
    ) -> SubjectVersion | None:
        if version == LATEST:
            live = _live(versions)
            return live[-1] if live else None
        for item in versions:
            if item.version == version:
                return item
        return None

    def _resolve_references(
        self, references: Sequence[SchemaReference], tx: StoreReader | None = None
    ) -> tuple[tuple[SchemaReference, ...], dict[str, str], tuple[Hashable, ...]]:
        """Pin each reference to a concrete version and collect the texts it needs.

        Returns the pinned references, the ``name -> text`` map the formats want
        (dependencies before their users) and a cache key naming the exact schema ids.
        """
        pinned: list[SchemaReference] = []
        texts: dict[str, str] = {}
        key: list[Hashable] = []
        seen: set[int] = set()

        def collect(stored: StoredSchema, name: str) -> None:
            for dep in stored.references:
                dep_versions = (
                    tx.subject_versions(dep.subject)
                    if tx is not None
                    else self._subject_versions(dep.subject)
                )
                found = self._find_version(dep_versions, dep.version)
                if found is None:
                    continue
                dep_stored = self._schema(found.schema_id, tx)
                if dep_stored is not None and found.schema_id not in seen:
                    seen.add(found.schema_id)
                    collect(dep_stored, dep.name)
            texts.setdefault(name, stored.text)

        for ref in references:
            ref_subject = normalize_subject(ref.subject)
            versions = (
                tx.subject_versions(ref_subject)
                if tx is not None
                else self._subject_versions(ref_subject)
            )
            found = self._find_version(versions, ref.version)
            stored = self._schema(found.schema_id, tx) if found is not None else None
            if found is None or stored is None:
                raise InvalidSchemaError(
                    f"Invalid schema, details: reference '{ref.name}' names subject "
                    f"'{ref.subject}' version {ref.version}, which does not exist"
                )
            pinned.append(SchemaReference(ref.name, ref.subject, found.version))
            key.append((ref.name, ref.subject, found.version, found.schema_id))
            collect(stored, ref.name)
        return tuple(pinned), texts, tuple(key)

    def parse(
        self, request: SchemaRequest, normalize: bool, tx: StoreReader | None = None
    ) -> ParsedSchema:
        """Parse (cached by text and exact references) or raise 42201."""
        try:
            schema_type = SchemaType(request.schema_type.upper())
        except ValueError:
            raise InvalidSchemaError(f"Invalid schema type {request.schema_type}") from None
        if schema_type not in SUPPORTED_TYPES:
            raise InvalidSchemaError(f"Invalid schema type {request.schema_type}")
        for ref in request.references:
            # Names are stored with the schema: refused here, before any store sees one
            # (stored references are not judged again, so old rows stay readable).
            if not name_is_valid(ref.name):
                raise InvalidSchemaError(
                    f"Invalid schema, details: reference name {ref.name!a} holds a control "
                    "character or a lone surrogate"
                )
        refs, texts, ref_key = self._resolve_references(request.references, tx)
        key = ("request", schema_type, request.schema, ref_key, normalize)
        parsed = self.cache.parsed.get(key)
        if parsed is not None:
            return parsed  # type: ignore[no-any-return]
        try:
            parsed = parse_schema(schema_type, request.schema, refs, texts)
            if normalize:
                parsed = parsed.normalized()
        except FormatInvalidSchemaError as exc:
            raise InvalidSchemaError(
                f"Invalid schema of type {schema_type.value}, details: {exc.message}"
            ) from None
        self.cache.parsed.put(key, parsed)
        return parsed

    def _parsed_by_id(self, stored: StoredSchema, tx: StoreReader | None = None) -> ParsedSchema:
        """The stored schema parsed again (for compatibility checks and ``format=``)."""
        key = ("id", stored.id)
        parsed = self.cache.parsed.get(key)
        if parsed is not None:
            return parsed  # type: ignore[no-any-return]
        refs = tuple(SchemaReference(r.name, r.subject, r.version) for r in stored.references)
        _, texts, _ = self._resolve_references(refs, tx)
        try:
            parsed = parse_schema(SchemaType(stored.schema_type), stored.text, refs, texts)
        except FormatInvalidSchemaError as exc:  # stored by an older, laxer parser
            raise InvalidSchemaError(
                f"Stored schema {stored.id} no longer parses: {exc.message}"
            ) from None
        self.cache.parsed.put(key, parsed)
        return parsed

    def _schema_id_for(self, parsed: ParsedSchema, tx: StoreReader | None = None) -> int | None:
        cached = self.cache.fingerprints.get(parsed.fingerprint)
        if cached is not None:
            return cached
        if tx is not None:
            found = tx.schema_id_by_fingerprint(parsed.fingerprint)
        else:
            with self.store.read() as reader:
                found = reader.schema_id_by_fingerprint(parsed.fingerprint)
        if found is not None:
            self.cache.fingerprints.put(parsed.fingerprint, found)
        return found

    # -- responses -----------------------------------------------------------------------

    def _schema_json(
        self, item: SubjectVersion, stored: StoredSchema, fmt: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "subject": item.subject,
            "version": item.version,
            "id": stored.id,
            "guid": schema_guid(stored.fingerprint),
            "schemaType": stored.schema_type,
        }
        if stored.references:
            body["references"] = _references_json(stored.references)
        body["schema"] = self._render(stored, fmt)
        if item.deleted:
            body["deleted"] = True
        return body

    def _render(self, stored: StoredSchema, fmt: str | None) -> str:
        if not fmt:
            return stored.text
        return self._parsed_by_id(stored).render(fmt)

    # -- subjects -----------------------------------------------------------------------

    def list_subjects(
        self, prefix: str = "", deleted: bool = False, deleted_only: bool = False
    ) -> list[str]:
        prefix = normalize_subject(prefix)
        if prefix in (":*:", CONTEXT_PREFIX):
            prefix = ""
        with self.store.read() as tx:
            rows = tx.all_subject_versions(prefix)
        live: set[str] = set()
        dead: set[str] = set()
        for row in rows:
            (dead if row.deleted else live).add(row.subject)
        if deleted_only:
            return sorted(dead - live)
        if deleted:
            return sorted(live | dead)
        return sorted(live)

    def list_versions(
        self,
        subject: str,
        deleted: bool = False,
        deleted_only: bool = False,
        deleted_as_negative: bool = False,
    ) -> list[int]:
        subject = normalize_subject(subject)
        versions = self._subject_versions(subject)
        if deleted_only:
            chosen = [v for v in versions if v.deleted]
        elif deleted or deleted_as_negative:
            chosen = list(versions)
        else:
            chosen = _live(versions)
        if not chosen and not (deleted_only and versions):
            raise SubjectNotFoundError(subject)
        if deleted_as_negative:
            return [-v.version if v.deleted else v.version for v in chosen]
        return [v.version for v in chosen]

    def _visible_version(
        self, subject: str, version: int, deleted: bool, versions: Sequence[SubjectVersion]
    ) -> SubjectVersion:
        visible = list(versions) if deleted else _live(versions)
        if not visible:
            raise SubjectNotFoundError(subject)
        if version == LATEST:
            return visible[-1]
        for item in visible:
            if item.version == version:
                return item
        raise VersionNotFoundError(version)

    def cached_version(
        self, subject: str, version: int, deleted: bool, fmt: str | None
    ) -> dict[str, Any] | None:
        """``get_version`` from the cache alone; ``None`` when something must be read."""
        versions = self.cache.get(("versions", normalize_subject(subject)))
        if versions is None or not isinstance(versions, list):
            return None
        item = self._visible_version(normalize_subject(subject), version, deleted, versions)
        stored = self.cache.schemas.get(item.schema_id)
        if stored is None or (fmt and self.cache.parsed.get(("id", stored.id)) is None):
            return None
        return self._schema_json(item, stored, fmt)

    def get_version(
        self, subject: str, version: int, deleted: bool = False, fmt: str | None = None
    ) -> dict[str, Any]:
        subject = normalize_subject(subject)
        item = self._visible_version(subject, version, deleted, self._subject_versions(subject))
        stored = self._schema(item.schema_id)
        if stored is None:
            raise SchemaNotFoundError(item.schema_id)
        return self._schema_json(item, stored, fmt)

    def get_version_schema(
        self, subject: str, version: int, deleted: bool = False, fmt: str | None = None
    ) -> str:
        return str(self.get_version(subject, version, deleted, fmt)["schema"])

    def latest_with_metadata(
        self,
        subject: str,
        metadata: Sequence[tuple[str, str]],
        deleted: bool = False,
        fmt: str | None = None,
    ) -> dict[str, Any]:
        """``GET /subjects/{s}/metadata?key=k&value=v``: the latest version whose metadata
        has every ``k: v``. Schemas carry no metadata here (it is accepted on register and
        dropped), so only a query without pairs finds one: the latest version."""
        subject = normalize_subject(subject)
        item = self._visible_version(subject, LATEST, deleted, self._subject_versions(subject))
        if metadata:
            raise SchemaNotFoundError()
        stored = self._schema(item.schema_id)
        if stored is None:
            raise SchemaNotFoundError(item.schema_id)
        return self._schema_json(item, stored, fmt)

    def referenced_by(self, subject: str, version: int, deleted: bool = False) -> list[int]:
        subject = normalize_subject(subject)
        item = self._visible_version(subject, version, deleted, self._subject_versions(subject))
        with self.store.read() as tx:
            rows = tx.referrers(subject, item.version)
        return sorted({r.schema_id for r in rows if deleted or not r.deleted})

    def lookup(
        self,
        subject: str,
        request: SchemaRequest,
        normalize: bool = False,
        deleted: bool = False,
        fmt: str | None = None,
    ) -> dict[str, Any]:
        """``POST /subjects/{s}``: which version of ``subject`` holds this schema."""
        subject = normalize_subject(subject)
        versions = self._subject_versions(subject)
        visible = list(versions) if deleted else _live(versions)
        if not visible:
            raise SubjectNotFoundError(subject)
        normalize = normalize or self._effective_normalize(subject)
        parsed = self.parse(request, normalize)
        candidates = [parsed]
        if not normalize:
            candidates.append(parsed.normalized())
        for candidate in candidates:
            schema_id = self._schema_id_for(candidate)
            if schema_id is None:
                continue
            matches = [v for v in visible if v.schema_id == schema_id]
            if matches:
                stored = self._schema(schema_id)
                assert stored is not None
                return self._schema_json(matches[-1], stored, fmt)
        raise SchemaNotFoundError()

    # -- register -----------------------------------------------------------------------

    @staticmethod
    def _live_version_with(
        versions: Sequence[SubjectVersion], schema_id: int, version: int | None = None
    ) -> SubjectVersion | None:
        """The newest live version holding ``schema_id`` (numbered ``version``, if that is
        a number), or None."""
        for item in reversed(versions):
            if (
                item.schema_id == schema_id
                and not item.deleted
                and version in (None, LATEST, item.version)
            ):
                return item
        return None

    @staticmethod
    def _register_json(item: SubjectVersion, stored: StoredSchema) -> dict[str, Any]:
        """Confluent 7.5+'s register answer without ``schema``.

        confluent-kafka caches the ``schema`` of a register answer as *the* schema of
        that id and serves it to its deserializers, which need Protobuf as a base64
        descriptor; without the field it caches the schema it sent, which is right.
        """
        body: dict[str, Any] = {
            "id": stored.id,
            "guid": schema_guid(stored.fingerprint),
            "version": item.version,
            "schemaType": stored.schema_type,
        }
        if stored.references:
            body["references"] = _references_json(stored.references)
        return body

    def cached_register(
        self, subject: str, request: SchemaRequest, normalize: bool
    ) -> dict[str, Any] | None:
        """The answer for re-registering a known schema, from the cache alone, or None."""
        if request.id is not None or request.version not in (None, LATEST) or request.references:
            return None
        subject = normalize_subject(subject)
        versions = self.cache.get(("versions", subject))
        if not isinstance(versions, list) or not versions:
            return None
        settings = self.cache.get(("settings", subject))
        if not isinstance(settings, ScopeSettings):
            return None  # not cached: the normalize setting is unknown
        normalize = normalize or settings.normalize
        try:
            schema_type = SchemaType(request.schema_type.upper())
        except ValueError:
            return None
        parsed = self.cache.parsed.get(("request", schema_type, request.schema, (), normalize))
        if parsed is None:
            return None
        schema_id = self.cache.fingerprints.get(parsed.fingerprint)
        if schema_id is None:
            return None
        for item in reversed(versions):
            if item.schema_id == schema_id and not item.deleted:
                stored = self.cache.schemas.get(schema_id)
                if stored is None:
                    return None
                return self._register_json(item, stored)
        return None

    def register(
        self, subject: str, request: SchemaRequest, normalize: bool = False
    ) -> dict[str, Any]:
        """``POST /subjects/{s}/versions``; see the module docstring for the identity rule.

        For a subject the cache holds, everything that does not need the write lock
        happens before it, on that snapshot: parsing, finding the schema's id, the mode
        and version rules and the compatibility check. Under the lock the subject is
        read and judged again only if another write has landed since the snapshot was
        taken (``StoreWriter.new_generation``); otherwise the locked part is at most one
        query for the schema's id and the next free id, and the inserts. A refusal made
        on the snapshot is given only if the database is still at the snapshot's
        generation, so it is never based on a stale cache. A subject the cache does not
        hold is read and judged under the lock only. The locked part runs in a group of
        registrations that share one transaction (``GroupCommit``).
        """
        subject = check_subject(subject)
        snapshot = self._cached_snapshot(subject)
        version = None  # None: judged under the lock
        if snapshot is None:
            # Not cached: judged under the lock on what the transaction reads (one query),
            # rather than on a read made before it that a busy registry would mostly
            # find stale by then and have to make again.
            parsed = self.parse(request, normalize)
        else:
            parsed = self.parse(request, normalize or snapshot.settings.normalize)
            schema_id = None
            if request.id is None and _live(snapshot.versions):
                schema_id = self._schema_id_for(parsed)
            if schema_id is not None and request.version in (None, LATEST):
                existing = self._live_version_with(snapshot.versions, schema_id)
                if existing is not None:
                    return self._register_json(existing, self._stored(existing.schema_id))
            if request.id is None:  # imports are judged under the lock only
                try:
                    plan = self._plan_registration(subject, request, parsed, snapshot, schema_id)
                except RegistryError:
                    if self.store.generation() == snapshot.generation:
                        raise
                    plan = None  # the snapshot has aged: judged again under the lock
                    snapshot = None
                    parsed = self.parse(request, normalize)
                if isinstance(plan, SubjectVersion):
                    return self._register_json(plan, self._stored(plan.schema_id))
                version = plan
        outcome = self._registrations.run(
            lambda tx, written: self._register_locked(
                tx, written, subject, request, normalize, parsed, snapshot, version
            )
        )
        return outcome.body

    def _registrations_committed(
        self, generation: int, outcomes: list[_Registered], wrote: bool
    ) -> None:
        """Runs once a group of registrations (``GroupCommit``) has committed, before
        any of them is answered: each changed its own subject's versions only. (When
        none wrote anything, the transaction was rolled back and ``generation`` is the
        one its reads saw.)"""
        changed: dict[Hashable, Any] = {}
        for outcome in outcomes:  # in the order they ran: a later one's view is newer
            changed[("versions", outcome.subject)] = outcome.versions
            changed[("settings", outcome.subject)] = outcome.settings
        if wrote:
            self.cache.advance(generation, changed)
        else:
            self.cache.confirm(generation, changed)
        for outcome in outcomes:
            if outcome.inserted is None:
                continue
            stored, parsed = outcome.inserted
            self._remember(stored)  # committed now: registering it again is a cache hit
            if parsed.schema_type is SchemaType.AVRO:
                # An Avro schema parsed from the stored text is this same tree, so later
                # compatibility checks need not parse it again. (Not Protobuf: from a
                # base64 descriptor the stored text compiles to a descriptor that may
                # differ in detail, and ``format=serialized`` must not depend on who
                # registered.)
                self.cache.parsed.put(("id", stored.id), parsed)

    def _registrations_rolled_back(self, several: bool) -> None:
        self.cache.invalidate()
        if several:
            self.cache.forget_schemas()

    def _plan_registration(
        self,
        subject: str,
        request: SchemaRequest,
        parsed: ParsedSchema,
        snapshot: SubjectSnapshot,
        schema_id: int | None,
        tx: StoreReader | None = None,
    ) -> SubjectVersion | int:
        """What registering ``parsed`` under ``subject`` comes to on ``snapshot``: the live
        version that already holds it (answered as it is), or the number of the version
        to create. Raises the refusals (mode, version rules, import ids, compatibility).

        ``schema_id`` is the schema's id if it is stored; None when it is not, or when
        it was not looked up because no live version could hold it. Reads nothing but
        stored schemas (immutable), so its verdict holds as long as the snapshot does.
        """
        if request.id is None and schema_id is not None:
            # Re-registering what the subject holds writes nothing: answered in any mode.
            existing = self._live_version_with(snapshot.versions, schema_id, request.version)
            if existing is not None:
                return existing
        mode = snapshot.settings.mode
        if mode in (Mode.READONLY, Mode.READONLY_OVERRIDE):
            raise OperationNotPermittedError(
                f"Subject {subject} in context {DEFAULT_CONTEXT} is in read-only mode"
            )
        if request.id is not None and mode is not Mode.IMPORT:
            raise OperationNotPermittedError(
                f"Subject {subject} in context {DEFAULT_CONTEXT} is not in import mode"
            )
        if request.id is None and mode is not Mode.READWRITE:
            raise OperationNotPermittedError(
                f"Subject {subject} in context {DEFAULT_CONTEXT} is not in read-write mode"
            )
        importing = mode is Mode.IMPORT
        if request.version is not None and request.version != LATEST and request.version < 1:
            raise InvalidVersionError(str(request.version))
        versions = snapshot.versions
        if request.id is not None:
            if request.id < 1:
                raise InvalidSchemaError(f"Invalid schema id {request.id}")
            holder = self._schema(request.id, tx)
            if holder is not None and holder.fingerprint != parsed.fingerprint:
                raise OperationNotPermittedError(
                    f"Overwrite new schema with id {request.id} in context "
                    f"{DEFAULT_CONTEXT} is not permitted."
                )
            if schema_id is not None and schema_id != request.id:
                raise ImportIdMismatchError()
            schema_id = request.id

        if schema_id is not None:
            existing = self._live_version_with(versions, schema_id, request.version)
            if existing is not None:
                return existing

        if not importing:
            level = snapshot.settings.level
            if level is not CompatibilityLevel.NONE and _live(versions):
                previous = self._previous(
                    versions if level.transitive else _live(versions)[-1:], tx
                )
                errors = check_compatibility(level, parsed, previous)
                if errors:
                    raise IncompatibleSchemaError(subject, compatibility_messages(level, errors))

        next_version = (versions[-1].version + 1) if versions else 1
        if request.version in (None, LATEST):
            return next_version
        assert request.version is not None
        if importing:
            if any(v.version == request.version for v in versions):
                raise OperationNotPermittedError(
                    f"Version {request.version} of subject {subject} already exists and "
                    "cannot be overwritten"
                )
            return request.version
        if request.version != next_version:
            raise InvalidSchemaError("Version is not one more than previous version")
        return next_version

    def _register_locked(
        self,
        tx: StoreWriter,
        written: set[str],
        subject: str,
        request: SchemaRequest,
        normalize: bool,
        parsed: ParsedSchema,
        snapshot: SubjectSnapshot | None,
        version: int | None,
    ) -> _Registered:
        """The write lock's part of ``register``, run by ``GroupCommit`` (``written``: the
        subjects registrations before this one in the same transaction wrote; what they
        inserted, the transaction's own reads see).
        ``version`` is the verdict of ``_plan_registration`` on ``snapshot``, or None
        when it must be judged here (always when there is no snapshot). Refuses only
        before writing anything."""
        if (
            snapshot is not None
            and tx.new_generation == snapshot.generation + 1
            and subject not in written
        ):
            # The snapshot still holds: no commit since, and this subject untouched by
            # the transaction so far.
            schema_id = self.cache.fingerprints.get(parsed.fingerprint)
            max_id = None
            if schema_id is None:
                schema_id, max_id = tx.schema_id_and_max_id(parsed.fingerprint)
        else:  # no snapshot, or a write landed after it: judge on what is there now
            used = normalize or (snapshot is not None and snapshot.settings.normalize)
            state = tx.subject_state(subject, parsed.fingerprint)
            snapshot = self._snapshot_of(subject, state)
            schema_id, max_id = state.schema_id, state.max_schema_id
            wanted = normalize or snapshot.settings.normalize
            if wanted != used:
                parsed = self.parse(request, wanted, tx)
                schema_id, max_id = tx.schema_id_and_max_id(parsed.fingerprint)
            version = None
        if version is None:
            plan = self._plan_registration(subject, request, parsed, snapshot, schema_id, tx)
            if isinstance(plan, SubjectVersion):
                body = self._register_json(plan, self._stored(plan.schema_id, tx))
                return _Registered(subject, body, snapshot.versions, snapshot.settings, None)
            version = plan
        if request.id is not None:
            schema_id = request.id
        stored = None if schema_id is None else self._schema(schema_id, tx)
        if stored is None:
            if schema_id is None:
                assert max_id is not None  # looked up with the fingerprint
                schema_id = max_id + 1
            stored = StoredSchema(
                schema_id,
                parsed.schema_type.value,
                parsed.fingerprint,
                parsed.text,
                tuple(StoredReference(r.name, r.subject, r.version) for r in parsed.references),
            )
            tx.insert_schema(
                stored.id, stored.schema_type, stored.fingerprint, stored.text, stored.references
            )
            inserted: tuple[StoredSchema, ParsedSchema] | None = (stored, parsed)
        else:
            inserted = None
        # A soft-deleted older version with the same id is superseded by the new one.
        superseded = [
            item
            for item in snapshot.versions
            if item.deleted
            and item.schema_id == stored.id
            and not tx.referrers(subject, item.version)
        ]
        for item in superseded:
            tx.remove_version(subject, item.version)
        tx.insert_version(subject, version, stored.id)
        written.add(subject)
        created = SubjectVersion(subject, version, stored.id, False)
        versions = sorted(
            [v for v in snapshot.versions if v not in superseded] + [created],
            key=lambda v: v.version,
        )
        return _Registered(
            subject, self._register_json(created, stored), versions, snapshot.settings, inserted
        )

    def _stored(self, schema_id: int, tx: StoreReader | None = None) -> StoredSchema:
        stored = self._schema(schema_id, tx)
        assert stored is not None  # schema rows are never deleted
        return stored

    # -- deletes ------------------------------------------------------------------------

    def _check_writable(self, tx: StoreReader, subject: str | None) -> None:
        mode = self._effective_mode(subject, tx)
        if mode in (Mode.READONLY, Mode.READONLY_OVERRIDE):
            where = f"Subject {subject}" if subject else "The registry"
            raise OperationNotPermittedError(
                f"{where} in context {DEFAULT_CONTEXT} is in read-only mode"
            )

    @staticmethod
    def _check_unreferenced(tx: StoreReader, subject: str, version: int) -> None:
        if any(not r.deleted for r in tx.referrers(subject, version)):
            raise ReferenceExistsError(subject, version)

    def delete_version(self, subject: str, version: int, permanent: bool = False) -> int:
        subject = normalize_subject(subject)
        with self._write() as tx:
            self._check_writable(tx, subject)
            versions = tx.subject_versions(subject)
            if not versions or (not permanent and not _live(versions)):
                raise SubjectNotFoundError(subject)
            if version == LATEST:
                live = _live(versions)
                target = live[-1] if live else versions[-1]
            else:
                found = [v for v in versions if v.version == version]
                if not found:
                    raise VersionNotFoundError(version)
                target = found[0]
            if not permanent and target.deleted:
                raise VersionSoftDeletedError(subject, target.version)
            if permanent and not target.deleted:
                raise VersionNotSoftDeletedError(subject, target.version)
            self._check_unreferenced(tx, subject, target.version)
            if permanent:
                tx.remove_version(subject, target.version)
                if len(versions) == 1:
                    tx.delete_config(subject)
                    tx.delete_mode(subject)
            else:
                tx.set_version_deleted(subject, target.version, True)
            return target.version

    def delete_subject(self, subject: str, permanent: bool = False) -> list[int]:
        subject = normalize_subject(subject)
        with self._write() as tx:
            self._check_writable(tx, subject)
            versions = tx.subject_versions(subject)
            if not versions:
                raise SubjectNotFoundError(subject)
            live = _live(versions)
            if permanent:
                if live:
                    raise SubjectNotSoftDeletedError(subject)
                for item in versions:
                    self._check_unreferenced(tx, subject, item.version)
                for item in reversed(versions):
                    tx.remove_version(subject, item.version)
                tx.delete_config(subject)
                tx.delete_mode(subject)
                return [v.version for v in versions]
            if not live:
                raise SubjectSoftDeletedError(subject)
            for item in live:
                self._check_unreferenced(tx, subject, item.version)
            for item in live:
                tx.set_version_deleted(subject, item.version, True)
            return [v.version for v in live]

    # -- schemas by id ------------------------------------------------------------------

    def cached_schema_by_id(
        self, schema_id: int, fmt: str | None, subject: str | None, fetch_max_id: bool
    ) -> dict[str, Any] | None:
        """``schema_by_id`` from the cache alone; ``None`` when something must be read."""
        if fetch_max_id:
            return None
        stored = self.cache.schemas.get(schema_id)
        if stored is None or (fmt and self.cache.parsed.get(("id", schema_id)) is None):
            return None
        versions = None
        if subject:
            subject = normalize_subject(subject)
            versions = self.cache.get(("versions", subject))
            if not isinstance(versions, list):
                return None
        return self._schema_by_id_json(stored, fmt, subject, versions)

    def _schema_by_id_json(
        self,
        stored: StoredSchema,
        fmt: str | None,
        subject: str | None,
        versions: Sequence[SubjectVersion] | None,
    ) -> dict[str, Any]:
        body = self._schema_string_json(stored, fmt)
        if subject and versions:
            matches = [v for v in versions if v.schema_id == stored.id]
            if matches:
                chosen = (_live(matches) or matches)[-1]
                body = {"subject": subject, "version": chosen.version, **body}
        return body

    def _schema_string_json(self, stored: StoredSchema, fmt: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemaType": stored.schema_type,
            "guid": schema_guid(stored.fingerprint),
        }
        if stored.references:
            body["references"] = _references_json(stored.references)
        body["schema"] = self._render(stored, fmt)
        return body

    def schema_by_id(
        self,
        schema_id: int,
        fmt: str | None = None,
        subject: str | None = None,
        fetch_max_id: bool = False,
    ) -> dict[str, Any]:
        stored = self._schema(schema_id) if schema_id > 0 else None
        if stored is None:
            raise SchemaNotFoundError(schema_id)
        versions = None
        if subject:
            subject = normalize_subject(subject)
            versions = self._subject_versions(subject)
        body = self._schema_by_id_json(stored, fmt, subject, versions)
        if fetch_max_id:
            with self.store.read() as tx:
                body["maxId"] = tx.max_schema_id()
        return body

    def _schema_by_guid(self, guid: str) -> StoredSchema:
        prefix = guid_prefix(guid)
        schema_id = None if prefix is None else self.cache.guids.get(prefix)
        if prefix is not None and schema_id is None:
            with self.store.read() as tx:
                schema_id = tx.schema_id_by_fingerprint_prefix(prefix)
            if schema_id is not None:
                self.cache.guids.put(prefix, schema_id)
        stored = None if schema_id is None else self._schema(schema_id)
        if stored is None:
            raise SchemaNotFoundError()
        return stored

    def schema_by_guid(self, guid: str, fmt: str | None = None) -> dict[str, Any]:
        """``GET /schemas/guids/{guid}`` (Confluent 8.x)."""
        return self._schema_string_json(self._schema_by_guid(guid), fmt)

    def ids_by_guid(self, guid: str) -> list[dict[str, Any]]:
        """``GET /schemas/guids/{guid}/ids``: one id, in the only context there is."""
        return [{"id": self._schema_by_guid(guid).id, "context": DEFAULT_CONTEXT}]

    def schema_text_by_id(self, schema_id: int, fmt: str | None = None) -> str:
        stored = self._schema(schema_id) if schema_id > 0 else None
        if stored is None:
            raise SchemaNotFoundError(schema_id)
        return self._render(stored, fmt)

    def _id_versions(
        self, schema_id: int, subject: str | None, deleted: bool
    ) -> list[SubjectVersion]:
        if schema_id < 1 or self._schema(schema_id) is None:
            raise SchemaNotFoundError(schema_id)
        with self.store.read() as tx:
            rows = tx.versions_by_schema_id(schema_id)
        if subject:
            subject = normalize_subject(subject)
            rows = [r for r in rows if r.subject == subject]
        rows = [r for r in rows if deleted or not r.deleted]
        if not rows:
            raise SchemaNotFoundError()
        return rows

    def subjects_by_id(
        self, schema_id: int, subject: str | None = None, deleted: bool = False
    ) -> list[str]:
        return sorted({r.subject for r in self._id_versions(schema_id, subject, deleted)})

    def versions_by_id(
        self, schema_id: int, subject: str | None = None, deleted: bool = False
    ) -> list[dict[str, Any]]:
        return [
            {"subject": r.subject, "version": r.version}
            for r in self._id_versions(schema_id, subject, deleted)
        ]

    def list_schemas(
        self,
        subject_prefix: str = "",
        deleted: bool = False,
        latest_only: bool = False,
    ) -> list[dict[str, Any]]:
        prefix = normalize_subject(subject_prefix)
        if prefix in (":*:", CONTEXT_PREFIX):
            prefix = ""
        with self.store.read() as tx:
            rows = [r for r in tx.all_subject_versions(prefix) if deleted or not r.deleted]
        if latest_only:
            latest: dict[str, SubjectVersion] = {}
            for row in rows:
                latest[row.subject] = row
            rows = list(latest.values())
        result = []
        for row in rows:
            stored = self._schema(row.schema_id)
            if stored is not None:
                result.append(self._schema_json(row, stored))
        return result

    def schema_types(self) -> list[str]:
        return [t.value for t in SUPPORTED_TYPES]

    # -- compatibility ------------------------------------------------------------------

    def _compatibility_answer(
        self,
        level: CompatibilityLevel,
        parsed: ParsedSchema,
        previous: list[tuple[int, ParsedSchema]],
        verbose: bool,
    ) -> dict[str, Any]:
        errors = check_compatibility(level, parsed, previous)
        body: dict[str, Any] = {"is_compatible": not errors}
        if verbose:
            body["messages"] = compatibility_messages(level, errors)
        return body

    def _parse_for_check(
        self, request: SchemaRequest, normalize: bool, verbose: bool
    ) -> ParsedSchema | dict[str, Any]:
        try:
            return self.parse(request, normalize)
        except InvalidSchemaError as exc:
            if verbose:
                return {"is_compatible": False, "messages": [exc.message]}
            raise

    def test_compatibility(
        self,
        subject: str,
        version: int,
        request: SchemaRequest,
        normalize: bool = False,
        verbose: bool = False,
    ) -> dict[str, Any]:
        """``POST /compatibility/subjects/{s}/versions/{v}``: against that one version."""
        subject = normalize_subject(subject)
        live = _live(self._subject_versions(subject))
        if version == LATEST:
            if not live:
                return {"is_compatible": True, **({"messages": []} if verbose else {})}
            target = live[-1]
        else:
            matches = [v for v in live if v.version == version]
            if not matches:
                raise VersionNotFoundError(version)
            target = matches[0]
        normalize = normalize or self._effective_normalize(subject)
        parsed = self._parse_for_check(request, normalize, verbose)
        if isinstance(parsed, dict):
            return parsed
        stored = self._schema(target.schema_id)
        assert stored is not None
        level = self._effective_level(subject)
        return self._compatibility_answer(
            level, parsed, [(target.version, self._parsed_by_id(stored))], verbose
        )

    def test_compatibility_all(
        self, subject: str, request: SchemaRequest, normalize: bool = False, verbose: bool = False
    ) -> dict[str, Any]:
        """``POST /compatibility/subjects/{s}/versions``: the level picks which versions."""
        subject = normalize_subject(subject)
        normalize = normalize or self._effective_normalize(subject)
        parsed = self._parse_for_check(request, normalize, verbose)
        if isinstance(parsed, dict):
            return parsed
        level = self._effective_level(subject)
        live = _live(self._subject_versions(subject))
        previous = self._previous(live if level.transitive else live[-1:])
        return self._compatibility_answer(level, parsed, previous, verbose)

    # -- config -------------------------------------------------------------------------

    @staticmethod
    def _config_json(record: ConfigRecord | None, default: CompatibilityLevel) -> dict[str, Any]:
        body: dict[str, Any] = {
            "compatibilityLevel": (record.compatibility_level if record else None) or default.value
        }
        if record is not None and record.normalize is not None:
            body["normalize"] = record.normalize
        return body

    def get_config(self, subject: str | None, default_to_global: bool = False) -> dict[str, Any]:
        default = self.settings.compatibility_level
        global_record = self._config(GLOBAL_SCOPE)
        if not subject:
            return self._config_json(global_record, default)
        subject = normalize_subject(subject)
        record = self._config(subject)
        if record is None:
            if not default_to_global:
                raise SubjectConfigNotFoundError(subject)
            return self._config_json(global_record, default)
        if default_to_global:
            merged = ConfigRecord(
                record.compatibility_level
                or (global_record.compatibility_level if global_record else None),
                record.normalize
                if record.normalize is not None
                else (global_record.normalize if global_record else None),
            )
            return self._config_json(merged, default)
        if record.compatibility_level is None:
            return {
                k: v
                for k, v in self._config_json(record, default).items()
                if k != "compatibilityLevel"
            }
        return self._config_json(record, default)

    def put_config(
        self, subject: str | None, level: object, normalize: bool | None
    ) -> dict[str, Any]:
        parsed_level = parse_level(level) if level is not None else None
        scope = check_subject(subject) if subject else GLOBAL_SCOPE
        with self._write() as tx:
            self._check_writable(tx, scope or None)
            current = tx.config(scope)
            record = ConfigRecord(
                parsed_level.value
                if parsed_level is not None
                else (current.compatibility_level if current else None),
                normalize if normalize is not None else (current.normalize if current else None),
            )
            tx.put_config(scope, record)
        body: dict[str, Any] = {}
        if parsed_level is not None:
            body["compatibility"] = parsed_level.value
        if normalize is not None:
            body["normalize"] = normalize
        return body

    def delete_config(self, subject: str | None) -> dict[str, Any]:
        scope = normalize_subject(subject) if subject else GLOBAL_SCOPE
        with self._write() as tx:
            self._check_writable(tx, scope or None)
            current = tx.config(scope)
            if current is None and scope:
                raise SubjectNotFoundError(scope)
            tx.delete_config(scope)
        return self._config_json(current, self.settings.compatibility_level)

    # -- mode ---------------------------------------------------------------------------

    def get_mode(self, subject: str | None, default_to_global: bool = False) -> dict[str, Any]:
        if not subject:
            return {"mode": self._effective_mode(None).value}
        subject = normalize_subject(subject)
        value = self._mode_record(subject)
        if value is None:
            if not default_to_global:
                raise SubjectModeNotFoundError(subject)
            return {"mode": self._effective_mode(None).value}
        return {"mode": value}

    def put_mode(self, subject: str | None, mode: object, force: bool = False) -> dict[str, Any]:
        new_mode = parse_mode(mode)
        scope = check_subject(subject) if subject else GLOBAL_SCOPE
        if not self.settings.mode_mutability:
            raise OperationNotPermittedError("Mode changes are not allowed")
        with self._write() as tx:
            current = self._effective_mode(scope or None, tx)
            if new_mode is Mode.IMPORT and current is not Mode.IMPORT and not force:
                rows = tx.subject_versions(scope) if scope else tx.all_subject_versions()
                if _live(rows):
                    raise OperationNotPermittedError("Cannot import since found existing subjects")
            tx.put_mode(scope, new_mode.value)
        return {"mode": new_mode.value}

    def delete_mode(self, subject: str | None) -> dict[str, Any]:
        scope = normalize_subject(subject) if subject else GLOBAL_SCOPE
        if not self.settings.mode_mutability:
            raise OperationNotPermittedError("Mode changes are not allowed")
        with self._write() as tx:
            current = tx.mode(scope)
            if current is None and scope:
                raise SubjectNotFoundError(scope)
            tx.delete_mode(scope)
        return {"mode": current or self.settings.mode.value}

    # -- contexts and health ------------------------------------------------------------

    def contexts(self) -> list[str]:
        return [DEFAULT_CONTEXT]

    def delete_context(self, context: str) -> None:
        """Only the default context exists; other names hold nothing and delete fine."""
        if context in (DEFAULT_CONTEXT, CONTEXT_PREFIX) and self.list_subjects(deleted=True):
            raise ContextNotEmptyError(context)

    def health(self) -> dict[str, Any]:
        self.store.ping()
        return {"status": "UP", "database": "UP"}
