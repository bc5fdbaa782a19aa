"""The storage contract: what the service asks of a database, nothing about schemas' meaning.

Theory of operation
-------------------
Storage keeps rows; the service decides what they mean. Reads happen inside
``Store.read()``, writes inside ``Store.write()``. A write transaction is *serialised
across every process sharing the database*: it starts by bumping the single
``generation`` counter, which takes that row's lock (PostgreSQL) or the database's write
lock (SQLite) until commit. Everything the service reads inside the transaction
therefore reflects every earlier write, so "is this schema known, what is the next id,
what is the next version" are answered without races: ids stay dense and unique, a
version number is never given twice, and two processes registering the same schema at
the same moment agree on one id. A schema registry writes rarely, so one writer at a
time costs nothing that matters (Confluent's registry funnels every write through one
leader for the same reason).

The generation number doubles as the cache validator: a process that sees it change
knows another process wrote. ``wait_for_change`` lets a process sleep until that may have
happened: PostgreSQL wakes it with ``LISTEN``/``NOTIFY`` (every write transaction
notifies on commit), other databases simply wait out the poll interval. A write
transaction knows the generation it will commit as (``StoreWriter.new_generation``): if
that is one more than the generation of something read before the transaction, nothing
was written in between and what was read is still exact, so the writer need not read it
again under the lock. ``subject_state`` reads one subject's versions and settings together
with the generation they belong to, in one statement.

Schemas (id -> type, text, references) are never deleted, only subject versions are, so
an id always resolves to the same content and can be cached forever.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

GLOBAL_SCOPE = ""
"""The ``subject`` key under which the global config and mode are kept."""


class StoreError(Exception):
    """The database failed (API: 50001)."""


class StoreTimeoutError(StoreError):
    """A lock or statement timed out, e.g. SQLite stayed busy (API: 50002)."""


class StoreUnavailableError(StoreError):
    """The database could not be reached or opened (API: 50003)."""


@dataclass(frozen=True, slots=True)
class StoredReference:
    name: str
    subject: str
    version: int


@dataclass(frozen=True, slots=True)
class StoredSchema:
    """One schema id (``context number << 32 | id``) and its content; immutable once
    written."""

    id: int
    schema_type: str
    fingerprint: str
    text: str
    references: tuple[StoredReference, ...]
    metadata: dict[str, Any] | None = field(default=None, hash=False)
    """The version's data-contract metadata (Confluent's JSON shape), if any."""
    rule_set: dict[str, Any] | None = field(default=None, hash=False)
    """Its data-contract rule set, if any."""


@dataclass(frozen=True, slots=True)
class SubjectVersion:
    subject: str
    version: int
    schema_id: int
    deleted: bool


@dataclass(frozen=True, slots=True)
class ConfigRecord:
    compatibility_level: str | None
    normalize: bool | None
    contract_defaults: dict[str, Any] | None = field(default=None, hash=False)
    """``defaultMetadata``, ``overrideMetadata``, ``defaultRuleSet``, ``overrideRuleSet``
    under those names, the ones set."""


@dataclass(frozen=True, slots=True)
class SubjectState:
    """What registering under one subject depends on, all as of ``generation``: the
    subject's versions, the config and mode records that apply to it (its own and the
    global one), and the ids of the schema being registered and of the newest schema."""

    generation: int
    versions: list[SubjectVersion]
    configs: dict[str, ConfigRecord]
    """By scope (``subject`` or ``GLOBAL_SCOPE``), for the scopes whose record sets a field."""
    modes: dict[str, str]
    """By scope, for the scopes that have one."""
    schema_id: int | None
    """The id of the schema with the fingerprint asked about, if one was and it is stored."""
    max_schema_id: int


class StoreReader(ABC):
    """Queries available inside any transaction."""

    @abstractmethod
    def schema_by_id(self, schema_id: int) -> StoredSchema | None: ...

    @abstractmethod
    def schemas_by_ids(self, schema_ids: Iterable[int]) -> dict[int, StoredSchema]:
        """The stored schemas among ``schema_ids`` (two queries however many)."""

    @abstractmethod
    def schema_id_by_fingerprint(self, fingerprint: str) -> int | None: ...

    @abstractmethod
    def schema_id_by_fingerprint_prefix(self, prefix: str) -> int | None:
        """The schema whose fingerprint starts with ``prefix`` (lower-case hex), if any."""

    @abstractmethod
    def max_schema_id(self, id_base: int = 0) -> int:
        """Highest id handed out so far in the context whose ids start above ``id_base``
        (``context number << 32``), ``id_base`` when none."""

    @abstractmethod
    def schema_id_and_max_id(self, fingerprint: str, id_base: int = 0) -> tuple[int | None, int]:
        """``schema_id_by_fingerprint`` and ``max_schema_id`` in one query."""

    @abstractmethod
    def context_numbers(self) -> dict[str, int]:
        """Every context that was ever given a number (all but the default, 0)."""

    @abstractmethod
    def subject_versions(self, subject: str) -> list[SubjectVersion]:
        """Every version of ``subject``, soft-deleted ones included, ascending."""

    @abstractmethod
    def subject_state(
        self, subject: str, fingerprint: str | None = None, id_base: int = 0
    ) -> SubjectState:
        """``subject``'s versions, the configs and modes of ``subject`` and of the global
        scope, the id of the schema with ``fingerprint`` and the highest id, and the
        generation they belong to, read at one instant (one query)."""

    @abstractmethod
    def all_subject_versions(self, subject_prefix: str = "") -> list[SubjectVersion]:
        """Every version of every subject starting with ``subject_prefix``, by subject then
        version."""

    @abstractmethod
    def versions_by_schema_id(self, schema_id: int) -> list[SubjectVersion]: ...

    @abstractmethod
    def referrers(self, subject: str, version: int) -> list[SubjectVersion]:
        """Subject versions whose schema references ``subject``/``version``."""

    @abstractmethod
    def config(self, scope: str) -> ConfigRecord | None: ...

    @abstractmethod
    def configs(self, scopes: Sequence[str]) -> dict[str, ConfigRecord]:
        """The configs of those ``scopes`` that have one (one query)."""

    @abstractmethod
    def mode(self, scope: str) -> str | None: ...

    @abstractmethod
    def modes(self, scopes: Sequence[str]) -> dict[str, str]:
        """The modes of those ``scopes`` that have one (one query)."""

    @abstractmethod
    def generation(self) -> int: ...


class StoreWriter(StoreReader):
    """Mutations; only inside ``Store.write()``, which serialises writers."""

    new_generation: int
    """The generation this transaction commits as. The database was at
    ``new_generation - 1`` when this writer got the lock, so whatever was read at that
    generation before the transaction began is still exact inside it."""

    @abstractmethod
    def insert_schema(
        self,
        schema_id: int,
        schema_type: str,
        fingerprint: str,
        text: str,
        references: Sequence[StoredReference],
        metadata: dict[str, Any] | None = None,
        rule_set: dict[str, Any] | None = None,
    ) -> None: ...

    @abstractmethod
    def insert_version(self, subject: str, version: int, schema_id: int) -> None: ...

    @abstractmethod
    def set_version_deleted(self, subject: str, version: int, deleted: bool) -> None: ...

    @abstractmethod
    def remove_version(self, subject: str, version: int) -> None:
        """Permanent delete of one subject version (the schema row stays)."""

    @abstractmethod
    def put_config(self, scope: str, record: ConfigRecord) -> None: ...

    @abstractmethod
    def delete_config(self, scope: str) -> None: ...

    @abstractmethod
    def put_mode(self, scope: str, mode: str) -> None: ...

    @abstractmethod
    def delete_mode(self, scope: str) -> None: ...

    @abstractmethod
    def add_context(self, name: str) -> int:
        """Give context ``name`` the next number and return it. Numbers are never
        reused or changed: they are part of the stored ids."""


class Store(ABC):
    """A database holding one registry, shared by any number of registry processes."""

    @abstractmethod
    def read(self) -> AbstractContextManager[StoreReader]: ...

    @abstractmethod
    def write(self) -> AbstractContextManager[StoreWriter]:
        """A transaction that excludes every other writer until it commits.

        Commits when the block exits normally, rolls back on an exception.
        """

    @abstractmethod
    def generation(self) -> int:
        """The write counter: changes whenever any process committed a write."""

    def wait_for_change(self, timeout_s: float, stop: threading.Event) -> None:
        """Block until another process may have written, ``timeout_s`` passed or ``stop``
        is set. Runs on the cache watcher's thread.

        This default only waits (the caller then polls ``generation``); a store that can
        be told about commits returns as soon as one happens.
        """
        stop.wait(timeout_s)

    @abstractmethod
    def ping(self) -> None:
        """Raise ``StoreError`` unless the database answers."""

    @abstractmethod
    def close(self) -> None: ...


def iter_scopes(subject: str | None) -> Iterator[str]:
    """The config/mode scopes that apply to ``subject``: its own, then the global one."""
    if subject:
        yield subject
    yield GLOBAL_SCOPE
