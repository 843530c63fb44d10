"""The read side's contract (`search.protocol.ReadEngine`), held to by both engines.

One archive of JSON Lines files (the engine corpus of `tests.engine_corpus`,
plus a few articles with punctuated names, possessives, other kinds, a
comma in a tag and a Spanish one) is indexed by `index.writer.update` twice:
into a Whoosh index folder and into a collection of the session's 3-node
Typesense cluster. The write engine comes from `index.writer.write_engine`
and the read engine from `webui.backend.make_engine`, from one configuration
that differs only in `ENGINE`. Every test runs once per engine (`engine`'s
params) and checks the answer against brute force over the files
(`tests.engine_corpus.BruteForce`), never against the other engine or an
earlier answer.

Where the engines legitimately differ, only what the protocol promises both
is asserted: relevance order is the engine's own (BM25F with meaning vectors
in Whoosh, text match in Typesense), so a relevance sort is checked for
holding the right articles in a stable order and a question for its top hit
having the most of its words. "Why this result" takes a Whoosh score apart
and shows a Typesense text match whole; in both, the parts add up and the
counts given for each word are the article's own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import html
import math
import re
import statistics
import time
from collections import Counter
from pathlib import Path

import pytest

from index.analysis import normalize_word, units
from index.article import Article
from index.normalize import normalize_tags
from index.writer import update, write_engine
from search.request import SearchRequest
from search.results import SearchResults
from tests.engine_corpus import (
    CORPUS,
    BruteForce,
    all_of,
    any_of,
    none_of,
    read_jsonl,
    write_jsonl,
)
from tests.explanations import unbalanced
from webui.backend import make_engine
from webui.config import DEFAULTS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:typesense.*")
ENGINES = ["whoosh", "typesense"]

EXTRA = [
    Article(id="x1", source="", title="U.S. and AT&T sign a deal",
            body="Talks with al-Qaeda envoys stalled.\n\nBrazil's coffee growers watched.",
            date=dt.date(2022, 3, 3), tags=normalize_tags(["Security", "Oil, Gas"]),
            kind="Interview", language="en"),
    Article(id="x2", source="", title="us att",
            body="Qaeda cells and the al qaeda network grew. Wheat was short.",
            date=dt.date(2022, 3, 4), kind="Analysis", language="en"),
    Article(id="x3", source="", title="Japan's exports",
            body="Exports from JAPAN'S ports rose as the yen fell.",
            tags=normalize_tags(["Japan", "Trade"]), kind="Analysis", language="en"),
    Article(id="es1", source="", title="Los precios del petróleo",
            body="Los precios suben otra vez en el mercado.", date=dt.date(2022, 3, 1),
            kind="News", language="es"),
]


def _on_disk(a: Article) -> Article:
    # Kinds as `index.kinds` spells them and every language declared, so that
    # what the files say is what an engine holds.
    return dataclasses.replace(a, kind=a.kind.title() if a.kind else None,
                               language=a.language or "en")


ARTICLES = [_on_disk(a) for a in CORPUS] + EXTRA


# -- the archive, indexed once per engine --------------------------------------------------


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """The archive's folder of JSON Lines files (read-only for the tests)."""
    folder = tmp_path_factory.mktemp("contract") / "archive"
    write_jsonl(folder, ARTICLES)
    return folder


@pytest.fixture(scope="module")
def bf(archive) -> BruteForce:
    """Brute force over what the files say."""
    return BruteForce(read_jsonl(archive))


def _config(request, name: str, index_dir: Path, collection: str) -> dict:
    config = {**DEFAULTS, "ENGINE": name, "INDEX_DIR": str(index_dir), "ANSWER_CACHE": 0}
    if name == "typesense":
        cluster = request.getfixturevalue("typesense_cluster")
        config |= {"TYPESENSE_NODES": [n.url for n in cluster.nodes],
                   "TYPESENSE_API_KEY": cluster.api_key, "TYPESENSE_COLLECTION": collection}
    return config


def _index(config: dict, folder: Path):
    index_dir = Path(config["INDEX_DIR"])
    return update(index_dir, [folder], engine=write_engine(config, index_dir))


def _drop(config: dict) -> None:
    """Remove what indexing made in the cluster (the alias, its collections)."""
    if config["ENGINE"] != "typesense":
        return
    from index.typesense_client import settings_from

    client = settings_from(config).client()
    name = config["TYPESENSE_COLLECTION"]
    made = [c["name"] for c in client.collections.retrieve() if c["name"].startswith(name + "_")]
    for drop in [client.aliases[name].delete, *(client.collections[c].delete for c in made)]:
        # Tidying only: what is left dies with the session's cluster.
        with contextlib.suppress(Exception):
            drop()


def _unique(prefix: str) -> str:
    return f"{prefix}_{time.time_ns() % 10**12}"


@pytest.fixture(scope="module", params=ENGINES)
def engine(request, archive, bf, tmp_path_factory):
    """The read engine of `archive` indexed into one engine, through `update`."""
    config = _config(request, request.param, tmp_path_factory.mktemp(request.param),
                     _unique("contract"))
    summary = _index(config, archive)
    assert (summary.failures, summary.added) == ([], len(bf.articles)), summary.line()
    e = make_engine(config)
    yield e
    e.close()
    _drop(config)


def engine_name(e) -> str:
    return "typesense" if type(e).__name__ == "TypesenseEngine" else "whoosh"


def search(e, **kw) -> SearchResults:
    return e.run(SearchRequest(**kw), snippets=False)


def every_id(e, request: SearchRequest, per_page: int = 100) -> list[str]:
    """Every hit of `request`, paging through all of its results."""
    first = e.run(dataclasses.replace(request, page=1, per_page=per_page), snippets=False)
    ids = [h.id for h in first.hits]
    for page in range(2, first.pages + 1):
        r = e.run(dataclasses.replace(request, page=page, per_page=per_page), snippets=False)
        assert r.total == first.total
        ids += [h.id for h in r.hits]
    assert len(ids) == len(set(ids)) == first.total, "pages overlap or miss results"
    return ids


# -- what a search means ------------------------------------------------------------------

#: (typed text, what an article must hold for it, from brute force)
FORMS = [
    ("oil", lambda b: b.word("oil")),
    ("oil wheat", lambda b: all_of(b.word("oil"), b.word("wheat"))),
    ("Negotiations", lambda b: b.word("Negotiations")),  # stemmed like the index
    ("Reports", lambda b: b.word("Reports")),
    ('"interest rates"', lambda b: b.phrase("interest rates")),
    ("interest rates", lambda b: all_of(b.word("interest"), b.word("rates"))),
    ('"top news"', lambda b: b.phrase("top news")),  # a tag named by the phrase
    ("oil AND wheat", lambda b: all_of(b.word("oil"), b.word("wheat"))),
    ("oil OR coffee", lambda b: any_of(b.word("oil"), b.word("coffee"))),
    ("oil NOT coffee", lambda b: all_of(b.word("oil"), none_of(b.word("coffee")))),
    ("oil -coffee", lambda b: all_of(b.word("oil"), none_of(b.word("coffee")))),
    ("-oil", lambda b: none_of(b.word("oil"))),
    ("(oil OR wheat) -coffee", lambda b: all_of(any_of(b.word("oil"), b.word("wheat")),
                                                none_of(b.word("coffee")))),
    ("frost AND (brazil OR coffee) NOT harvest",
     lambda b: all_of(b.word("frost"), any_of(b.word("brazil"), b.word("coffee")),
                      none_of(b.word("harvest")))),
    ("NOT (oil wheat)", lambda b: none_of(all_of(b.word("oil"), b.word("wheat")))),
    ("title:oil", lambda b: b.word("oil", "title")),
    ("t:coffee", lambda b: b.word("coffee", "title")),
    ("body:oil", lambda b: b.word("oil", "body")),
    ("NOT title:oil", lambda b: none_of(b.word("oil", "title"))),
    ("oil -title:oil", lambda b: all_of(b.word("oil"), none_of(b.word("oil", "title")))),
    ('title:"oil story"', lambda b: b.phrase("oil story", "title")),
    ("tag:energy", lambda b: b.word("energy", "tags")),
    ('tag:"top news"', lambda b: b.phrase("top news", "tags")),
    ("tag:energy OR title:wheat", lambda b: any_of(b.word("energy", "tags"),
                                                   b.word("wheat", "title"))),
    ("U.S.", lambda b: b.word("U.S.")),
    ("AT&T", lambda b: b.word("AT&T")),
    ("al-Qaeda", lambda b: b.word("al-Qaeda")),
    ("att", lambda b: b.word("att")),
    ("qaeda", lambda b: b.word("qaeda")),
    ("wheat -al-Qaeda", lambda b: all_of(b.word("wheat"), none_of(b.word("al-Qaeda")))),
    ("Japan's", lambda b: b.word("Japan's")),
    ("JAPAN'S exports", lambda b: all_of(b.word("JAPAN'S"), b.word("exports"))),
    ("Brazil's", lambda b: b.word("Brazil's")),
    ("negotiat*", lambda b: b.prefix("negotiat")),
    ("harv* OR jap*", lambda b: any_of(b.prefix("harv"), b.prefix("jap"))),
    ("title:cof*", lambda b: b.prefix("cof", "title")),
    ("harvist~", lambda b: b.fuzzy("harvist")),
    ("shiping~ -oil", lambda b: all_of(b.fuzzy("shiping"), none_of(b.word("oil")))),
    ("date:2022 frost", lambda b: all_of(b.word("frost"), b.dated(dt.date(2022, 1, 1),
                                                                  dt.date(2022, 12, 31)))),
    ("date:[2021 to 2021-06]", lambda b: b.dated(dt.date(2021, 1, 1), dt.date(2021, 6, 30))),
    ("precios", lambda b: b.word("precios")),
    ("كتاب", lambda b: b.word("كتاب")),  # typed with an Arabic kaf
]


@pytest.mark.parametrize(("q", "meaning"), FORMS, ids=[f[0] for f in FORMS])
def test_a_search_finds_what_brute_force_finds(engine, bf, q, meaning):
    want = bf.ids(SearchRequest(), meaning(bf))
    assert want, "a case that finds nothing proves little"
    got = every_id(engine, SearchRequest(q=q, verbatim=True))
    assert sorted(got) == sorted(want), (sorted(set(got) ^ want)[:10])
    assert search(engine, q=q, verbatim=True).partial_match_note is None


#: A question: question words left out, the rest ranked by how many an article has.
QUESTION = ("which articles mention frost, coffee and brazil?",
            ("mention", "frost", "coffee", "brazil"))
KEYWORDS = ("frost harvest oil wheat", ("frost", "harvest", "oil", "wheat"))


@pytest.mark.parametrize(("q", "words"), [QUESTION, KEYWORDS], ids=["question", "keywords"])
def test_a_question_is_ranked_by_how_many_of_its_words_an_article_has(engine, bf, q, words):
    each = [bf.word(w) for w in words]

    def count(a: Article) -> int:
        return sum(p(a) for p in each)

    everything = bf.ids(SearchRequest(), all_of(*each))
    some = bf.ids(SearchRequest(), any_of(*each))
    assert everything, "the corpus has articles with every word"
    got = set(every_id(engine, SearchRequest(q=q)))
    assert everything <= got <= some, (sorted(everything - got), sorted(got - some))
    assert got == some  # not required to have all: any of the words finds an article
    top = search(engine, q=q, per_page=10)
    counts = [count(bf.by_id[h.id]) for h in top.hits]
    assert counts[0] == len(words), counts
    assert top.partial_match_note, "the reader is told the results are ranked by most words"


def test_when_no_article_has_every_word_those_with_most_come_first(engine, bf):
    """`oil wheat zanzibar`: no article has all three, so those with most of
    them are shown, the reader told which word went unmatched."""
    both = bf.ids(SearchRequest(), all_of(bf.word("oil"), bf.word("wheat")))
    either = bf.ids(SearchRequest(), any_of(bf.word("oil"), bf.word("wheat")))
    assert both and not bf.ids(SearchRequest(), bf.word("zanzibar"))
    got = every_id(engine, SearchRequest(q="oil wheat zanzibar"))
    assert set(got) == either
    assert set(got[:len(both)]) == both
    r = search(engine, q="oil wheat zanzibar")
    assert r.partial_match_note and "zanzibar" in r.partial_match_note


PASTED = ("Officials said the wheat harvest was hurt by frost while coffee prices rose in "
          "Brazil and the Bank of England weighed currency moves as shipping delays and "
          "election talk unsettled the market delegation")


def _pasted_words(bf: BruteForce):
    """The pasted paragraph's words as brute-force predicates, and a function
    giving an article's count of them each weighed by its rarity (BM25's idf
    over the articles)."""
    each = [bf.word(w) for w in PASTED.replace(".", "").split() if units(w)[0].parts]
    n = len(bf.articles)
    rarity = [math.log(1 + (n - df + 0.5) / (df + 0.5))
              for df in (sum(p(a) for a in bf.articles) for p in each)]

    def weighed(a) -> float:
        return sum(r for p, r in zip(each, rarity, strict=True) if p(a))

    return each, weighed


def test_a_pasted_paragraph_finds_articles_with_any_of_its_words(engine, bf):
    """A pasted paragraph is ranked by most words like a question: every
    article holding one of its words (stop words aside) is found, and the
    first page holds more of them, weighed by rarity, than the middle of the
    matches does. (Feedback and meaning reorder the best ones; the order the
    words alone give is checked by the next test.)"""
    each, weighed = _pasted_words(bf)
    assert len(each) > 20
    got = every_id(engine, SearchRequest(q=PASTED))
    assert set(got) == bf.ids(SearchRequest(), any_of(*each))
    held = sorted(weighed(bf.by_id[i]) for i in got)
    first_page = statistics.fmean(weighed(bf.by_id[i]) for i in got[:10])
    if first_page <= statistics.median(held) and engine_name(engine) == "typesense":
        pytest.xfail("Typesense ranks a long text by its text match with tokens dropped from "
                     "the ends of the query, not by how many of the words an article has")
    assert first_page > statistics.median(held), (first_page, statistics.median(held))
    r = search(engine, q=PASTED)
    assert r.partial_match_note and r.partial_match_note.startswith("Ranked by how many of")
    if engine_name(engine) == "whoosh":  # BM25F weighs by rarity; Typesense's text match does not
        assert "a rare word counting for more" in r.partial_match_note


def test_a_pasted_paragraphs_words_alone_put_the_rarest_fullest_article_first(archive, bf,
                                                                               tmp_path_factory):
    """With feedback and meaning off, the word scores alone rank first the
    article whose words of the paragraph weigh most by rarity, though others
    hold more of them (the embedded engine; Typesense has no such setting)."""
    config = {**DEFAULTS, "ENGINE": "whoosh", "ANSWER_CACHE": 0, "FEEDBACK": False,
              "SEMANTIC": False, "INDEX_DIR": str(tmp_path_factory.mktemp("words-only"))}
    _index(config, archive)
    e = make_engine(config)
    try:
        got = every_id(e, SearchRequest(q=PASTED))
    finally:
        e.close()
    each, weighed = _pasted_words(bf)
    best = max(bf.articles, key=weighed)
    assert got[0] == best.id, (got[:3], best.id)
    # Rarity decides, not the count: others hold more of the paragraph's words.
    assert sum(p(best) for p in each) < max(sum(p(a) for p in each) for a in bf.articles)


# -- filters and facets --------------------------------------------------------------------

REQUESTS = [
    SearchRequest(tags=("energy",)),
    SearchRequest(tags=("top news", "finance")),
    SearchRequest(q="oil", not_tags=("grain",)),
    SearchRequest(date_from="2022", date_to="2022"),
    SearchRequest(q="wheat", date_from="2021-06", date_to="2022-06"),
    SearchRequest(date_from="2022-05", date_to="2022-05"),
    SearchRequest(undated="only"),
    SearchRequest(q="oil OR coffee", undated="exclude"),
    SearchRequest(kinds=("Analysis",)),
    SearchRequest(kinds=("Interview", "Analysis")),
    SearchRequest(languages=("fa",)),
    SearchRequest(q="oil", languages=("en", "es"), kinds=("News",)),
    SearchRequest(q="coffee", tags=("top news",), date_from="2021", undated="include"),
]
REQUEST_IDS = [r.to_query_string() for r in REQUESTS]


@pytest.mark.parametrize("r", REQUESTS, ids=REQUEST_IDS)
def test_filters_keep_what_brute_force_keeps(engine, bf, r):
    text = _text_of(bf, r.q)
    want = bf.ids(r, text)
    assert want
    assert sorted(every_id(engine, r)) == sorted(want)


def _text_of(bf: BruteForce, q: str):
    return {"": lambda a: True, "oil": bf.word("oil"), "wheat": bf.word("wheat"),
            "coffee": bf.word("coffee"),
            "oil OR coffee": any_of(bf.word("oil"), bf.word("coffee"))}[q]


def _level(r: SearchRequest, dated: list[dt.date]) -> str:
    """The histogram's level: months within one year, days within one month
    (of the results, or of the date filter)."""
    lo = r.start or min(dated)
    hi = r.end or max(dated)
    lo, hi = max(lo, min(dated)), min(hi, max(dated))
    if (lo.year, lo.month) == (hi.year, hi.month):
        return "day"
    return "month" if lo.year == hi.year else "year"


_SHAPES = {"year": "{:%Y}", "month": "{:%Y-%m}", "day": "{:%Y-%m-%d}"}


@pytest.mark.parametrize("r", [SearchRequest(), SearchRequest(q="oil"), *REQUESTS],
                         ids=["browse", "oil", *REQUEST_IDS])
def test_facets_count_what_brute_force_counts(engine, bf, r):
    text = _text_of(bf, r.q)
    found = bf.found(r, text)
    res = search(engine, **{**_fields(r), "per_page": 5})
    assert res.total == len(found)
    tags = Counter(t.key for a in found for t in a.tags)
    assert {v.value: v.count for v in res.tag_facet.values if not v.selected} == {
        k: n for k, n in tags.items() if k not in r.tags}
    assert {v.value: v.count for v in res.tag_facet.values if v.selected} == {
        k: len(found) for k in r.tags}
    assert res.tag_facet.total_distinct == len(tags)
    dated = [a.date for a in found if a.date]
    if dated:
        level = _level(r, dated)
        assert res.date_facet.level == level
        assert {b.value: b.count for b in res.date_facet.buckets if b.count} == dict(
            Counter(_SHAPES[level].format(d) for d in dated))
    # The undated count, and the kind and language counts, leave out their own filter:
    # what following the facet would show.
    assert res.date_facet.undated == sum(1 for a in bf.found(r, text, dates=False)
                                         if a.date is None)
    assert {v.value: v.count for v in res.kind_facet.values if v.count} == dict(
        Counter(a.kind for a in bf.found(r, text, kinds=False) if a.kind))
    assert {v.value: v.count for v in res.language_facet.values if v.count} == dict(
        Counter(a.language for a in bf.found(r, text, languages=False) if a.language))


def _fields(r: SearchRequest) -> dict:
    return {f.name: getattr(r, f.name) for f in dataclasses.fields(r) if f.init}


# -- order and pages -----------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["newest", "oldest"])
@pytest.mark.parametrize("q", ["", "oil OR coffee"], ids=["browse", "or"])
def test_date_sorts_put_undated_articles_last(engine, bf, sort, q):
    found = bf.found(SearchRequest(), _text_of(bf, q))
    undated = [None] * sum(1 for a in found if a.date is None)
    assert undated
    want = sorted((a.date for a in found if a.date), reverse=sort == "newest") + undated
    # Pages of 25, so the order holds across pages too.
    got = [bf.by_id[i].date for i in every_id(engine, SearchRequest(q=q, sort=sort), 25)]
    assert got == want


@pytest.mark.parametrize("sort", ["relevance", "recency"])
def test_relevance_sorts_hold_the_results_in_a_stable_order(engine, bf, sort):
    want = bf.ids(SearchRequest(), any_of(bf.word("oil"), bf.word("coffee")))
    r = SearchRequest(q="oil OR coffee", sort=sort)
    first = every_id(engine, r)
    assert set(first) == want
    assert every_id(engine, r) == first  # the same order when asked again


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
def test_pages_are_disjoint_and_together_hold_every_result(engine, bf, sort):
    want = bf.ids(SearchRequest(), any_of(bf.word("oil"), bf.word("coffee")))
    per_page = 7
    pages = math.ceil(len(want) / per_page)
    seen: list[str] = []
    for page in range(1, pages + 1):
        r = search(engine, q="oil OR coffee", sort=sort, page=page, per_page=per_page)
        assert (r.total, r.pages, r.page) == (len(want), pages, page)
        assert len(r.hits) == (per_page if page < pages else len(want) - per_page * (pages - 1))
        seen += [h.id for h in r.hits]
    assert len(seen) == len(set(seen)) and set(seen) == want


# -- one article, related articles, tags, completions, figures ---------------------------

SHOWN = ["a1", "a0", "x1", "x3", "fa1", "es1", "p1"]


@pytest.mark.parametrize("article_id", SHOWN)
def test_get_returns_the_article_as_the_file_has_it(engine, bf, article_id):
    a = bf.by_id[article_id]
    view = engine.get(article_id)
    assert view is not None
    assert (view.id, view.title, view.date, view.kind, view.language) == (
        a.id, a.title, a.date, a.kind, a.language)
    assert [(t.key, t.label) for t in view.tags] == [(t.key, t.label) for t in a.tags]
    assert [html.unescape(str(p)) for p in view.paragraphs] == [
        p.strip() for p in a.body.split("\n\n")]


def test_get_marks_the_words_and_knows_no_stranger(engine, bf):
    view = engine.get("x1", q="coffee")
    assert any("<mark>coffee</mark>" in str(p) for p in view.paragraphs)
    assert engine.get("no-such-article") is None


@pytest.mark.parametrize("article_id", ["a1", "p1", "x1", "fa1"])
@pytest.mark.parametrize("n", [1, 3, 5])
def test_more_like_never_returns_the_article_itself(engine, bf, article_id, n):
    related = engine.more_like(article_id, n)
    ids = [h.id for h in related]
    assert len(ids) <= n and len(set(ids)) == len(ids)
    assert article_id not in ids and set(ids) <= set(bf.by_id)
    # Many articles share a1's and x1's words; p1's few (interest, rates, rose) are in
    # two others only, and fa1 shares no word with the one other Persian article.
    if article_id in ("a1", "x1"):
        assert len(ids) == n


def test_more_like_an_unknown_article_is_nothing(engine):
    assert engine.more_like("no-such-article") == []


def _tag_matches(label: str, prefix: str) -> bool:
    """The label starts with what was typed, or has a word that does; both read
    as words, punctuation aside (`Oil, Gas` is offered for `oil g` and `oil,`)."""
    words = re.findall(r"\w+", normalize_word(label))
    want = " ".join(re.findall(r"\w+", normalize_word(prefix)))
    return " ".join(words).startswith(want) or any(w.startswith(want) for w in words)


@pytest.mark.parametrize("prefix", ["", "t", "top", "top n", "news", "ja", "gas", "oil g",
                                    "oil,", "كت", "zz"])
def test_tag_values_match_the_prefix_and_count_the_archive(engine, bf, prefix):
    labels = {t.key: t.label for a in bf.articles for t in a.tags}
    counts = Counter(t.key for a in bf.articles for t in a.tags)
    want = {k: n for k, n in counts.items() if _tag_matches(labels[k], prefix)}
    got = engine.tag_values(prefix, 50)
    assert {v.value: v.count for v in got} == want
    assert all(v.label == labels[v.value] for v in got)
    for limit in (1, 2):
        kept = engine.tag_values(prefix, limit)
        assert len(kept) == min(limit, len(want)) and {v.value for v in kept} <= set(want)


def test_tag_values_count_within_a_search(engine, bf):
    oil = bf.found(SearchRequest(), bf.word("oil"))
    within = engine.tag_values("", 50, SearchRequest(q="oil"))
    assert {v.value: v.count for v in within} == dict(Counter(t.key for a in oil
                                                              for t in a.tags))
    assert engine.tag_values("", 0) == []


@pytest.mark.parametrize("text", ["oi", "oil st", "top", "ja", "negot", "harvest f", "كت",
                                  "U.S"])
def test_every_completion_finds_an_article(engine, bf, text):
    made = engine.complete(text)
    assert made and len(made) <= 8
    for c in made:
        if c.article_id is not None:
            assert engine.get(c.article_id) is not None, c
            continue
        r = SearchRequest(q=c.query, tags=(c.tag,) if c.tag else ())
        assert search(engine, **_fields(r)).total >= 1, c
    assert engine.complete("") == []


def test_stats_count_the_archive(engine, bf):
    s = engine.stats()
    dates = [a.date for a in bf.articles if a.date]
    assert (s.articles, s.first_date, s.last_date, s.undated, s.distinct_tags) == (
        len(bf.articles), min(dates), max(dates), len(bf.articles) - len(dates),
        len({t.key for a in bf.articles for t in a.tags}))
    assert s.message is None


def _said(explanation, word: str, field: str) -> int:
    """How many times "why this result" says `word` occurs in `field` ("title"
    or "text"), from its line for the word; 0 when it names no count there."""
    for line in explanation.lines():
        if f"“{word}”:" not in line:
            continue
        said = re.search(rf"(once|(\d+) times) in the {field}\b", line.split(";")[0])
        if said:
            return 1 if said.group(1) == "once" else int(said.group(2))
    return 0


@pytest.mark.parametrize("q", ["oil wheat", "oil OR coffee", "What is the wheat market?"])
def test_why_this_result(engine, bf, q):
    """Every hit is explained, the parts add up, and the counts it gives for
    each word are the article's own (counted here with a regular expression)."""
    plain = search(engine, q=q, per_page=20)
    why = engine.run(SearchRequest(q=q, per_page=20), explain=True)
    assert [h.id for h in why.hits] == [h.id for h in plain.hits]
    assert not any("Why this result" in m for m in why.messages)
    assert why.hits and all(h.explanation is not None for h in why.hits)
    articles = {a.id: a for a in bf.articles}
    words = [w for w in ("oil", "wheat", "coffee", "market") if w in q]
    for h in why.hits:
        assert unbalanced(h.explanation, 1e-6) == [], h.id
        a = articles[h.id]
        for w in words:
            for field, text in (("title", a.title), ("text", a.body)):
                want = len(re.findall(rf"\b{w}\b", text, flags=re.IGNORECASE))
                assert _said(h.explanation, w, field) == want, (h.id, w, field)


# -- what a reader may type ------------------------------------------------------------------

UNREADABLE = [
    ('"unmatched', lambda b: b.word("unmatched"), False),
    ('"oil wheat', lambda b: all_of(b.word("oil"), b.word("wheat")), True),
    ("oil (wheat", lambda b: all_of(b.word("oil"), b.word("wheat")), True),
    ("(", lambda b: lambda a: True, True),
    (")", lambda b: lambda a: True, True),
    ("AND", lambda b: lambda a: True, True),
    ("oil AND", lambda b: b.word("oil"), True),
    ("OR NOT", lambda b: lambda a: True, True),
    ("title:", lambda b: lambda a: True, True),
]


@pytest.mark.parametrize(("q", "meaning", "finds"), UNREADABLE, ids=[u[0] for u in UNREADABLE])
def test_an_unreadable_search_still_searches_and_says_so(engine, bf, q, meaning, finds):
    r = engine.run(SearchRequest(q=q, verbatim=True))
    assert r.messages, "the reader is told what was left out"
    want = bf.ids(SearchRequest(), meaning(bf))
    assert bool(want) == finds
    assert r.total == len(want)


FIVE = "oil wheat coffee frost brazil".split()
#: (name, text, what it means when brute force can say: None when only "no error" is promised)
HOSTILE = [
    ("4000 characters of words", ("oil wheat " * 400)[:4000],
     lambda b: all_of(b.word("oil"), b.word("wheat"))),
    ("200 words", " ".join([*FIVE, *(f"zq{i}x" for i in range(195))]),
     lambda b: any_of(*(b.word(w) for w in FIVE))),
    ("4000 brackets", "(" * 4000, None),
    ("4000 quotes", '"' * 4000, None),
    ("4000 operators", ("AND OR NOT " * 364)[:4000], None),
    ("4000 minus signs", "-" * 4000, None),
    ("one 4000-letter word", "w" * 4000, None),
    ("4000 characters of prefixes", ("a* " * 1334)[:4000], None),
    ("4000 characters of fuzzy words", ("harvest~2 " * 400)[:4000], None),
    ("4000 characters of fields", ("title:tag:body:" * 267)[:4000], None),
    ("4000 characters of punctuated words", ("U.S. AT&T al-Qaeda " * 211)[:4000], None),
]


@pytest.mark.parametrize(("q", "meaning"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_searches_answer_without_error(engine, bf, q, meaning):
    assert len(q) == 4000 or len(q.split()) == 200
    r = engine.run(SearchRequest(q=q))
    assert isinstance(r, SearchResults) and r.total >= 0
    assert len(r.hits) == min(r.total, 10)
    if meaning is not None:
        assert r.total == len(bf.ids(SearchRequest(), meaning(bf)))
    engine.tag_values(q, 5, SearchRequest(q=q))
    engine.complete(q)


# -- an archive with nothing, and one that changes ------------------------------------------


@pytest.mark.parametrize("name", ENGINES)
def test_an_archive_not_indexed_yet_finds_nothing_and_says_so(request, tmp_path, name):
    e = make_engine(_config(request, name, tmp_path / "index", _unique("contract_none")))
    r = e.run(SearchRequest(q="oil"))
    assert r.total == 0 and r.hits == [] and r.messages
    assert e.version() is None and e.get("a1") is None and e.more_like("a1") == []
    assert e.tag_values("", 5) == [] and e.complete("oi") == []
    assert e.stats().articles == 0


@pytest.mark.parametrize("name", ENGINES)
def test_the_version_changes_after_an_update_and_only_then(request, tmp_path, name):
    folder = tmp_path / "archive"
    first = [_on_disk(a) for a in CORPUS[:6]]
    write_jsonl(folder, first, per_file=3)
    config = _config(request, name, tmp_path / "index", _unique("contract_version"))
    try:
        _index(config, folder)
        e = make_engine(config)
        before = e.version()
        assert before is not None
        assert search(e).total == 6
        for _ in range(3):
            assert e.version() == before
        added = dataclasses.replace(_on_disk(CORPUS[6]), id="new1", title="Zanzibar ferry")
        write_jsonl(folder / "more", [added])
        _index(config, folder)
        deadline = time.monotonic() + 5
        while e.version() == before and time.monotonic() < deadline:
            time.sleep(0.05)
        after = e.version()
        assert after != before
        assert [h.id for h in search(e, q="zanzibar").hits] == ["new1"]
        for _ in range(3):
            assert e.version() == after
        e.close()
    finally:
        _drop(config)


@pytest.mark.parametrize("name", ENGINES)
def test_a_run_that_changes_nothing_keeps_the_version(request, tmp_path, name):
    """An indexing run that finds every file unchanged leaves the token alone,
    so the answer cache (`search.cache.CachedEngine`) keeps its answers."""
    folder = tmp_path / "archive"
    write_jsonl(folder, [_on_disk(a) for a in CORPUS[:4]])
    config = _config(request, name, tmp_path / "index", _unique("contract_same"))
    try:
        _index(config, folder)
        e = make_engine(config)
        before = e.version()
        assert _index(config, folder).line().startswith("added 0, updated 0, unchanged 4")
        time.sleep(0.6)  # longer than the Whoosh engine waits before looking again
        assert e.version() == before
        e.close()
    finally:
        _drop(config)
