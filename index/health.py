"""The index's health as the librarians see it, and the one repair it offers.

`health` gathers the figures of the console's health page: how many
articles, how many per year, the most used tags, how many have no date or
no tag, which files failed in the last run, and what the index costs on
disk (bytes and segments). `sources_overview` counts the articles under each
source folder. Both read columns and the term index, never the stored
article texts, so they stay fast on a large archive.

`optimize` merges the index's segments into one (Whoosh writes a new
segment per commit, and many small segments slow searches down). It takes
the write lock like any indexing run.

Nothing here parses article files or answers searches.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index import store, vocabulary
from index.document import from_stored
from index.protocol import OptimizeResult
from index.writer import LAST_RUN_FILE, SOURCES_FILE, Failure, known_roots

#: Whoosh stores a DATETIME as microseconds since datetime.min; undated
#: documents hold the column's all-ones default, above this bound.
_US_PER_DAY = 86_400_000_000
_UNDATED_FROM = np.uint64(2**63)


@dataclass(frozen=True)
class Count:
    """A value and how many articles have it (a year, a tag)."""

    label: str
    count: int


@dataclass
class Health:
    """Figures about the index, for the console's health page."""

    articles: int = 0
    undated: int = 0
    untagged: int = 0
    distinct_tags: int = 0
    years: list[Count] = field(default_factory=list)
    top_tags: list[Count] = field(default_factory=list)
    size_bytes: int = 0
    segments: int = 0
    deleted: int = 0
    generation: str | None = None
    #: The last indexing run's summary as recorded beside the index (None before any).
    last_run: dict | None = None
    last_failures: list[Failure] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return self.generation is not None


@dataclass(frozen=True)
class SourceInfo:
    """One source folder (or file): where it is, what it holds in the index."""

    path: str
    configured: bool
    exists: bool
    is_dir: bool
    articles: int
    last_run: str | None


def health(index_dir: Path, top: int = 15) -> Health:
    """The health figures of the index in `index_dir` (all zero when there is none)."""
    index_dir = Path(index_dir)
    report = Health()
    last = store.read_json(index_dir, LAST_RUN_FILE, None)
    if isinstance(last, dict):
        report.last_run = last
        report.last_failures = [
            Failure(f.get("path", ""), f.get("reason", ""), f.get("line"))
            for f in last.get("failures", []) if isinstance(f, dict)
        ]
    gen = store.current_generation(index_dir)
    ix = store.open_current(index_dir)
    if gen is None or ix is None:
        return report
    report.generation = gen.name
    report.size_bytes = store.disk_size(index_dir)
    try:
        with ix.reader() as r:
            report.segments = len(r.leaf_readers())
            report.articles = r.doc_count()
            report.deleted = r.doc_count_all() - r.doc_count()
            live = _live_mask(r)
            years = _years(r)
            report.undated = int(np.count_nonzero(live & (years == 0)))
            report.years = [
                Count(str(y), int(n)) for y, n in sorted(Counter(years[live & (years > 0)]
                                                                  .tolist()).items())
            ]
            tag_counts, tagged = _tag_counts(r, live)
            report.distinct_tags = len(tag_counts)
            report.untagged = int(np.count_nonzero(live & ~tagged))
            best = sorted(tag_counts.items(), key=lambda kv: (-kv[1][0], kv[0]))[:top]
            report.top_tags = [Count(_label(r, key, first), n) for key, (n, first) in best]
    finally:
        ix.close()
    return report


def sources_overview(index_dir: Path, configured: list[str]) -> list[SourceInfo]:
    """The configured source folders, then any other folder earlier runs indexed.

    Each comes with the number of indexed articles whose file lies under it
    and the time of the last run that indexed it.
    """
    index_dir = Path(index_dir)
    runs = store.read_json(index_dir, SOURCES_FILE, {}).get("roots", {})
    paths: dict[str, bool] = {}
    for p in configured:
        paths.setdefault(str(Path(p).expanduser().resolve()), True)
    for p in known_roots(index_dir):
        paths.setdefault(p, False)
    per_source = _articles_per_source(index_dir)
    infos = []
    for path, is_configured in paths.items():
        prefix = path.rstrip(os.sep) + os.sep
        count = sum(n for src, n in per_source.items() if src == path or src.startswith(prefix))
        p = Path(path)
        infos.append(SourceInfo(
            path=path, configured=is_configured, exists=p.exists(), is_dir=p.is_dir(),
            articles=count, last_run=(runs.get(path) or {}).get("last_run"),
        ))
    return infos


def optimize(index_dir: Path, lock_timeout: float = 10.0) -> OptimizeResult:
    """Merge the current generation's segments into one, under the write lock."""
    index_dir = Path(index_dir)
    started = time.monotonic()
    with store.write_lock(index_dir, lock_timeout):
        ix = store.open_current(index_dir)
        if ix is None:
            raise FileNotFoundError(f"there is no index in {index_dir}")
        try:
            before = _segment_count(ix)
            size_before = store.disk_size(index_dir)
            ix.optimize()
            after = _segment_count(ix)
            # Merging changes no article, so the vocabulary file still holds.
            gen_dir = store.current_generation(index_dir)
            if gen_dir is not None:
                vocabulary.carry_over(gen_dir, ix)
        finally:
            ix.close()
    return OptimizeResult(before, after, size_before, store.disk_size(index_dir),
                          round(time.monotonic() - started, 3))


# -- helpers -----------------------------------------------------------------


def _segment_count(ix) -> int:
    with ix.reader() as r:
        return len(r.leaf_readers())


def _live_mask(r) -> np.ndarray:
    live = np.zeros(r.doc_count_all(), dtype=bool)
    ids = np.fromiter(r.all_doc_ids(), dtype=np.int64)
    live[ids] = True
    return live


def _years(r) -> np.ndarray:
    """Calendar year of every document (0 when undated), from the date column."""
    years = np.zeros(r.doc_count_all(), dtype=np.int32)
    for seg, base in r.leaf_readers():
        if not seg.has_column("date"):
            continue
        n = seg.doc_count_all()
        raw = np.fromiter(seg.column_reader("date", translate=False), dtype=np.uint64, count=n)
        for i in np.nonzero(raw < _UNDATED_FROM)[0].tolist():
            day = int(raw[i] // np.uint64(_US_PER_DAY)) + 1
            years[base + i] = dt.date.fromordinal(day).year
    return years


def _tag_counts(r, live: np.ndarray) -> tuple[dict[str, tuple[int, int]], np.ndarray]:
    """Tag key -> (live articles with it, one such docnum), and which docs have any tag."""
    tagged = np.zeros(len(live), dtype=bool)
    counts: dict[str, tuple[int, int]] = {}
    for btext in r.lexicon("tags"):
        docs = np.fromiter(r.postings("tags", btext).all_ids(), dtype=np.int64)
        docs = docs[live[docs]]
        if len(docs) == 0:
            continue
        tagged[docs] = True
        key = btext.decode("utf-8") if isinstance(btext, bytes) else str(btext)
        counts[key] = (len(docs), int(docs[0]))
    return counts, tagged


def _label(r, key: str, docnum: int) -> str:
    """The spelling a source used for tag `key`, read from one article that has it."""
    for tag in from_stored(r.stored_fields(docnum)).tags:
        if tag.key == key:
            return tag.label
    return key


def _articles_per_source(index_dir: Path) -> dict[str, int]:
    ix = store.open_current(index_dir)
    if ix is None:
        return {}
    counts: Counter[str] = Counter()
    try:
        with ix.reader() as r:
            if r.doc_count() == 0:
                return {}
            column = r.column_reader("source")
            for docnum in r.all_doc_ids():
                value = column[docnum]
                counts[value.decode("utf-8") if isinstance(value, bytes) else str(value)] += 1
    finally:
        ix.close()
    return dict(counts)
