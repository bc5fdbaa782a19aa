"""In-process read cache, kept correct by invalidation.

Two kinds of entries:

* Immutable: schema id -> stored schema, fingerprint (and GUID) -> id, parsed schemas.
  Storage never deletes or rewrites a schema row, so these are valid forever and only
  bounded in size.
* Mutable: a subject's versions, configs, modes. They are dropped whenever a write
  happens: at once for this process's own writes, and for other processes' writes when
  the watcher thread sees the database's write counter (``Store.generation``) move.
  The watcher checks the counter whenever ``Store.wait_for_change`` returns: on
  PostgreSQL that is as soon as another process commits (``LISTEN``/``NOTIFY``, a
  millisecond or two), and in any case every ``cache_poll_interval_ms`` (SQLite shared
  by several processes, or a lost notification), which bounds how long a process may
  serve a subject's state from before another process's write.

A reader that loads from the database while a write invalidates the cache must not put
the stale answer back: every load notes the cache epoch before reading and stores only
if the epoch has not moved since (``put_if_current``).

``generation`` is the write counter the mutable entries are known to be up to date
with: every entry holds what the database held at that generation or later. It is only
ever set to a generation already committed, together with an epoch change that turns
away loads begun earlier. So if a writer finds the database still at ``generation`` when
it takes the write lock (``StoreWriter.new_generation == generation + 1``), the entries
it read are exact and need no second read under the lock. A registration of this
process changes one subject's versions only; ``advance`` then replaces that entry and
keeps the rest, provided no other write came between (else it drops everything).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from registry_service.storage import Store, StoreError

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_MISSING: Any = object()


class BoundedMap(Generic[K, V]):
    """A dict that forgets everything when it grows past ``max_entries`` (cheap, no LRU
    bookkeeping on the hot path; refilling is a database read per entry)."""

    __slots__ = ("_data", "_max")

    def __init__(self, max_entries: int) -> None:
        self._data: dict[K, V] = {}
        self._max = max_entries

    def get(self, key: K) -> V | None:
        return self._data.get(key)

    def put(self, key: K, value: V) -> None:
        if self._max <= 0:
            return
        if len(self._data) >= self._max:
            self._data.clear()
        self._data[key] = value

    def clear(self) -> None:
        self._data.clear()


class RegistryCache:
    """All cached reads of one registry process; thread-safe."""

    def __init__(self, max_schemas: int) -> None:
        self.schemas: BoundedMap[int, Any] = BoundedMap(max_schemas)
        self.fingerprints: BoundedMap[str, int] = BoundedMap(max_schemas)
        self.guids: BoundedMap[str, int] = BoundedMap(max_schemas)
        self.parsed: BoundedMap[Hashable, Any] = BoundedMap(max_schemas)
        self._mutable: dict[Hashable, Any] = {}
        self._max_mutable = max_schemas
        self._lock = threading.Lock()
        self.epoch = 0
        self.generation = -1  # none known yet

    def get(self, key: Hashable) -> Any:
        """A mutable entry, or ``MISSING``."""
        return self._mutable.get(key, _MISSING)

    def put_if_current(self, key: Hashable, value: Any, epoch: int) -> None:
        with self._lock:
            if epoch == self.epoch:
                self._put(key, value)

    def _put(self, key: Hashable, value: Any) -> None:
        """Under ``_lock``. Past the bound everything goes, as in ``BoundedMap``."""
        if self._max_mutable <= 0:
            return
        if len(self._mutable) >= self._max_mutable:
            self._mutable = {}
        self._mutable[key] = value

    def load(self, key: Hashable, loader: Callable[[], V]) -> V:
        """The cached value for ``key``, else ``loader()``'s answer (cached if still current)."""
        value = self._mutable.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[no-any-return]
        epoch = self.epoch
        loaded = loader()
        self.put_if_current(key, loaded, epoch)
        return loaded

    def forget_schemas(self) -> None:
        """Drop the immutable entries too: after a rolled-back write that may have
        cached rows it read from its own transaction (``GroupCommit``), which were never
        committed and whose ids may yet be given to other schemas."""
        for entries in (self.schemas, self.fingerprints, self.guids, self.parsed):
            entries.clear()

    def invalidate(self, generation: int | None = None) -> None:
        """Drop every mutable entry. ``generation``: a write counter value already
        committed (read from the database, or this process's own write), which every
        entry loaded from now on reflects; None keeps the current one."""
        with self._lock:
            self.epoch += 1
            self._mutable = {}
            if generation is not None:
                self.generation = generation

    def advance(self, generation: int, changed: dict[Hashable, Any]) -> None:
        """This process committed ``generation``, a write that changed nothing the cache
        holds but the ``changed`` entries, whose new values are given.

        When the cache was up to date with ``generation - 1``, the other entries still
        hold and stay; otherwise another write came between and everything is dropped.
        Either way loads begun before are turned away (epoch). When a later write is
        known already (one that committed after this one was advanced to the cache), the
        ``changed`` values may be older than what it wrote, so they are not kept.
        """
        with self._lock:
            self.epoch += 1
            if generation <= self.generation:
                return
            if self.generation != generation - 1:
                self._mutable = {}
            self.generation = generation
            for key, value in changed.items():
                self._put(key, value)

    def confirm(self, generation: int, read: dict[Hashable, Any]) -> None:
        """``read`` holds entries read at ``generation`` under the write lock by a
        transaction that wrote nothing and was rolled back: exact as of that committed
        generation, so kept if the cache is at it too."""
        with self._lock:
            if self.generation == generation:
                for key, value in read.items():
                    self._put(key, value)


MISSING = _MISSING


class GenerationWatcher:
    """Background thread that invalidates the cache when another process writes.

    Runs on its own daemon thread; ``stop()`` is called from the app's lifespan.
    """

    def __init__(self, store: Store, cache: RegistryCache, interval_ms: int) -> None:
        self._store = store
        self._cache = cache
        self._interval_s = interval_ms / 1000
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> None:
        """Compare the database's write counter with the one the cache is up to date
        with; runs on the watcher thread (or a test's)."""
        try:
            generation = self._store.generation()
        except StoreError as exc:
            log.warning("cache watcher cannot read the write counter: %s", exc)
            self._cache.invalidate()
            return
        if generation != self._cache.generation:
            self._cache.invalidate(generation)

    def start(self) -> None:
        if self._interval_s <= 0:
            return
        self.check()
        self._thread = threading.Thread(target=self._run, name="regcast-cache-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._store.wait_for_change(self._interval_s, self._stop)
            except Exception:  # the watcher must outlive any failure: poll instead
                log.exception("waiting for other registries' writes failed")
                self._stop.wait(self._interval_s)
            if not self._stop.is_set():
                self.check()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
