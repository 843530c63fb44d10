"""Proximity: query words close together, and in order, score higher.

BM25F scores each word on its own, so an article that mentions "heat" in one
paragraph and "transfer" in another ranks with one that says "heat
transfer". Here the best-ranked candidates (`CANDIDATES`) are looked at
again: for each pair of words next to each other in the query, the nearest
occurrences of the two in the same field are found by position, and the
article earns `weight(pair) / distance²` for them — full weight when the
second follows the first, half when it comes before. A pair's weight is the
smaller idf of its two words (a pair of common words proves little) times
the field's BM25F weight, so the query's words as an exact phrase in the
title earn the most. The sum is scaled by `PROXIMITY_WEIGHT` and added to
the article's score.

Only candidates are read (positions come from the generation's block cache,
as snippets' do), so the cost is bounded by `CANDIDATES` × pairs, whatever
the archive's size. This module reads positions; it never parses queries.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

import numpy as np

from search.embedded.columns import Columns

#: How many of the best-ranked articles are looked at again.
CANDIDATES = 50
#: Pairs of query words looked at (the first words of a long question).
MAX_PAIRS = 8
#: Scale of the proximity bonus against BM25F scores.
PROXIMITY_WEIGHT = 0.2
#: Occurrences further apart than this earn nothing.
WINDOW = 8


def bonus(searcher, cols: Columns, docnums: Sequence[int],
          words: Sequence[str | Sequence[str]], idf: Sequence[float],
          field_weight: dict[str, float]) -> np.ndarray:
    """The proximity bonus of each of `docnums` for the query `words` (in
    query order, with their idf), each an index term or, for a punctuated
    word, the terms of its parts: a pair is then read from the last part of
    the first word to the first part of the second, the places that stand
    next to each other when the text says the two words in a row."""
    out = np.zeros(len(docnums), dtype=np.float64)
    if len(words) < 2 or not len(docnums):
        return out
    parts = [(w,) if isinstance(w, str) else tuple(w) for w in words]
    pairs = [(i, i + 1) for i in range(min(len(words) - 1, MAX_PAIRS))]
    ends = [(parts[i][-1], parts[j][0]) for i, j in pairs]
    order = sorted(range(len(docnums)), key=lambda k: docnums[k])
    wanted = [int(docnums[k]) for k in order]
    reader = searcher.reader()
    for fieldname, weight in field_weight.items():
        if fieldname not in searcher.schema:
            continue
        try:
            decode = searcher.schema[fieldname].format.decoder("positions")
        except Exception:  # noqa: BLE001  a field without positions earns nothing
            continue
        by_term: dict[str, dict[int, list[int]]] = {}
        for term in sorted({t for pair in ends for t in pair}):
            found: dict[int, list[int]] = {}
            btext = term.encode("utf-8")
            ids = cols.term(reader, fieldname, btext).ids
            if len(ids):
                at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
                present = [d for d, hit in zip(wanted, ids[at] == wanted, strict=True) if hit]
                for d, value in cols.values(reader, fieldname, btext, present):
                    found[d] = sorted(decode(value))
            by_term[term] = found
        for (i, j), (left, right) in zip(pairs, ends, strict=True):
            a, b = by_term[left], by_term[right]
            if not a or not b or left == right:
                continue
            pair_weight = weight * min(idf[i], idf[j])
            for k, d in enumerate(docnums):
                pa, pb = a.get(int(d)), b.get(int(d))
                if pa and pb:
                    out[k] += pair_weight * _closeness(pa, pb)
    return out * PROXIMITY_WEIGHT


def _closeness(first: list[int], second: list[int]) -> float:
    """1/d² for the nearest in-order pair of occurrences (half for reversed),
    0 beyond `WINDOW`."""
    best = 0.0
    for p in first:
        k = bisect_left(second, p)
        if k < len(second):
            d = second[k] - p
            if 0 < d <= WINDOW:
                best = max(best, 1.0 / (d * d))
        if k > 0:
            d = p - second[k - 1]
            if 0 < d <= WINDOW:
                best = max(best, 0.5 / (d * d))
        if best >= 1.0:
            break
    return best
