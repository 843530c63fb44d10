"""Facet counts: tags and date histograms for the current results, exactly.

Both are counted from the per-generation arrays of `search.embedded.columns` with
`np.bincount` over the matching docnums, so a facet costs the same whether
the results are ten articles or the whole archive, and every count is the
number of results the reader would get by following it.

The date histogram picks its own level: years; months when the results (or
the date filter) lie within one year; days within one month. Every level
lists each period from the first to the last, with zeros, so the time axis
of a chart is continuous and an empty year never looks like no time at all.
A span of more than `MAX_BARS` years is counted by decade instead (by
century, then millennium, if decades are still too many): a 1900-2026
archive is 13 decade bars a reader can tell apart and tap, not 127 slivers.
Following a decade shows its ten years (or the months or days of them, as
above, when its results lie within one year or one month).

This module counts; it never runs queries and never makes HTML.
"""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np

from search.embedded.columns import Category, Columns
from search.results import DateBucket, DateFacet, FacetValue, TagFacet

DEFAULT_TOP_TAGS = 30
#: At most this many bars in a chart of years; a longer span is grouped.
MAX_BARS = 40
#: How years are grouped when they are too many for `MAX_BARS`: the level's
#: name and how many years one bar holds, finest first.
YEAR_LEVELS = (("year", 1), ("decade", 10), ("century", 100), ("millennium", 1000))


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
    lo, hi = int(years.min()), int(years.max())
    if start and end and end.year - start.year < MAX_BARS:
        # A filter on a few whole years (a decade's bar) shows all of them,
        # not only those from the first result to the last.
        lo, hi = min(lo, start.year), max(hi, end.year)
    return DateFacet(*_year_buckets(years, lo, hi), undated)


def _year_buckets(years: np.ndarray, lo: int, hi: int) -> tuple[str, list[DateBucket]]:
    """Every year from `lo` to `hi`, or every decade (century...) when there
    are more than `MAX_BARS` of them, with the number of `years` in each."""
    level, step, first = _grouping(lo, hi)
    n = (hi - first) // step + 1
    counts = np.bincount((years - first) // step, minlength=n)
    buckets = []
    for i in range(n):
        # Year 0 does not exist, so the first millennium, century or decade starts at 1.
        a, b = max(first + i * step, 1), min(first + (i + 1) * step - 1, dt.MAXYEAR)
        if step == 1:
            value, value_to, label = f"{a:04d}", "", str(a)
        else:
            value, value_to = f"{a:04d}", f"{b:04d}"
            label = f"{first + i * step}s" if step == 10 else f"{a}–{b}"
        buckets.append(DateBucket(value=value, label=label, count=int(counts[i]),
                                  start=dt.date(a, 1, 1), end=dt.date(b, 12, 31),
                                  value_to=value_to))
    return level, buckets


def _grouping(lo: int, hi: int) -> tuple[str, int, int]:
    """The finest of `YEAR_LEVELS` that shows years `lo`..`hi` in at most
    `MAX_BARS` bars: its name, its years per bar, and its first bar's year."""
    *finer, (coarsest, most) = YEAR_LEVELS
    for level, step in finer:
        first = lo if step == 1 else lo // step * step
        if (hi - first) // step < MAX_BARS:
            return level, step, first
    # Millennia: at most ten, as dates end in 9999.
    return coarsest, most, lo // most * most


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


def choice_facet(category: Category, docs: np.ndarray, selected: tuple[str, ...],
                 label=str) -> TagFacet:
    """Every value of a single-valued keyword (kind, language) among `docs`,
    most frequent first, with the selected ones always shown.

    `docs` are the results *without* this facet's own filter, so each count
    is what choosing that value (as an alternative to the chosen ones)
    would add, and a selected value shows how many it holds.
    """
    if not category.values:
        return TagFacet([], 0)
    counts = category.counts(docs)
    chosen = set(category.ids(selected))
    shown = [i for i in range(len(category.values)) if counts[i] or i in chosen]
    shown.sort(key=lambda i: (-int(counts[i]), category.values[i]))
    values = [FacetValue(value=category.values[i], label=label(category.values[i]),
                         count=int(counts[i]), selected=i in chosen) for i in shown]
    known = {category.values[i].casefold() for i in chosen}
    for v in selected:
        if v.casefold() not in known:
            values.insert(0, FacetValue(value=v, label=label(v), count=0, selected=True))
    return TagFacet(values, int(np.count_nonzero(counts)))
