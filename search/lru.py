"""`LRU`: the small thread-safe least-recently-used map the read side caches in.

Postings, decoded blocks, whole answers and sanitized snippets are all kept
per process in maps of bounded size that many request threads share; this is
that map, written once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class LRU:
    """At most `size` entries; reading an entry makes it the most recent.

    With `weigh` (value -> bytes) and `budget`, entries are also dropped,
    least recent first, while their weights add up to more than `budget`.
    """

    def __init__(self, size: int, budget: int | None = None,
                 weigh: Callable[[Any], int] | None = None) -> None:
        self.size = size
        self.budget = budget
        self._weigh = weigh
        self._weights: dict = {}
        self.weight = 0
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value kept under `key`, or `default`."""
        with self._lock:
            if key not in self._data:
                return default
            self._data.move_to_end(key)
            return self._data[key]

    def put(self, key: Hashable, value: Any) -> None:
        """Keep `value` under `key`, dropping the least recent entries beyond
        `size` (or `budget`)."""
        w = self._weigh(value) if self._weigh is not None else 0
        with self._lock:
            if self._weigh is not None:
                self.weight += w - self._weights.get(key, 0)
                self._weights[key] = w
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size or (
                    self.budget is not None and self.weight > self.budget and self._data):
                old, _ = self._data.popitem(last=False)
                if self._weigh is not None:
                    self.weight -= self._weights.pop(old)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._weights.clear()
            self.weight = 0

    def values(self) -> list:
        with self._lock:
            return list(self._data.values())

    def __len__(self) -> int:
        return len(self._data)
