"""The Typesense engine against the Whoosh engine and brute force, on one corpus.

The engine test corpus (`tests.engine_corpus`) is written once into a
collection of the session's real 3-node cluster (`typesense_cluster`) and
once into an in-RAM Whoosh index. For each request below, both engines'
totals and result ids must equal what brute force over the corpus says, and
so must the Typesense engine's facet counts. Brute force reads words the
way the index does: an article holds a word when the analyzed terms of its
title and body (`index.analysis.terms`) contain the word's term.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter

import pytest
from whoosh.filedb.filestore import RamStorage

from index.analysis import terms
from index.article import Article
from index.embedded.engine import write_articles
from index.embedded.schema import make_schema
from index.typesense_client import TypesenseSettings
from index.typesense_store import (
    delete_ids,
    encode_term,
    ensure_collection,
    serial,
    upsert_articles,
    wait_replicated,
)
from search.embedded.engine import Engine
from search.request import SearchRequest
from search.typesense import TypesenseEngine
from tests.cluster import fresh_collection
from tests.engine_corpus import CORPUS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:typesense.*")
NAME = "engine_corpus"


@pytest.fixture(scope="module")
def engines(typesense_cluster):
    import typesense

    config = typesense_cluster.client_config()
    client = typesense.Client(config)
    for name in (NAME, f"{NAME}_meta"):
        try:
            client.collections[name].delete()
        except typesense.exceptions.ObjectNotFound:
            pass
    ensure_collection(client, NAME)
    assert upsert_articles(client, NAME, CORPUS) == len(CORPUS)
    wait_replicated([n.url for n in typesense_cluster.nodes], NAME, len(CORPUS),
                    typesense_cluster.api_key)
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, CORPUS)
    return TypesenseEngine(settings(typesense_cluster, NAME)), Engine.from_index(ix)


def settings(cluster, name: str) -> TypesenseSettings:
    """Settings that reach every node of `cluster`."""
    return TypesenseSettings(nodes=tuple(n.url for n in cluster.nodes), api_key=cluster.api_key,
                             collection=name)


def words_of(a: Article) -> set[str]:
    return set(terms(a.title, a.language)) | set(terms(a.body, a.language))


def has(a: Article, word: str) -> bool:
    return terms(word)[0] in words_of(a)


def phrase_in(a: Article, phrase: str) -> bool:
    want = terms(phrase)
    return any(want == got[i:i + len(want)] for got in (terms(a.title, a.language),
                                                       terms(a.body, a.language))
               for i in range(len(got)))


def in_dates(a: Article, r: SearchRequest, ignore_dates: bool = False) -> bool:
    if ignore_dates:
        return True
    if r.start and (a.date is None or a.date < r.start):
        return False
    if r.end and (a.date is None or a.date > r.end):
        return False
    return {"include": True, "only": a.date is None, "exclude": a.date is not None}[r.undated]


def passes(a: Article, r: SearchRequest, text, *, dates: bool = True, kinds: bool = True,
           languages: bool = True) -> bool:
    keys = {t.key for t in a.tags}
    return (text(a) and all(k in keys for k in r.tags) and not keys & set(r.not_tags)
            and in_dates(a, r, not dates)
            and (not kinds or not r.kinds or a.kind in r.kinds)
            and (not languages or not r.languages or a.language in r.languages))


#: (request, what an article's text must hold for it)
CASES = [
    (SearchRequest(q="oil"), lambda a: has(a, "oil")),
    (SearchRequest(q="oil wheat"), lambda a: has(a, "oil") and has(a, "wheat")),
    (SearchRequest(q='"interest rates"'), lambda a: phrase_in(a, "interest rates")),
    (SearchRequest(q="interest rates"), lambda a: has(a, "interest") and has(a, "rates")),
    (SearchRequest(q="oil -coffee"), lambda a: has(a, "oil") and not has(a, "coffee")),
    (SearchRequest(q="oil NOT coffee"), lambda a: has(a, "oil") and not has(a, "coffee")),
    (SearchRequest(q="کتاب"), lambda a: has(a, "کتاب")),
    (SearchRequest(q="oil", tags=("energy",)), lambda a: has(a, "oil")),
    (SearchRequest(tags=("top news",), not_tags=("grain",)), lambda a: True),
    (SearchRequest(q="wheat", date_from="2022", date_to="2022-06"), lambda a: has(a, "wheat")),
    (SearchRequest(date_from="2022-05", date_to="2022-05"), lambda a: True),
    (SearchRequest(q="bank", undated="only"), lambda a: has(a, "bank")),
    (SearchRequest(undated="exclude", kinds=("news",)), lambda a: True),
    (SearchRequest(languages=("fa",)), lambda a: True),
    (SearchRequest(q="date:2022 frost"), lambda a: has(a, "frost") and a.date is not None
     and a.date.year == 2022),
]


def expected(r: SearchRequest, text) -> set[str]:
    return {a.id for a in CORPUS if passes(a, r, text)}


@pytest.mark.parametrize(("request_", "text"), CASES, ids=[c[0].to_query_string() or "browse"
                                                           for c in CASES])
def test_both_engines_find_what_brute_force_finds(engines, request_, text):
    want = expected(request_, text)
    for engine in engines:
        r = engine.run(SearchRequest(**{**_fields(request_), "per_page": 250}))
        assert r.total == len(want), (type(engine).__name__, r.messages)
        assert {h.id for h in r.hits} == want, type(engine).__name__


@pytest.mark.parametrize(("request_", "text"), CASES, ids=[c[0].to_query_string() or "browse"
                                                           for c in CASES])
def test_facets_count_what_brute_force_counts(engines, request_, text):
    ts, _whoosh = engines
    r = ts.run(SearchRequest(**{**_fields(request_), "per_page": 250}))
    found = [a for a in CORPUS if passes(a, request_, text)]
    tag_counts = Counter(t.key for a in found for t in a.tags)
    assert {v.value: v.count for v in r.tag_facet.values if not v.selected} == {
        k: n for k, n in tag_counts.items() if k not in request_.tags}
    assert r.tag_facet.total_distinct == len(tag_counts)
    for v in r.tag_facet.values:
        if v.selected:
            assert v.count == tag_counts[v.value]
    dated = [a.date for a in found if a.date]
    buckets = {b.value: b.count for b in r.date_facet.buckets}
    if r.date_facet.level == "year":
        assert buckets == {f"{y:04d}": n for y, n in Counter(d.year for d in dated).items()} | {
            k: 0 for k, n in buckets.items() if n == 0}
    elif r.date_facet.level == "month":
        assert sum(buckets.values()) == len(dated)
        assert all(buckets[f"{d.year:04d}-{d.month:02d}"] for d in dated)
    else:
        assert Counter({d.isoformat(): 1 for d in dated}) <= Counter(buckets)
        assert sum(buckets.values()) == len(dated)
    undated = sum(1 for a in CORPUS if a.date is None and passes(a, request_, text, dates=False))
    assert r.date_facet.undated == undated
    kinds = Counter(a.kind for a in CORPUS if a.kind and passes(a, request_, text, kinds=False))
    assert {v.value: v.count for v in r.kind_facet.values if v.count} == dict(kinds)
    langs = Counter(a.language for a in CORPUS
                    if a.language and passes(a, request_, text, languages=False))
    assert {v.value: v.count for v in r.language_facet.values if v.count} == dict(langs)


def _fields(r: SearchRequest) -> dict:
    return {k: getattr(r, k) for k in ("q", "tags", "not_tags", "date_from", "date_to",
                                       "undated", "sort", "page", "kinds", "languages")}


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_sorts_and_pages_match_brute_force(engines, sort):
    dates = sorted((a.date for a in CORPUS if a.date), reverse=sort == "newest")
    undated = [None] * sum(1 for a in CORPUS if a.date is None)
    want = dates + undated
    for engine in engines:
        got = []
        for page in (1, 2, 3):
            r = engine.run(SearchRequest(sort=sort, page=page, per_page=50))
            assert r.page == page and r.pages == 3
            got += [h.date for h in r.hits]
        assert got == want, type(engine).__name__


def test_punctuated_terms_stay_one_token(engines, typesense_cluster):
    """`u.s`, `at&t` and `al-qaeda` are single terms; `us`, `att` and `qaeda` are others."""
    ts, _ = engines
    name = "punctuated"
    client = fresh_collection(typesense_cluster, name)
    articles = [Article(id="x1", source="/s/x1.txt", title="U.S. and AT&T",
                        body="Talks with al-Qaeda."),
                Article(id="x2", source="/s/x2.txt", title="us att", body="Qaeda wheat.")]
    upsert_articles(client, name, articles)
    wait_replicated([n.url for n in typesense_cluster.nodes], name, 2, typesense_cluster.api_key)
    engine = TypesenseEngine(settings(typesense_cluster, name))
    assert encode_term("al-qaeda") == "al~qaeda"
    for q, ids in [("U.S.", {"x1"}), ("AT&T", {"x1"}), ("al-Qaeda", {"x1"}), ("att", {"x2"}),
                   ("wheat -al-Qaeda", {"x2"})]:
        assert {h.id for h in engine.run(SearchRequest(q=q)).hits} == ids, q
    assert delete_ids(client, name, ["x2", "nope"]) == 1


@pytest.mark.parametrize("home", [0, 1, 2])
def test_a_write_changes_the_version_token_and_it_never_goes_back(typesense_cluster, home):
    """Followers apply a write about half a second after the leader. An engine
    that asked the nodes in turn saw its token flip between old and new for
    that long (the cause of this test's old flakiness); one that reads from
    its home node sees it only move forward, and settle. Each node is tried as home."""
    name = f"versioned{home}"
    client = fresh_collection(typesense_cluster, name)
    article = Article(id="v1", source="/s/v1.txt", title="Versions", body="A body.")
    upsert_articles(client, name, [article])
    wait_replicated([n.url for n in typesense_cluster.nodes], name, 1, typesense_cluster.api_key)
    engine = TypesenseEngine(settings(typesense_cluster, name), home=home)
    deadline = time.monotonic() + 5
    while engine.version().endswith(":0") and time.monotonic() < deadline:
        time.sleep(0.05)  # the first write's serial reaches the home node
    before = engine.version()
    upsert_articles(client, name, [article])  # same count, new version
    seen = []
    began = time.monotonic()
    while time.monotonic() - began < 2.0:  # four times a follower's lag
        seen.append(engine.version())
        time.sleep(0.02)
    changed = [i for i, v in enumerate(seen) if v != before]
    assert changed, f"the token never changed from {before}"
    # A write moves the serial when it begins and when it ends, so the token may
    # change twice; what it must never do is go back, and it settles at the end.
    # Read after the loop: by then every node has applied the write's last serial
    # (read at once, a follower could still answer with the serial of its start).
    written = serial(client, name)
    serials = [int(v.rsplit(":", 1)[1]) for v in [before, *seen]]
    assert serials == sorted(serials), f"the token went back: {serials}"
    assert serials[-1] == written > 0


def test_snippets_mark_the_words_and_get_returns_the_article(engines):
    ts, whoosh = engines
    hit = ts.run(SearchRequest(q="interest rates")).hits[0]
    assert "<mark>" in hit.snippets[0] and "<mark>" in str(hit.title_html) + hit.snippets[0]
    view = ts.get("a1", q="oil")
    assert view is not None and view.to_json() == whoosh.get("a1", q="oil").to_json()
    assert ts.get("no-such-article") is None
    stats, wstats = ts.stats(), whoosh.stats()
    assert (stats.articles, stats.first_date, stats.last_date, stats.distinct_tags,
            stats.undated) == (wstats.articles, wstats.first_date, wstats.last_date,
                               wstats.distinct_tags, wstats.undated)
    assert isinstance(stats.first_date, dt.date)
