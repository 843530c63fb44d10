"""Evaluating a query over whole arrays: which documents match, with what score.

Whoosh finds and ranks documents one posting at a time in Python, which
costs tens of milliseconds for a common word. Here a parsed query tree is
evaluated bottom-up into a boolean match vector and a float score vector
over all docnums, using the term postings cached in `search.embedded.columns`:

- a word is BM25F-scored from its postings (weights already carry the
  field boost), with the same constants Whoosh uses (K1 1.2, B 0.75);
- AND, OR, NOT and their relatives are vector operations; an OR with a
  `scale` adds a coordination step, so documents with more of the words
  always rank higher (the "most of the words" fallback);
- a punctuated word ("three-dimensional") is one word however it is
  written: its phrase of parts is counted position by position here
  (`phrase_counts`) and scored with the compound as one BM25F term;
- anything else (quoted phrases, date ranges) asks Whoosh for its
  documents, and a quoted phrase is scored as the sum of its words.

The result is the whole match set, exact, for counting facets, and the
scores to pick the top hits from. This module never parses text and never
touches stored fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from whoosh import query
from whoosh.reading import TermNotFound

from index.embedded.schema import TAGS_BOOST, TITLE_BOOST
from search.embedded.columns import _US_PER_DAY, SCORED_FIELDS, Columns

K1 = 1.2
_NO_IDS = np.zeros(0, dtype=np.int64)
_COORD_STEP = 1000.0
B = 0.75

#: BM25F: each field's weight and its own length normalization `b`. A word
#: in the title counts `FIELD_WEIGHT["title"]` times a word of the body;
#: titles and tags are short and about equally long, so their length says
#: little (small `b`), while a long body says a word is less central.
FIELD_WEIGHT = {"title": TITLE_BOOST, "body": 1.0, "tags": TAGS_BOOST}
FIELD_B = {"title": 0.3, "body": 0.75, "tags": 0.0}
#: What the index multiplied each field's term frequencies by when writing.
_STORED_BOOST = {"title": TITLE_BOOST, "body": 1.0, "tags": TAGS_BOOST}


def idf(df: int, n: int) -> float:
    """A word's rarity when `df` of `n` articles hold it: BM25's
    `ln(1 + (n - df + 0.5) / (df + 0.5))` (Lucene's form, never negative).

    Whoosh's `ln(n / (df + 1)) + 1` has a floor of 1 that about doubles
    the weight of a word held by half the archive against a rare one, so
    common words (and those pseudo-relevance feedback brings in) crowd out
    the telling ones.
    """
    return math.log(1 + (n - min(df, n) + 0.5) / (min(df, n) + 0.5))


class FieldsOr(query.Or):
    """One word of the reader looked up in several fields (title, body, tags).

    Scored as BM25F: the word's frequency in each field, normalized by that
    field's length and weighted, is summed into one frequency that
    saturates once, with one idf over every article holding the word in any
    field. Summing a BM25 score per field instead would reward the same
    word once per field, a second time for being in the title.
    """


@dataclass
class Match:
    """The documents a query matches (`mask`) and their scores."""

    mask: np.ndarray  # bool[n]
    score: np.ndarray  # float32[n], 0 where not matched


def evaluate(q: query.Query, cols: Columns, searcher) -> Match:
    """Evaluate `q` over all documents of `cols` (deleted ones never match)."""
    m = _eval(q, cols, searcher)
    m.mask &= cols.live
    return m


def _empty(cols: Columns) -> Match:
    return Match(np.zeros(cols.n, dtype=bool), np.zeros(cols.n, dtype=np.float32))


def _term(fieldname: str, text, boost: float, cols: Columns, searcher) -> Match:
    out = _empty(cols)
    ids, scores = _postings(fieldname, text, boost, cols, searcher)
    out.mask[ids] = True
    if scores is not None:
        out.score[ids] = scores
    return out


def _postings(fieldname: str, text, boost: float, cols: Columns,
              searcher) -> tuple[np.ndarray, np.ndarray | None]:
    """A term's documents (deleted ones included) and their scores (None
    for a field that is not scored)."""
    field = searcher.schema[fieldname] if fieldname in searcher.schema else None
    if field is None:
        return _NO_IDS, None
    btext = text if isinstance(text, bytes) else field.to_bytes(text)
    p = cols.term(searcher.reader(), fieldname, btext)
    if len(p.ids) == 0 or fieldname not in SCORED_FIELDS:
        return p.ids, None
    s = p.bm25
    if s is None:  # two threads may both work it out; the result is the same
        s = p.bm25 = _bm25(p.ids, p.weights, fieldname, cols)
    return p.ids, (s * boost if boost != 1 else s)


def _or(q: query.Query, cols: Columns, searcher) -> Match:
    """Any `Or` (scores added, with coordination when it has a `scale`) or
    `DisjunctionMax` (the best score)."""
    parts = [_eval(c, cols, searcher) for c in q.subqueries]
    if not parts:
        return _empty(cols)
    mask = np.zeros(cols.n, dtype=bool)
    score = np.zeros(cols.n, dtype=np.float32)
    hits = np.zeros(cols.n, dtype=np.int16)
    for p in parts:
        mask |= p.mask
        if isinstance(q, query.DisjunctionMax):
            np.maximum(score, p.score, out=score)
        else:
            score += p.score
        hits += p.mask
    if getattr(q, "scale", None):
        # Coordination, made strict: a document with more of the parts
        # always ranks above one with fewer (BM25 scores stay far below
        # the step), then by score among equals.
        score += hits.astype(np.float32) * _COORD_STEP
    return Match(mask, score * q.boost)


def _or_of_terms(q: query.Or, cols: Columns, searcher) -> Match:
    """An `Or` of plain terms (a word looked up in each text field) added
    straight into one score vector: each term touches only its own
    documents instead of filling and adding whole-archive vectors."""
    mask = np.zeros(cols.n, dtype=bool)
    score = np.zeros(cols.n, dtype=np.float32)
    scale = getattr(q, "scale", None)
    hits = np.zeros(cols.n, dtype=np.int16) if scale else None
    for c in q.subqueries:
        ids, scores = _postings(c.fieldname, c.text, c.boost, cols, searcher)
        mask[ids] = True
        if scores is not None:
            score[ids] += scores  # a term's ids are unique
        if hits is not None:
            hits[ids] += 1
    if hits is not None:
        score += hits.astype(np.float32) * _COORD_STEP
    return Match(mask, score * q.boost)


def _bm25f(q: FieldsOr, cols: Columns, searcher) -> Match:
    """A `FieldsOr` (see its docstring); parts that are neither terms nor a
    punctuated word's phrase add their own scores on top."""
    held = word_in_fields(q, cols, searcher)
    tf = np.zeros(cols.n, dtype=np.float32)
    mask = np.zeros(cols.n, dtype=bool)
    for fieldname, counts in held.fields.items():
        tf[counts.ids] += counts.ntf * np.float32(FIELD_WEIGHT[fieldname])
        mask[counts.ids] = True
    df = int(np.count_nonzero(mask & cols.live))
    score = np.zeros(cols.n, dtype=np.float32)
    if df:
        rarity = idf(df, cols.doc_count)
        hit = np.flatnonzero(mask)
        t = tf[hit]
        score[hit] = rarity * t * (K1 + 1) / (t + K1)
    for c in held.others:
        m = _eval(c, cols, searcher)
        mask |= m.mask
        score += m.score
    return Match(mask, score * q.boost)


@dataclass
class FieldCounts:
    """How often one word occurs in one field of the articles holding it
    there (`ids`, sorted): as counted (`raw`), and length-normalized and
    weighted by its lookup's boost (`ntf`, what BM25F sums)."""

    ids: np.ndarray
    raw: np.ndarray
    ntf: np.ndarray

    def at(self, docnum: int) -> float:
        """The raw count in article `docnum` (0 when it does not hold the word)."""
        k = int(np.searchsorted(self.ids, docnum))
        return float(self.raw[k]) if k < len(self.ids) and self.ids[k] == docnum else 0.0


@dataclass
class WordInFields:
    """One reader's word in each field (`fields`), and the parts of its
    `FieldsOr` that are scored on their own (`others`: none for a word as
    the compiler makes it)."""

    fields: dict[str, FieldCounts]
    others: list[query.Query]

    def holders(self, n: int) -> np.ndarray:
        """The articles holding the word in any field, as a mask over `n` docnums."""
        mask = np.zeros(n, dtype=bool)
        for counts in self.fields.values():
            mask[counts.ids] = True
        return mask


def word_in_fields(q: FieldsOr, cols: Columns, searcher) -> WordInFields:
    """Count a `FieldsOr`'s word in each of its fields.

    The terms of one field (a word's stems in several languages) are added
    up. A punctuated word ("al-Qaeda", "three-dimensional") is looked up as
    written and as the phrase of its parts; the index puts the parts of a
    written compound at consecutive places, so the phrase counts every
    occurrence, hyphen or not, and the compound term is a subset of it. The
    field's count is therefore the larger of the two, never their sum: one
    typed word is one word of the query, however it is spelled.
    """
    terms: dict[str, list[FieldCounts]] = {}
    phrases: dict[str, list[FieldCounts]] = {}
    others: list[query.Query] = []
    for c in q.subqueries:
        if type(c) is query.Term and c.fieldname in FIELD_WEIGHT:
            ids, ntf = _normalized_tf(c.fieldname, c.text, cols, searcher)
            into = terms
            if len(ids):
                raw = _raw_tf(c.fieldname, c.text, cols, searcher)
        elif type(c) is query.Phrase and c.fieldname in FIELD_WEIGHT:
            ids, raw = phrase_counts(c, cols, searcher)
            into = phrases
            if len(ids):
                ntf = _normalize(raw, ids, c.fieldname, cols)
        else:
            others.append(c)
            continue
        if len(ids):
            boost = np.float32(c.boost)
            into.setdefault(c.fieldname, []).append(
                FieldCounts(ids, raw, ntf * boost if c.boost != 1 else ntf))
    fields = {name: _combined(found, np.add) for name, found in terms.items()}
    for name, found in phrases.items():
        phrase = _combined(found, np.add)
        written = fields.get(name)
        fields[name] = phrase if written is None else _combined([written, phrase], np.fmax)
    return WordInFields(fields, others)


def _combined(counts: list[FieldCounts], how) -> FieldCounts:
    """Counts of one field joined over the union of their articles, added
    (`np.add`) or the larger kept (`np.fmax`; `raw` decides, `ntf` follows)."""
    if len(counts) == 1:
        return counts[0]
    ids = counts[0].ids
    for c in counts[1:]:
        ids = np.union1d(ids, c.ids)
    raw = np.zeros(len(ids), dtype=np.float32)
    ntf = np.zeros(len(ids), dtype=np.float32)
    for c in counts:
        at = np.searchsorted(ids, c.ids)
        if how is np.add:
            raw[at] += c.raw
            ntf[at] += c.ntf
        else:
            more = c.raw > raw[at]
            raw[at[more]] = c.raw[more]
            ntf[at[more]] = c.ntf[more]
    return FieldCounts(ids, raw, ntf)


def phrase_counts(q: query.Phrase, cols: Columns, searcher) -> tuple[np.ndarray, np.ndarray]:
    """The articles where `q`'s words stand side by side, in order, and how
    many times they do in each (remembered for the generation).

    Only articles holding every word are read: their positions are decoded
    from the generation's block cache, as snippets' are. The cost is
    bounded by the rarest word's postings.
    """
    def count() -> tuple[np.ndarray, np.ndarray]:
        field = searcher.schema[q.fieldname] if q.fieldname in searcher.schema else None
        try:
            decode = field.format.decoder("positions")
        except Exception:  # noqa: BLE001  a field without positions holds no phrase
            return _NO_IDS, np.zeros(0, dtype=np.float32)
        reader = searcher.reader()
        words = [field.to_bytes(w) for w in q.words]
        common = None
        for w in words:
            ids = cols.term(reader, q.fieldname, w).ids
            common = ids if common is None else np.intersect1d(common, ids, assume_unique=True)
            if not len(common):
                return _NO_IDS, np.zeros(0, dtype=np.float32)
        wanted = common.tolist()
        by_word = {w: dict(cols.values(reader, q.fieldname, w, wanted))
                   for w in dict.fromkeys(words)}
        found, times = [], []
        for d in wanted:
            at = [set(decode(by_word[w][d])) for w in words]
            k = sum(1 for p in at[0] if all(p + i in at[i] for i in range(1, len(at))))
            if k:
                found.append(d)
                times.append(k)
        return np.array(found, dtype=np.int64), np.array(times, dtype=np.float32)

    return cols.memo(("phrase counts", q.fieldname, tuple(q.words)), count)


def bm25f_at(term: str, fields: tuple[str, ...], cols: Columns, searcher,
             docnums: np.ndarray) -> np.ndarray:
    """The BM25F score of the index term `term` looked up in `fields`, at
    `docnums` only: what a `FieldsOr` of those terms gives them, at the cost
    of a lookup per document instead of a pass over the archive."""
    tf = np.zeros(len(docnums), dtype=np.float32)
    held = []
    for f in fields:
        ids, ntf = _normalized_tf(f, term, cols, searcher)
        if not len(ids):
            continue
        held.append(ids)
        at = np.minimum(np.searchsorted(ids, docnums), len(ids) - 1)
        found = ids[at] == docnums
        tf[found] += ntf[at[found]] * FIELD_WEIGHT[f]
    if not held:
        return tf

    def count() -> int:
        union = held[0] if len(held) == 1 else np.union1d(held[0], np.concatenate(held[1:]))
        return int(np.count_nonzero(cols.live[union]))

    df = cols.memo(("bm25f df", fields, term), count)
    return (idf(df, cols.doc_count) * tf * (K1 + 1) / (tf + K1)).astype(np.float32)


def _normalized_tf(fieldname: str, text, cols: Columns, searcher):
    """A term's documents and its length-normalized frequency in each
    (`tf / (1 - b + b * length / average)`), kept with its postings."""
    field = searcher.schema[fieldname] if fieldname in searcher.schema else None
    if field is None:
        return _NO_IDS, None
    btext = text if isinstance(text, bytes) else field.to_bytes(text)
    p = cols.term(searcher.reader(), fieldname, btext)
    if len(p.ids) == 0:
        return p.ids, None
    ntf = p.ntf
    if ntf is None:  # two threads may both work it out; the result is the same
        ntf = p.ntf = _normalize(_raw(p, fieldname), p.ids, fieldname, cols)
    return p.ids, ntf


def _raw(p, fieldname: str) -> np.ndarray:
    """How many times a term occurs in each of its documents (kept with its postings)."""
    raw = p.raw
    if raw is None:
        raw = p.raw = (p.weights / _STORED_BOOST[fieldname]).astype(np.float32)
    return raw


def _raw_tf(fieldname: str, text, cols: Columns, searcher) -> np.ndarray:
    """How many times a term occurs in each of its documents."""
    field = searcher.schema[fieldname]
    btext = text if isinstance(text, bytes) else field.to_bytes(text)
    return _raw(cols.term(searcher.reader(), fieldname, btext), fieldname)


def _normalize(raw: np.ndarray, ids: np.ndarray, fieldname: str, cols: Columns) -> np.ndarray:
    """`raw` counts at `ids` divided by their field's relative length (BM25's `b`)."""
    b = FIELD_B[fieldname]
    avg = cols.avg_length[fieldname] or 1.0
    return (raw / ((1 - b) + b * cols.lengths[fieldname][ids] / avg)).astype(np.float32)


def _bm25(ids: np.ndarray, tf: np.ndarray, fieldname: str, cols: Columns) -> np.ndarray:
    df = int(cols.live[ids].sum())
    rarity = idf(df, cols.doc_count)
    fl = cols.lengths[fieldname][ids]
    avg = cols.avg_length[fieldname] or 1.0
    return (rarity * (tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avg))).astype(np.float32)


def _by_whoosh(q: query.Query, cols: Columns, searcher) -> Match:
    out = _empty(cols)

    def docs():
        try:
            return np.fromiter(searcher.docs_for_query(q), dtype=np.int64)
        except (query.QueryError, TermNotFound):  # e.g. a phrase on a field without positions
            return np.zeros(0, dtype=np.int64)

    # Phrases are checked position by position in Python: remember them.
    ids = cols.memo(("docs", repr(q)), docs)
    if len(ids):
        out.mask[ids] = True
    return out


def _eval(q: query.Query, cols: Columns, searcher) -> Match:
    if q is None or isinstance(q, query.qcore._NullQuery):
        return _empty(cols)
    if isinstance(q, query.Term):
        return _term(q.fieldname, q.text, q.boost, cols, searcher)
    if isinstance(q, query.Every):
        return Match(cols.live.copy(), np.zeros(cols.n, dtype=np.float32))
    if isinstance(q, query.Not):
        inner = _eval(q.query, cols, searcher)
        return Match(cols.live & ~inner.mask, np.zeros(cols.n, dtype=np.float32))
    if isinstance(q, query.AndNot):
        a, b = _eval(q.a, cols, searcher), _eval(q.b, cols, searcher)
        a.mask &= ~b.mask
        a.score[~a.mask] = 0
        return a
    if isinstance(q, query.AndMaybe):
        a, b = _eval(q.a, cols, searcher), _eval(q.b, cols, searcher)
        a.score += np.where(a.mask, b.score, 0)
        return a
    if isinstance(q, query.Require):
        a, b = _eval(q.a, cols, searcher), _eval(q.b, cols, searcher)
        a.mask &= b.mask
        a.score[~a.mask] = 0
        return a
    if isinstance(q, query.And):
        parts = [_eval(c, cols, searcher) for c in q.subqueries]
        if not parts:
            return _empty(cols)
        mask = parts[0].mask.copy()
        score = parts[0].score.copy()
        for p in parts[1:]:
            mask &= p.mask
            score += p.score
        score[~mask] = 0
        return Match(mask, score * q.boost)
    if type(q) is FieldsOr:
        return _bm25f(q, cols, searcher)
    if type(q) is query.Or and all(type(c) is query.Term for c in q.subqueries):
        return _or_of_terms(q, cols, searcher)
    if isinstance(q, (query.Or, query.DisjunctionMax)):
        return _or(q, cols, searcher)
    if isinstance(q, query.NumericRange) and q.fieldname == "date":
        return _date_range(q, cols)
    if isinstance(q, query.Phrase):
        m = _by_whoosh(q, cols, searcher)
        for word in q.words:
            t = _term(q.fieldname, word, q.boost, cols, searcher)
            m.score += np.where(m.mask, t.score, 0)
        return m
    return _by_whoosh(q, cols, searcher)


def _date_range(q: query.NumericRange, cols: Columns) -> Match:
    """A `date:` range straight from the day column (no postings needed).

    Whoosh stores a date as microseconds since 0001-01-01, so a document
    dated day `d` (an ordinal) holds (d - 1) × one day.
    """
    mask = cols.day >= 0
    if q.start is not None:
        lo = -(-int(q.start) // _US_PER_DAY) + 1  # ceiling: the first whole day in range
        mask &= cols.day >= (lo + 1 if q.startexcl else lo)
    if q.end is not None:
        hi = int(q.end) // _US_PER_DAY + 1
        mask &= cols.day <= (hi - 1 if q.endexcl else hi)
    return Match(mask, np.zeros(cols.n, dtype=np.float32))
