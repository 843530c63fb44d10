"""The Whoosh engine: answers `SearchRequest`s from the index, with plain values.

`Engine` answers the read side's seam (`search.protocol.ReadEngine`) from
the current index generation, which `search.embedded.generations` keeps open and
refreshes while the indexer commits; whole answers are cached around it
by `search.cache.CachedEngine`, keyed by its `version()`.

A request is answered in four steps: read the text into a plan
(`search.plan`) and compile it (`search.embedded.compiler`), evaluate it over whole
arrays (`search.embedded.scoring`), apply the tag, date, kind and language filters
as array masks, then build only what the page shows: the hits of this page
with their snippets (`search.snippets`) and the facet counts
(`search.facets`). Results, hits and article views are dataclasses from
`search.results`; no Whoosh object ever leaves this module, and no absolute
file path either: each one's `source` is shown as `search.places` says.

An index that is missing or empty is not an error: every method answers
with nothing found and the message `NOT_INDEXED`.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from whoosh import query as wq
from whoosh.searching import Searcher

from index import embedding
from index.embedded.document import from_stored
from search import facets, recency, tag_match
from search import semantic as semantic_mix
from search.autocomplete import Completion, CompletionIndex, PerGeneration, completions
from search.cache import VersionedCache
from search.embedded import explain as explain_mod
from search.embedded import hits as hits_mod
from search.embedded import ranking
from search.embedded.columns import Columns
from search.embedded.compiler import has_text_terms, highlight_terms
from search.embedded.generations import Generation, Generations
from search.embedded.related import KnownFrequencies, key_terms
from search.embedded.scoring import evaluate
from search.languages import language_name
from search.lru import LRU
from search.places import Places
from search.plan import QueryPlan, plan
from search.protocol import ArchiveStats
from search.request import SearchRequest
from search.results import ArticleView, FacetValue, Hit, SearchResults
from search.suggest import AUTO_MIN_ARTICLES, apply, auto_distance, corrections, suggest

NOT_INDEXED = "The archive is not indexed yet."
#: Below this many results a spelling suggestion is looked for.
SUGGEST_BELOW = 3
#: Suggestions kept per index generation.
SUGGESTION_CACHE_SIZE = 1024
#: Related-articles lists kept per generation (finding an article's key terms
#: re-reads its whole text).
RELATED_CACHE_SIZE = 1024
#: Articles sharing an article's key words that are compared by meaning too.
RELATED_CANDIDATES = 50


class Engine:
    """Searches one index directory (or one in-memory index, for tests)."""

    #: Every hit's score can be taken apart (`search.embedded.explain`).
    explains = True

    def __init__(self, index_dir: str | Path | None, *, _ix=None,
                 half_life_days: float = recency.HALF_LIFE_DAYS,
                 feedback: bool = True, semantic: bool = True,
                 semantic_weight: float = semantic_mix.SEMANTIC_WEIGHT) -> None:
        """`half_life_days` is the "relevance + recency" ordering's half-life.
        Whole answers are not cached here: wrap the engine in
        `search.cache.CachedEngine` for that (the app and the CLI do)."""
        self.ranking = ranking.RankOptions(half_life_days=half_life_days, semantic=semantic,
                                           semantic_weight=semantic_weight, feedback=feedback)
        self._query_vectors = LRU(4096)
        self._dir = Path(index_dir) if index_dir is not None else None
        self._places = Places(self._dir)
        self._generations = Generations(self._dir, _ix, on_new=self._places.invalidate)
        self._related = VersionedCache(RELATED_CACHE_SIZE)
        # A suggestion is a short string, cheap to keep from the first time.
        self._suggestions = VersionedCache(SUGGESTION_CACHE_SIZE, second_time=False)

    @classmethod
    def from_index(cls, ix) -> Engine:
        """An engine over an already open Whoosh index (an in-RAM test index)."""
        return cls(None, _ix=ix)

    def close(self) -> None:
        """Close the searchers this engine holds (the calling thread's included).

        A long-lived server never needs this; one-shot users (the CLI) call it
        so no file stays open longer than the command.
        """
        self._generations.close()

    def refresh(self) -> None:
        """Look for a new index generation at the next request."""
        self._generations.refresh()

    def _open(self) -> tuple[Generation, Searcher] | None:
        return self._generations.open()

    # -- searching -----------------------------------------------------------

    def run(self, request: SearchRequest, *, snippets: bool = True,
            explain: bool = False) -> SearchResults:
        """Answer `request`; never raises for anything the reader typed.

        With `snippets=False` hits carry no passages and no marks (a CSV
        export of a thousand rows wants neither, and snippets are most of
        the cost of a long page). With `explain=True` each hit carries
        "why this result" (`search.embedded.explain`).
        """
        started = time.perf_counter()
        results = SearchResults(request=request, page=request.page, searched_for=request.q)
        opened = self._open()
        if opened is None:
            results.messages.append(NOT_INDEXED)
        else:
            self._answer(request, results, *opened, with_snippets=snippets, explain=explain)
        results.took_ms = (time.perf_counter() - started) * 1000
        return results

    def version(self) -> str | None:
        """The open generation as a token (its folder and Whoosh TOC number),
        checked as cheaply as any request checks it; None when nothing is
        indexed."""
        gen = self._generations.current()
        if gen is None or gen.columns.doc_count_live == 0:
            return None
        return gen.token

    def _answer(self, request: SearchRequest, results: SearchResults,
                gen: Generation, s: Searcher, with_snippets: bool = True,
                explain: bool = False) -> None:
        cols = gen.columns
        read = plan(request.q)
        results.searched_for = read.searched_for
        results.messages.extend(read.notes)

        tag_mask = cols.live.copy()
        for key in request.tags:
            tag_mask &= cols.docs_with_tag(key)
        for key in request.not_tags:
            tag_mask &= ~cols.docs_with_tag(key)
        date_mask = _date_mask(cols, request)
        kind_mask = cols.kinds.mask(request.kinds)
        language_mask = cols.languages.mask(request.languages)
        # The kind and language masks stay apart: each of those facets counts
        # as if its own choice were not made (its values are alternatives).
        choices = _both(kind_mask, language_mask)
        filters = _both(tag_mask & date_mask, choices)
        found = self._match(read, gen, s, filters, request.languages)

        if (len(found.docs) < SUGGEST_BELOW and read.words and not request.verbatim):
            # Little or nothing found: try the text with its unknown words
            # corrected, and show that instead if it finds more.
            fixes = corrections(read.words, gen.vocabulary(s), auto_distance,
                                AUTO_MIN_ARTICLES)
            if fixes:
                better_text = apply(request.q, fixes)
                better = plan(better_text)
                again = self._match(better, gen, s, filters, request.languages)
                if len(again.docs) > len(found.docs):
                    read, found = better, again
                    results.corrected, results.corrected_from = better_text, request.q
                    results.searched_for = better.searched_for
        results.messages.extend(n for n in found.notes if n not in results.messages)
        results.partial_match_note = found.partial_note
        q, text_mask, scores, docs = found.query, found.mask, found.scores, found.docs
        if text_mask is None:
            text_mask = cols.live

        total = len(docs)
        results.total = total
        results.pages = min(math.ceil(total / request.per_page), 1000) if total else 0
        page = min(request.page, max(results.pages, 1))
        if page != request.page:
            results.messages.append(
                f"There are only {results.pages} pages of results; showing the last."
                if results.pages else "Nothing was found, so there is no page "
                f"{request.page}."
            )
        results.page = page

        by_score = (request.sort in ("relevance", "recency") and q is not None
                    and has_text_terms(q))
        trace = None
        if by_score:
            scores, trace = ranking.rank(
                read, q, cols, s, docs, scores, request.sort, self.ranking,
                top=lambda d, sc, k: _top(cols, d, sc, "newest", k),
                frequency=partial(_frequency, cols, s.reader()),
                query_vector=self._query_vector)
        order = _top(cols, docs, scores if by_score else None,
                     "oldest" if request.sort == "oldest" else "newest",
                     page * request.per_page)
        page_docs = order[(page - 1) * request.per_page: page * request.per_page]
        marks = highlight_terms(q)
        results.hits = self._hits(s, cols, page_docs, marks if with_snippets else None,
                                  scores if by_score else None)
        if explain and trace is not None and _size(trace.query) <= explain_mod.MAX_NODES:
            whys = explain_mod.hits(trace, cols, s, [int(d) for d in page_docs])
            for hit, d in zip(results.hits, page_docs, strict=True):
                hit.explanation = whys[int(d)]

        for key in (*request.tags, *request.not_tags):
            ids = cols.tag_ids(key)
            if ids:
                results.filter_labels[key] = cols.label(ids[0], partial(cols.stored, s))
        results.tag_facet = facets.tag_facet(
            cols, docs, request.tags, lambda i: cols.label(i, partial(cols.stored, s))
        )
        undated = int(np.count_nonzero(_both(text_mask & tag_mask, choices) & (cols.day < 0)))
        results.date_facet = facets.date_facet(cols, docs, undated, request.start, request.end)
        if cols.newest_day > 0:
            results.newest_date = dt.date.fromordinal(cols.newest_day)
        base = text_mask & tag_mask & date_mask
        results.kind_facet = facets.choice_facet(
            cols.kinds, np.flatnonzero(_both(base, language_mask)), request.kinds)
        results.language_facet = facets.choice_facet(
            cols.languages, np.flatnonzero(_both(base, kind_mask)), request.languages,
            label=language_name)

        if (request.q and read.words and results.corrected is None
                and (total < SUGGEST_BELOW or found.partial_note)):
            results.suggestion = self._suggest(gen, s, request.q, read.words)

    def _query_vector(self, text: str) -> np.ndarray | None:
        """The meaning vector of a query's words, remembered."""
        vector = self._query_vectors.get(text)
        if vector is None:
            made = embedding.vectors([text])
            if made is None:
                return None
            vector = made[0]
            self._query_vectors.put(text, vector)
        return vector

    def _match(self, read: QueryPlan, gen: Generation, s: Searcher,
               filters: np.ndarray, languages: tuple[str, ...] = ()) -> _Found:
        """The documents `read` finds among `filters`, with their scores.

        A short all-words search that finds nothing is tried again ranked by
        most of its words; a long one or a question is ranked that way from
        the start.
        """
        cols = gen.columns
        compiler = gen.compiler(s)
        frequency = partial(_frequency, cols, s.reader())
        compiled = compiler.compile(read.root, most=read.ranked_by_most, frequency=frequency,
                                    strict=False, languages=languages)
        found = _Found(compiled.query, None, None, np.zeros(0, dtype=np.int64), compiled.notes)
        if compiled.query is None:
            found.docs = np.flatnonzero(cols.live & filters)
            return found
        match = evaluate(compiled.query, cols, s)
        found.mask, found.scores = match.mask, match.score
        found.docs = np.flatnonzero(match.mask & filters)
        if read.ranked_by_most and isinstance(compiled.query, (wq.Or, wq.AndNot)):
            found.partial_note = (f"Ranked by how many of {_quoted(read)} each article has, "
                                  "a rare word counting for more than a common one.")
        elif len(found.docs) == 0:
            loose = compiler.compile(read.root, most=True, frequency=frequency,
                                     languages=languages)
            if loose.query is not None and loose.query != compiled.query:
                match = evaluate(loose.query, cols, s)
                more = np.flatnonzero(match.mask & filters)
                if len(more):
                    found.query, found.mask, found.scores, found.docs = (
                        loose.query, match.mask, match.score, more)
                    found.partial_note = (
                        f"No article has all of {_quoted(read)}; showing those with most.")
        return found

    def _suggest(self, gen: Generation, s: Searcher, text: str, words: list[str]) -> str | None:
        """A "did you mean", remembered per generation (the same misspelling recurs,
        and every keystroke of a half-typed word asks again)."""
        key = (text, tuple(words))
        cached = self._suggestions.get(gen.key, key)
        if cached is not None:
            return cached or None
        try:
            found = suggest(text, words, gen.vocabulary(s))
        except Exception:  # noqa: BLE001  a suggestion is a courtesy, never a failure
            found = None
        self._suggestions.put(gen.key, key, found or "")
        return found

    def _hits(self, s: Searcher, cols: Columns, docnums, marks: dict[str, set[bytes]] | None,
              scores: np.ndarray | None) -> list[Hit]:
        return hits_mod.hits(s, cols, docnums, marks, scores, self._places.shown)

    # -- single articles ---------------------------------------------------

    def get(self, article_id: str, q: str | None = None) -> ArticleView | None:
        """The whole article `article_id`, with `q`'s terms marked; None if unknown."""
        opened = self._open()
        if opened is None:
            return None
        gen, s = opened
        docnum = _docnum(s, article_id)
        if docnum is None:
            return None
        marks = hits_mod.NO_MARKS
        if q:
            marks = highlight_terms(gen.compiler(s).compile(plan(q).root).query)
        return hits_mod.article_view(s, gen.columns, docnum, marks, self._places.shown)

    def more_like(self, article_id: str, n: int = 5) -> list[Hit]:
        """Up to `n` articles most like `article_id`, by its most telling words."""
        opened = self._open()
        if opened is None:
            return []
        gen, s = opened
        cached = self._related.get(gen.key, (article_id, n))
        if cached is not None:
            return list(cached)
        related = self._more_like(gen, s, article_id, n)
        self._related.put(gen.key, (article_id, n), tuple(related))
        return related

    def _more_like(self, gen: Generation, s: Searcher, article_id: str, n: int) -> list[Hit]:
        docnum = _docnum(s, article_id)
        if docnum is None:
            return []
        cols = gen.columns
        reader = KnownFrequencies(s.reader(), cols.frequencies, partial(cols.stored, s))
        try:
            terms = key_terms(reader, docnum)
        except Exception:  # noqa: BLE001  an empty or odd body has no key terms
            terms = []
        if not terms:
            return []
        q = wq.Or([wq.Term(f, t, boost=max(w, 0.01)) for f, t, w in terms])
        match = evaluate(q, gen.columns, s)
        match.mask[docnum] = False
        docs = np.flatnonzero(match.mask)
        scores = match.score
        if self.ranking.semantic and cols.vectors is not None and cols.vectors[docnum].any():
            # The key words' best candidates, re-scored by meaning as well:
            # the article's own vector is the query.
            candidates = _top(cols, docs, scores, "newest", RELATED_CANDIDATES)
            scores, _mixes = semantic_mix.fuse(scores, candidates, cols.vectors,
                                               cols.vectors[docnum],
                                               self.ranking.semantic_weight)
        order = _top(gen.columns, docs, scores, "newest", n)[:n]
        return self._hits(s, gen.columns, order, {"title": set(), "body": set()}, scores)

    # -- tags and figures --------------------------------------------------

    def tag_values(self, prefix: str = "", limit: int = 20,
                   request: SearchRequest | None = None) -> list[FacetValue]:
        """Tags starting with `prefix` (or with a word starting with it), by count.

        Counts are over the whole archive, or over `request`'s results when
        given (then tags without results there are left out).
        """
        opened = self._open()
        if opened is None:
            return []
        gen, s = opened
        cols = gen.columns
        if request is not None:
            docs = np.flatnonzero(self._result_mask(request, gen, s))
            counts = np.bincount(cols.tags_of(docs), minlength=len(cols.tag_keys))
        else:
            counts = np.array([len(d) for d in cols.tag_docs], dtype=np.int64)
        typed = tag_match.words(prefix)
        found = []
        for i, f in enumerate(cols.tag_words):
            if counts[i] == 0:
                continue
            place = tag_match.rank(typed, f)
            if place is not None:
                found.append((place, -int(counts[i]), cols.tag_keys[i], i))
        found.sort()
        selected = set(request.tags) if request else set()
        return [
            FacetValue(value=cols.tag_keys[i], label=cols.label(i, s.stored_fields),
                       count=-neg, selected=cols.tag_keys[i] in selected)
            for _rank, neg, _key, i in found[:max(0, limit)]
        ]

    def _result_mask(self, request: SearchRequest, gen: Generation, s: Searcher):
        cols = gen.columns
        mask = cols.live & _date_mask(cols, request)
        for key in request.tags:
            mask &= cols.docs_with_tag(key)
        for key in request.not_tags:
            mask &= ~cols.docs_with_tag(key)
        mask = _both(mask, _both(cols.kinds.mask(request.kinds),
                                 cols.languages.mask(request.languages)))
        compiled = gen.compiler(s).compile(plan(request.q).root,
                                           languages=request.languages).query
        if compiled is not None:
            mask &= evaluate(compiled, cols, s).mask
        return mask

    def stats(self) -> ArchiveStats:
        """Figures about the archive: articles, date range, tags, last update."""
        opened = self._open()
        if opened is None:
            return ArchiveStats(message=NOT_INDEXED)
        gen, _s = opened
        cols = gen.columns
        days = cols.day[cols.live]
        dated = days[days >= 0]
        return ArchiveStats(
            articles=cols.doc_count_live,
            first_date=dt.date.fromordinal(int(dated.min())) if len(dated) else None,
            last_date=dt.date.fromordinal(int(dated.max())) if len(dated) else None,
            distinct_tags=len(cols.tag_keys),
            undated=int(np.count_nonzero(days < 0)),
            last_update=gen.last_update(),
        )

    # -- search-box completions ----------------------------------------------

    def complete(self, text: str, limit: int = 8) -> list[Completion]:
        """Up to `limit` (at most 8) ways to finish `text` as typed in the
        search box (`search.autocomplete`); none when nothing is indexed.

        The titles, phrases and tags they come from are gathered once per
        index generation, by the first call that needs them.
        """
        opened = self._open()
        if opened is None:
            return []
        gen, s = opened
        # Not `Columns.memo`: that LRU's other entries would push this out,
        # and building it again costs a whole pass over the stored titles.
        kept = self.__dict__.setdefault("_completion_indexes", PerGeneration())
        try:
            index = kept.get(gen.key, partial(self._completion_index, gen, s))
            return completions(index, gen.vocabulary(s), text, limit)
        except Exception:  # noqa: BLE001  suggestions are a courtesy, never a failure
            return []

    def _completion_index(self, gen: Generation, s: Searcher) -> CompletionIndex:
        """Every live article's title (newest first) and every tag's label
        and count, read once, as `search.autocomplete` needs them."""
        cols = gen.columns
        rows = []
        labels: dict[str, str] = {}
        for docnum, fields in s.reader().iter_docs():
            if not cols.live[docnum]:
                continue
            article = from_stored(fields)
            rows.append((int(cols.newest_rank[docnum]), article.id, article.title))
            for tag in article.tags:
                labels.setdefault(tag.key, tag.label)
        rows.sort()
        return CompletionIndex.build(
            ((article_id, title) for _rank, article_id, title in rows),
            ((key, labels.get(key, key), len(docs))
             for key, docs in zip(cols.tag_keys, cols.tag_docs, strict=True)))


# -- helpers -----------------------------------------------------------------


def _both(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """`a & b`, where None stands for "no filter"."""
    if a is None:
        return b
    return a if b is None else a & b


def _date_mask(cols: Columns, request: SearchRequest) -> np.ndarray:
    mask = np.ones(cols.n, dtype=bool)
    if request.start is not None:
        mask &= cols.day >= request.start.toordinal()
    if request.end is not None:
        mask &= (cols.day >= 0) & (cols.day <= request.end.toordinal())
    if request.undated == "exclude":
        mask &= cols.day >= 0
    elif request.undated == "only":
        mask &= cols.day < 0
    return mask


def _top(cols: Columns, docs: np.ndarray, scores: np.ndarray | None, by: str,
         k: int) -> np.ndarray:
    """The first `k` of `docs`: by score (newest first among equals), or by date."""
    if len(docs) == 0 or k <= 0:
        return docs[:0]
    rank = cols.oldest_rank if by == "oldest" else cols.newest_rank
    if scores is None:
        keys = rank[docs]
        if len(docs) > k:
            keep = np.argpartition(keys, k - 1)[:k]
            docs, keys = docs[keep], keys[keep]
        return docs[np.argsort(keys, kind="stable")]
    s = -scores[docs]
    if len(docs) > k:
        kth = np.partition(s, k - 1)[k - 1]
        keep = s <= kth  # everything tied with the k-th too, so ties break by date
        docs, s = docs[keep], s[keep]
    order = np.lexsort((rank[docs], s))
    return docs[order][:k]


def _size(q: wq.Query) -> int:
    return sum(1 for _ in q.leaves()) if not q.is_leaf() else 1


def _frequency(cols: Columns, reader, term: str) -> int:
    """Articles holding an index term in title or body (remembered per generation)."""
    def count() -> int:
        return sum(reader.doc_frequency(f, term) for f in ("title", "body"))

    return cols.memo(("df", term), count)


def _docnum(s: Searcher, article_id: str) -> int | None:
    try:
        return s.document_number(id=str(article_id))
    except (ValueError, TypeError):  # an id the field cannot hold
        return None


def _quoted(read: QueryPlan, most: int = 12) -> str:
    words = read.words or read.searched_for.split()
    shown = ", ".join(f"“{w}”" for w in words[:most])
    return shown + (f" and {len(words) - most} more words" if len(words) > most else "")


@dataclass
class _Found:
    """What one plan matched: its compiled query, masks and notes."""

    query: wq.Query | None
    mask: np.ndarray | None
    scores: np.ndarray | None
    docs: np.ndarray
    notes: list[str]
    partial_note: str | None = None
