"""The embedded index's health figures, and the one repair it offers.

`index_figures` reads what the console's health page shows of the index
(`index.health.Health`): articles, deleted documents, segments, bytes on
disk, articles per year, undated and untagged articles, the most used
tags. It reads columns and the term index, and one stored document per
top tag (for its label), never the article texts, so it stays fast on a
large archive.

`optimize` merges the index's segments into one (Whoosh writes a new
segment per commit, and many small segments slow searches down). It takes
the write lock like any indexing run.

Nothing here parses article files or answers searches.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from pathlib import Path

import numpy as np

from index import folder
from index.embedded import store, vocabulary
from index.embedded.document import from_stored
from index.health import Count, Health
from index.protocol import OptimizeResult

#: Whoosh stores a DATETIME as microseconds since datetime.min; undated
#: documents hold the column's all-ones default, above this bound.
_US_PER_DAY = 86_400_000_000
_UNDATED_FROM = np.uint64(2**63)


def index_figures(index_dir: Path, report: Health, top: int = 15) -> None:
    """Fill `report` with the figures of the index in `index_dir` (left as
    they are when there is none)."""
    gen = store.current_generation(index_dir)
    ix = store.open_current(index_dir)
    if gen is None or ix is None:
        return
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


def optimize(index_dir: Path, lock_timeout: float = 10.0) -> OptimizeResult:
    """Merge the current generation's segments into one, under the write lock."""
    index_dir = Path(index_dir)
    started = time.monotonic()
    with folder.write_lock(index_dir, lock_timeout):
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
