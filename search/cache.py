"""The answer cache: whole answers kept per index version, for any engine.

The landing page, popular searches and the prefixes many readers type all
repeat, and a results page costs milliseconds to compute and well under
one to copy out of a cache. `CachedEngine` wraps any `search.protocol`
engine and keeps its answers under the engine's `version()` token: when the
token changes (a commit, a rebuild) the cache empties before anything is
handed out, so an answer is never staler than the index it came from.

`VersionedCache` is the store itself, also used inside the Whoosh engine
for its related-article lists and spelling suggestions.
"""

from __future__ import annotations

import pickle
import threading
import time

from search.autocomplete import Completion
from search.lru import LRU
from search.protocol import ArchiveStats, ReadEngine
from search.request import SearchRequest
from search.results import ArticleView, FacetValue, Hit, SearchResults

#: Answers kept per index version (an LRU).
ANSWER_CACHE_SIZE = 1024


class VersionedCache:
    """A small thread-safe LRU whose entries belong to one version of the index.

    Asking with another version's key empties it first, so nothing
    computed from an older index is ever handed out.

    Values are kept pickled. An answer is a tree of a hundred or so small
    objects (hits, tags, facet values, date buckets); a thousand of them
    alive in the cache made every full garbage collection walk about a
    hundred thousand objects, a pause of 50 to 150 ms that stalled every
    request of the worker. Bytes are invisible to the collector; pickling
    and unpickling an answer cost 0.2 to 0.3 ms each. Each `get` hands out
    a fresh copy, so callers may change what they are given.

    Most keys never come back, so with `second_time` a value is kept only
    the second time its key is put: the first time, only the key's hash is
    noted (in an LRU of `SEEN_PER_ENTRY` times the cache's size). In the
    load test's mix this pickles 7 answers in 100 instead of 92, and finds
    a few more, because the answers kept are the ones that recur.
    """

    SEEN_PER_ENTRY = 4

    def __init__(self, size: int, second_time: bool = True) -> None:
        self.size = size
        self._data = LRU(size)
        self._seen = LRU(size * self.SEEN_PER_ENTRY) if second_time else None
        self._gen: tuple | None = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, gen_key: tuple, key):
        with self._lock:
            if self._gen != gen_key:  # what is kept belongs to an older generation
                self._data.clear()
                if self._seen is not None:
                    self._seen.clear()
                self._gen = gen_key
            found = self._data.get(key)
            if found is None:
                self.misses += 1
                return None
            self.hits += 1
        return pickle.loads(found)

    def put(self, gen_key: tuple, key, value) -> None:
        if self.size <= 0:
            return
        with self._lock:
            if self._gen != gen_key:  # the index moved on while this was made
                return
            if self._seen is not None and self._seen.get(hash(key)) is None:
                self._seen.put(hash(key), True)  # kept if it is put again
                return
        frozen = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            if self._gen == gen_key:
                self._data.put(key, frozen)


class CachedEngine:
    """Any engine, with its search answers cached per index version.

    Everything but `run` is passed through. `run` asks the engine's version
    before and after computing an answer and keeps the answer only when the
    two agree, so an answer computed while the index changed is not kept
    under either version.
    """

    def __init__(self, engine: ReadEngine, size: int = ANSWER_CACHE_SIZE) -> None:
        self.engine = engine
        self._answers = VersionedCache(size)

    @property
    def explains(self) -> bool:
        return self.engine.explains

    @property
    def cache_hits(self) -> int:
        """Answers served from the cache since the engine started."""
        return self._answers.hits

    @property
    def cache_misses(self) -> int:
        """Answers computed since the engine started."""
        return self._answers.misses

    def version(self) -> str | None:
        return self.engine.version()

    def run(self, request: SearchRequest, *, snippets: bool = True,
            explain: bool = False) -> SearchResults:
        started = time.perf_counter()
        version = self.engine.version()
        key = (request, snippets, explain)
        if version is not None:
            cached = self._answers.get(version, key)
            if cached is not None:
                cached.from_cache = True
                cached.took_ms = (time.perf_counter() - started) * 1000
                return cached
        results = self.engine.run(request, snippets=snippets, explain=explain)
        if version is not None and self.engine.version() == version:
            self._answers.put(version, key, results)
        return results

    def get(self, article_id: str, q: str | None = None) -> ArticleView | None:
        return self.engine.get(article_id, q)

    def more_like(self, article_id: str, n: int = 5) -> list[Hit]:
        return self.engine.more_like(article_id, n)

    def tag_values(self, prefix: str = "", limit: int = 20,
                   request: SearchRequest | None = None) -> list[FacetValue]:
        return self.engine.tag_values(prefix, limit, request)

    def complete(self, text: str, limit: int = 8) -> list[Completion]:
        return self.engine.complete(text, limit)

    def stats(self) -> ArchiveStats:
        return self.engine.stats()

    def close(self) -> None:
        self.engine.close()
