"""Keeping a Whoosh index open while the indexer replaces it.

The indexer commits new Whoosh generations and swaps whole index folders
(`index.embedded.store`); readers must notice both, never see a half-written one,
and never mix two. `Generations` checks at most every `REFRESH_SECONDS`
(a file read) whether the current generation moved on; on a change it
opens the new one and builds its `Columns` once, while requests already
running finish on the old one, which stays open until the one after it
arrives. Each thread gets its own searcher pinned to the same generation,
because a Whoosh searcher's file positions must not be shared between
threads.

A `Generation` also holds what is worked out once per generation: its
columns, its vocabulary (read on first need) and its query compiler.

This module knows Whoosh's TOC files and readers; it runs no search.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from whoosh.index import TOC, FileIndex
from whoosh.searching import Searcher

from index.embedded import store
from index.embedded import vocabulary as index_vocabulary
from search.embedded.columns import Columns
from search.embedded.compiler import Compiler
from search.vocabulary import Vocabulary

#: Seconds between two checks for a new generation.
REFRESH_SECONDS = 0.5


@dataclass
class Generation:
    """One opened index generation: its index, TOC number and columns.

    `key` is (the generation folder's name or "ram", the Whoosh TOC number).
    """

    key: tuple
    ix: FileIndex
    toc: int
    searcher: Searcher  # used to build the columns; serves the building thread
    columns: Columns
    _vocabulary: Vocabulary | None = None
    _compiler: Compiler | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def token(self) -> str:
        """The generation as a version token (`search.protocol`)."""
        return f"{self.key[0]}:{self.key[1]}"

    def vocabulary(self, s: Searcher) -> Vocabulary:
        """The archive's words as written (prefixes, fuzzy words, spelling),
        read on first need."""
        if self._vocabulary is None:
            with self._lock:
                if self._vocabulary is None:
                    folder = getattr(self.ix.storage, "folder", None)
                    data = index_vocabulary.load(Path(folder), self.toc) if folder else None
                    self._vocabulary = (Vocabulary(data) if data is not None
                                        else Vocabulary.from_reader(s.reader()))
        return self._vocabulary

    def compiler(self, s: Searcher) -> Compiler:
        """Plans → Whoosh queries for this generation."""
        if self._compiler is None:
            cols = self.columns
            self._compiler = Compiler(_LazyVocabulary(self, s), cols.tag_keys_folded,
                                      cols.tag_keys_prefixed, tuple(cols.languages.values))
        return self._compiler

    def last_update(self) -> str | None:
        """When this generation was committed (local time, ISO 8601); None in RAM."""
        try:
            name = f"_{self.ix.indexname}_{self.toc}.toc"
            path = Path(self.ix.storage.folder) / name
            return dt.datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds")
        except (AttributeError, OSError):  # an in-RAM index has no files to date
            return None


class _LazyVocabulary:
    """Reads a generation's vocabulary only when a plan needs one (a prefix,
    a fuzzy word): plain searches never pay for it."""

    def __init__(self, gen: Generation, s: Searcher) -> None:
        self._gen, self._s = gen, s

    def __getattr__(self, name):
        return getattr(self._gen.vocabulary(self._s), name)


class Generations:
    """The current generation of one index folder (or of one in-RAM index).

    `on_new()` is called whenever a new generation is opened (whatever was
    worked out from the old one is stale).
    """

    def __init__(self, index_dir: Path | None, ram_ix=None,
                 on_new: Callable[[], None] = lambda: None) -> None:
        self._dir = index_dir
        self._ram_ix = ram_ix
        self._on_new = on_new
        self._lock = threading.Lock()
        self._gen: Generation | None = None
        self._retired: list[Generation] = []
        self._next_check = 0.0
        self._local = threading.local()

    def refresh(self) -> None:
        """Check for a new generation at the next request, not after the
        usual wait (tests, and a caller that has just committed)."""
        self._next_check = 0.0

    def current(self, force: bool = False) -> Generation | None:
        """The current generation (opened if new), or None when there is none."""
        now = time.monotonic()
        gen = self._gen
        if not force and gen is not None and now < self._next_check:
            return gen
        with self._lock:
            if not force and self._gen is not gen and self._gen is not None:
                return self._gen  # another thread refreshed meanwhile
            self._next_check = now + REFRESH_SECONDS
            try:
                probed = self._probe()
            except Exception:  # noqa: BLE001  a generation vanishing mid-rebuild: keep ours
                return self._gen
            if probed is None:
                self._gen = None
                return None
            key, ix = probed
            if self._gen is not None and self._gen.key == key:
                return self._gen
            try:
                searcher = pinned_searcher(ix, key[1])
                columns = Columns.build(searcher.reader())
            except Exception:  # noqa: BLE001  half-written or unreadable: keep serving ours
                return self._gen
            fresh = Generation(key, ix, key[1], searcher, columns)
            self._on_new()
            if self._gen is not None:
                # The generation before stays open for requests still on it;
                # the one before that is closed.
                self._retired.append(self._gen)
                while len(self._retired) > 1:
                    close_quietly(self._retired.pop(0).searcher)
            self._gen = fresh
            return fresh

    def open(self) -> tuple[Generation, Searcher] | None:
        """The current generation and this thread's searcher on it; None when
        nothing (or nothing live) is indexed."""
        gen = self.current()
        if gen is None or gen.columns.doc_count_live == 0:
            return None
        try:
            return gen, self._searcher(gen)
        except Exception:  # noqa: BLE001  its files were replaced under us: reopen once
            gen = self.current(force=True)
            if gen is None or gen.columns.doc_count_live == 0:
                return None
            return gen, self._searcher(gen)

    def close(self) -> None:
        """Close every searcher held (the calling thread's included)."""
        with self._lock:
            mine = getattr(self._local, "searcher", None)
            if mine is not None:
                close_quietly(mine[1])
                self._local.searcher = None
            for gen in [*self._retired, self._gen]:
                if gen is not None:
                    close_quietly(gen.searcher)
            self._retired.clear()
            self._gen = None

    def _probe(self) -> tuple[tuple, FileIndex] | None:
        """The current (generation key, index), cheaply, or None when absent."""
        if self._ram_ix is not None:
            return ("ram", self._ram_ix.latest_generation()), self._ram_ix
        gen_dir = store.current_generation(self._dir)
        if gen_dir is None:
            return None
        old = self._gen
        if old is not None and old.key[0] == gen_dir.name:
            return (gen_dir.name, old.ix.latest_generation()), old.ix
        ix = store.open_current(self._dir)
        if ix is None:
            return None
        return (gen_dir.name, ix.latest_generation()), ix

    def _searcher(self, gen: Generation) -> Searcher:
        """This thread's searcher on `gen` (opened once per thread and generation)."""
        mine = getattr(self._local, "searcher", None)
        if mine is not None and mine[0] is gen:
            return mine[1]
        if mine is not None:
            close_quietly(mine[1])
        s = pinned_searcher(gen.ix, gen.toc)
        self._local.searcher = (gen, s)
        return s


def pinned_searcher(ix, toc_generation: int) -> Searcher:
    """A searcher on exactly TOC generation `toc_generation` of `ix`.

    `ix.searcher()` opens whatever is latest, which may already be newer
    than the generation the columns were built from; docnums would then
    point at the wrong documents.
    """
    toc = TOC.read(ix.storage, ix.indexname, gen=toc_generation)
    reader = FileIndex._reader(ix.storage, toc.schema, toc.segments, toc.generation)
    return Searcher(reader, fromindex=ix)


def close_quietly(s: Searcher) -> None:
    """Close a searcher that may already be closed or whose files are gone."""
    try:
        s.close()
    except Exception:  # noqa: BLE001  already closed, or its files are gone
        pass
