"""Group commit on SQLite and PostgreSQL: registrations that queue for the write lock
together share one transaction, and still get dense ids, their own versions and their
own refusals; a failed group is undone and its members run again one by one.

The test holds the store's write lock itself while the registrations arrive, so that
they all queue (``GroupCommit.waiting``) and the group they form is known.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from registry_service.errors import IncompatibleSchemaError
from registry_service.group_commit import GroupCommit
from registry_service.service import RegistryService, SchemaRequest
from registry_service.settings import Settings
from registry_service.storage import StoreWriter, open_store


def avro(name: str, *fields: str, default: bool = False) -> SchemaRequest:
    body = {
        "type": "record",
        "name": name,
        "fields": [
            {"name": f, "type": "int", **({"default": 0} if default else {})} for f in fields
        ],
    }
    return SchemaRequest(json.dumps(body))


@pytest.fixture
def service(database_url: str) -> Iterator[RegistryService]:
    settings = Settings(database_url=database_url, cache_poll_interval_ms=0)
    service = RegistryService(open_store(settings.database_url), settings)
    service.start()
    yield service
    service.close()


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def as_one_group(service: RegistryService, calls: list[Callable[[], Any]]) -> list[Future[Any]]:
    """Run ``calls`` (registrations) on threads while the write lock is held here, and
    release it once all but the first (which leads, blocked on the lock) are queued, in
    the order given. (The lock is taken through the service, so that its cache knows
    of this empty write.)"""
    pool = ThreadPoolExecutor(len(calls))
    with service._write():
        futures = [pool.submit(calls[0])]
        time.sleep(0.1)  # the leader is now blocked on the lock
        for queued, call in enumerate(calls[1:], start=1):
            futures.append(pool.submit(call))
            wait_until(lambda n=queued: service._registrations.waiting == n)
    pool.shutdown(wait=True)
    return futures


def test_registrations_queued_together_commit_once_with_dense_ids(
    service: RegistryService,
) -> None:
    before = service.store.generation()
    calls = [(lambda i=i: service.register(f"s{i}", avro(f"R{i}", "a"))) for i in range(8)]
    answers = [f.result() for f in as_one_group(service, calls)]
    assert sorted(a["id"] for a in answers) == list(range(1, 9))
    assert all(a["version"] == 1 for a in answers)
    # the test's own (empty) write and one transaction for all eight
    assert service.store.generation() == before + 2
    with service.store.read() as tx:
        for i, answer in enumerate(answers):
            assert [(v.version, v.schema_id) for v in tx.subject_versions(f"s{i}")] == [
                (1, answer["id"])
            ]
    for i, answer in enumerate(answers):  # the cache was brought up to date, not dropped
        assert service.cached_register(f"s{i}", avro(f"R{i}", "a"), False) == answer


def test_one_group_same_subject_gets_two_versions_and_same_schema_one_id(
    service: RegistryService,
) -> None:
    calls = [
        lambda: service.register("orders", avro("Order", "a")),
        lambda: service.register("orders", avro("Order", "a", "b", default=True)),
        lambda: service.register("copy-1", avro("Shared", "x")),
        lambda: service.register("copy-2", avro("Shared", "x")),
    ]
    first, second, copy1, copy2 = (f.result() for f in as_one_group(service, calls))
    assert (first["version"], second["version"]) == (1, 2)
    assert first["id"] != second["id"]
    assert copy1["id"] == copy2["id"]
    assert sorted({first["id"], second["id"], copy1["id"]}) == [1, 2, 3]
    with service.store.read() as tx:
        assert [v.version for v in tx.subject_versions("orders")] == [1, 2]


def test_a_refusal_in_a_group_answers_only_its_own_registration(
    service: RegistryService,
) -> None:
    calls = [
        lambda: service.register("one", avro("One", "a")),
        lambda: service.register("orders", avro("Order", "a")),
        # judged against the version just written in the same transaction: a new
        # field without a default cannot read the older records
        lambda: service.register("orders", avro("Order", "a", "b")),
        lambda: service.register("two", avro("Two", "a")),
    ]
    one, orders, refused, two = as_one_group(service, calls)
    assert isinstance(refused.exception(), IncompatibleSchemaError)
    assert [f.result()["id"] for f in (one, orders, two)] == [1, 2, 3]
    with service.store.read() as tx:
        assert [v.version for v in tx.subject_versions("orders")] == [1]


def test_a_failing_work_undoes_the_group_and_the_others_commit_alone(
    database_url: str,
) -> None:
    store = open_store(Settings(database_url=database_url).database_url)
    committed: list[tuple[int, list[int]]] = []
    rolled_back: list[bool] = []
    group: GroupCommit[int, None] = GroupCommit(
        store,
        lambda generation, ids, _wrote: committed.append((generation, ids)),
        rolled_back.append,
        lambda: None,
        lambda _shared: True,
    )

    def insert(schema_id: int, fail: bool = False) -> Callable[[StoreWriter, None], int]:
        def work(tx: StoreWriter, _shared: None) -> int:
            tx.insert_schema(schema_id, "AVRO", f"{schema_id:064d}", "{}", ())
            if fail:
                raise RuntimeError("after writing")
            return schema_id

        return work

    try:
        with ThreadPoolExecutor(4) as pool:
            with store.write():
                leader = pool.submit(group.run, insert(1))
                time.sleep(0.05)
                others = [pool.submit(group.run, insert(2, fail=True))]
                wait_until(lambda: group.waiting == 1)
                others.append(pool.submit(group.run, insert(3)))
                wait_until(lambda: group.waiting == 2)
            assert leader.result() == 1
            assert others[1].result() == 3
            with pytest.raises(RuntimeError, match="after writing"):
                others[0].result()
        assert rolled_back[0] is True  # the group of three; then 2 alone failed again
        assert [ids for _, ids in committed] == [[1], [3]]
        with store.read() as tx:
            assert sorted(tx.schemas_by_ids([1, 2, 3])) == [1, 3]
    finally:
        store.close()


def test_registering_again_a_subject_not_cached_writes_nothing_and_caches_it(
    service: RegistryService,
) -> None:
    first = service.register("orders", avro("Order", "a"))
    service.cache.invalidate()  # as after a restart, or another process's write
    generation = service.store.generation()
    assert service.register("orders", avro("Order", "a")) == first
    # judged under the lock, rolled back rather than committed: no generation spent,
    # so other registry processes keep their caches; and this one now holds the subject
    assert service.store.generation() == generation
    assert service.cached_register("orders", avro("Order", "a"), False) == first


def test_when_the_lock_cannot_be_had_everyone_queued_gets_the_error_at_once(
    database_url: str,
) -> None:
    """Another process holds the write lock past the lock timeout: the leader's attempt
    fails, and the registrations queued behind it fail with it rather than each waiting
    out the timeout in turn."""
    settings = Settings(
        database_url=database_url, cache_poll_interval_ms=0, sqlite_busy_timeout_ms=300
    )
    store = open_store(settings.database_url, sqlite_busy_timeout_ms=300, lock_timeout_ms=300)
    service = RegistryService(store, settings)
    service.start()
    other = open_store(settings.database_url)  # another registry process
    attempts: list[int] = []
    real_write = store.write

    def counting_write() -> Any:
        attempts.append(1)
        return real_write()

    store.write = counting_write  # type: ignore[method-assign]
    try:
        with other.write(), ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(service.register, "lead", avro("Lead", "a"))]
            wait_until(lambda: attempts == [1])
            futures += [
                pool.submit(service.register, f"s{i}", avro(f"R{i}", "a")) for i in range(3)
            ]
            wait_until(lambda: service._registrations.waiting == 3 or futures[0].done())
            errors = [f.exception(timeout=10) for f in futures]
        assert all(error is not None for error in errors)
        assert attempts == [1]  # one wait for the lock, shared by all four
    finally:
        other.close()
        service.close()
