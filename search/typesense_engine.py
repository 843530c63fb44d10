"""A first cut of a `ReadEngine` over a Typesense 0.24 collection.

The collection is written by `index.typesense_store`, which stores each
article's analyzed index terms in `title_terms` and `body_terms`. This
module turns a `search.plan` plan into the same terms, so a word means what
it means to the Whoosh engine: Typesense only looks tokens up, exactly
(`prefix=false`, no typos, no dropped tokens).

What this cut translates, and how:

- words side by side (`All` of words and phrases): every term in `q`,
  matched in title or body; a phrase as `"a b"`; `NOT word`, `-word` and
  `-"a phrase"` as Typesense's own exclusions;
- `title:word` as a token filter on `title_terms`; `tag:word` as the tag
  keys that fold to the word; `date:` ranges as filters;
- the request's tags, excluded tags, dates, undated choice, kinds and
  languages as `filter_by`.

What it does not do yet says so in `SearchResults.messages` and finds
nothing rather than something else: OR, prefix (`word*`) and fuzzy
(`word~`) words, field restrictions inside NOT, `title:"a phrase"`. Known
differences that are only noted: a plain word is not looked up among tag
keys (Whoosh does that), a punctuated word is matched by its joined form
only (not also as the phrase of its parts), words are stemmed by the
default analysis only (not for each of the archive's languages), and a long
question must match all its words (Whoosh ranks by most words). Relevance
is Typesense's text match, not Archivist's BM25F ranking. `more_like`,
`tag_values` and `complete` answer nothing yet.

Snippets are never Typesense's highlights: the stored text is analyzed
again (the index's own analyzer) and cut and sanitized by
`search.snippets`, like every engine's.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import typesense
from typesense.exceptions import ObjectNotFound, TypesenseClientError

from index.analysis import ANALYZER
from index.typesense_store import TAG_PAIR, UNDATED, encode_term, serial
from search import facets, snippets
from search import plan as p
from search.languages import language_name
from search.protocol import ArchiveStats
from search.request import SearchRequest
from search.results import (
    ArticleView,
    DateBucket,
    DateFacet,
    FacetValue,
    Hit,
    HitTag,
    SearchResults,
    TagFacet,
)

NOT_INDEXED = "The archive is not indexed yet."
#: Typesense answers at most this many hits per page.
MAX_PER_PAGE = 250
#: Facet values asked for: every tag, year and month of a small archive.
MAX_FACET_VALUES = 10_000
_TEXT_QUERY = {"prefix": "false", "num_typos": 0, "drop_tokens_threshold": 0,
               "typo_tokens_threshold": 0, "query_by": "title_terms,body_terms"}
_NOTHING = "id:=[`\x00`]"  # a filter no document passes


class Unsupported(Exception):
    """A part of a plan this engine cannot search yet (the message says which)."""


@dataclass
class Compiled:
    """A plan in Typesense's terms: the `q` text, filters, and marks for snippets."""

    q: list[str] = field(default_factory=list)
    filters: list[str] = field(default_factory=list)
    marks: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def compile_plan(root: p.Node | None, tag_keys: Iterable[str]) -> Compiled:
    """`root` as q tokens and filters; raises `Unsupported` for what this cut
    cannot search. `tag_keys` are the archive's tag keys (for `tag:`)."""
    out = Compiled()
    keys = list(tag_keys)
    nodes = root.nodes if isinstance(root, p.All) else (() if root is None else (root,))
    for node in nodes:
        _leaf(node, out, keys)
    return out


def _leaf(node: p.Node, out: Compiled, keys: list[str]) -> None:
    if isinstance(node, p.Word):
        if node.fields == ("tags",):
            out.filters.append(_tag_filter(node.tag, keys))
            return
        term = node.joined or node.parts[0]
        out.marks.update((term, *node.parts))
        if node.joined and len(node.parts) >= 2:
            out.notes.append(f"“{node.text}” was matched as written only, not also as "
                             "its separate words.")
        if node.fields == ("title",):
            out.filters.append(f"title_terms:{_value(term)}")
        elif node.fields == ("body",):
            out.filters.append(f"body_terms:{_value(term)}")
        else:
            out.q.append(encode_term(term))
        return
    if isinstance(node, p.Phrase):
        if node.fields == ("tags",):
            out.filters.append(_tag_filter(node.tag, keys))
            return
        if node.fields != p.TEXT_FIELDS:
            raise Unsupported(f"{p.describe(node)}: a phrase in one field is not supported "
                              "by this engine yet.")
        out.marks.update(node.terms)
        out.q.append('"' + " ".join(encode_term(t) for t in node.terms) + '"')
        return
    if isinstance(node, p.DateRange):
        if node.start:
            out.filters.append(f"date:>={node.start.toordinal()}")
        if node.end:
            out.filters.append(f"date:[0..{node.end.toordinal()}]")
        return
    if isinstance(node, p.Not) and isinstance(node.node, (p.Word, p.Phrase)) \
            and node.node.fields == p.TEXT_FIELDS:
        inner = node.node
        terms = inner.terms if isinstance(inner, p.Phrase) else (inner.joined or inner.parts[0],)
        encoded = " ".join(encode_term(t) for t in terms)
        out.q.append(f'-"{encoded}"' if len(terms) > 1 else f"-{encoded}")
        return
    what = {p.Any: "OR", p.Prefix: "words ending in '*'", p.Fuzzy: "words ending in '~'",
            p.Not: "NOT of a field, a group or a date"}.get(type(node), "this kind of search")
    raise Unsupported(f"{what} is not supported by this engine yet: "
                      f"{p.describe(node)}.")


def _tag_filter(folded: str, keys: list[str]) -> str:
    matching = [k for k in keys if p.fold_tag(k) == folded]
    return f"tags:=[{', '.join(_value(k) for k in matching)}]" if matching else _NOTHING


def _value(text: str) -> str:
    """A filter value, quoted; a value Typesense cannot quote matches nothing."""
    return f"`{text}`" if "`" not in text else "`\x00`"


class TypesenseEngine:
    """Answers readers from the Typesense collection (or alias) `name`.

    `client_config` is a `typesense.Client` configuration (nodes, API key,
    retry settings).
    """

    def __init__(self, client_config: dict, name: str) -> None:
        self.client = typesense.Client(client_config)
        self.name = name
        self._tag_keys: tuple[str | None, dict[str, str]] = (None, {})

    def close(self) -> None:
        """Nothing is held open between requests."""

    # -- the archive -----------------------------------------------------------

    def _collection(self) -> dict | None:
        try:
            return self.client.collections[self.name].retrieve()
        except (ObjectNotFound, TypesenseClientError):
            return None

    def version(self) -> str | None:
        """The collection's name, document count and write serial; None when
        nothing is indexed."""
        info = self._collection()
        if not info or not info.get("num_documents"):
            return None
        return f"{info['name']}:{info['num_documents']}:{serial(self.client, self.name)}"

    def _labels(self) -> dict[str, str]:
        """Every tag key of the archive and its label (remembered per version)."""
        token = self.version()
        if token != self._tag_keys[0]:
            answer = self._search({"q": "*", "per_page": 0, "facet_by": "tag_pairs",
                                   "max_facet_values": MAX_FACET_VALUES})
            self._tag_keys = (token, _pair_labels(answer))
        return self._tag_keys[1]

    def stats(self) -> ArchiveStats:
        """Articles, first and last date, distinct tags, undated articles."""
        info = self._collection()
        if not info or not info.get("num_documents"):
            return ArchiveStats(message=NOT_INDEXED)
        newest = self._search({"q": "*", "per_page": 1, "sort_by": "date:desc",
                               "filter_by": "dated:true", "include_fields": "date"})
        oldest = self._search({"q": "*", "per_page": 1, "sort_by": "oldest_key:asc",
                               "filter_by": "dated:true", "include_fields": "date"})
        undated = self._search({"q": "*", "per_page": 0, "filter_by": "dated:false"})

        def day(answer: dict) -> dt.date | None:
            hits = answer.get("hits") or []
            return dt.date.fromordinal(hits[0]["document"]["date"]) if hits else None

        return ArchiveStats(articles=info["num_documents"], first_date=day(oldest),
                            last_date=day(newest), distinct_tags=len(self._labels()),
                            undated=undated["found"])

    def _search(self, params: dict) -> dict:
        return self.client.collections[self.name].documents.search(
            {"query_by": "title_terms", **params})

    # -- searching ---------------------------------------------------------------

    def run(self, request: SearchRequest, *, snippets: bool = True,
            explain: bool = False) -> SearchResults:
        """Answer `request`; anything this cut cannot search is said in `messages`."""
        started = time.perf_counter()
        results = SearchResults(request=request, page=request.page, searched_for=request.q)
        if self.version() is None:
            results.messages.append(NOT_INDEXED)
            return results
        if explain:
            results.messages.append("“Why this result” is not available with this engine.")
        read = p.plan(request.q)
        results.searched_for = read.searched_for
        results.messages.extend(read.notes)
        labels = self._labels()
        try:
            compiled = compile_plan(read.root, labels)
        except Unsupported as e:
            results.messages.append(str(e))
            results.took_ms = (time.perf_counter() - started) * 1000
            return results
        if read.ranked_by_most:
            compiled.notes.append("This engine finds only articles with all of the words.")
        results.messages.extend(n for n in compiled.notes if n not in results.messages)
        self._answer(request, results, compiled, labels, snippets)
        results.took_ms = (time.perf_counter() - started) * 1000
        return results

    def _answer(self, request: SearchRequest, results: SearchResults, c: Compiled,
                labels: dict[str, str], with_snippets: bool) -> None:
        text = " ".join(c.q) or "*"
        tag_f = [*c.filters,
                 *(f"tags:=[{_value(k)}]" for k in request.tags),
                 *(f"tags:!=[{_value(k)}]" for k in request.not_tags)]
        date_f = _date_filters(request)
        kind_f = [f"kind:=[{', '.join(_value(k) for k in request.kinds)}]"] if request.kinds else []
        lang_f = ([f"language:=[{', '.join(_value(v) for v in request.languages)}]"]
                  if request.languages else [])
        per_page = min(request.per_page, MAX_PER_PAGE)
        by_text = request.sort in ("relevance", "recency") and any(
            not t.startswith("-") for t in c.q)
        sort = ("_text_match:desc,date:desc" if by_text else
                "oldest_key:asc" if request.sort == "oldest" else "date:desc")
        base = {"q": text, **_TEXT_QUERY}
        searches = [
            {**base, "filter_by": _and(tag_f + date_f + kind_f + lang_f), "sort_by": sort,
             "page": request.page, "per_page": per_page, "facet_by": "tag_pairs,year,month",
             "max_facet_values": MAX_FACET_VALUES},
            {**base, "filter_by": _and(tag_f + date_f + lang_f), "per_page": 0,
             "facet_by": "kind", "max_facet_values": MAX_FACET_VALUES},
            {**base, "filter_by": _and(tag_f + date_f + kind_f), "per_page": 0,
             "facet_by": "language", "max_facet_values": MAX_FACET_VALUES},
            {**base, "filter_by": _and([*tag_f, *kind_f, *lang_f, "dated:false"]),
             "per_page": 0},
            {"q": "*", "query_by": "title_terms", "filter_by": "dated:true", "per_page": 1,
             "sort_by": "date:desc", "include_fields": "date"},
        ]
        main, kinds, langs, undated, newest = self._multi(searches)
        total = main.get("found", 0)
        results.total = total
        results.pages = min(math.ceil(total / per_page), 1000) if total else 0
        if request.page > max(results.pages, 1):
            results.messages.append(
                f"There are only {results.pages} pages of results; showing the last."
                if results.pages else f"Nothing was found, so there is no page {request.page}.")
            results.page = max(results.pages, 1)
            if results.pages:
                main = self._multi([{**searches[0], "page": results.page}])[0]
        docs = [h["document"] for h in main.get("hits", [])]
        scores = [h.get("text_match") for h in main.get("hits", [])]
        results.hits = [self._hit(d, s if by_text else None, c.marks if with_snippets else None)
                        for d, s in zip(docs, scores, strict=True)]
        counts = _facet(main, "tag_pairs")
        results.tag_facet = _tag_facet(counts, request.tags, labels)
        results.filter_labels = {k: labels[k] for k in (*request.tags, *request.not_tags)
                                 if k in labels}
        day_counts = None
        level = _level(_facet(main, "month"), request)
        if level is not None and level[0] == "day":
            day_counts = _facet(self._multi([{**searches[0], "per_page": 0,
                                              "facet_by": "date"}])[0], "date")
        results.date_facet = _date_facet(_facet(main, "year"), _facet(main, "month"), level,
                                         day_counts, undated.get("found", 0), request)
        results.kind_facet = _choice_facet(_facet(kinds, "kind"), request.kinds, str)
        results.language_facet = _choice_facet(_facet(langs, "language"), request.languages,
                                               language_name)
        if newest.get("hits"):
            results.newest_date = dt.date.fromordinal(newest["hits"][0]["document"]["date"])

    def _multi(self, searches: list[dict]) -> list[dict]:
        answers = self.client.multi_search.perform(
            {"searches": [{"collection": self.name, **s} for s in searches]}, {})
        out = []
        for a in answers["results"]:
            if "error" in a:
                raise RuntimeError(f"Typesense refused a search: {a['error']}")
            out.append(a)
        return out

    # -- hits and articles -----------------------------------------------------------

    def _hit(self, doc: dict, score: float | None, marks: set[str] | None) -> Hit:
        title, body, lang = doc.get("title", ""), doc.get("body", ""), doc.get("language")
        if marks is None:
            title_html, snips, offsets = snippets.render([snippets.Piece(title, [])])[0], [], []
        else:
            spans = _spans(body, lang, marks)
            chosen = snippets.passages(body, spans)
            if not chosen:
                first = snippets.lead(body)
                chosen = [first] if first else []
            pieces = [snippets.Piece(title, [(a, b) for a, b, _ in _spans(title, lang, marks)]),
                      *chosen]
            html = snippets.render(pieces)
            title_html, snips, offsets = html[0], html[1:], [c.offset for c in chosen]
        return Hit(id=doc["id"], title=title, title_html=title_html, date=_date(doc),
                   tags=_tags(doc), kind=doc.get("kind"), source=doc.get("source", ""),
                   url=doc.get("url"), snippets=list(snips),
                   score=float(score) if score is not None else None, language=lang,
                   publication=doc.get("publication"), author=doc.get("author"),
                   snippet_pages=_pages(doc, offsets))

    def get(self, article_id: str, q: str | None = None) -> ArticleView | None:
        """The whole article, `q`'s words marked; None for an unknown id."""
        try:
            doc = self.client.collections[self.name].documents[str(article_id)].retrieve()
        except (ObjectNotFound, TypesenseClientError):
            return None
        marks: set[str] = set()
        if q:
            try:
                marks = compile_plan(p.plan(q).root, ()).marks
            except Unsupported:
                marks = set()
        title, body, lang = doc.get("title", ""), doc.get("body", ""), doc.get("language")
        pieces = [snippets.Piece(title, [(a, b) for a, b, _ in _spans(title, lang, marks)]),
                  *snippets.paragraphs(body, [(a, b) for a, b, _ in _spans(body, lang, marks)])]
        html = snippets.render(pieces)
        return ArticleView(
            id=doc["id"], title=title, title_html=html[0], paragraphs=html[1:],
            date=_date(doc), tags=_tags(doc), kind=doc.get("kind"), language=lang,
            url=doc.get("url"), source=doc.get("source", ""),
            publication=doc.get("publication"), author=doc.get("author"),
            paragraph_pages=_pages(doc, [piece.offset for piece in pieces[1:]]))

    # -- not in this cut ------------------------------------------------------------------

    def more_like(self, article_id: str, n: int = 5) -> list[Hit]:
        """Not in this cut: no related articles."""
        return []

    def tag_values(self, prefix: str = "", limit: int = 20,
                   request: SearchRequest | None = None) -> list[FacetValue]:
        """Not in this cut: no tag completions."""
        return []

    def complete(self, text: str, limit: int = 8) -> list:
        """Not in this cut: no search-box completions."""
        return []


# -- helpers ----------------------------------------------------------------------------


def _and(filters: list[str]) -> str:
    return " && ".join(filters)


def _date_filters(request: SearchRequest) -> list[str]:
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


def _facet(answer: dict, name: str) -> dict[str, int]:
    for f in answer.get("facet_counts", []):
        if f["field_name"] == name:
            return {c["value"]: c["count"] for c in f["counts"]}
    return {}


def _pair_labels(answer: dict) -> dict[str, str]:
    """Tag key → label from `tag_pairs` facet counts (the commonest label wins)."""
    best: dict[str, tuple[int, str]] = {}
    for pair, count in _facet(answer, "tag_pairs").items():
        key, _, label = pair.partition(TAG_PAIR)
        if key not in best or count > best[key][0]:
            best[key] = (count, label)
    return {k: label for k, (_, label) in best.items()}


def _tag_facet(pairs: dict[str, int], selected: tuple[str, ...],
               labels: dict[str, str], top: int = facets.DEFAULT_TOP_TAGS) -> TagFacet:
    counts: dict[str, int] = {}
    for pair, count in pairs.items():
        key = pair.partition(TAG_PAIR)[0]
        counts[key] = counts.get(key, 0) + count
    chosen = sorted((k for k, n in counts.items() if n), key=lambda k: (-counts[k], k))[:top]
    values = [FacetValue(k, labels.get(k, k), counts.get(k, 0), True) for k in selected]
    values += [FacetValue(k, labels.get(k, k), counts[k]) for k in chosen if k not in selected]
    return TagFacet(values, sum(1 for n in counts.values() if n))


def _choice_facet(counts: dict[str, int], selected: tuple[str, ...], label) -> TagFacet:
    chosen = {v.casefold() for v in selected}
    shown = sorted((v for v, n in counts.items() if n or v.casefold() in chosen),
                   key=lambda v: (-counts[v], v))
    values = [FacetValue(v, label(v), counts[v], v.casefold() in chosen) for v in shown]
    known = {v.casefold() for v in shown}
    for v in selected:
        if v.casefold() not in known:
            values.insert(0, FacetValue(v, label(v), 0, True))
    return TagFacet(values, sum(1 for n in counts.values() if n))


def _level(months: dict[str, int], request: SearchRequest) -> tuple[str, int, int] | None:
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


def _date_facet(years: dict[str, int], months: dict[str, int], level: tuple[str, int, int] | None,
                days: dict[str, int] | None, undated: int, request: SearchRequest) -> DateFacet:
    if level is None or not any(years.values()):
        return DateFacet("year", [], undated)
    name, year, month = level
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


def _spans(text: str, language: str | None, marks: set[str]) -> list[tuple[int, int, int]]:
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


def _date(doc: dict) -> dt.date | None:
    day = doc.get("date", UNDATED)
    return dt.date.fromordinal(day) if doc.get("dated") and day > 0 else None


def _tags(doc: dict) -> list[HitTag]:
    labels = doc.get("tag_labels") or []
    return [HitTag(k, labels[i] if i < len(labels) else k)
            for i, k in enumerate(doc.get("tags") or [])]


def _pages(doc: dict, offsets: list[int]) -> list[int]:
    pages = doc.get("pages") or []
    return [max(1, bisect.bisect_right(pages, o)) for o in offsets] if pages else []
