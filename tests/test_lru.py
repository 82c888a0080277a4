"""The shared bounded LRU (``academail.lru``): eviction order, the weight and
entry bounds, replacement, an entry heavier than the bound, and its lock."""

from __future__ import annotations

import random
import sys
import threading

from academail.lru import LRU


def test_the_least_recently_used_goes_first():
    lru: LRU[str, int] = LRU(3)  # no weight function: one an entry
    for key in "abc":
        assert lru.put(key, ord(key))
    assert lru.get("a") == ord("a")  # a is now the most recent
    lru.put("d", 4)
    assert lru.keys() == ["c", "a", "d"] and lru.get("b") is None
    lru.put("c", 5)  # a put makes its key the most recent too
    lru.put("e", 6)
    assert lru.keys() == ["d", "c", "e"] and lru.get("c") == 5
    assert len(lru) == 3 and lru.weight == 3


def test_a_miss_changes_no_order():
    lru: LRU[str, int] = LRU(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("z") is None
    lru.put("c", 3)
    assert lru.keys() == ["b", "c"]


def test_the_bound_is_in_weight():
    lru: LRU[str, str] = LRU(10, len)
    for value in ("aaaa", "bbbb", "cc"):
        lru.put(value, value)
    assert lru.weight == 10 and len(lru) == 3
    lru.put("d", "d")  # 11: the oldest (4) goes
    assert lru.keys() == ["bbbb", "cc", "d"] and lru.weight == 7
    lru.put("e" * 9, "e" * 9)  # 16: as many of the oldest as it takes
    assert lru.keys() == ["d", "e" * 9] and lru.weight == 10


def test_an_explicit_weight_overrides_the_function():
    lru: LRU[str, str] = LRU(10, len)
    lru.put("a", "x", 7)
    lru.put("b", "y", 4)
    assert lru.keys() == ["b"] and lru.weight == 4


def test_replacing_an_entry_replaces_its_weight():
    lru: LRU[str, str] = LRU(10, len)
    lru.put("a", "a" * 6)
    lru.put("b", "b")
    lru.put("a", "a")  # 6 -> 1, and now the most recent
    assert lru.weight == 2 and lru.keys() == ["b", "a"]
    lru.put("c", "c" * 8)  # exactly the bound: nobody goes
    assert lru.keys() == ["b", "a", "c"] and lru.weight == 10
    lru.put("c", "c" * 9)  # heavier: the least recent (b) goes, not a
    assert lru.keys() == ["a", "c"] and lru.weight == 10


def test_an_entry_heavier_than_the_bound_is_not_kept():
    lru: LRU[str, str] = LRU(5, len)
    lru.put("a", "aa")
    lru.put("b", "bb")
    assert lru.put("c", "c" * 6) is False
    assert lru.get("c") is None and lru.keys() == ["a", "b"] and lru.weight == 4
    # Over a key that held something: the key then holds nothing, not the old value.
    assert lru.put("a", "a" * 6) is False
    assert lru.get("a") is None and lru.keys() == ["b"] and lru.weight == 2


def test_entries_and_weight_bound_together():
    lru: LRU[int, str] = LRU(10, len, entries=2)
    lru.put(1, "x")
    lru.put(2, "y")
    lru.put(3, "z")  # 3 characters, but 3 entries
    assert lru.keys() == [2, 3] and lru.weight == 2
    lru.put(4, "w" * 9)  # 2 entries, but 11 characters: 2 goes
    assert lru.keys() == [3, 4] and lru.weight == 10


def test_pop_discard_where_and_clear_keep_the_weight():
    lru: LRU[tuple[int, int], str] = LRU(100, len)
    for box in (1, 2):
        for state in (1, 2, 3):
            lru.put((box, state), "x" * state)
    assert lru.pop((2, 3)) == "xxx" and lru.pop((2, 3)) is None
    assert lru.discard_where(lambda key: key[0] == 1 and key[1] != 3) == 2
    assert lru.keys() == [(1, 3), (2, 1), (2, 2)] and lru.weight == 6
    lru.clear()
    assert len(lru) == 0 and lru.weight == 0 and lru.get((1, 3)) is None


def test_threads_keep_the_bounds_and_the_weight_right():
    """Threads putting, getting, popping and discarding the same keys at
    once: afterwards the total weight is exactly that of the entries held,
    and within both bounds. The interpreter switches threads as often as it
    can meanwhile, so a step done outside the lock shows up here."""
    lru: LRU[int, str] = LRU(200, len, entries=40)
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def work(seed: int) -> None:
        rng = random.Random(seed)
        try:
            start.wait()
            for _ in range(4_000):
                key = rng.randrange(60)
                action = rng.random()
                if action < 0.5:
                    lru.put(key, "x" * rng.randrange(1, 30))
                elif action < 0.8:
                    value = lru.get(key)
                    assert value is None or 1 <= len(value) < 30
                elif action < 0.95:
                    lru.pop(key)
                else:
                    lru.discard_where(lambda k, cut=rng.randrange(60): k > cut)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(seed,)) for seed in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        sys.setswitchinterval(interval)
    assert not errors and not any(thread.is_alive() for thread in threads)
    held = {key: lru.get(key) for key in lru.keys()}
    assert lru.weight == sum(len(value or "") for value in held.values())
    assert lru.weight <= 200 and len(lru) <= 40
