"""Per-document columns of one index generation, as numpy arrays.

Counting facets, filtering and sorting by date, and scoring plain words all
touch every matching document; done through Whoosh objects that costs a
Python call per document per query. Instead, when a searcher is opened on a
new index generation, `Columns.build` reads each document's date, tags and
field lengths once into flat arrays, and the postings of searched terms are
read block by block into arrays (`Columns.term`), cached for the
generation's life. Queries then work on whole arrays at a time.

Docnums index every array; deleted documents stay in the arrays and are
masked out by `live`. Nothing changes after `build` except the term caches
(changed under locks), so threads share one `Columns` freely.

This module reads the index; it never writes it and never makes HTML.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate

import numpy as np
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

from index.analysis import normalize_word
from index.embedded.document import from_stored
from index.embedding import VECTOR_BYTES, from_bytes
from search.lru import LRU

#: Ordinal of 1970-01-01, to turn day ordinals into numpy datetime64 days.
_EPOCH = 719163
#: Whoosh stores a DATETIME as microseconds since datetime.min.
_US_PER_DAY = 86_400_000_000
#: Field lengths are stored as one byte each; this table decodes them.
_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)
#: Fields whose terms are scored by `search.embedded.scoring`.
SCORED_FIELDS = ("title", "body", "tags")
#: Rare terms kept per generation. Caches of one generation are sized to
#: fill within the load test's first minute: 16,384 rare terms halved their
#: re-reads but kept a server's memory growing for ten minutes.
_TERM_CACHE_SIZE = 4096
_MEMO_SIZE = 4096
#: Term frequencies kept for related articles: the words of the articles
#: read, the common ones (which most articles share) staying.
_FREQUENCIES_SIZE = 16384
#: Documents whose stored fields are kept per generation, and their bytes.
_STORED_SIZE = 1024
_STORED_BUDGET = 4 * 1024 * 1024
#: A term with at least this many postings (two W3 blocks or more) is kept
#: for the generation's life instead of in the LRU ...
COMMON_POSTINGS = 256
#: ... until the kept terms' arrays reach this many bytes.
COMMON_BUDGET = 64 * 1024 * 1024
_MISSING = object()
#: Punctuation dropped from the ends of a folded tag key (as `search.plan` does).
_TAG_EDGES = ".,;:!?'\"()[]{}-–—/&*~ "


@dataclass
class Postings:
    """One term's postings: sorted docnums and their weights (tf × field boost)."""

    ids: np.ndarray
    weights: np.ndarray
    #: The term's BM25 score in each of `ids` (boost 1), worked out on first
    #: use by `search.embedded.scoring` and kept: it depends only on the generation.
    bm25: np.ndarray | None = None
    #: Its length-normalized frequency in each of `ids` (BM25F), kept likewise.
    ntf: np.ndarray | None = None
    #: Its frequency in each of `ids` as counted (the weights without the
    #: field boost), kept likewise.
    raw: np.ndarray | None = None


class _Block:
    """One W3 posting block's ids and values (character offsets), compactly.

    Whoosh decodes a block into a tuple of Python ints and a list of bytes
    objects, one object per posting; kept as two arrays and one bytes
    string it holds no object the garbage collector tracks and takes 3.6 KB
    on average over Reuters.
    """

    __slots__ = ("ids", "blob", "ends")

    def __init__(self, m) -> None:
        m._read_ids()
        m._read_values()
        values = m._values
        self.ids = array("i", m._ids)
        if values is None or any(v is None for v in values):
            self.blob, self.ends = None, None  # this format keeps no values
        else:
            self.blob = b"".join(values)
            self.ends = array("I", accumulate(len(v) for v in values))

    def value(self, i: int) -> bytes | None:
        if self.blob is None:
            return None
        return self.blob[self.ends[i - 1] if i else 0:self.ends[i]]


class _Directory:
    """Where each block of one term's postings in one segment starts, and
    the largest document id in it: to go straight to the block holding a
    document instead of reading every block header before it."""

    __slots__ = ("maxids", "positions")

    def __init__(self, m) -> None:
        self.maxids, self.positions = array("i"), array("q")
        position = m._baseoffset  # where `reset` put the first block
        while True:
            self.maxids.append(m._maxid)
            self.positions.append(position)
            if m._lastblock:
                break
            position = m._nextoffset
            m._next_block()


class BlockCache:
    """Posting blocks of one generation, decoded for marking, kept for its
    threads (an LRU), with the block directories of the terms looked up.

    Marking a page's hits needs the character offsets of a few (term,
    document) pairs, each in some block of a term's postings. Reading a
    block of Whoosh's W3 postings means unpickling all of it (ids, weights
    and every posting's offsets), and the same blocks come back again and
    again: common words' blocks on every page that shows their matches. A
    block is known by its segment's position in the reader and its offset
    in that segment's postings file; entries (`_Block`) are shared
    read-only, hold no object the garbage collector tracks, and take about
    30 MB for the default 8,192 blocks (3.6 KB on average over Reuters).
    In the load test's mix a worker re-read 2.2 blocks per request with
    4,096 kept and 0.9 with 8,192 (16,384 did no better).
    Finding the block by walking a common word's block headers cost as much
    as decoding it; each term's `_Directory` is kept too (a few bytes per
    block).
    """

    def __init__(self, size: int = 8192, directories: int = 4096) -> None:
        self.blocks = LRU(size)
        self.directories = LRU(directories)

    def __len__(self) -> int:
        return len(self.blocks)


@dataclass
class Category:
    """A single-valued keyword of every document (its kind, its language).

    `values` are the distinct values, sorted; `of[doc]` is the index of the
    document's value in them, -1 when it has none. Facet counts are then a
    `bincount` and a filter a comparison, like the tags'.
    """

    values: list[str]
    of: np.ndarray  # int32[n]

    def ids(self, wanted: tuple[str, ...]) -> list[int]:
        """The ids of the values in `wanted`, compared case-insensitively."""
        folded = {w.casefold() for w in wanted}
        return [i for i, v in enumerate(self.values) if v.casefold() in folded]

    def mask(self, wanted: tuple[str, ...]) -> np.ndarray | None:
        """Documents holding any of `wanted`; None when nothing is wanted."""
        if not wanted:
            return None
        ids = self.ids(wanted)
        return np.isin(self.of, ids) if ids else np.zeros(len(self.of), dtype=bool)

    def counts(self, docs: np.ndarray) -> np.ndarray:
        """How many of `docs` hold each value."""
        held = self.of[docs]
        return np.bincount(held[held >= 0], minlength=len(self.values))


def _category(reader, fieldname: str, n: int, live: np.ndarray) -> Category:
    """The `Category` of a keyword field, from its terms' postings."""
    of = np.full(n, -1, dtype=np.int32)
    values: list[str] = []
    if fieldname in reader.schema:
        for btext in reader.lexicon(fieldname):
            docs = read_postings(reader, fieldname, btext).ids
            docs = docs[live[docs]]
            if len(docs):
                of[docs] = len(values)
                values.append(btext.decode("utf-8") if isinstance(btext, bytes) else btext)
    return Category(values, of)


@dataclass
class Columns:
    """The arrays of one generation (see the module docstring)."""

    n: int
    live: np.ndarray  # bool[n]
    day: np.ndarray  # int32[n]: date.toordinal(), or -1 when undated
    year: np.ndarray  # int32[n]: calendar year, 0 when undated
    month: np.ndarray  # int32[n]: year * 12 + month - 1, 0 when undated
    newest_rank: np.ndarray  # int32[n]: position in newest-first order (undated last)
    oldest_rank: np.ndarray  # int32[n]: position in oldest-first order (undated last)
    tag_keys: list[str]  # tag id -> key, sorted
    tag_folded: list[str]  # tag id -> key folded like words (for prefix search)
    tag_indptr: np.ndarray  # int64[n + 1]: doc -> slice of doc_tags
    doc_tags: np.ndarray  # int32: tag ids, grouped by doc
    tag_docs: list[np.ndarray]  # tag id -> sorted docnums (live only)
    lengths: dict[str, np.ndarray]  # field -> float32[n] field length
    avg_length: dict[str, float]
    doc_count: int
    #: float16[n, 256] unit meaning vectors (`index.embedding`), zeros where an
    #: article has none; None when the index holds no vectors at all.
    vectors: np.ndarray | None = None
    kinds: Category = field(default_factory=lambda: Category([], np.zeros(0, dtype=np.int32)))
    languages: Category = field(
        default_factory=lambda: Category([], np.zeros(0, dtype=np.int32)))
    _labels: dict[int, str] = field(default_factory=dict)
    _by_folded: dict[str, list[int]] | None = None
    _terms: LRU = field(default_factory=lambda: LRU(_TERM_CACHE_SIZE))
    _common: dict = field(default_factory=dict)
    _common_bytes: int = 0
    _memo: LRU = field(default_factory=lambda: LRU(_MEMO_SIZE))
    _stored: LRU = field(default_factory=lambda: LRU(_STORED_SIZE, _STORED_BUDGET, _weigh_fields))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    blocks: BlockCache = field(default_factory=BlockCache)
    #: (field, term) -> collection frequency (-1: not in the index), for
    #: related articles' key terms (`search.embedded.related`).
    frequencies: LRU = field(default_factory=lambda: LRU(_FREQUENCIES_SIZE))

    @cached_property
    def newest_day(self) -> int:
        """Day ordinal of the newest dated live article (0 when none is dated);
        worked out once per generation (the columns never change)."""
        days = self.day[self.live & (self.day >= 0)]
        return int(days.max()) if len(days) else 0

    @cached_property
    def tag_words(self) -> list[str]:
        """Each tag's key reduced to its words (`search.tag_match.words`), for
        the tag finder; worked out once per generation."""
        from search.tag_match import words

        return [words(k) for k in self.tag_keys]

    @property
    def doc_count_live(self) -> int:
        """How many documents are not deleted."""
        return int(np.count_nonzero(self.live))

    # -- building ----------------------------------------------------------

    @classmethod
    def build(cls, reader) -> Columns:
        """Read the columns of every document of `reader` (a Whoosh reader)."""
        n = reader.doc_count_all()
        live = np.zeros(n, dtype=bool)
        live[np.fromiter(reader.all_doc_ids(), dtype=np.int64, count=reader.doc_count())] = True

        day = _days(reader, n)
        dated = day >= 0
        as_dates = np.where(dated, day - _EPOCH, 0).astype("datetime64[D]")
        years = as_dates.astype("datetime64[Y]").astype(np.int64) + 1970
        months = as_dates.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
        year = np.where(dated, years, 0).astype(np.int32)
        month = np.where(dated, years * 12 + months % 12, 0).astype(np.int32)

        big = np.iinfo(np.int32).max
        docnums = np.arange(n)
        newest_order = np.lexsort((docnums, np.where(dated, -day, big)))
        oldest_order = np.lexsort((docnums, np.where(dated, day, big)))
        newest_rank = np.empty(n, dtype=np.int32)
        newest_rank[newest_order] = np.arange(n, dtype=np.int32)
        oldest_rank = np.empty(n, dtype=np.int32)
        oldest_rank[oldest_order] = np.arange(n, dtype=np.int32)

        cols = cls(
            n=n, live=live, day=day, year=year, month=month,
            newest_rank=newest_rank, oldest_rank=oldest_rank,
            tag_keys=[], tag_folded=[], tag_indptr=np.zeros(n + 1, dtype=np.int64),
            doc_tags=np.zeros(0, dtype=np.int32), tag_docs=[],
            lengths={}, avg_length={}, doc_count=max(reader.doc_count(), 1),
        )
        for fname in SCORED_FIELDS:
            lengths = _field_lengths(reader, fname, n)
            cols.lengths[fname] = lengths
            total = reader.field_length(fname)
            cols.avg_length[fname] = (total / n) if n and total else 1.0
        cols._build_tags(reader)
        cols.kinds = _category(reader, "kind", n, live)
        cols.languages = _category(reader, "language", n, live)
        cols.vectors = _vectors(reader, n)
        return cols

    def _build_tags(self, reader) -> None:
        keys, per_tag = [], []
        for btext in reader.lexicon("tags"):
            p = read_postings(reader, "tags", btext)
            docs = p.ids[self.live[p.ids]]
            if len(docs):
                keys.append(btext.decode("utf-8") if isinstance(btext, bytes) else btext)
                per_tag.append(docs)
        self.tag_keys = keys
        self.tag_folded = [normalize_word(k).strip(_TAG_EDGES) for k in keys]
        self.tag_docs = per_tag
        if not per_tag:
            return
        all_docs = np.concatenate(per_tag)
        all_tags = np.repeat(np.arange(len(per_tag), dtype=np.int32),
                             [len(d) for d in per_tag])
        order = np.argsort(all_docs, kind="stable")
        self.doc_tags = all_tags[order]
        counts = np.bincount(all_docs, minlength=self.n)
        self.tag_indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)

    # -- reading -------------------------------------------------------------

    def term(self, reader, fieldname: str, btext: bytes) -> Postings:
        """The postings of one term, read once and cached.

        Two tiers: common terms (`COMMON_POSTINGS` or more) stay for the
        generation's life, rare ones in an LRU of `_TERM_CACHE_SIZE` terms.
        A common word costs many blocks to read and comes back on page after
        page, yet a stream of rare words pushed it out of a plain LRU: in
        the load test's mix three quarters of all postings decoded were
        re-reads of evicted common terms. Kept whole, Reuters' thousand
        common terms take about 11 MB; `COMMON_BUDGET` bounds a larger
        archive's, past which common terms share the LRU.
        """
        key = (fieldname, btext)
        postings = self._common.get(key)
        if postings is not None:
            return postings
        postings = self._terms.get(key)
        if postings is None:
            postings = read_postings(reader, fieldname, btext)
            size = postings.ids.nbytes + postings.weights.nbytes
            if len(postings.ids) >= COMMON_POSTINGS and self._keep(key, postings, size):
                return postings
            self._terms.put(key, postings)
        return postings

    def _keep(self, key, postings: Postings, size: int) -> bool:
        with self._lock:
            if self._common_bytes + size > COMMON_BUDGET:
                return False
            if key not in self._common:
                self._common[key] = postings
                self._common_bytes += size
            return True

    def values(self, reader, fieldname: str, btext: bytes,
               docnums: list[int]) -> Iterator[tuple[int, bytes]]:
        """(docnum, posting value) for each of `docnums` (sorted) holding the term.

        A value is the posting's encoded positions and character offsets
        (decode it with the field format's `decoder("characters")`). W3
        postings are read through `blocks`: the term's block directory says
        which block holds a document, the block is decoded once, and its
        ids are bisected. Whoosh's own `skip_to` walks every block header
        before the one wanted and steps through that block a posting at a
        time. Other formats use `skip_to`.
        """
        leaves = list(reader.leaf_readers())
        cache = self.blocks
        pos = 0
        for leaf, (segreader, base) in enumerate(leaves):
            end = base + segreader.doc_count_all()
            mine = []
            while pos < len(docnums) and docnums[pos] < end:
                mine.append(docnums[pos] - base)
                pos += 1
            if not mine:
                continue
            key = (leaf, fieldname, btext)
            directory = cache.directories.get(key)
            m = None
            if directory is None:
                try:
                    m = leaf_postings(segreader, fieldname, btext)
                except TermNotFound:
                    continue
                if not _is_w3(m):
                    yield from _values_by_skipping(m, mine, base)
                    continue
                directory = _Directory(m)
                cache.directories.put(key, directory)
            for local in mine:
                k = bisect_left(directory.maxids, local)
                if k == len(directory.maxids):
                    break
                bkey = (leaf, directory.positions[k])
                block = cache.blocks.get(bkey)
                if block is None:
                    if m is None:
                        m = leaf_postings(segreader, fieldname, btext)
                    m._goto(directory.positions[k])
                    block = _Block(m)
                    cache.blocks.put(bkey, block)
                i = bisect_left(block.ids, local)
                if i < len(block.ids) and block.ids[i] == local:
                    value = block.value(i)
                    if value is not None:
                        yield local + base, value

    def stored(self, searcher, docnum: int) -> dict:
        """`searcher.stored_fields(docnum)`, kept for the generation.

        The same articles come back on page after page (a common word's
        best matches), and Whoosh unpickles a document's fields on every
        call. Shared between threads: read it, never change it.
        """
        fields = self._stored.get(docnum)
        if fields is None:
            fields = searcher.stored_fields(docnum)
            self._stored.put(docnum, fields)
        return fields

    def memo(self, key, compute):
        """`compute()`, remembered for this generation under `key`.

        For results that are costly to get from Whoosh and depend only on
        the index (a phrase's documents, a prefix's expansion).
        """
        value = self._memo.get(key, _MISSING)
        if value is _MISSING:
            value = compute()
            self._memo.put(key, value)
        return value

    def tags_of(self, docnums: np.ndarray) -> np.ndarray:
        """The tag ids of all `docnums`, concatenated (for counting)."""
        if len(docnums) == 0 or len(self.doc_tags) == 0:
            return np.zeros(0, dtype=np.int32)
        starts = self.tag_indptr[docnums]
        lens = self.tag_indptr[docnums + 1] - starts
        total = int(lens.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int32)
        # Positions start..start+len for every doc, without a Python loop.
        offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lens)[:-1])), lens)
        return self.doc_tags[np.arange(total) + offsets]

    def tag_ids(self, key: str) -> list[int]:
        """The ids of the tags a requested key stands for.

        The exact key when the index has it; otherwise every tag whose
        folded spelling matches (so a tag typed with an Arabic kaf finds the
        one indexed with a Persian keheh).
        """
        import bisect

        i = bisect.bisect_left(self.tag_keys, key)
        if i < len(self.tag_keys) and self.tag_keys[i] == key:
            return [i]
        folded = normalize_word(key)
        return [j for j, f in enumerate(self.tag_folded) if f == folded]

    def tag_keys_folded(self, folded: str) -> list[str]:
        """The tag keys whose folded spelling is `folded` (a word of a query)."""
        ids = self._folded_index().get(folded, ())
        return [self.tag_keys[i] for i in ids]

    def tag_keys_prefixed(self, folded: str, limit: int) -> list[str]:
        """Up to `limit` tag keys whose folded spelling starts with `folded`,
        the most used first."""
        found = [i for i, f in enumerate(self.tag_folded) if f.startswith(folded)]
        found.sort(key=lambda i: -len(self.tag_docs[i]))
        return [self.tag_keys[i] for i in found[:limit]]

    def _folded_index(self) -> dict[str, list[int]]:
        index = self._by_folded
        if index is None:
            index = {}
            for i, f in enumerate(self.tag_folded):
                index.setdefault(f, []).append(i)
            self._by_folded = index
        return index

    def docs_with_tag(self, key: str) -> np.ndarray:
        """Bool mask of the documents having the tag `key`."""
        mask = np.zeros(self.n, dtype=bool)
        for i in self.tag_ids(key):
            mask[self.tag_docs[i]] = True
        return mask

    def label(self, tag_id: int, stored_fields) -> str:
        """The display label of a tag, found on one of its documents.

        `stored_fields(docnum)` loads a document's stored fields; labels are
        looked up lazily (only for tags shown) and remembered.
        """
        with self._lock:
            if tag_id in self._labels:
                return self._labels[tag_id]
        key = self.tag_keys[tag_id]
        label = key
        docs = self.tag_docs[tag_id]
        if len(docs):
            for tag in from_stored(stored_fields(int(docs[0])) or {}).tags:
                if tag.key == key:
                    label = tag.label
                    break
        with self._lock:
            self._labels[tag_id] = label
        return label


def leaf_postings(segreader, fieldname: str, btext: bytes):
    """The matcher of one term in one segment, deleted documents included.

    Whoosh's `SegmentReader.postings` builds a set of the segment's deleted
    documents and a filter over them on every call; callers here mask
    deleted documents themselves (`Columns.live`) or ask only for live ones,
    so the segment's terms reader is asked directly when it can be. Raises
    TermNotFound when the segment lacks the term.
    """
    terms = getattr(segreader, "_terms", None)
    if terms is not None and hasattr(terms, "matcher") and fieldname in segreader.schema:
        return terms.matcher(fieldname, btext, segreader.schema[fieldname].format)
    m = segreader.postings(fieldname, btext)
    return getattr(m, "child", m)


def _is_w3(m) -> bool:
    return all(hasattr(m, a) for a in ("_maxid", "_read_ids", "_read_weights", "_read_data",
                                       "_dataoffset", "_next_block", "_atend"))


def read_postings(reader, fieldname: str, btext: bytes) -> Postings:
    """All postings of a term across segments, as arrays (deleted docs included).

    Whoosh's W3 posting blocks already hold arrays of ids and weights; they
    are taken a block at a time (`Columns.term` keeps the result). Any other
    matcher is read one posting at a time, which is slower but gives the
    same arrays.
    """
    ids_parts, weight_parts = [], []
    for segreader, base in reader.leaf_readers():
        try:
            m = leaf_postings(segreader, fieldname, btext)
        except TermNotFound:  # the term is not in this segment
            continue
        if _is_w3(m):
            while not m._atend:
                if m._ids is None:
                    m._read_ids()
                m._read_weights()
                ids_parts.append(np.asarray(m._ids, dtype=np.int64) + base)
                weight_parts.append(np.asarray(m._weights, dtype=np.float32))
                m._next_block()
        else:
            ids, ws = [], []
            while m.is_active():
                ids.append(m.id())
                ws.append(m.weight())
                m.next()
            ids_parts.append(np.asarray(ids, dtype=np.int64) + base)
            weight_parts.append(np.asarray(ws, dtype=np.float32))
    if not ids_parts:
        return Postings(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
    return Postings(np.concatenate(ids_parts), np.concatenate(weight_parts))


def _weigh_fields(fields: dict) -> int:
    return 100 + sum(len(v) for v in fields.values() if isinstance(v, str))


def _values_by_skipping(m, locals_: list[int], base: int) -> Iterator[tuple[int, bytes]]:
    for local in locals_:
        if not m.is_active():
            return
        if m.id() < local:
            m.skip_to(local)
            if not m.is_active():
                return
        if m.id() == local and m.supports("characters"):
            yield local + base, m.value()


def _days(reader, n: int) -> np.ndarray:
    """Day ordinals of every document (-1 when undated) from the date column."""
    day = np.full(n, -1, dtype=np.int32)
    for segreader, base in reader.leaf_readers():
        count = segreader.doc_count_all()
        if not segreader.has_column("date"):
            continue
        raw = np.fromiter(
            segreader.column_reader("date", translate=False), dtype=np.uint64, count=count
        )
        # Documents without a date hold the column's all-ones default.
        ok = raw < np.uint64(2**63)
        ords = np.where(ok, raw // np.uint64(_US_PER_DAY) + np.uint64(1), 0).astype(np.int64)
        day[base:base + count] = np.where(ok, ords, -1)
    return day


def _vectors(reader, n: int) -> np.ndarray | None:
    """Every document's meaning vector, from the `vector` column (None when
    no segment has one, or none is set)."""
    parts = []
    found = False
    for segreader, _base in reader.leaf_readers():
        count = segreader.doc_count_all()
        if "vector" in segreader.schema and segreader.has_column("vector"):
            found = True
            parts.append(b"".join(segreader.column_reader("vector")))
        else:
            parts.append(bytes(VECTOR_BYTES * count))
    if not found or n == 0:
        return None
    vectors = from_bytes(b"".join(parts))
    return vectors if vectors.any() else None


def _field_lengths(reader, fieldname: str, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    for segreader, base in reader.leaf_readers():
        count = segreader.doc_count_all()
        try:
            from whoosh.codec.whoosh3 import LENGTHS_COLUMN

            col = segreader._perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
            raw = np.fromiter(col, dtype=np.uint8, count=count) if col is not None else None
        except (AttributeError, TypeError, KeyError):  # another codec: ask each document
            raw = None
        if raw is not None:
            out[base:base + count] = _LENGTHS[raw]
        else:
            out[base:base + count] = [
                segreader.doc_field_length(d, fieldname) or 0 for d in range(count)
            ]
    return out
