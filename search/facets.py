"""Facet counts: tags and date histograms for the current results, exactly.

Both are counted from the per-generation arrays of `search.columns` with
`np.bincount` over the matching docnums, so a facet costs the same whether
the results are ten articles or the whole archive, and every count is the
number of results the reader would get by following it.

The date histogram picks its own level: years; months when the results (or
the date filter) lie within one year; days within one month. Month and day
histograms list every period of that year or month, with zeros, so a chart
has no gaps; the year histogram lists only years that have results.

This module counts; it never runs queries and never makes HTML.
"""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np

from search.columns import Columns
from search.results import DateBucket, DateFacet, FacetValue, TagFacet

DEFAULT_TOP_TAGS = 30


def tag_facet(cols: Columns, docs: np.ndarray, selected: tuple[str, ...], label,
              top: int = DEFAULT_TOP_TAGS) -> TagFacet:
    """The `top` tags of `docs` by count, plus every selected tag.

    `label(tag_id)` gives a tag's display label. Ties in count are broken
    by the tag's key, so the list is stable between queries.
    """
    if not cols.tag_keys:
        return TagFacet([], 0)
    counts = np.bincount(cols.tags_of(docs), minlength=len(cols.tag_keys))
    nonzero = np.flatnonzero(counts)
    chosen: list[int] = []
    if len(nonzero):
        if len(nonzero) > top:
            # argpartition finds the top counts without sorting them all;
            # everything tied with the last one is kept, then cut after sorting.
            kth = np.partition(counts[nonzero], len(nonzero) - top)[len(nonzero) - top]
            nonzero = nonzero[counts[nonzero] >= kth]
        chosen = sorted(nonzero.tolist(), key=lambda i: (-int(counts[i]), cols.tag_keys[i]))
        chosen = chosen[:top]
    selected_ids = []
    for key in selected:
        for i in cols.tag_ids(key):
            selected_ids.append(i)
    values = []
    seen = set()
    for i in selected_ids + chosen:
        if i in seen:
            continue
        seen.add(i)
        values.append(FacetValue(
            value=cols.tag_keys[i], label=label(i), count=int(counts[i]),
            selected=i in selected_ids,
        ))
    # A selected tag the index does not know still shows, with count 0.
    known = {cols.tag_keys[i] for i in selected_ids}
    for key in selected:
        if key not in known and not cols.tag_ids(key):
            values.insert(0, FacetValue(value=key, label=key, count=0, selected=True))
    return TagFacet(values, int(np.count_nonzero(counts)))


def date_facet(cols: Columns, docs: np.ndarray, undated: int,
               start: dt.date | None = None, end: dt.date | None = None) -> DateFacet:
    """The date histogram of `docs` (see the module docstring).

    `start`/`end` are the request's date filter, which can fix the level
    even when the results alone would not (a filter on May 2022 with three
    results all on one day still shows the days of May).
    """
    days = cols.day[docs]
    dated_docs = docs[days >= 0]
    if len(dated_docs) == 0:
        return DateFacet("year", [], undated)
    level, year, month = _level(cols, dated_docs, start, end)
    if level == "day":
        first = dt.date(year, month, 1)
        ndays = calendar.monthrange(year, month)[1]
        d = cols.day[dated_docs] - first.toordinal()
        counts = np.bincount(d[(d >= 0) & (d < ndays)], minlength=ndays)
        buckets = []
        for i in range(ndays):
            day = first + dt.timedelta(days=i)
            buckets.append(DateBucket(
                value=day.isoformat(), label=f"{day.day} {day:%b %Y}",
                count=int(counts[i]), start=day, end=day,
            ))
        return DateFacet("day", buckets, undated)
    if level == "month":
        m = cols.month[dated_docs] - year * 12
        counts = np.bincount(m[(m >= 0) & (m < 12)], minlength=12)
        buckets = []
        for i in range(12):
            first = dt.date(year, i + 1, 1)
            last = dt.date(year, i + 1, calendar.monthrange(year, i + 1)[1])
            buckets.append(DateBucket(
                value=f"{year:04d}-{i + 1:02d}", label=f"{first:%b %Y}",
                count=int(counts[i]), start=first, end=last,
            ))
        return DateFacet("month", buckets, undated)
    years = cols.year[dated_docs]
    lo = int(years.min())
    counts = np.bincount(years - lo)
    buckets = [
        DateBucket(value=f"{lo + i:04d}", label=str(lo + i), count=int(c),
                   start=dt.date(lo + i, 1, 1), end=dt.date(lo + i, 12, 31))
        for i, c in enumerate(counts) if c
    ]
    return DateFacet("year", buckets, undated)


def _level(cols: Columns, dated_docs: np.ndarray, start: dt.date | None,
           end: dt.date | None) -> tuple[str, int, int]:
    if start and end and (start.year, start.month) == (end.year, end.month):
        return "day", start.year, start.month
    if start and end and start.year == end.year:
        return "month", start.year, 0
    months = cols.month[dated_docs]
    lo, hi = int(months.min()), int(months.max())
    if lo == hi:
        return "day", lo // 12, lo % 12 + 1
    if lo // 12 == hi // 12:
        return "month", lo // 12, 0
    return "year", 0, 0
