"""Typesense answers → `search.results` values: facets, date histograms, hits' parts.

Plain functions over the JSON Typesense returns; the facet levels and
buckets are `search.facets`' own, so both engines draw the same histogram.
Nothing here asks the cluster, and the only HTML is what `search.snippets`
makes.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt

import numpy as np

from index.analysis import ANALYZER
from index.typesense_store import TAG_PAIR, UNDATED
from search import facets
from search.request import SearchRequest
from search.results import DateBucket, DateFacet, FacetValue, HitTag, TagFacet


def date_filters(request: SearchRequest) -> list[str]:
    """The request's dates as Whoosh's engine reads them: a start or an end
    leaves out undated articles; `undated` includes, excludes or keeps only them."""
    out = []
    if request.start is not None:
        out.append(f"date:>={request.start.toordinal()}")
    if request.end is not None:
        out.append(f"date:[0..{request.end.toordinal()}]")
    if request.undated == "exclude":
        out.append("dated:true")
    elif request.undated == "only":
        out.append("dated:false")
    return out


def facet(answer: dict, name: str) -> dict[str, int]:
    for f in answer.get("facet_counts", []):
        if f["field_name"] == name:
            return {c["value"]: c["count"] for c in f["counts"]}
    return {}


def pair_labels(answer: dict) -> dict[str, str]:
    """Tag key → label from `tag_pairs` facet counts (the commonest label wins)."""
    best: dict[str, tuple[int, str]] = {}
    for pair, count in facet(answer, "tag_pairs").items():
        key, _, label = pair.partition(TAG_PAIR)
        if key not in best or count > best[key][0]:
            best[key] = (count, label)
    return {k: label for k, (_, label) in best.items()}


def tag_facet(pairs: dict[str, int], selected: tuple[str, ...],
               labels: dict[str, str], top: int = facets.DEFAULT_TOP_TAGS) -> TagFacet:
    counts: dict[str, int] = {}
    for pair, count in pairs.items():
        key = pair.partition(TAG_PAIR)[0]
        counts[key] = counts.get(key, 0) + count
    chosen = sorted((k for k, n in counts.items() if n), key=lambda k: (-counts[k], k))[:top]
    values = [FacetValue(k, labels.get(k, k), counts.get(k, 0), True) for k in selected]
    values += [FacetValue(k, labels.get(k, k), counts[k]) for k in chosen if k not in selected]
    return TagFacet(values, sum(1 for n in counts.values() if n))


def choice_facet(counts: dict[str, int], selected: tuple[str, ...], label) -> TagFacet:
    chosen = {v.casefold() for v in selected}
    shown = sorted((v for v, n in counts.items() if n or v.casefold() in chosen),
                   key=lambda v: (-counts[v], v))
    values = [FacetValue(v, label(v), counts[v], v.casefold() in chosen) for v in shown]
    known = {v.casefold() for v in shown}
    for v in selected:
        if v.casefold() not in known:
            values.insert(0, FacetValue(v, label(v), 0, True))
    return TagFacet(values, sum(1 for n in counts.values() if n))


def level(months: dict[str, int], request: SearchRequest) -> tuple[str, int, int] | None:
    """The histogram's level as `search.facets` chooses it; None when nothing is dated."""
    start, end = request.start, request.end
    if start and end and (start.year, start.month) == (end.year, end.month):
        return "day", start.year, start.month
    if start and end and start.year == end.year:
        return "month", start.year, 0
    found = [int(m) for m, n in months.items() if n]
    if not found:
        return None
    lo, hi = min(found), max(found)
    if lo == hi:
        return "day", lo // 12, lo % 12 + 1
    if lo // 12 == hi // 12:
        return "month", lo // 12, 0
    return "year", 0, 0


def date_facet(years: dict[str, int], months: dict[str, int],
               at: tuple[str, int, int] | None, days: dict[str, int] | None,
               undated: int, request: SearchRequest) -> DateFacet:
    if at is None or not any(years.values()):
        return DateFacet("year", [], undated)
    name, year, month = at
    if name == "day":
        first = dt.date(year, month, 1)
        out = []
        for i in range(calendar.monthrange(year, month)[1]):
            day = first + dt.timedelta(days=i)
            out.append(DateBucket(day.isoformat(), f"{day.day} {day:%b %Y}",
                                  (days or {}).get(str(day.toordinal()), 0), day, day))
        return DateFacet("day", out, undated)
    if name == "month":
        out = []
        for i in range(12):
            first = dt.date(year, i + 1, 1)
            last = dt.date(year, i + 1, calendar.monthrange(year, i + 1)[1])
            out.append(DateBucket(f"{year:04d}-{i + 1:02d}", f"{first:%b %Y}",
                                  months.get(str(year * 12 + i), 0), first, last))
        return DateFacet("month", out, undated)
    found = {int(y): n for y, n in years.items() if n}
    lo, hi = min(found), max(found)
    start, end = request.start, request.end
    if start and end and end.year - start.year < facets.MAX_BARS:
        lo, hi = min(lo, start.year), max(hi, end.year)
    # The year (decade...) buckets are `search.facets`' own: hand it the years.
    expanded = np.repeat(np.array(list(found), dtype=np.int64), list(found.values()))
    level_name, buckets = facets._year_buckets(expanded, lo, hi)
    return DateFacet(level_name, buckets, undated)


def spans(text: str, language: str | None, marks: set[str]) -> list[tuple[int, int, int]]:
    """Where `marks` (index terms) occur in `text`: (start, end, term number)."""
    if not marks or not text:
        return []
    out = []
    numbers: dict[str, int] = {}
    for token in ANALYZER(text, chars=True, language=language):
        if token.text in marks:
            number = numbers.setdefault(token.text, len(numbers))
            out.append((token.startchar, token.endchar, number))
    return out


def date(doc: dict) -> dt.date | None:
    day = doc.get("date", UNDATED)
    return dt.date.fromordinal(day) if doc.get("dated") and day > 0 else None


def tags(doc: dict) -> list[HitTag]:
    labels = doc.get("tag_labels") or []
    return [HitTag(k, labels[i] if i < len(labels) else k)
            for i, k in enumerate(doc.get("tags") or [])]


def pages(doc: dict, offsets: list[int]) -> list[int]:
    pages = doc.get("pages") or []
    return [max(1, bisect.bisect_right(pages, o)) for o in offsets] if pages else []
