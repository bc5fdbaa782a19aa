"""Reads: subjects, versions, lookups and schemas by id or GUID.

The hot paths are here (``GET /schemas/ids/{id}``, ``GET /subjects/{s}/versions/latest``):
the ``cached_*`` methods answer from the cache alone, so async routers serve hits
without leaving the event loop; the others may read the store and run on a worker
thread."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from registry_service.errors import (
    SchemaNotFoundError,
    SubjectNotFoundError,
)
from registry_service.service.core import ServiceCore
from registry_service.service.data_contracts import (
    contract_json,
    has_properties,
    with_contract,
)
from registry_service.service.values import (
    CONTEXT_PREFIX,
    CONTEXT_WILDCARD,
    ID_BITS,
    SUPPORTED_TYPES,
    SchemaRequest,
    context_of,
    guid_prefix,
    live_versions,
    normalize_subject,
    public_id,
    qualify,
    references_json,
    schema_guid,
    split_qualified,
    subject_sort_key,
)
from registry_service.storage import (
    StoredSchema,
    SubjectVersion,
)


class Reads(ServiceCore):
    """Subjects, versions, lookups and schemas by id."""

    def list_subjects(
        self, prefix: str = "", deleted: bool = False, deleted_only: bool = False
    ) -> list[str]:
        rows = self._versions_with_prefix(prefix)
        live: set[str] = set()
        dead: set[str] = set()
        for row in rows:
            (dead if row.deleted else live).add(row.subject)
        if deleted_only:
            chosen = dead - live
        elif deleted:
            chosen = live | dead
        else:
            chosen = live
        return sorted(chosen, key=subject_sort_key)

    def _versions_with_prefix(self, prefix: str) -> list[SubjectVersion]:
        """Every version of the subjects ``subjectPrefix`` names, as Confluent reads it:
        none or ``:*:`` for every context, ``:*:p`` for names starting with ``p`` in any
        context, ``:.:`` or ``:.:p`` for the default context's, ``:.ctx:p`` for that
        context's, a plain ``p`` for the default context's subjects starting with it."""
        if prefix.startswith(CONTEXT_WILDCARD) or not prefix:
            name = normalize_subject(prefix[len(CONTEXT_WILDCARD) :] if prefix else "")
            with self.store.read() as tx:
                rows = tx.all_subject_versions()
            if not name:
                return rows
            return [r for r in rows if split_qualified(r.subject)[1].startswith(name)]
        if prefix.startswith(CONTEXT_PREFIX):
            name = normalize_subject(prefix[len(CONTEXT_PREFIX) :])
            with self.store.read() as tx:
                rows = tx.all_subject_versions(name)
            return [r for r in rows if not r.subject.startswith(":.")]
        with self.store.read() as tx:
            return tx.all_subject_versions(normalize_subject(prefix))

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
            chosen = live_versions(versions)
        if not chosen and not (deleted_only and versions):
            raise SubjectNotFoundError(subject)
        if deleted_as_negative:
            return [-v.version if v.deleted else v.version for v in chosen]
        return [v.version for v in chosen]

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
        """``GET /subjects/{s}/metadata?key=k&value=v``: the newest version whose metadata
        properties hold every ``k: v`` (Confluent's ``getLatestWithMetadata``: a version
        without metadata matches no query, not even one without pairs)."""
        subject = normalize_subject(subject)
        versions = self._subject_versions(subject)
        visible = list(versions) if deleted else live_versions(versions)
        if not visible:
            raise SubjectNotFoundError(subject)
        stored = self._schemas([v.schema_id for v in visible])
        for item in reversed(visible):
            found = stored.get(item.schema_id)
            if found is not None and has_properties(found.metadata, metadata):
                return self._schema_json(item, found, fmt)
        raise SchemaNotFoundError()

    def referenced_by(self, subject: str, version: int, deleted: bool = False) -> list[int]:
        subject = normalize_subject(subject)
        item = self._visible_version(subject, version, deleted, self._subject_versions(subject))
        with self.store.read() as tx:
            rows = tx.referrers(subject, item.version)
        return sorted({public_id(r.schema_id) for r in rows if deleted or not r.deleted})

    def lookup(
        self,
        subject: str,
        request: SchemaRequest,
        normalize: bool = False,
        deleted: bool = False,
        fmt: str | None = None,
    ) -> dict[str, Any]:
        """``POST /subjects/{s}``: which version of ``subject`` holds this schema.

        With ``metadata`` or ``ruleSet`` in the request only a version with exactly those
        matches; without, a version holding the same schema with any contract does too
        (newest first), as Confluent's ``canLookup`` lets a client that knows nothing of
        data contracts find the version it registered."""
        subject = normalize_subject(subject)
        versions = self._subject_versions(subject)
        visible = list(versions) if deleted else live_versions(versions)
        if not visible:
            raise SubjectNotFoundError(subject)
        normalize = normalize or self._effective_normalize(subject)
        parsed = self.parse(request, normalize, context=context_of(subject))
        id_base = self._subject_id_base(subject) or 0
        requested = request.contract
        candidates = [with_contract(parsed, requested)]
        if not normalize:
            candidates.append(with_contract(parsed.normalized(), requested))
        for candidate in candidates:
            schema_id = self._schema_id_for(candidate, id_base=id_base)
            if schema_id is None:
                continue
            matches = [v for v in visible if v.schema_id == schema_id]
            if matches:
                stored = self._schema(schema_id)
                assert stored is not None
                return self._schema_json(matches[-1], stored, fmt)
        if not requested:
            for candidate in candidates:
                item = self._version_ignoring_contract(visible, candidate)
                if item is not None:
                    return self._schema_json(item, self._stored(item.schema_id), fmt)
        raise SchemaNotFoundError()

    def cached_schema_by_id(
        self, schema_id: int, fmt: str | None, subject: str | None, fetch_max_id: bool
    ) -> dict[str, Any] | None:
        """``schema_by_id`` from the cache alone; ``None`` when something must be read."""
        if fetch_max_id:
            return None
        if subject:
            subject = normalize_subject(subject)
            id_base = self._known_id_base(subject)
            if id_base is None:
                return None
            schema_id += id_base
        stored = self.cache.schemas.get(schema_id)
        if stored is None or (fmt and self.cache.parsed.get(("id", schema_id)) is None):
            return None
        versions = None
        if subject:
            versions = self.cache.get(("versions", subject))
            if not isinstance(versions, list):
                return None
            if self._context_numbers and not any(v.schema_id == schema_id for v in versions):
                return None  # may be in another context: ``schema_by_id`` looks
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
                chosen = (live_versions(matches) or matches)[-1]
                body = {"subject": subject, "version": chosen.version, **body}
        return body

    def _schema_string_json(self, stored: StoredSchema, fmt: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemaType": stored.schema_type,
            "guid": schema_guid(stored.fingerprint),
        }
        if stored.references:
            body["references"] = references_json(stored.references)
        contract_json(stored.metadata, stored.rule_set, body)
        body["schema"] = self._render(stored, fmt)
        return body

    def schema_by_id(
        self,
        schema_id: int,
        fmt: str | None = None,
        subject: str | None = None,
        fetch_max_id: bool = False,
    ) -> dict[str, Any]:
        """``GET /schemas/ids/{id}``: the id in the context of ``subject`` (the default
        context without one). An unqualified ``subject`` that does not hold the id in
        the default context is tried in each other context, as Confluent's
        ``getSchemaKeyUsingContexts`` does."""
        subject, id_base, stored = self.id_in_context(schema_id, subject)
        if stored is None or id_base is None:
            raise SchemaNotFoundError(schema_id)
        versions = self._subject_versions(subject) if subject else None
        body = self._schema_by_id_json(stored, fmt, subject, versions)
        if fetch_max_id:
            with self.store.read() as tx:
                body["maxId"] = public_id(tx.max_schema_id(id_base))
        return body

    def id_in_context(
        self, schema_id: int, subject: str | None
    ) -> tuple[str | None, int | None, StoredSchema | None]:
        """The subject (normalized), context id base and schema that ``GET
        /schemas/ids/{id}?subject=`` answers with; the auth guard asks the same, so it
        judges the subject actually answered. Unknown ids and contexts give None."""
        subject = normalize_subject(subject) if subject else None
        id_base = self._subject_id_base(subject)
        stored = (
            self._schema(id_base + schema_id) if id_base is not None and schema_id > 0 else None
        )
        if (
            subject
            and not subject.startswith(":.")
            and schema_id > 0
            and (
                stored is None
                or not any(v.schema_id == stored.id for v in self._subject_versions(subject))
            )
        ):
            found = self._in_other_context(schema_id, subject)
            if found is not None:
                subject, stored = found
                id_base = stored.id - schema_id
        return subject, id_base, stored

    def _in_other_context(self, schema_id: int, name: str) -> tuple[str, StoredSchema] | None:
        """The first context (by name) whose subject ``name`` holds id ``schema_id``."""
        self._load_contexts()
        for context, number in sorted(self._context_numbers.items()):
            qualified = qualify(context, name)
            stored = self._schema((number << ID_BITS) + schema_id)
            if stored is not None and any(
                v.schema_id == stored.id for v in self._subject_versions(qualified)
            ):
                return qualified, stored
        return None

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
        """``GET /schemas/guids/{guid}/ids``: the id and context of the schema found."""
        stored = self._schema_by_guid(guid)
        return [{"id": public_id(stored.id), "context": self._context_of_id(stored.id)}]

    def schema_text_by_id(self, schema_id: int, fmt: str | None = None) -> str:
        stored = self._schema(schema_id) if schema_id > 0 else None
        if stored is None:
            raise SchemaNotFoundError(schema_id)
        return self._render(stored, fmt)

    def _id_versions(
        self, schema_id: int, subject: str | None, deleted: bool
    ) -> list[SubjectVersion]:
        subject = normalize_subject(subject) if subject else None
        id_base = self._subject_id_base(subject)
        if schema_id < 1 or id_base is None or self._schema(id_base + schema_id) is None:
            raise SchemaNotFoundError(schema_id)
        with self.store.read() as tx:
            rows = tx.versions_by_schema_id(id_base + schema_id)
        if subject and split_qualified(subject)[1]:  # a subject, not a context alone
            rows = [r for r in rows if r.subject == subject]
        rows = [r for r in rows if deleted or not r.deleted]
        if not rows:
            raise SchemaNotFoundError()
        return rows

    def subjects_by_id(
        self, schema_id: int, subject: str | None = None, deleted: bool = False
    ) -> list[str]:
        return sorted(
            {r.subject for r in self._id_versions(schema_id, subject, deleted)},
            key=subject_sort_key,
        )

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
        rows = [r for r in self._versions_with_prefix(subject_prefix) if deleted or not r.deleted]
        rows.sort(key=lambda r: (subject_sort_key(r.subject), r.version))
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
