"""Group commit: registrations that wait for the write lock together share one transaction.

Why
---
Ids must stay dense and versions unique across every registry process, so every write
runs under one store-wide lock (``Store.write``). On PostgreSQL a lone registration
holds that lock for five round trips, and three of them - taking the lock (the
generation bump), the commit and its WAL flush - are the same whatever it writes. Under
load the writers of one process therefore queue behind each other mostly to repeat
that fixed part. Here the first writer to arrive leads: it takes the lock, runs every
registration queued by then one after another in the one transaction, commits once and
hands each waiter its own answer. The lock is held for less per registration and the
queue drains faster, which is what bounds a registration's tail latency.

Contract with the work functions
--------------------------------
``work(tx, shared)`` runs under the lock, inside the group's transaction, on the
leader's thread. It sees what earlier works of the group wrote (same transaction), and
``shared`` - one object per transaction, made by ``new_shared`` - is where they note
what they wrote, so that a work planned on a snapshot of the database before the lock
knows which of its facts the works before it in the same transaction have changed.
A work refuses (``RegistryError``, not a store failure) only before it writes anything;
that refusal is its own answer and the group goes on. Any other exception, and a failed
commit, roll the whole group back, and each work runs again in a transaction of its
own, so a bad registration cannot fail its neighbours.

Waiters queue in arrival order; when a group is done its leader hands the lead to the
oldest waiter left, so nobody is overtaken by later arrivals.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from registry_service.errors import RegistryError, StoreFailure
from registry_service.storage import Store, StoreWriter

T = TypeVar("T")
S = TypeVar("S")


@dataclass(eq=False, slots=True)
class _Waiter(Generic[T, S]):
    work: Callable[[StoreWriter, S], T]
    turn: threading.Event = field(default_factory=threading.Event)
    leads: bool = False  # woken to lead the next group rather than with an answer
    result: T | None = None
    error: BaseException | None = None


class _NothingWritten(Exception):
    """Rolls back a transaction in which no work wrote anything: it need not spend a
    generation, which would make every other registry process drop its cache."""


class GroupCommit(Generic[T, S]):
    """Runs ``work`` functions under the store's write lock, several per transaction.

    ``committed(generation, results, wrote)`` runs on the leader's thread right after
    each transaction, with the works' results in the order they ran, before anyone is
    answered (the cache is brought up to date there). ``wrote(shared)`` says whether
    the works wrote anything; if not, the transaction was rolled back instead, and
    ``committed`` gets the generation its reads saw. ``rolled_back(several)`` runs after
    a failed transaction; ``several`` says it ran more than one work, so some may have
    read (and cached) rows another of them wrote, which were never committed.
    Thread-safe.
    """

    def __init__(
        self,
        store: Store,
        committed: Callable[[int, list[T], bool], None],
        rolled_back: Callable[[bool], None],
        new_shared: Callable[[], S],
        wrote: Callable[[S], bool],
        max_group: int = 32,
    ) -> None:
        self._store = store
        self._new_shared = new_shared
        self._wrote = wrote
        self._committed = committed
        self._rolled_back = rolled_back
        self._max_group = max_group
        self._mutex = threading.Lock()
        self._queue: deque[_Waiter[T, S]] = deque()
        self._leading = False

    @property
    def waiting(self) -> int:
        """Works queued for the next group (not counting the one being committed)."""
        return len(self._queue)

    def run(self, work: Callable[[StoreWriter, S], T]) -> T:
        """Run ``work`` in some group's transaction and return its result once that
        transaction has committed (or raise its refusal or the store's failure)."""
        me = _Waiter(work)
        with self._mutex:
            leads = not self._leading
            if leads:
                self._leading = True
            else:
                self._queue.append(me)
        if not leads:
            me.turn.wait()  # the leader always sets it (``_lead``'s finally)
        if me.leads or leads:
            self._lead(me)
        if me.error is not None:
            raise me.error
        return me.result  # type: ignore[return-value]  # set, as error is None

    def _lead(self, me: _Waiter[T, S]) -> None:
        """Commit one group, led by ``me`` on its own thread, then pass the lead on to
        the oldest waiter left and answer the group."""
        group = [me]
        try:
            self._commit_group(group)
        finally:
            with self._mutex:
                if self._queue:
                    successor = self._queue.popleft()
                    successor.leads = True
                    successor.turn.set()
                else:
                    self._leading = False
            for waiter in group[1:]:
                waiter.turn.set()

    def _commit_group(self, group: list[_Waiter[T, S]]) -> None:
        """Everyone queued once the lock is held joins ``group``; if the group's
        transaction fails, each member runs again alone. If the lock cannot be had
        (its timeout, the database gone), everyone queued gets that error now: each
        would otherwise wait out the same timeout in turn."""
        taken = False

        def join() -> None:
            nonlocal taken
            with self._mutex:
                while self._queue and len(group) < self._max_group:
                    group.append(self._queue.popleft())
            taken = True

        if self._transact(group, join):
            return
        if not taken:
            error = group[0].error
            join()
            for waiter in group[1:]:
                waiter.error = error
            return
        if len(group) > 1:
            for waiter in group:  # apart, so that one bad work cannot fail the others
                self._transact([waiter], None)

    def _transact(self, group: list[_Waiter[T, S]], on_lock: Callable[[], None] | None) -> bool:
        """One transaction running ``group``'s works; False when it rolled back on a
        failure, which is then every member's answer."""
        for waiter in group:
            waiter.result, waiter.error = None, None
        shared = self._new_shared()
        try:
            with self._store.write() as tx:
                if on_lock is not None:
                    on_lock()
                results = self._run_all(tx, group, shared)
                if not self._wrote(shared):
                    raise _NothingWritten
        except _NothingWritten:
            self._committed(tx.new_generation - 1, results, False)
            return True
        except BaseException as exc:
            self._rolled_back(len(group) > 1)
            for waiter in group:
                waiter.result, waiter.error = None, exc
            return False
        self._committed(tx.new_generation, results, True)
        return True

    @staticmethod
    def _run_all(tx: StoreWriter, group: list[_Waiter[T, S]], shared: S) -> list[T]:
        results: list[T] = []
        for waiter in group:
            try:
                result = waiter.work(tx, shared)
            except StoreFailure:
                raise
            except RegistryError as exc:
                waiter.error = exc  # a refusal, made before writing anything
            else:
                waiter.result = result
                results.append(result)
        return results
