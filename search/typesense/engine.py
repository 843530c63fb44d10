"""The Typesense engine: answers `SearchRequest`s from a Typesense 0.24 cluster.

`TypesenseEngine` answers the read side's seam (`search.protocol.ReadEngine`)
from the collection (or alias) that `index.typesense_store` writes. A
request is read into a plan (`search.plan`), compiled into one search's
`filter_by` and `q` (`search.typesense.query`), and sent with the facet
searches as one `multi_search` (always POSTed: filters of article ids are
longer than a GET may be). Hits' snippets are cut from the stored text by
Archivist's own analyzer and sanitizer (`search.snippets`), never
Typesense's highlights.

**One node per engine.** A cluster's followers apply a write about half a
second after the leader. A client that sends each request to the next node
in turn saw the version token flip between old and new for that long, and
an answer computed on a lagging node could be cached under the new token.
So the engine reads from one home node (the client's `nearest_node`: the
first of `TYPESENSE_NODES`, so web servers that list the nodes in different
orders spread their reads) and goes to the others only while it fails: its
version token and its answers come from one copy, which applies writes in
order, so the token never goes back and an answer is never newer or older
than its token.

**Ranking.** Relevance is Typesense's text match on the search's words,
not Archivist's BM25F. When the words cannot all go in `q` (OR, a word with
several stems, a long question ranked by most words), the articles are
ranked by a text-match search of their words with tokens dropped (those
with more of the words first), checked against the exact set, and the rest
follow newest first; only the first `MAX_RANKED` positions are ranked so.

Nothing here raises for what a reader typed; a search too broad to resolve
(`search.typesense.query.TooBroad`) finds nothing and says why.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time

import typesense
from typesense.exceptions import (
    InvalidParameter,
    ObjectNotFound,
    ObjectUnprocessable,
    RequestForbidden,
    RequestMalformed,
    RequestUnauthorized,
)

from index.typesense_client import TypesenseSettings
from index.typesense_store import encode_term, serial
from search import plan as p
from search import snippets, tag_match
from search.autocomplete import Completion, completions
from search.languages import language_name
from search.protocol import ArchiveStats
from search.request import SearchRequest
from search.results import ArticleView, FacetValue, Hit, SearchResults
from search.suggest import AUTO_MIN_ARTICLES, apply, auto_distance, corrections, suggest
from search.typesense import answers as a
from search.typesense import archive as archive_mod
from search.typesense.explain import explain as explain_hit
from search.typesense.query import (
    MAX_IDS,
    NOTHING,
    Compiled,
    Compiler,
    TooBroad,
    all_of,
    id_filter,
    marks,
    tag_filter,
    value,
)

NOT_INDEXED = "The archive is not indexed yet."
TOO_COMPLEX = ("This search has more parts than the cluster engine accepts in one filter: "
               "search with fewer operators or words.")
#: Typesense answers at most this many hits per page.
MAX_PER_PAGE = 250
#: Positions of a search ranked outside `q` (see the module docstring).
MAX_RANKED = 1000
#: Below this many results a spelling correction or suggestion is looked for.
SUGGEST_BELOW = 3
#: Tokens dropped from a ranking search until this many articles are found.
_DROP_ALL = 1_000_000
#: Fields hits never need (snippets re-analyze the stored text).
_UNSHOWN = "title_terms,body_terms,vector"
_TEXT = {"prefix": "false", "num_typos": 0, "drop_tokens_threshold": 0,
         "typo_tokens_threshold": 0, "query_by": "title_terms,body_terms"}
#: Terms of an article's body and title that find related articles.
KEY_TERMS = (("body_terms", 12), ("title_terms", 4))


def pinned_config(settings: TypesenseSettings, home: int = 0) -> dict:
    """`settings`' client configuration reading from one home node (the
    `home`-th listed; see the module docstring), the others standing by."""
    config = settings.client_config()
    nodes = config["nodes"]
    if len(nodes) > 1:
        i = home % len(nodes)
        config = {**config, "nearest_node": nodes[i], "nodes": nodes[:i] + nodes[i + 1:]}
    return config


#: Seconds one read keeps trying while the cluster cannot answer (a node down,
#: an election: 6-16 s on this project's machines), before the reader gets an
#: error; with no answer sooner, a request costs at most this long.
READ_PATIENCE = 20.0
_RETRY_PAUSE = 0.25


class Refused(RuntimeError):
    """The cluster answered that a search is wrong (not that it is busy)."""


class _Busy(RuntimeError):
    """A node answered a search with "not ready" (it lost its leader)."""


#: Answers that trying again cannot change.
_FINAL = (ObjectNotFound, RequestMalformed, RequestUnauthorized, RequestForbidden,
          InvalidParameter, ObjectUnprocessable, Refused, TooBroad)


def patiently(call):
    """`call()`, tried again every `_RETRY_PAUSE` s while the cluster cannot
    answer, for at most `READ_PATIENCE` s.

    The client already moves to the next node after a failure, five times,
    0.2 s apart; that rides out a dead node but not an election, during
    which the remaining nodes may answer "not ready" for several seconds.
    A reader waits through that rather than being told the archive is
    empty or failing.
    """
    deadline = time.monotonic() + READ_PATIENCE
    while True:
        try:
            return call()
        except _FINAL:
            raise
        except Exception:  # noqa: BLE001  connection errors, 5xx, timeouts: the cluster is busy
            if time.monotonic() >= deadline:
                raise
            time.sleep(_RETRY_PAUSE)


class TypesenseEngine:
    """Answers readers from the cluster that `settings` name."""

    #: "Why this result" shows Typesense's text match whole, with the words it
    #: ranked on (`search.typesense.explain`).
    explains = True

    def __init__(self, settings: TypesenseSettings, *, home: int = 0) -> None:
        self.settings = settings
        self.client = typesense.Client(pinned_config(settings, home))
        self.name = settings.collection
        self._lock = threading.Lock()
        self._snapshot: tuple[str | None, archive_mod.Snapshot | None] = (None, None)
        self._has_vector: tuple[str | None, bool] = (None, False)

    def close(self) -> None:
        """Nothing is held open between requests."""

    # -- the archive ---------------------------------------------------------------

    def _collection(self) -> dict | None:
        try:
            return patiently(self.client.collections[self.name].retrieve)
        except ObjectNotFound:
            return None

    def _serial(self, name: str) -> int:
        return patiently(lambda: serial(self.client, name))

    def _token(self, info: dict) -> str:
        return f"{info['name']}:{info['num_documents']}:{self._serial(info['name'])}"

    def version(self) -> str | None:
        """The collection's own name (an alias resolved), its document count and
        write serial, read from the home node; None when nothing is indexed."""
        info = self._collection()
        if not info or not info.get("num_documents"):
            return None
        return self._token(info)

    def _archive(self) -> archive_mod.Snapshot | None:
        """The words, tags and languages of the archive now (one per version)."""
        info = self._collection()
        if not info or not info.get("num_documents"):
            return None
        token = self._token(info)
        if self._snapshot[0] == token:
            return self._snapshot[1]
        with self._lock:
            if self._snapshot[0] != token:
                documents = self.client.collections[self.name].documents

                def export(*args, **kwargs):
                    return patiently(lambda: documents.export(*args, **kwargs))

                snap = archive_mod.load(lambda s: self._multi([s])[0], export,
                                        int(info["num_documents"]))
                fields = {f["name"] for f in info.get("fields", [])}
                self._snapshot = (token, snap)
                self._has_vector = (token, "vector" in fields)
            return self._snapshot[1]

    def stats(self) -> ArchiveStats:
        """Articles, first and last date, distinct tags, undated articles."""
        snap = self._archive()
        if snap is None:
            return ArchiveStats(message=NOT_INDEXED)
        total, newest, oldest, undated = self._multi([
            {"q": "*", "per_page": 0},
            {"q": "*", "per_page": 1, "sort_by": "date:desc", "filter_by": "dated:true",
             "include_fields": "date"},
            {"q": "*", "per_page": 1, "sort_by": "oldest_key:asc", "filter_by": "dated:true",
             "include_fields": "date"},
            {"q": "*", "per_page": 0, "filter_by": "dated:false"}])

        def day(answer: dict) -> dt.date | None:
            hits = answer.get("hits") or []
            return dt.date.fromordinal(hits[0]["document"]["date"]) if hits else None

        return ArchiveStats(articles=total["found"], first_date=day(oldest),
                            last_date=day(newest), distinct_tags=len(snap.labels),
                            undated=undated["found"])

    def _multi(self, searches: list[dict]) -> list[dict]:
        return patiently(lambda: self._multi_once(searches))

    def _multi_once(self, searches: list[dict]) -> list[dict]:
        answers = self.client.multi_search.perform(
            {"searches": [{"collection": self.name, "query_by": "title_terms", **s}
                          for s in searches]}, {})
        out = []
        for answer in answers["results"]:
            if "error" in answer:
                error = str(answer["error"])
                if "filter expression is not valid" in error.lower():
                    # Typesense 0.24 caps a filter's operands and groups; OR'd words
                    # are merged (`query._In`), a long chain of ANDs still meets it.
                    raise TooBroad(TOO_COMPLEX)
                if int(answer.get("code") or 0) >= 500 or "not ready" in error.lower():
                    raise _Busy(error)
                raise Refused(f"Typesense refused a search: {error}")
            out.append(answer)
        return out

    def _ids(self, filter_by: str | None, q: str = "*", query_by: str = "title_terms",
             limit: int = MAX_IDS, **extra) -> list[str]:
        """The ids of the articles matching, in the search's order; `TooBroad`
        when more than `limit` do."""
        if filter_by == NOTHING:
            return []
        params = {"q": q, **_TEXT, "query_by": query_by, "include_fields": "id",
                  "per_page": MAX_PER_PAGE, **extra}
        if filter_by:
            params["filter_by"] = filter_by
        out: list[str] = []
        page = 1
        while True:
            answer = self._multi([{**params, "page": page}])[0]
            if answer["found"] > limit:
                raise TooBroad(f"Part of this search stands for more than {limit} articles, "
                               "more than this engine combines; add words or filters.")
            out += [h["document"]["id"] for h in answer.get("hits", [])]
            if len(out) >= answer["found"] or not answer.get("hits"):
                return out
            page += 1

    # -- searching -------------------------------------------------------------------

    def run(self, request: SearchRequest, *, snippets: bool = True,
            explain: bool = False) -> SearchResults:
        """Answer `request`; what cannot be searched is said in `messages`."""
        started = time.perf_counter()
        results = SearchResults(request=request, page=request.page, searched_for=request.q)
        snap = self._archive()
        if snap is None:
            results.messages.append(NOT_INDEXED)
            return results
        try:
            self._answer(request, results, snap, snippets, explain)
        except TooBroad as e:
            results.messages.append(str(e))
            results.hits, results.total, results.pages = [], 0, 0
        results.took_ms = (time.perf_counter() - started) * 1000
        return results

    def _compile(self, read: p.QueryPlan, snap: archive_mod.Snapshot, request: SearchRequest,
                 most: bool) -> Compiled:
        # Parts resolved as ids are resolved among the request's tags only: every
        # facet search keeps those (each leaves out its own kind, language or dates).
        within = all_of(_tag_filters(request))
        return Compiler(snap.archive, self._ids, request.languages).compile(read, within, most)

    def _count(self, c: Compiled, request: SearchRequest) -> int:
        f = all_of([*c.filters, *_request_filters(request)])
        if f == NOTHING:
            return 0
        params = {"q": c.text, **_TEXT, "per_page": 0}
        if f:
            params["filter_by"] = f
        return self._multi([params])[0]["found"]

    def _answer(self, request: SearchRequest, results: SearchResults,
                snap: archive_mod.Snapshot, with_snippets: bool, explain: bool = False) -> None:
        read = p.plan(request.q)
        results.searched_for = read.searched_for
        results.messages.extend(read.notes)
        c = self._compile(read, snap, request, read.ranked_by_most)
        found = self._count(c, request)
        words = read.words
        if found < SUGGEST_BELOW and words and not request.verbatim and snap.vocabulary:
            # As the Whoosh engine: little found, try the unknown words corrected.
            fixes = corrections(words, snap.vocabulary, auto_distance, AUTO_MIN_ARTICLES)
            if fixes:
                better_text = apply(request.q, fixes)
                better = p.plan(better_text)
                again = self._compile(better, snap, request, better.ranked_by_most)
                more = self._count(again, request)
                if more > found:
                    read, c, found = better, again, more
                    results.corrected, results.corrected_from = better_text, request.q
                    results.searched_for = better.searched_for
        if c.most and c.rank_q:
            results.partial_match_note = (f"Ranked by how many of {_quoted(read)} each "
                                          "article has; those with more of them come first.")
        elif found == 0 and isinstance(read.root, p.All) and not c.most:
            loose = self._compile(read, snap, request, True)
            if loose.filters != c.filters or loose.q != c.q:
                if self._count(loose, request):
                    c = loose
                    results.partial_match_note = (
                        f"No article has all of {_quoted(read)}; showing those with most.")
        results.messages.extend(n for n in c.notes if n not in results.messages)
        self._page(request, results, c, snap, with_snippets,
                   p.plan_words(read.root) if explain else None)
        if (request.q and read.words and results.corrected is None and snap.vocabulary
                and (results.total < SUGGEST_BELOW or results.partial_match_note)):
            try:
                results.suggestion = suggest(request.q, read.words, snap.vocabulary)
            except Exception:  # noqa: BLE001  a suggestion is a courtesy, never a failure
                results.suggestion = None

    def _page(self, request: SearchRequest, results: SearchResults, c: Compiled,
              snap: archive_mod.Snapshot, with_snippets: bool,
              explain_words: list[p.Word] | None = None) -> None:
        text_f = [f for f in c.filters if f is not None]
        tag_f, date_f = _tag_filters(request), a.date_filters(request)
        kind_f, lang_f = _kind_filters(request), _lang_filters(request)
        per_page = min(request.per_page, MAX_PER_PAGE)
        by_text = request.sort in ("relevance", "recency") and c.has_text
        pooled = by_text and bool(c.rank_q)
        sort = ("_text_match:desc,date:desc" if by_text and not pooled else
                "oldest_key:asc" if request.sort == "oldest" else "date:desc")
        base = {"q": c.text, **_TEXT}
        main_f = _and(text_f + tag_f + date_f + kind_f + lang_f)
        searches = [
            {**base, "filter_by": main_f, "sort_by": sort, "page": request.page,
             "exclude_fields": _UNSHOWN,
             "per_page": 0 if pooled else per_page, "facet_by": "tag_pairs,year,month",
             "max_facet_values": archive_mod.MAX_FACET_VALUES},
            {**base, "filter_by": _and(text_f + tag_f + date_f + lang_f), "per_page": 0,
             "facet_by": "kind", "max_facet_values": archive_mod.MAX_FACET_VALUES},
            {**base, "filter_by": _and(text_f + tag_f + date_f + kind_f), "per_page": 0,
             "facet_by": "language", "max_facet_values": archive_mod.MAX_FACET_VALUES},
            {**base, "filter_by": _and([*text_f, *tag_f, *kind_f, *lang_f, "dated:false"]),
             "per_page": 0},
            {"q": "*", "filter_by": "dated:true", "per_page": 1, "sort_by": "date:desc",
             "include_fields": "date"},
        ]
        main, kinds, langs, undated, newest = self._multi(searches)
        total = main.get("found", 0)
        results.total = total
        shown = min(total, MAX_RANKED) if pooled else total
        results.pages = min(math.ceil(shown / per_page), 1000) if shown else 0
        if pooled and total > MAX_RANKED:
            results.messages.append(f"Only the first {MAX_RANKED} of these articles can be "
                                    "paged through in this order; add words to narrow it.")
        page = request.page
        if page > max(results.pages, 1):
            results.messages.append(
                f"There are only {results.pages} pages of results; showing the last."
                if results.pages else f"Nothing was found, so there is no page {page}.")
            page = max(results.pages, 1)
        results.page = page
        if pooled:
            docs, scores, infos = self._ranked(c, main_f, page, per_page)
        else:
            if page != request.page and results.pages:
                main = self._multi([{**searches[0], "page": page}])[0]
            hits = main.get("hits", [])
            docs = [h["document"] for h in hits]
            scores = [h.get("text_match") if by_text else None for h in hits]
            infos = [h.get("text_match_info") for h in hits]
        chosen = c.marks if with_snippets else None
        results.hits = [_hit(d, s, chosen) for d, s in zip(docs, scores, strict=True)]
        if explain_words is not None:
            for hit, doc, score, info in zip(results.hits, docs, scores, infos, strict=True):
                hit.explanation = explain_hit(info, score, explain_words, doc.get("title", ""),
                                              doc.get("body", ""), doc.get("language"),
                                              {t.key: t.label for t in hit.tags},
                                              by_text=by_text)
        labels = snap.labels
        results.tag_facet = a.tag_facet(a.facet(main, "tag_pairs"), request.tags, labels)
        results.filter_labels = {k: labels[k] for k in (*request.tags, *request.not_tags)
                                 if k in labels}
        day_counts = None
        level = a.level(a.facet(main, "month"), request)
        if level is not None and level[0] == "day":
            day_counts = a.facet(self._multi([{**searches[0], "per_page": 0,
                                               "facet_by": "date"}])[0], "date")
        results.date_facet = a.date_facet(a.facet(main, "year"), a.facet(main, "month"), level,
                                          day_counts, undated.get("found", 0), request)
        results.kind_facet = a.choice_facet(a.facet(kinds, "kind"), request.kinds, str)
        results.language_facet = a.choice_facet(a.facet(langs, "language"), request.languages,
                                                language_name)
        if newest.get("hits"):
            results.newest_date = dt.date.fromordinal(newest["hits"][0]["document"]["date"])

    def _ranked(self, c: Compiled, main_f: str | None, page: int, per_page: int
                ) -> tuple[list[dict], list[float | None], list[dict | None]]:
        """One page of a search ranked outside `q`: articles by a text-match
        search of the words with tokens dropped (only those in the exact set),
        then the rest of the set newest first."""
        need = min(page * per_page, MAX_RANKED)
        words = " ".join(dict.fromkeys([*c.q, *c.rank_q]))
        rank_text = " ".join([words, *c.exclude])
        scored: dict[str, float] = {}
        infos: dict[str, dict] = {}
        order: list[str] = []
        pg = 1
        while len(order) < need:
            answer = self._multi([{"q": rank_text, **_TEXT, "drop_tokens_threshold": _DROP_ALL,
                                   "filter_by": main_f or "", "include_fields": "id",
                                   "sort_by": "_text_match:desc,date:desc",
                                   "per_page": MAX_PER_PAGE, "page": pg}])[0]
            hits = answer.get("hits", [])
            candidates = [h["document"]["id"] for h in hits]
            if not candidates:
                break
            members = set(self._ids(all_of([main_f, id_filter(candidates)]), c.text,
                                    _TEXT["query_by"]))
            for h in hits:
                doc_id = h["document"]["id"]
                if doc_id in members and doc_id not in scored:
                    scored[doc_id] = float(h.get("text_match") or 0)
                    infos[doc_id] = h.get("text_match_info") or {}
                    order.append(doc_id)
            pg += 1
        pg = 1
        while len(order) < need:
            answer = self._multi([{"q": c.text, **_TEXT, "filter_by": main_f or "",
                                   "include_fields": "id", "sort_by": "date:desc",
                                   "per_page": MAX_PER_PAGE, "page": pg}])[0]
            ids = [h["document"]["id"] for h in answer.get("hits", [])]
            if not ids:
                break
            order += [i for i in ids if i not in scored and i not in order]
            pg += 1
        window = order[(page - 1) * per_page: page * per_page]
        if not window:
            return [], [], []
        got = self._multi([{"q": "*", "filter_by": id_filter(window),
                            "per_page": len(window), "exclude_fields": _UNSHOWN}])[0]
        by_id = {h["document"]["id"]: h["document"] for h in got.get("hits", [])}
        docs = [by_id[i] for i in window if i in by_id]
        return docs, [scored.get(d["id"]) for d in docs], [infos.get(d["id"]) for d in docs]

    # -- single articles -----------------------------------------------------------

    def _doc(self, article_id: str) -> dict | None:
        try:
            return patiently(self.client.collections[self.name].documents[str(article_id)].retrieve)
        except (ObjectNotFound, RequestMalformed):
            return None

    def get(self, article_id: str, q: str | None = None) -> ArticleView | None:
        """The whole article, `q`'s words marked; None for an unknown id."""
        snap = self._archive()
        doc = self._doc(article_id) if snap is not None else None
        if doc is None:
            return None
        chosen = marks(p.plan(q), snap.archive) if q else set()
        title, body, lang = doc.get("title", ""), doc.get("body", ""), doc.get("language")
        pieces = [snippets.Piece(title, [(x, y) for x, y, _ in a.spans(title, lang, chosen)]),
                  *snippets.paragraphs(body, [(x, y) for x, y, _ in
                                              a.spans(body, lang, chosen)])]
        html = snippets.render(pieces)
        return ArticleView(
            id=doc["id"], title=title, title_html=html[0], paragraphs=html[1:],
            date=a.date(doc), tags=a.tags(doc), kind=doc.get("kind"), language=lang,
            url=doc.get("url"), source=doc.get("source", ""),
            publication=doc.get("publication"), author=doc.get("author"),
            paragraph_pages=a.pages(doc, [piece.offset for piece in pieces[1:]]))

    def more_like(self, article_id: str, n: int = 5) -> list[Hit]:
        """Up to `n` articles most like `article_id`: by its meaning vector when
        the collection has a `vector` field, else by its most telling terms."""
        snap = self._archive()
        doc = self._doc(article_id) if snap is not None else None
        if doc is None or n <= 0:
            return []
        if self._has_vector[1] and doc.get("vector"):
            # The vector itself, not `id:` (which Typesense 0.24 does not know).
            listed = ", ".join(f"{float(x):.6g}" for x in doc["vector"])
            answer = self._multi([{"q": "*", "vector_query": f"vector:([{listed}], k: {n + 1})",
                                   "per_page": n + 1, "exclude_fields": _UNSHOWN}])[0]
            docs = [h["document"] for h in answer.get("hits", [])
                    if h["document"]["id"] != article_id][:n]
            return [_hit(d, None, set()) for d in docs]
        terms = self._key_terms(doc, snap)
        if not terms:
            return []
        answer = self._multi([{"q": " ".join(encode_term(t) for t in terms), **_TEXT,
                               "drop_tokens_threshold": _DROP_ALL, "per_page": n + 1,
                               "sort_by": "_text_match:desc,date:desc",
                               "exclude_fields": _UNSHOWN}])[0]
        docs = [h["document"] for h in answer.get("hits", [])
                if h["document"]["id"] != article_id][:n]
        return [_hit(d, None, set()) for d in docs]

    def _key_terms(self, doc: dict, snap: archive_mod.Snapshot) -> list[str]:
        """The article's terms frequent in it and rare in the archive (tf·idf),
        `KEY_TERMS` per field, most telling first."""
        counts = snap.term_counts
        total = max(1, len(snap.completions.article_ids)) if snap.completions else 1
        out: list[str] = []
        for fieldname, k in KEY_TERMS:
            tf: dict[str, int] = {}
            for t in (doc.get(fieldname) or "").split():
                tf[t] = tf.get(t, 0) + 1
            if counts is None:
                ranked = sorted(tf, key=lambda t: (-tf[t], t))
            else:
                weight = {t: n * math.log(1 + total / max(counts.get(t.replace("~", "-"), 0), 1))
                          for t, n in tf.items()}
                ranked = sorted(tf, key=lambda t: (-weight[t], t))
            out += [t.replace("~", "-") for t in ranked if len(t) > 1][:k]
        return list(dict.fromkeys(out))

    # -- tags and completions --------------------------------------------------------

    def tag_values(self, prefix: str = "", limit: int = 20,
                   request: SearchRequest | None = None) -> list[FacetValue]:
        """Tags whose label starts with `prefix` (or has a word that does), by
        count: over the archive, or within `request`'s results."""
        snap = self._archive()
        if snap is None or limit <= 0:
            return []
        counts = snap.tag_counts
        if request is not None:
            try:
                c = self._compile(p.plan(request.q), snap, request, False)
            except TooBroad:
                return []
            f = all_of([*c.filters, *_request_filters(request)])
            if f == NOTHING:
                return []
            params = {"q": c.text, **_TEXT, "per_page": 0, "facet_by": "tag_pairs",
                      "max_facet_values": archive_mod.MAX_FACET_VALUES}
            if f:
                params["filter_by"] = f
            counts = archive_mod.pair_labels(a.facet(self._multi([params])[0], "tag_pairs"))[1]
        typed = tag_match.words(prefix)
        found = []
        for key, count in counts.items():
            if not count:
                continue
            place = tag_match.rank(typed, tag_match.words(snap.labels.get(key, key)))
            if place is not None:
                found.append((place, -count, key))
        found.sort()
        selected = set(request.tags) if request else set()
        return [FacetValue(value=key, label=snap.labels.get(key, key), count=-neg,
                           selected=key in selected) for _r, neg, key in found[:limit]]

    def complete(self, text: str, limit: int = 8) -> list[Completion]:
        """Up to `limit` ways to finish `text` (`search.autocomplete`), from the
        archive's words, title phrases, tags and titles."""
        try:
            snap = self._archive()
            if snap is None or snap.completions is None or snap.vocabulary is None:
                return []
            return completions(snap.completions, snap.vocabulary, text, limit)
        except Exception:  # noqa: BLE001  suggestions are a courtesy, never a failure
            return []


# -- helpers ----------------------------------------------------------------------------


def _and(filters: list[str]) -> str:
    return " && ".join(f for f in filters if f)


def _tag_filters(request: SearchRequest) -> list[str]:
    return [*(tag_filter([k]) for k in request.tags),
            *(f"tags:!=[{value(k)}]" for k in request.not_tags)]


def _kind_filters(request: SearchRequest) -> list[str]:
    return ([f"kind:=[{', '.join(value(k) for k in request.kinds)}]"]
            if request.kinds else [])


def _lang_filters(request: SearchRequest) -> list[str]:
    return ([f"language:=[{', '.join(value(v) for v in request.languages)}]"]
            if request.languages else [])


def _request_filters(request: SearchRequest) -> list[str]:
    return [*_tag_filters(request), *a.date_filters(request), *_kind_filters(request),
            *_lang_filters(request)]


def _quoted(read: p.QueryPlan, most: int = 12) -> str:
    words = read.words or read.searched_for.split()
    shown = ", ".join(f"“{w}”" for w in words[:most])
    return shown + (f" and {len(words) - most} more words" if len(words) > most else "")


def _hit(doc: dict, score: float | None, marks: set[str] | None) -> Hit:
    title, body, lang = doc.get("title", ""), doc.get("body", ""), doc.get("language")
    if marks is None:
        title_html, snips, offsets = snippets.render([snippets.Piece(title, [])])[0], [], []
    else:
        chosen = snippets.passages(body, a.spans(body, lang, marks))
        if not chosen:
            first = snippets.lead(body)
            chosen = [first] if first else []
        pieces = [snippets.Piece(title, [(x, y) for x, y, _ in a.spans(title, lang, marks)]),
                  *chosen]
        html = snippets.render(pieces)
        title_html, snips, offsets = html[0], html[1:], [piece.offset for piece in chosen]
    return Hit(id=doc["id"], title=title, title_html=title_html, date=a.date(doc),
               tags=a.tags(doc), kind=doc.get("kind"), source=doc.get("source", ""),
               url=doc.get("url"), snippets=list(snips),
               score=float(score) if score is not None else None, language=lang,
               publication=doc.get("publication"), author=doc.get("author"),
               snippet_pages=a.pages(doc, offsets))


