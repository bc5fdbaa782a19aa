"""Registration: ``POST /subjects/{s}/versions``, the one write on the hot path.

Identity: a schema's ``fingerprint`` (type + canonical text + references, computed by
the formats) names one id in the subject's context (``values.scoped_fingerprint``; each
context has its own id space, see ``storage.sql``). Registering looks the fingerprint
up; only a schema never seen before in that context gets the context's ``max(id) + 1``.
The id and the version number are taken inside ``Store.write()``, which excludes every
other writer in every process, so they cannot race. What decides whether a registration
may write at all (parsing, mode, version rules, compatibility) runs before the lock on
the cached snapshot of the subject, and runs again under the lock only if another write
has landed since; a subject not cached is read and judged under the lock (``register``).
Registrations that wait for the lock together share one transaction
(``group_commit.GroupCommit``)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from registry_service.errors import (
    ImportIdMismatchError,
    IncompatibleSchemaError,
    InvalidSchemaError,
    InvalidVersionError,
    OperationNotPermittedError,
    RegistryError,
)
from registry_service.formats import (
    CompatibilityLevel,
    ParsedSchema,
    SchemaType,
    check_compatibility,
    compatibility_messages,
)
from registry_service.group_commit import GroupCommit
from registry_service.service.core import ScopeSettings, ServiceCore, SubjectSnapshot
from registry_service.service.data_contracts import (
    Contract,
    contract_json,
    contract_of,
    effective_contract,
    format_schema,
    with_contract,
)
from registry_service.service.values import (
    DEFAULT_CONTEXT,
    LATEST,
    SchemaRequest,
    check_subject,
    context_of,
    live_versions,
    normalize_subject,
    public_id,
    references_json,
    schema_guid,
    scoped_fingerprint,
)
from registry_service.settings import Mode, Settings
from registry_service.storage import (
    Store,
    StoredReference,
    StoredSchema,
    StoreReader,
    StoreWriter,
    SubjectVersion,
)


@dataclass(frozen=True, slots=True)
class _Registered:
    """What a registration's write did: the answer, the subject's settings and versions
    as of that write (for the cache), and the schema if it was inserted as a new row."""

    subject: str
    body: dict[str, Any]
    versions: list[SubjectVersion]
    settings: ScopeSettings
    inserted: tuple[StoredSchema, ParsedSchema] | None


class Registration(ServiceCore):
    """Registering schemas under subjects, in group-committed transactions."""

    def __init__(self, store: Store, settings: Settings) -> None:
        super().__init__(store, settings)
        # shared by one transaction's registrations: the subjects they wrote
        self._registrations: GroupCommit[_Registered, set[str]] = GroupCommit(
            store, self._registrations_committed, self._registrations_rolled_back, set, bool
        )

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
            "id": public_id(stored.id),
            "guid": schema_guid(stored.fingerprint),
            "version": item.version,
            "schemaType": stored.schema_type,
        }
        if stored.references:
            body["references"] = references_json(stored.references)
        contract_json(stored.metadata, stored.rule_set, body)
        return body

    def cached_register(
        self, subject: str, request: SchemaRequest, normalize: bool
    ) -> dict[str, Any] | None:
        """The answer for re-registering a known schema, from the cache alone, or None."""
        if (
            request.id is not None
            or request.version not in (None, LATEST)
            or request.references
            or request.contract
        ):
            return None
        subject = normalize_subject(subject)
        # The default context (id base 0) without a call: this is the hot path.
        id_base = self._known_id_base(subject) if subject.startswith(":.") else 0
        if id_base is None:
            return None
        versions = self.cache.get(("versions", subject))
        if not isinstance(versions, list) or not versions:
            return None
        settings = self.cache.get(("settings", subject))
        if not isinstance(settings, ScopeSettings) or settings.contract_defaults is not None:
            return None  # not cached (normalize unknown), or the config adds a contract
        normalize = normalize or settings.normalize
        try:
            schema_type = SchemaType(request.schema_type.upper())
        except ValueError:
            return None
        parsed = self.cache.parsed.get(("request", schema_type, request.schema, (), normalize))
        if parsed is None:
            return None
        fingerprint = parsed.fingerprint
        if id_base:
            fingerprint = scoped_fingerprint(fingerprint, id_base)
        schema_id = self.cache.fingerprints.get(fingerprint)
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
        context = context_of(subject)
        id_base = self._subject_id_base(subject)  # None: a context new to the store
        snapshot = self._cached_snapshot(subject) if id_base is not None else None
        version = None  # None: judged under the lock
        if snapshot is None or id_base is None:
            # Not cached: judged under the lock on what the transaction reads (one query),
            # rather than on a read made before it that a busy registry would mostly
            # find stale by then and have to make again.
            parsed = self.parse(request, normalize, context=context)
        else:
            parsed = self.parse(request, normalize or snapshot.settings.normalize, context=context)
            schema_id = None
            if request.id is None and live_versions(snapshot.versions):
                schema_id = self._schema_id_for(parsed, id_base=id_base)
            existing, parsed, schema_id = self._judge_existing(
                request, parsed, snapshot, schema_id, id_base=id_base
            )
            if existing is not None:
                return self._register_json(existing, self._stored(existing.schema_id))
            if request.id is None:  # imports are judged under the lock only
                try:
                    plan = self._plan_registration(
                        subject, request, parsed, snapshot, schema_id, id_base=id_base
                    )
                except RegistryError:
                    if self.store.generation() == snapshot.generation:
                        raise
                    plan = None  # the snapshot has aged: judged again under the lock
                    snapshot = None
                    parsed = self.parse(request, normalize, context=context)
                if isinstance(plan, SubjectVersion):
                    return self._register_json(plan, self._stored(plan.schema_id))
                version = plan
        outcome = self._registrations.run(
            lambda tx, written: self._register_locked(
                tx, written, subject, request, normalize, parsed, snapshot, version
            )
        )
        return outcome.body

    def _judge_existing(
        self,
        request: SchemaRequest,
        parsed: ParsedSchema,
        snapshot: SubjectSnapshot,
        schema_id: int | None,
        tx: StoreReader | None = None,
        id_base: int = 0,
    ) -> tuple[SubjectVersion | None, ParsedSchema, int | None]:
        """Confluent's register fast path, then the data contract.

        A plain request (no id, no version, no metadata or rule set, and no contract
        defaults in the config) for a schema a live version holds is answered with that
        version: the one with this identity (``schema_id``, looked up by the caller), or
        else the newest holding the same schema with any contract. Otherwise the schema
        gets the contract it will be stored with (``data_contracts.effective_contract``)
        and the id of that identity, if stored. Returns the version to answer with (or
        None), the schema to register and its id."""
        if (
            request.id is None
            and request.version in (None, LATEST)
            and not request.contract
            and snapshot.settings.contract_defaults is None
        ):
            live = live_versions(snapshot.versions)
            existing = None if schema_id is None else self._live_version_with(live, schema_id)
            if existing is None and live:
                existing = self._version_ignoring_contract(live, parsed, tx)
            if existing is not None:
                return existing, parsed, schema_id
        contract = self._contract_for(request, snapshot, tx)
        if not contract:
            return None, parsed, schema_id
        contracted = with_contract(parsed, contract)
        return None, contracted, self._schema_id_for(contracted, tx, id_base)

    def _contract_for(
        self, request: SchemaRequest, snapshot: SubjectSnapshot, tx: StoreReader | None
    ) -> Contract:
        """The metadata and rule set a registration on ``snapshot`` stores: the request's
        alone in IMPORT mode (Confluent populates nothing there), else merged with the
        latest live version's and the config's (``effective_contract``)."""
        requested = request.contract
        if snapshot.settings.mode is Mode.IMPORT:
            return requested
        live = live_versions(snapshot.versions)
        previous = None
        if live:
            stored = self._stored(live[-1].schema_id, tx)
            previous = Contract(stored.metadata, stored.rule_set) or None
        defaults = snapshot.settings.contract_defaults
        if not requested and previous is None and defaults is None:
            return requested
        next_version = snapshot.versions[-1].version + 1 if snapshot.versions else 1
        return effective_contract(
            requested, previous, defaults, next_version, request.version is not None
        )

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
            if parsed.schema_type in (SchemaType.AVRO, SchemaType.JSON):
                # An Avro or JSON schema parsed from the stored text is this same tree, so
                # later compatibility checks need not parse it again. (Not Protobuf: from a
                # base64 descriptor the stored text compiles to a descriptor that may
                # differ in detail, and ``format=serialized`` must not depend on who
                # registered.)
                self.cache.parsed.put(("id", stored.id), format_schema(parsed))

    def _registrations_rolled_back(self, several: bool) -> None:
        self.cache.invalidate()
        self._forget_contexts()
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
        id_base: int = 0,
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
        context = context_of(subject)
        if mode in (Mode.READONLY, Mode.READONLY_OVERRIDE):
            raise OperationNotPermittedError(
                f"Subject {subject} in context {context} is in read-only mode"
            )
        if request.id is not None and mode is not Mode.IMPORT:
            raise OperationNotPermittedError(
                f"Subject {subject} in context {context} is not in import mode"
            )
        if request.id is None and mode is not Mode.READWRITE:
            raise OperationNotPermittedError(
                f"Subject {subject} in context {context} is not in read-write mode"
            )
        importing = mode is Mode.IMPORT
        if request.version is not None and request.version != LATEST and request.version < 1:
            raise InvalidVersionError(str(request.version))
        versions = snapshot.versions
        if request.id is not None:
            if request.id < 1:
                raise InvalidSchemaError(f"Invalid schema id {request.id}")
            holder = self._schema(id_base + request.id, tx)
            if holder is not None and holder.fingerprint != scoped_fingerprint(
                parsed.fingerprint, id_base
            ):
                raise OperationNotPermittedError(
                    f"Overwrite new schema with id {request.id} in context "
                    f"{context} is not permitted."
                )
            if schema_id is not None and schema_id != id_base + request.id:
                raise ImportIdMismatchError()
            schema_id = id_base + request.id

        if schema_id is not None:
            existing = self._live_version_with(versions, schema_id, request.version)
            if existing is not None:
                return existing

        if not importing:
            level = snapshot.settings.level
            if level is not CompatibilityLevel.NONE and live_versions(versions):
                previous = self._previous(
                    versions if level.transitive else live_versions(versions)[-1:], tx
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
        context = context_of(subject)
        id_base = 0 if context == DEFAULT_CONTEXT else self._id_base_for_write(tx, context)
        if (
            snapshot is not None
            and tx.new_generation == snapshot.generation + 1
            and subject not in written
        ):
            # The snapshot still holds: no commit since, and this subject untouched by
            # the transaction so far.
            fingerprint = scoped_fingerprint(parsed.fingerprint, id_base)
            schema_id = self.cache.fingerprints.get(fingerprint)
            max_id = None
            if schema_id is None:
                schema_id, max_id = tx.schema_id_and_max_id(fingerprint, id_base)
        else:  # no snapshot, or a write landed after it: judge on what is there now
            used = normalize or (snapshot is not None and snapshot.settings.normalize)
            parsed = format_schema(parsed)
            state = tx.subject_state(
                subject, scoped_fingerprint(parsed.fingerprint, id_base), id_base
            )
            snapshot = self._snapshot_of(subject, state, tx)
            schema_id, max_id = state.schema_id, state.max_schema_id
            wanted = normalize or snapshot.settings.normalize
            if wanted != used:
                parsed = self.parse(request, wanted, tx, context)
                schema_id, max_id = tx.schema_id_and_max_id(
                    scoped_fingerprint(parsed.fingerprint, id_base), id_base
                )
            existing, parsed, schema_id = self._judge_existing(
                request, parsed, snapshot, schema_id, tx, id_base
            )
            if existing is not None:
                body = self._register_json(existing, self._stored(existing.schema_id, tx))
                return _Registered(subject, body, snapshot.versions, snapshot.settings, None)
            version = None
        if version is None:
            plan = self._plan_registration(
                subject, request, parsed, snapshot, schema_id, tx, id_base
            )
            if isinstance(plan, SubjectVersion):
                body = self._register_json(plan, self._stored(plan.schema_id, tx))
                return _Registered(subject, body, snapshot.versions, snapshot.settings, None)
            version = plan
        if request.id is not None:
            schema_id = id_base + request.id
        stored = None if schema_id is None else self._schema(schema_id, tx)
        if stored is None:
            if schema_id is None:
                assert max_id is not None  # looked up with the fingerprint
                schema_id = max_id + 1
            stored = StoredSchema(
                schema_id,
                parsed.schema_type.value,
                scoped_fingerprint(parsed.fingerprint, id_base),
                parsed.text,
                tuple(StoredReference(r.name, r.subject, r.version) for r in parsed.references),
                contract_of(parsed).metadata,
                contract_of(parsed).rule_set,
            )
            tx.insert_schema(
                stored.id,
                stored.schema_type,
                stored.fingerprint,
                stored.text,
                stored.references,
                stored.metadata,
                stored.rule_set,
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
