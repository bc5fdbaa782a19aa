"""The state one registry process shares between its rules, and the cached reads every
rule builds on.

``ServiceCore`` holds the store, the settings and the ``RegistryCache``, and owns what
the rule modules all need: schema rows by id (cached forever: an id never changes
content), subject versions, the level/normalize/mode in force for a subject
(``ScopeSettings``, read in one go and cached as one entry), parsing a request or a
stored schema (cached by text and exact references), and the Confluent-shaped answer
for one version. A write transaction (``_write``) drops this process's mutable cache
entries so its own reads see the write at once."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from registry_service.cache import GenerationWatcher, RegistryCache
from registry_service.errors import (
    InvalidSchemaError,
    OperationNotPermittedError,
    SubjectNotFoundError,
    VersionNotFoundError,
)
from registry_service.formats import (
    CompatibilityLevel,
    Direction,
    ParsedSchema,
    SchemaReference,
    SchemaType,
    parse_schema,
)
from registry_service.formats import (
    InvalidSchemaError as FormatInvalidSchemaError,
)
from registry_service.service.data_contracts import (
    ContractDefaults,
    contract_json,
    format_schema,
)
from registry_service.service.values import (
    DEFAULT_CONTEXT,
    ID_BITS,
    LATEST,
    SUPPORTED_TYPES,
    SchemaRequest,
    context_of,
    context_scope,
    live_versions,
    name_is_valid,
    normalize_subject,
    public_id,
    qualify,
    references_json,
    schema_guid,
    scoped_fingerprint,
    split_qualified,
)
from registry_service.settings import Mode, Settings
from registry_service.storage import (
    GLOBAL_SCOPE,
    ConfigRecord,
    Store,
    StoredSchema,
    StoreReader,
    StoreWriter,
    SubjectState,
    SubjectVersion,
)


@dataclass(frozen=True, slots=True)
class ScopeSettings:
    """What applies to one subject after falling back to the global settings."""

    level: CompatibilityLevel
    normalize: bool
    mode: Mode
    contract_defaults: ContractDefaults | None = None
    """The config's default and override metadata and rule sets, field by field."""


@dataclass(frozen=True, slots=True)
class SubjectSnapshot:
    """A subject's settings and versions as the database held them at ``generation``
    (or, from the cache, at ``generation`` or later: see ``RegistryCache``)."""

    generation: int
    settings: ScopeSettings
    versions: list[SubjectVersion]


class ServiceCore:
    """The state one registry process shares between its rules, and the cached reads
    every rule builds on; thread-safe."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.cache = RegistryCache(settings.cache_max_schemas)
        self.watcher = GenerationWatcher(store, self.cache, settings.cache_poll_interval_ms)
        # Context name <-> number (``storage.sql``: ids are ``number << 32 | id``). A
        # number never changes once committed, so these are kept for the process's life.
        self._context_numbers: dict[str, int] = {}
        self._context_names: dict[int, str] = {}

    # -- contexts -----------------------------------------------------------------------

    def _id_base(self, context: str, tx: StoreReader | None = None) -> int | None:
        """Where ``context``'s ids start inside the store (0 for the default context),
        or None when no subject was ever registered in it."""
        if context == DEFAULT_CONTEXT:
            return 0
        number = self._context_numbers.get(context)
        if number is None:
            self._load_contexts(tx)
            number = self._context_numbers.get(context)
        return None if number is None else number << ID_BITS

    def _load_contexts(self, tx: StoreReader | None = None) -> None:
        if tx is None:
            with self.store.read() as reader:
                numbers = reader.context_numbers()
        else:
            numbers = tx.context_numbers()
        self._context_numbers.update(numbers)
        self._context_names.update({n: name for name, n in numbers.items()})

    def _id_base_for_write(self, tx: StoreWriter, context: str) -> int:
        """``_id_base``, giving ``context`` a number first if it has none (inside the
        registration's transaction; forgotten again if that rolls back)."""
        base = self._id_base(context, tx)
        if base is not None:
            return base
        number = tx.add_context(context)
        self._context_numbers[context] = number
        self._context_names[number] = context
        return number << ID_BITS

    def _forget_contexts(self) -> None:
        """After a rollback: a number given inside it was never committed."""
        self._context_numbers.clear()
        self._context_names.clear()

    def _context_of_id(self, schema_id: int) -> str:
        """The context a stored id belongs to."""
        number = schema_id >> ID_BITS
        if not number:
            return DEFAULT_CONTEXT
        name = self._context_names.get(number)
        if name is None:
            self._load_contexts()
            name = self._context_names.get(number, DEFAULT_CONTEXT)
        return name

    def _known_id_base(self, subject: str) -> int | None:
        """``_subject_id_base`` from memory alone (for the cache-only answers)."""
        if not subject.startswith(":."):
            return 0
        number = self._context_numbers.get(context_of(subject))
        return None if number is None else number << ID_BITS

    def _subject_id_base(self, subject: str | None) -> int | None:
        """``_id_base`` of the context ``subject`` (normalized) is in; 0 without one."""
        if not subject or not subject.startswith(":."):
            return 0
        return self._id_base(context_of(subject))

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
        parse_schema(SchemaType.JSON, '{"type": "object", "properties": {"a": {"$ref": "#"}}}')
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
        live = live_versions(versions)
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

    def _snapshot_of(
        self, subject: str, state: SubjectState, tx: StoreReader | None = None
    ) -> SubjectSnapshot:
        scopes = _scopes_of(subject)
        configs, modes = state.configs, state.modes
        if len(scopes) > 2 and tx is not None:  # the context's own settings, read apart
            configs = {**configs, **tx.configs(scopes[1:2])}
            modes = {**modes, **tx.modes(scopes[1:2])}
        settings = self._merge_settings(scopes, configs, modes)
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
        scopes = _scopes_of(subject)
        return self._merge_settings(scopes, tx.configs(scopes), tx.modes(scopes))

    def _merge_settings(
        self, scopes: Sequence[str], configs: dict[str, ConfigRecord], modes: dict[str, str]
    ) -> ScopeSettings:
        """``scopes`` most specific first; the process settings where none says."""
        level = self.settings.compatibility_level
        normalize: bool | None = None
        mode = self.settings.mode
        defaults: ContractDefaults | None = None
        for scope in reversed(scopes):  # global first, the subject's own overrides it
            record = configs.get(scope)
            if record is not None and record.contract_defaults:
                own = ContractDefaults.from_stored(record.contract_defaults)
                defaults = own.over(defaults) if own is not None else defaults
            if record is not None and record.compatibility_level:
                level = CompatibilityLevel(record.compatibility_level)
            if record is not None and record.normalize is not None:
                normalize = record.normalize
            if scope in modes:
                mode = Mode(modes[scope])
        return ScopeSettings(level, bool(normalize), mode, defaults)

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
            live = live_versions(versions)
            return live[-1] if live else None
        for item in versions:
            if item.version == version:
                return item
        return None

    def _resolve_references(
        self,
        references: Sequence[SchemaReference],
        tx: StoreReader | None = None,
        context: str = DEFAULT_CONTEXT,
    ) -> tuple[tuple[SchemaReference, ...], dict[str, str], tuple[Hashable, ...]]:
        """Pin each reference to a concrete version and collect the texts it needs.

        A reference names a subject in the referring schema's ``context`` unless it is
        qualified itself (Confluent's ``qualifySubjectWithParent``); it is pinned under
        its qualified name, so a stored reference always says which context it is in.

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
            if context != DEFAULT_CONTEXT and not ref_subject.startswith(":."):
                ref_subject = qualify(context, ref_subject)
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
            spelled = ref.subject if context == DEFAULT_CONTEXT else ref_subject
            pinned.append(SchemaReference(ref.name, spelled, found.version))
            key.append((ref.name, spelled, found.version, found.schema_id))
            collect(stored, ref.name)
        return tuple(pinned), texts, tuple(key)

    def parse(
        self,
        request: SchemaRequest,
        normalize: bool,
        tx: StoreReader | None = None,
        context: str = DEFAULT_CONTEXT,
    ) -> ParsedSchema:
        """Parse (cached by text and exact references) or raise 42201. References
        resolve in ``context`` (the subject's)."""
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
        refs, texts, ref_key = self._resolve_references(request.references, tx, context)
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
        _, texts, _ = self._resolve_references(refs, tx, self._context_of_id(stored.id))
        try:
            parsed = parse_schema(SchemaType(stored.schema_type), stored.text, refs, texts)
        except FormatInvalidSchemaError as exc:  # stored by an older, laxer parser
            raise InvalidSchemaError(
                f"Stored schema {stored.id} no longer parses: {exc.message}"
            ) from None
        self.cache.parsed.put(key, parsed)
        return parsed

    def _schema_id_for(
        self, parsed: ParsedSchema, tx: StoreReader | None = None, id_base: int = 0
    ) -> int | None:
        """The stored id of ``parsed`` in the context whose ids start at ``id_base``."""
        fingerprint = scoped_fingerprint(parsed.fingerprint, id_base)
        cached = self.cache.fingerprints.get(fingerprint)
        if cached is not None:
            return cached
        if tx is not None:
            found = tx.schema_id_by_fingerprint(fingerprint)
        else:
            with self.store.read() as reader:
                found = reader.schema_id_by_fingerprint(fingerprint)
        if found is not None:
            self.cache.fingerprints.put(fingerprint, found)
        return found

    # -- responses -----------------------------------------------------------------------

    def _schema_json(
        self, item: SubjectVersion, stored: StoredSchema, fmt: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "subject": item.subject,
            "version": item.version,
            "id": public_id(stored.id),
            "guid": schema_guid(stored.fingerprint),
            "schemaType": stored.schema_type,
        }
        if stored.references:
            body["references"] = references_json(stored.references)
        contract_json(stored.metadata, stored.rule_set, body)
        body["schema"] = self._render(stored, fmt)
        if item.deleted:
            body["deleted"] = True
        return body

    def _render(self, stored: StoredSchema, fmt: str | None) -> str:
        if not fmt:
            return stored.text
        return self._parsed_by_id(stored).render(fmt)

    def _visible_version(
        self, subject: str, version: int, deleted: bool, versions: Sequence[SubjectVersion]
    ) -> SubjectVersion:
        visible = list(versions) if deleted else live_versions(versions)
        if not visible:
            raise SubjectNotFoundError(subject)
        if version == LATEST:
            return visible[-1]
        for item in visible:
            if item.version == version:
                return item
        raise VersionNotFoundError(version)

    def _version_ignoring_contract(
        self,
        versions: Sequence[SubjectVersion],
        parsed: ParsedSchema,
        tx: StoreReader | None = None,
    ) -> SubjectVersion | None:
        """The newest of ``versions`` holding ``parsed``'s schema with a data contract
        (any), or None. Only versions registered with a contract are parsed again: the
        others would have matched by identity."""
        fingerprint = format_schema(parsed).fingerprint
        stored = self._schemas([v.schema_id for v in versions], tx)
        for item in reversed(versions):
            found = stored.get(item.schema_id)
            if found is None or (found.metadata is None and found.rule_set is None):
                continue
            if self._parsed_by_id(found, tx).fingerprint == fingerprint:
                return item
        return None

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
                f"{where} in context {context_of(subject or '')} is in read-only mode"
            )

    def health(self) -> dict[str, Any]:
        self.store.ping()
        return {"status": "UP", "database": "UP"}


def _scopes_of(subject: str | None) -> list[str]:
    """The config/mode scopes that apply to ``subject``, most specific first: its own,
    its context's (``:.ctx:``, outside the default context) and the global one."""
    if not subject:
        return [GLOBAL_SCOPE]
    if not subject.startswith(":."):
        return [subject, GLOBAL_SCOPE]
    context, name = split_qualified(subject)
    scope = context_scope(context)
    if not name:  # the context's own scope
        return [scope, GLOBAL_SCOPE]
    return [subject, scope, GLOBAL_SCOPE]
