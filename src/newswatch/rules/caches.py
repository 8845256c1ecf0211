"""How much the caches of words a process keeps may hold, in bytes.

A parse worker lives for days, and a feed may bring long words, or thousands
never seen before on every poll: bounded by counts of words, a worker grew
~43 MB a poll under such a feed. So every cache that grows with the text it
sees is bounded by the bytes it holds, as entry_bytes() estimates them, and is
emptied when past its share (the words in use are then learned again):

    CACHE_BYTES     32 MB in all, of which
    WORDS_BYTES     9/16  the word table: each source word's folded form and stems
                          (text.py; ~60,000 English words)
    TRIGGER_BYTES   1/4   each matcher's table of the rules each word triggers (matcher.py)
    INTERNED_BYTES  1/8   one shared copy of each set of stems in rules (text.intern)
    HEADLINE_BYTES  1/16  the daemon's keys of recent headlines (stories.py)

A worker's memory under a feed of new words: `python bench/worker_memory.py`
(it grows by 10-17 MB from the first poll to the 50th, then stays flat). The
price: a stream whose vocabulary is several times what fits is matched at
about the speed of words met for the first time (bench/languages.py's
multilingual stream, ~180,000 word forms: ~4,400 articles/s, ~24,000 with
caches that hold them all).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Generic, TypeVar

CACHE_BYTES = 32 * 2**20
WORDS_BYTES = CACHE_BYTES * 9 // 16
TRIGGER_BYTES = CACHE_BYTES // 4
INTERNED_BYTES = CACHE_BYTES // 8
HEADLINE_BYTES = CACHE_BYTES // 16
ENTRY_BYTES = 48  # a dict or set entry, with the slack of its table (measured: ~40)

K = TypeVar("K")
V = TypeVar("V")


def entry_bytes(key: object, value: object = None) -> int:
    """What one entry of a cache costs: its key, its value (unless None or the key
    itself; objects inside either are not counted) and the entry."""
    size = sys.getsizeof(key) + ENTRY_BYTES
    return size if value is None or value is key else size + sys.getsizeof(value)


class Budget:
    """The bytes a cache holds (as estimated), against its limit."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0

    def spend(self, nbytes: int) -> None:
        self.used += nbytes

    def over(self) -> bool:
        return self.used > self.limit


class Memo(Generic[K, V]):
    """functools.lru_cache for a function of one argument, bounded by bytes: emptied
    when what it holds passes `limit` (as `size` estimates an entry)."""

    def __init__(self, function: Callable[[K], V], limit: int,
                 size: Callable[[K, V], int] = entry_bytes) -> None:
        self.function, self.size = function, size
        self.found: dict[K, V] = {}
        self.budget = Budget(limit)

    def __call__(self, key: K) -> V:
        try:
            return self.found[key]
        except KeyError:
            pass
        if self.budget.over():
            self.clear()
        value = self.found[key] = self.function(key)
        self.budget.spend(self.size(key, value))
        return value

    def clear(self) -> None:
        self.found.clear()
        self.budget.used = 0
