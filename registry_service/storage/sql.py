"""SQLAlchemy Core implementation of the store, for SQLite and PostgreSQL.

Tables::

    registry_state    (id=1, generation, schema_version)  -- write lock + cache validator
    schemas           (id, schema_type, fingerprint UNIQUE, schema_text, data_contract)
    schema_references (schema_id, position, name, subject, version)
    subject_versions  (subject, version, schema_id, deleted)  PK (subject, version)
    configs           (subject, compatibility_level, normalize, data_contract)  '' = global
    contexts          (name, number)  number UNIQUE; the default context '.' is 0, no row

``data_contract`` columns hold JSON text: a schema's ``{"metadata": .., "ruleSet": ..}``
and a config's ``defaultMetadata``/``overrideMetadata``/``defaultRuleSet``/
``overrideRuleSet``; NULL when there is none (every row written before layout 2).
    modes             (subject, mode)                            '' = global

Contexts (layout 3): a schema id is 64 bits inside the store, ``context number << 32``
plus the id clients see, so each context has an id space of its own and the default
context's (number 0) ids are stored as they always were. A schema's ``fingerprint``
column holds its identity within its context: the format's fingerprint in the default
context, ``<fingerprint>@<number>`` in another, so the same schema text gets a row (and
an id) per context.

Serialising writers: every write transaction first runs ``UPDATE registry_state SET
generation = generation + 1``. On PostgreSQL (READ COMMITTED) that row lock is held to
commit, and each later statement of the transaction sees everything committed before the
lock was granted. On SQLite the UPDATE is the transaction's first statement, so it takes
the database's single write lock (waiting up to ``busy_timeout``) before anything is
read. The UPDATE returns the generation being written (``SqlTransaction.new_generation``),
which tells the service whether anything it read before asking for the lock has changed
since (see ``StoreWriter``). The unique constraints (fingerprint, subject+version, id)
stay as a second line of defence.

Within one process, writers also queue in arrival order (``WriterQueue``) once they
hold a connection and before they ask the database, so a process has one write
transaction open at a time. SQLite's own busy handler sleeps in growing steps (up to
100 ms) while it waits, and neither it nor PostgreSQL's row lock nor a plain
``threading.Lock`` promises any order: under a burst of registrations some writers lose
the race again and again, a p99 several times the median. The queue hands over at once
and in turn. On PostgreSQL the generation UPDATE also calls ``pg_notify`` on channel
``regcast_registry`` (delivered at commit), which ``wait_for_change`` (the cache
watcher) listens for on a connection of its own.

Migrations come with the code: ``MIGRATIONS`` is the ordered list of steps from an
empty database to the current table layout, and ``registry_state.schema_version`` says
how many of them a database has had. Opening a store runs the missing ones in one
transaction - on PostgreSQL under an advisory lock, so several processes may start at
once (on SQLite a process that loses the race to create a table retries). A database
from a newer layout than this code knows is refused rather than misread.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError

from registry_service.storage.base import (
    GLOBAL_SCOPE,
    ConfigRecord,
    Store,
    StoredReference,
    StoredSchema,
    StoreError,
    StoreTimeoutError,
    StoreUnavailableError,
    StoreWriter,
    SubjectState,
    SubjectVersion,
)

log = logging.getLogger(__name__)

_PG_INIT_LOCK_KEY = 0x72656763  # "regc": serialises table creation across processes
NOTIFY_CHANNEL = "regcast_registry"

metadata = sa.MetaData()

# 64-bit on PostgreSQL (context number << 32 | id); SQLite's INTEGER is 64-bit already,
# and must stay INTEGER for ``schemas.id`` to remain the table's rowid.
_SCHEMA_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONTEXT_ID_BITS = 32

registry_state = sa.Table(
    "registry_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("generation", sa.BigInteger, nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
)

schemas = sa.Table(
    "schemas",
    metadata,
    sa.Column("id", _SCHEMA_ID, primary_key=True, autoincrement=False),
    sa.Column("schema_type", sa.String(16), nullable=False),
    sa.Column("fingerprint", sa.Text, nullable=False, unique=True),
    sa.Column("schema_text", sa.Text, nullable=False),
    sa.Column("data_contract", sa.Text, nullable=True),
)

schema_references = sa.Table(
    "schema_references",
    metadata,
    sa.Column("schema_id", _SCHEMA_ID, sa.ForeignKey("schemas.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_schema_references_target", "subject", "version"),
)

subject_versions = sa.Table(
    "subject_versions",
    metadata,
    sa.Column("subject", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("schema_id", _SCHEMA_ID, sa.ForeignKey("schemas.id"), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_subject_versions_schema_id", "schema_id"),
)

configs = sa.Table(
    "configs",
    metadata,
    sa.Column("subject", sa.Text, primary_key=True),
    sa.Column("compatibility_level", sa.String(32), nullable=True),
    sa.Column("normalize", sa.Boolean, nullable=True),
    sa.Column("data_contract", sa.Text, nullable=True),
)

modes = sa.Table(
    "modes",
    metadata,
    sa.Column("subject", sa.Text, primary_key=True),
    sa.Column("mode", sa.String(32), nullable=False),
)

contexts = sa.Table(
    "contexts",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("number", sa.Integer, nullable=False, unique=True),
)


def _layout_1(conn: Connection) -> None:
    """The first layout: the tables above, and the state row."""
    metadata.create_all(conn)
    conn.execute(sa.insert(registry_state).values(id=1, generation=0, schema_version=0))


def _layout_2(conn: Connection) -> None:
    """Data contracts: a ``data_contract`` JSON column on ``schemas`` and ``configs``.

    ``_layout_1`` creates the tables as declared above, which already have the column, so
    only a database made by an older regcast lacks it and gets it here."""
    inspector = sa.inspect(conn)
    for table in (schemas, configs):
        if "data_contract" not in {c["name"] for c in inspector.get_columns(table.name)}:
            conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN data_contract TEXT"))


def _layout_3(conn: Connection) -> None:
    """Contexts: the ``contexts`` table, and room in the id and fingerprint columns.

    Ids become 64-bit (``context number << 32 | id``) and fingerprints longer
    (``<fingerprint>@<number>``): on PostgreSQL the columns are widened in place, which
    keeps every row and id; SQLite's INTEGER and TEXT hold both already. Every existing
    row is in the default context, number 0, whose ids and fingerprints are unchanged."""
    contexts.create(conn, checkfirst=True)
    if conn.dialect.name == "postgresql":
        for table, column in (
            ("schemas", "id"),
            ("schema_references", "schema_id"),
            ("subject_versions", "schema_id"),
        ):
            conn.execute(sa.text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE BIGINT"))
        conn.execute(sa.text("ALTER TABLE schemas ALTER COLUMN fingerprint TYPE TEXT"))


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_layout_1, _layout_2, _layout_3)
"""Step ``n`` (1-based) turns layout ``n - 1`` into layout ``n``. Append, never edit: a
later layout adds a step that alters what is there."""
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: Connection) -> int:
    """Run the steps ``conn``'s database has not had, inside the caller's transaction;
    returns the layout it started from (0 for an empty database)."""
    if not sa.inspect(conn).has_table("registry_state"):
        current = 0
    else:
        current = int(
            conn.execute(
                sa.select(registry_state.c.schema_version).where(registry_state.c.id == 1)
            ).scalar_one_or_none()
            or 0
        )
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"the database was written by a newer regcast (table layout {current}, this one "
            f"knows {SCHEMA_VERSION}); upgrade regcast or point REGCAST_DATABASE_URL at "
            "another database"
        )
    for step in MIGRATIONS[current:]:
        step(conn)
    if current < SCHEMA_VERSION:
        conn.execute(
            sa.update(registry_state)
            .where(registry_state.c.id == 1)
            .values(schema_version=SCHEMA_VERSION)
        )
        log.info("database migrated from table layout %d to %d", current, SCHEMA_VERSION)
    return current


# -- statements -------------------------------------------------------------------------
#
# Built once, with bound parameters, so that SQLAlchemy compiles each one once per
# process and a request only binds values (building a statement per call costs about as
# much as running it on SQLite).

_SV_COLUMNS = (
    subject_versions.c.subject,
    subject_versions.c.version,
    subject_versions.c.schema_id,
    subject_versions.c.deleted,
)
_SUBJECT = sa.bindparam("subject", type_=sa.Text)
_SCOPES: sa.BindParameter[list[str]] = sa.bindparam("scopes", expanding=True)
_IDS: sa.BindParameter[list[int]] = sa.bindparam("ids", expanding=True)
_FINGERPRINT = sa.bindparam("fingerprint", type_=sa.String)

_SCHEMAS_BY_IDS = sa.select(schemas).where(schemas.c.id.in_(_IDS))
_REFERENCES_BY_SCHEMA_IDS = (
    sa.select(
        schema_references.c.schema_id,
        schema_references.c.name,
        schema_references.c.subject,
        schema_references.c.version,
    )
    .where(schema_references.c.schema_id.in_(_IDS))
    .order_by(schema_references.c.schema_id, schema_references.c.position)
)
_ID_BY_FINGERPRINT = sa.select(schemas.c.id).where(schemas.c.fingerprint == _FINGERPRINT)
_ID_LIMIT = sa.bindparam("id_limit", type_=sa.BigInteger)
# The highest id below the end of a context's range (an index seek on both databases);
# the caller compares it with the range's start.
_MAX_ID = (
    sa.select(schemas.c.id).where(schemas.c.id < _ID_LIMIT).order_by(schemas.c.id.desc()).limit(1)
)
_ID_AND_MAX_ID = sa.select(
    _ID_BY_FINGERPRINT.scalar_subquery().label("schema_id"),
    _MAX_ID.scalar_subquery().label("max_id"),
)
_SUBJECT_VERSIONS = (
    sa.select(*_SV_COLUMNS)
    .where(subject_versions.c.subject == _SUBJECT)
    .order_by(subject_versions.c.version)
)
_CONFIGS_OF_SCOPES = sa.select(configs).where(configs.c.subject.in_(_SCOPES))
_MODES_OF_SCOPES = sa.select(modes.c.subject, modes.c.mode).where(modes.c.subject.in_(_SCOPES))
_GENERATION = sa.select(registry_state.c.generation).where(registry_state.c.id == 1)

# A subject's state in one query: the single registry_state row (for the generation),
# outer-joined with the subject's and the global config and mode (at most one row each:
# the subject is the key) and with the subject's versions (one row per version, or one
# row of NULLs when there are none); and, as scalar subqueries, the id of the schema with
# the given fingerprint (NULL matches none) and the highest id.
_subject_config = configs.alias("subject_config")
_subject_mode = modes.alias("subject_mode")
_global_config = configs.alias("global_config")
_global_mode = modes.alias("global_mode")
_SUBJECT_STATE = (
    sa.select(
        registry_state.c.generation,
        _subject_config.c.compatibility_level.label("subject_level"),
        _subject_config.c.normalize.label("subject_normalize"),
        _subject_config.c.data_contract.label("subject_contract"),
        _subject_mode.c.mode.label("subject_mode"),
        _global_config.c.compatibility_level.label("global_level"),
        _global_config.c.normalize.label("global_normalize"),
        _global_config.c.data_contract.label("global_contract"),
        _global_mode.c.mode.label("global_mode"),
        subject_versions.c.version,
        subject_versions.c.schema_id,
        subject_versions.c.deleted,
        _ID_BY_FINGERPRINT.scalar_subquery().label("fingerprint_id"),
        _MAX_ID.scalar_subquery().label("max_id"),
    )
    .select_from(
        registry_state.outerjoin(_subject_config, _subject_config.c.subject == _SUBJECT)
        .outerjoin(_subject_mode, _subject_mode.c.subject == _SUBJECT)
        .outerjoin(_global_config, _global_config.c.subject == GLOBAL_SCOPE)
        .outerjoin(_global_mode, _global_mode.c.subject == GLOBAL_SCOPE)
        .outerjoin(subject_versions, subject_versions.c.subject == _SUBJECT)
    )
    .where(registry_state.c.id == 1)
    .order_by(subject_versions.c.version)
)

_INSERT_SCHEMA = sa.insert(schemas)
_INSERT_REFERENCES = sa.insert(schema_references)
_INSERT_VERSION = sa.insert(subject_versions)

# The write lock (see the module docstring), returning the generation being written.
_BUMP_GENERATION = (
    sa.update(registry_state)
    .where(registry_state.c.id == 1)
    .values(generation=registry_state.c.generation + 1)
    .returning(registry_state.c.generation)
)
_BUMP_GENERATION_AND_NOTIFY = sa.text(
    "UPDATE registry_state SET generation = generation + 1 WHERE id = 1 "
    "RETURNING generation, pg_notify(:channel, :sender)"
)


_CONTEXT_SPAN = 1 << CONTEXT_ID_BITS


def _in_range(found: Any, id_base: int) -> int:
    """The highest id of the context starting at ``id_base``, from the highest id below
    its end; ``id_base`` itself (no id used yet) when that belongs to a lower context."""
    return id_base if found is None or int(found) < id_base else int(found)


def _subject_version(row: Any) -> SubjectVersion:
    return SubjectVersion(row.subject, row.version, row.schema_id, bool(row.deleted))


def _config_record(
    level: str | None, normalize: bool | None, contract: str | None
) -> ConfigRecord | None:
    if level is None and normalize is None and contract is None:
        return None
    return ConfigRecord(
        level, None if normalize is None else bool(normalize), _json_or_none(contract)
    )


def _json_or_none(text: str | None) -> dict[str, Any] | None:
    return None if text is None else orjson.loads(text)


def _json_text(value: dict[str, Any] | None) -> str | None:
    return None if not value else orjson.dumps(value).decode()


def _stored_schema(row: Any, refs: Sequence[StoredReference]) -> StoredSchema:
    contract = None if row.data_contract is None else orjson.loads(row.data_contract)
    return StoredSchema(
        row.id,
        row.schema_type,
        row.fingerprint,
        row.schema_text,
        tuple(refs),
        None if contract is None else contract.get("metadata"),
        None if contract is None else contract.get("ruleSet"),
    )


def classify(exc: SQLAlchemyError) -> StoreError:
    """Turn a driver failure into the store error the API maps to 50001/50002/50003."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return StoreUnavailableError(text)
    if any(
        needle in text
        for needle in ("database is locked", "lock timeout", "canceling statement", "timeout")
    ):
        return StoreTimeoutError(text)
    if isinstance(exc, OperationalError) and any(
        needle in text
        for needle in ("unable to open", "connection", "could not connect", "server closed")
    ):
        return StoreUnavailableError(text)
    return StoreError(text)


class SqlTransaction(StoreWriter):
    """Reads and writes on one connection inside one transaction. ``new_generation`` is
    only meaningful in a write transaction (see ``StoreWriter``).

    Inserts of schemas and versions are held back and sent together, one statement per
    table, just before the next statement of any other kind and before the commit
    (``flush``): a transaction that registers several schemas (``GroupCommit``) then
    pays two round trips for all of them, and every read still sees every write made
    before it.
    """

    __slots__ = ("_conn", "_references", "_schemas", "_versions", "new_generation")

    def __init__(self, conn: Connection, new_generation: int = -1) -> None:
        self._conn = conn
        self.new_generation = new_generation
        self._schemas: list[dict[str, Any]] = []
        self._references: list[dict[str, Any]] = []
        self._versions: list[dict[str, Any]] = []

    def _execute(self, statement: Any, parameters: Any = None) -> Any:
        if self._schemas or self._versions:
            self.flush()
        return self._conn.execute(statement, parameters)

    def flush(self) -> None:
        """Send the held-back inserts (schemas first: versions refer to them)."""
        for statement, rows in (
            (_INSERT_SCHEMA, self._schemas),
            (_INSERT_REFERENCES, self._references),
            (_INSERT_VERSION, self._versions),
        ):
            if rows:
                self._conn.execute(statement, rows[0] if len(rows) == 1 else rows)
                rows.clear()

    # -- reads ---------------------------------------------------------------------------

    def schema_by_id(self, schema_id: int) -> StoredSchema | None:
        return self.schemas_by_ids((schema_id,)).get(schema_id)

    def schemas_by_ids(self, schema_ids: Iterable[int]) -> dict[int, StoredSchema]:
        wanted = sorted(set(schema_ids))
        if not wanted:
            return {}
        rows = self._execute(_SCHEMAS_BY_IDS, {"ids": wanted}).all()
        if not rows:
            return {}
        refs: dict[int, list[StoredReference]] = {}
        for r in self._execute(_REFERENCES_BY_SCHEMA_IDS, {"ids": [row.id for row in rows]}):
            refs.setdefault(r.schema_id, []).append(StoredReference(r.name, r.subject, r.version))
        return {row.id: _stored_schema(row, refs.get(row.id, ())) for row in rows}

    def schema_id_by_fingerprint(self, fingerprint: str) -> int | None:
        value = self._execute(_ID_BY_FINGERPRINT, {"fingerprint": fingerprint}).scalar()
        return None if value is None else int(value)

    def schema_id_by_fingerprint_prefix(self, prefix: str) -> int | None:
        value = self._execute(
            sa.select(schemas.c.id)
            .where(schemas.c.fingerprint.startswith(prefix, autoescape=True))
            .order_by(schemas.c.id)
            .limit(1)
        ).scalar()
        return None if value is None else int(value)

    def max_schema_id(self, id_base: int = 0) -> int:
        found = self._execute(_MAX_ID, {"id_limit": id_base + _CONTEXT_SPAN}).scalar()
        return _in_range(found, id_base)

    def schema_id_and_max_id(self, fingerprint: str, id_base: int = 0) -> tuple[int | None, int]:
        row = self._execute(
            _ID_AND_MAX_ID, {"fingerprint": fingerprint, "id_limit": id_base + _CONTEXT_SPAN}
        ).one()
        schema_id = None if row.schema_id is None else int(row.schema_id)
        return schema_id, _in_range(row.max_id, id_base)

    def context_numbers(self) -> dict[str, int]:
        return {row.name: int(row.number) for row in self._execute(sa.select(contexts))}

    def subject_versions(self, subject: str) -> list[SubjectVersion]:
        rows = self._execute(_SUBJECT_VERSIONS, {"subject": subject})
        return [_subject_version(r) for r in rows]

    def subject_state(
        self, subject: str, fingerprint: str | None = None, id_base: int = 0
    ) -> SubjectState:
        rows = self._execute(
            _SUBJECT_STATE,
            {"subject": subject, "fingerprint": fingerprint, "id_limit": id_base + _CONTEXT_SPAN},
        ).all()
        first = rows[0]  # registry_state always has its one row
        configs = {}
        modes = {}
        for scope, level, normalize, contract, mode in (
            (
                subject,
                first.subject_level,
                first.subject_normalize,
                first.subject_contract,
                first.subject_mode,
            ),
            (
                GLOBAL_SCOPE,
                first.global_level,
                first.global_normalize,
                first.global_contract,
                first.global_mode,
            ),
        ):
            record = _config_record(level, normalize, contract)
            if record is not None:
                configs[scope] = record
            if mode is not None:
                modes[scope] = str(mode)
        versions = [
            SubjectVersion(subject, r.version, r.schema_id, bool(r.deleted))
            for r in rows
            if r.version is not None
        ]
        return SubjectState(
            int(first.generation),
            versions,
            configs,
            modes,
            None if first.fingerprint_id is None else int(first.fingerprint_id),
            _in_range(first.max_id, id_base),
        )

    def all_subject_versions(self, subject_prefix: str = "") -> list[SubjectVersion]:
        query = sa.select(*_SV_COLUMNS)
        if subject_prefix:
            query = query.where(
                subject_versions.c.subject.startswith(subject_prefix, autoescape=True)
            )
        rows = self._execute(query.order_by(subject_versions.c.subject, subject_versions.c.version))
        return [_subject_version(r) for r in rows]

    def versions_by_schema_id(self, schema_id: int) -> list[SubjectVersion]:
        rows = self._execute(
            sa.select(*_SV_COLUMNS)
            .where(subject_versions.c.schema_id == schema_id)
            .order_by(subject_versions.c.subject, subject_versions.c.version)
        )
        return [_subject_version(r) for r in rows]

    def referrers(self, subject: str, version: int) -> list[SubjectVersion]:
        rows = self._execute(
            sa.select(*_SV_COLUMNS)
            .join(
                schema_references,
                schema_references.c.schema_id == subject_versions.c.schema_id,
            )
            .where(schema_references.c.subject == subject, schema_references.c.version == version)
            .distinct()
            .order_by(subject_versions.c.subject, subject_versions.c.version)
        )
        return [_subject_version(r) for r in rows]

    def config(self, scope: str) -> ConfigRecord | None:
        row = self._execute(sa.select(configs).where(configs.c.subject == scope)).first()
        if row is None:
            return None
        return ConfigRecord(
            row.compatibility_level, row.normalize, _json_or_none(row.data_contract)
        )

    def configs(self, scopes: Sequence[str]) -> dict[str, ConfigRecord]:
        rows = self._execute(_CONFIGS_OF_SCOPES, {"scopes": list(scopes)})
        return {
            row.subject: ConfigRecord(
                row.compatibility_level, row.normalize, _json_or_none(row.data_contract)
            )
            for row in rows
        }

    def modes(self, scopes: Sequence[str]) -> dict[str, str]:
        rows = self._execute(_MODES_OF_SCOPES, {"scopes": list(scopes)})
        return {row.subject: str(row.mode) for row in rows}

    def mode(self, scope: str) -> str | None:
        value = self._execute(sa.select(modes.c.mode).where(modes.c.subject == scope)).scalar()
        return None if value is None else str(value)

    def generation(self) -> int:
        return int(self._execute(_GENERATION).scalar_one())

    # -- writes --------------------------------------------------------------------------

    def insert_schema(
        self,
        schema_id: int,
        schema_type: str,
        fingerprint: str,
        text: str,
        references: Sequence[StoredReference],
        metadata: dict[str, Any] | None = None,
        rule_set: dict[str, Any] | None = None,
    ) -> None:
        contract = {k: v for k, v in (("metadata", metadata), ("ruleSet", rule_set)) if v}
        self._schemas.append(
            {
                "id": schema_id,
                "schema_type": schema_type,
                "fingerprint": fingerprint,
                "schema_text": text,
                "data_contract": _json_text(contract),
            }
        )
        self._references += [
            {
                "schema_id": schema_id,
                "position": i,
                "name": r.name,
                "subject": r.subject,
                "version": r.version,
            }
            for i, r in enumerate(references)
        ]

    def insert_version(self, subject: str, version: int, schema_id: int) -> None:
        self._versions.append(
            {"subject": subject, "version": version, "schema_id": schema_id, "deleted": False}
        )

    def set_version_deleted(self, subject: str, version: int, deleted: bool) -> None:
        self._execute(
            sa.update(subject_versions)
            .where(subject_versions.c.subject == subject, subject_versions.c.version == version)
            .values(deleted=deleted)
        )

    def remove_version(self, subject: str, version: int) -> None:
        self._execute(
            sa.delete(subject_versions).where(
                subject_versions.c.subject == subject, subject_versions.c.version == version
            )
        )

    def put_config(self, scope: str, record: ConfigRecord) -> None:
        self._execute(sa.delete(configs).where(configs.c.subject == scope))
        self._execute(
            sa.insert(configs).values(
                subject=scope,
                compatibility_level=record.compatibility_level,
                normalize=record.normalize,
                data_contract=_json_text(record.contract_defaults),
            )
        )

    def delete_config(self, scope: str) -> None:
        self._execute(sa.delete(configs).where(configs.c.subject == scope))

    def put_mode(self, scope: str, mode: str) -> None:
        self._execute(sa.delete(modes).where(modes.c.subject == scope))
        self._execute(sa.insert(modes).values(subject=scope, mode=mode))

    def delete_mode(self, scope: str) -> None:
        self._execute(sa.delete(modes).where(modes.c.subject == scope))

    def add_context(self, name: str) -> int:
        current = self._execute(sa.select(sa.func.max(contexts.c.number))).scalar()
        number = int(current or 0) + 1
        self._execute(sa.insert(contexts).values(name=name, number=number))
        return number


class WriterQueue:
    """A lock that lets this process's writers in one at a time, oldest waiter first.

    Each waiter waits on an event of its own; ``release`` hands the lock straight to the
    oldest one, so a thread that has just written cannot overtake those already waiting.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._held = False

    def acquire(self, timeout_s: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout_s):
            return True
        with self._mutex:
            if turn.is_set():  # handed over as the wait ran out
                return True
            self._waiting.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().set()  # still held: it now belongs to that waiter
            else:
                self._held = False


# A pooled PostgreSQL connection idle longer than this is pinged before use.
PING_AFTER_IDLE_S = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection at checkout only if it sat idle for a while.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: a round trip and about
    80 us of CPU that a registration paid twice, to guard against what happens to idle
    connections (a database restart, a proxy's idle timeout). A connection handed
    back a moment ago was just working, so it is trusted; an idle one is pinged, and
    a failed ping makes the pool (``DisconnectionError``) discard it and connect anew.
    """

    @event.listens_for(engine, "checkin")
    def _note_idle(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DisconnectionError(str(exc)) from exc
        if not alive:
            raise sa.exc.DisconnectionError("ping failed")


class SqlStore(Store):
    """One engine (connection pool) per process; safe to share between threads."""

    def __init__(
        self,
        database_url: str,
        *,
        sqlite_busy_timeout_ms: int = 5000,
        pool_size: int = 10,
        lock_timeout_ms: int = 10_000,
    ) -> None:
        url = sa.make_url(database_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        self.is_sqlite = url.get_backend_name() == "sqlite"
        self._writer_timeout_s = max(
            (sqlite_busy_timeout_ms if self.is_sqlite else lock_timeout_ms) / 1000, 0.001
        )
        self._writers = WriterQueue()
        self._listen_dsn = (
            None
            if self.is_sqlite
            else url.set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self._listener: Any = None  # psycopg.Connection, only on the watcher thread
        self._process_token = uuid.uuid4().hex  # signs this process's NOTIFYs
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": sqlite_busy_timeout_ms / 1000}
            kwargs["poolclass"] = sa.pool.QueuePool
            kwargs["pool_size"] = pool_size
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
            # Set once per connection rather than per transaction (one round trip less
            # on every write); reads take no locks, so only writers can hit it.
            kwargs["connect_args"] = {"options": f"-c lock_timeout={int(lock_timeout_ms)}"}
        self.engine: Engine = sa.create_engine(url, **kwargs)
        if self.is_sqlite:
            busy_ms = sqlite_busy_timeout_ms

            @event.listens_for(self.engine, "connect")
            def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
                cursor = dbapi_conn.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()
        else:
            _ping_when_idle(self.engine)

        self._migrate()

    def _migrate(self) -> None:
        """Bring the database to ``SCHEMA_VERSION``; idempotent, safe to race."""
        attempts = 5
        for attempt in range(attempts):
            try:
                with self.engine.begin() as conn:
                    if not self.is_sqlite:
                        conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_PG_INIT_LOCK_KEY})"))
                    migrate(conn)
                return
            except (OperationalError, IntegrityError) as exc:
                if attempt == attempts - 1:
                    raise classify(exc) from exc
                log.info("table creation raced with another process, retrying: %s", exc)
                time.sleep(0.05 * (attempt + 1))

    @contextmanager
    def read(self) -> Iterator[SqlTransaction]:
        """Reads in autocommit on PostgreSQL: at READ COMMITTED every statement sees its
        own snapshot anyway, and a read spares the BEGIN and ROLLBACK round trips.
        (SQLite's driver opens no transaction for reads.)"""
        try:
            with self.engine.connect() as conn:
                if not self.is_sqlite:
                    conn.execution_options(isolation_level="AUTOCOMMIT")
                yield SqlTransaction(conn)
                conn.rollback()
        except SQLAlchemyError as exc:
            raise classify(exc) from exc

    @contextmanager
    def write(self) -> Iterator[SqlTransaction]:
        try:
            with self.engine.connect() as conn:  # checked out (and pinged) before queueing
                if not self._writers.acquire(self._writer_timeout_s):
                    raise StoreTimeoutError("timeout waiting for this process's other writers")
                try:
                    with conn.begin():
                        if self.is_sqlite:
                            bumped = conn.execute(_BUMP_GENERATION)
                        else:  # the same, plus the NOTIFY delivered at commit, in one round trip
                            bumped = conn.execute(
                                _BUMP_GENERATION_AND_NOTIFY,
                                {"channel": NOTIFY_CHANNEL, "sender": self._process_token},
                            )
                        tx = SqlTransaction(conn, int(bumped.scalar_one()))
                        yield tx
                        tx.flush()
                finally:
                    self._writers.release()
        except SQLAlchemyError as exc:
            raise classify(exc) from exc

    def wait_for_change(self, timeout_s: float, stop: threading.Event) -> None:
        """PostgreSQL: return as soon as any process commits a write (``NOTIFY``), or
        after ``timeout_s``. Runs on the cache watcher's thread, which owns the
        listening connection."""
        if self._listen_dsn is None:
            stop.wait(timeout_s)
            return
        import psycopg

        try:
            if self._listener is None:
                self._listener = psycopg.connect(
                    self._listen_dsn, autocommit=True, connect_timeout=5
                )
                self._listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
                return  # a write may have happened while there was no listener
            # Short waits, so that ``stop`` is noticed within a quarter of a second. This
            # process's own writes are skipped: it dropped its cache when it made them.
            deadline = time.monotonic() + timeout_s
            while not stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                for notify in self._listener.notifies(timeout=min(remaining, 0.25)):
                    if notify.payload != self._process_token:
                        return
        except psycopg.Error as exc:
            log.warning("cannot listen for other registries' writes, polling: %s", exc)
            self._close_listener()
            stop.wait(timeout_s)

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.close()
            except Exception:  # closing a broken connection
                log.debug("closing the listening connection failed", exc_info=True)

    def generation(self) -> int:
        with self.read() as tx:
            return tx.generation()

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise classify(exc) from exc

    def close(self) -> None:
        self._close_listener()
        self.engine.dispose()
