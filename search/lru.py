"""`LRU`: the small thread-safe least-recently-used map the read side caches in.

Postings, decoded blocks, whole answers and sanitized snippets are all kept
per process in maps of bounded size that many request threads share; this is
that map, written once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class LRU:
    """At most `size` entries; reading an entry makes it the most recent."""

    def __init__(self, size: int) -> None:
        self.size = size
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
        """Keep `value` under `key`, dropping the least recent entries beyond `size`."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def values(self) -> list:
        with self._lock:
            return list(self._data.values())

    def __len__(self) -> int:
        return len(self._data)
