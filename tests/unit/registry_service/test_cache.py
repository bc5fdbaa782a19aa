"""registry_service.cache.RegistryCache: what survives this process's own writes and what
another process's writes, and loads that overlap a write. No database: the generation
numbers are what ``StoreWriter.new_generation`` and the watcher would report."""

from __future__ import annotations

from registry_service.cache import MISSING, GenerationWatcher, RegistryCache


def test_an_own_write_right_after_the_known_generation_keeps_the_other_entries() -> None:
    cache = RegistryCache(100)
    cache.invalidate(generation=7)  # what the watcher does on seeing 7
    cache.put_if_current("a", 1, cache.epoch)
    cache.put_if_current("b", 2, cache.epoch)
    cache.advance(8, {"b": 3})
    assert (cache.get("a"), cache.get("b"), cache.generation) == (1, 3, 8)


def test_an_own_write_after_an_unseen_one_drops_everything_else() -> None:
    cache = RegistryCache(100)
    cache.invalidate(generation=7)
    cache.put_if_current("a", 1, cache.epoch)
    cache.advance(9, {"b": 3})  # 8 was another process's
    assert (cache.get("a"), cache.get("b"), cache.generation) == (MISSING, 3, 9)


def test_an_own_write_advanced_after_a_later_one_does_not_bring_back_older_values() -> None:
    cache = RegistryCache(100)
    cache.invalidate(generation=7)
    cache.advance(9, {"s": "after 9"})  # the write of 9 reached the cache first...
    cache.advance(8, {"s": "after 8"})  # ...then the one of 8, on the same subject
    assert (cache.get("s"), cache.generation) == ("after 9", 9)


def test_a_load_that_overlapped_a_write_is_not_kept() -> None:
    cache = RegistryCache(100)
    cache.invalidate(generation=7)
    epoch = cache.epoch  # a load starts...
    cache.advance(8, {"b": 3})  # ...a write commits...
    cache.put_if_current("a", 1, epoch)  # ...and the load's answer may predate it
    assert cache.get("a") is MISSING


def test_the_mutable_entries_are_bounded() -> None:
    cache = RegistryCache(2)
    for key in "abc":
        cache.put_if_current(key, key, cache.epoch)
    assert (cache.get("a"), cache.get("c")) == (MISSING, "c")


class CountingStore:
    """Just the write counter, as another process moves it."""

    def __init__(self) -> None:
        self.value = 0

    def generation(self) -> int:
        return self.value


def test_the_watcher_drops_entries_only_when_the_counter_is_not_the_known_one() -> None:
    store = CountingStore()
    cache = RegistryCache(100)
    watcher = GenerationWatcher(store, cache, 100)  # type: ignore[arg-type]
    store.value = 4
    watcher.check()
    cache.put_if_current("a", 1, cache.epoch)
    cache.advance(5, {})  # this process's own write
    store.value = 5
    watcher.check()  # nothing new to it
    assert cache.get("a") == 1
    store.value = 6
    watcher.check()  # another process wrote
    assert (cache.get("a"), cache.generation) == (MISSING, 6)
