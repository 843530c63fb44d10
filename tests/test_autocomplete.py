"""Search-box completions (`search.autocomplete`, `Engine.complete`, `/complete`).

The engine answers over a real in-RAM index. Every expected list is worked
out here again by brute force over the articles as written (a regular
expression for words, the analyzer's folding and stop words, a plain loop
over every title, tag and body), so the sorted arrays, bisections and
candidate caps of the module are checked against the plain definition of
each kind. The web layer is checked through Flask's test client over a real
index, reading the HTML it returns.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter

import pytest
from whoosh.filedb.filestore import RamStorage

from index.analysis import is_indexed_alone, normalize_word, stem
from index.article import Article, Tag
from index.embedded.engine import write_articles
from index.embedded.schema import make_schema
from search import autocomplete
from search.autocomplete import KINDS, MAX_COMPLETIONS, MAX_TEXT, Completion
from search.embedded.engine import Engine
from search.embedded.generations import REFRESH_SECONDS
from tests.webui_fixtures import parse_html, path_of, query_of
from webui import create_app
from webui.backend import close_engine


def _article(n: int, title: str, date: dt.date | None, tags: tuple[str, ...] = (),
             body: str = "", language: str = "en") -> Article:
    return Article(id=f"a{n:02d}", source=f"/archive/{n:02d}.txt", title=title,
                   body=body or f"Filler text number {n}.", date=date,
                   tags=tuple(Tag(t.lower(), t) for t in tags), language=language)


D = dt.date
ARTICLES = [
    _article(1, "Oil prices rise in March", D(2021, 3, 5), ("Energy",),
             "Harvest reports and a harvest festival."),
    _article(2, "Oil prices fall again", D(2021, 2, 1), ("Energy", "Markets"),
             "The harvest was poor; Harvey said so."),
    _article(3, "Oil production slows", D(2020, 12, 1), ("Energy",), "A harvest of data."),
    _article(4, "Crude oil prices steady", D(2020, 6, 1), ("Energy", "Economy"),
             "Harvey and Harvard economists disagree."),
    _article(5, "Coffee exports grow", D(2021, 4, 1), ("Coffee",)),
    _article(6, "Coffee exports shrink", D(2019, 1, 1), ("Coffee",)),
    _article(7, "Coffee talks stall", D(2018, 5, 5), ("Coffee", "Trade talks")),
    _article(8, "Bank of England holds rates", D(2021, 1, 1), ("Banking",)),
    _article(9, "Éclair makers protest in Paris", D(2020, 1, 1), ("Food",)),
    _article(10, "گزارش بندر و کشتیرانی", D(2022, 3, 1), ("اقتصاد",),
             "این گزارش درباره بندر است.", language="fa"),
    # The same title again, older: only the newest of the two is offered.
    _article(11, "Oil prices rise in March", D(2019, 3, 5), ("Energy",)),
    _article(12, "Undated oil memo", None, ("Memo",)),
    _article(13, "Prices of rice rise", D(2017, 7, 7), ("Food",)),
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, ARTICLES)
    return Engine.from_index(ix)


# -- the brute force ------------------------------------------------------------------------

WORD = re.compile(r"\w+")


def words_of(text: str) -> list[str]:
    """Folded words a prefix may start (stop words and single letters left out)."""
    return [w for w in (normalize_word(m) for m in WORD.findall(text)) if is_indexed_alone(w)]


def typed(text: str) -> tuple[str, str, list[str], str | None]:
    """(head, prefix, context, previous word) of a text of plain words."""
    raw = text.split()
    head = text[:text.rstrip().rfind(raw[-1])]
    earlier = [normalize_word(w) for w in raw[:-1]]
    context = [w for w in earlier if is_indexed_alone(w)]
    previous = earlier[-1] if earlier and is_indexed_alone(earlier[-1]) else None
    return head, normalize_word(raw[-1]), context, previous


def newest_first(articles: list[Article]) -> list[Article]:
    dated = sorted((a for a in articles if a.date), key=lambda a: a.date, reverse=True)
    return dated + [a for a in articles if not a.date]


def expected_titles(text: str) -> list[Completion]:
    _head, prefix, context, _previous = typed(text)
    out, seen = [], set()
    for a in newest_first(ARTICLES):
        words = words_of(a.title)
        stems = {stem(w) for w in words}
        if (any(w.startswith(prefix) for w in words)
                and all(stem(c) in stems for c in context)
                and tuple(dict.fromkeys(words)) not in seen):
            seen.add(tuple(dict.fromkeys(words)))
            out.append(Completion(" ".join(a.title.split()), "title", text.strip(),
                                  article_id=a.id))
    return out


def expected_phrases(text: str) -> list[Completion]:
    head, prefix, context, previous = typed(text)
    if context and previous is None:
        return []
    counts: Counter[str] = Counter()
    for a in ARTICLES:
        tokens = list(WORD.finditer(a.title))
        pairs = set()
        for x, y in zip(tokens, tokens[1:], strict=False):
            fx, fy = normalize_word(x.group()), normalize_word(y.group())
            if (a.title[x.end():y.start()].isspace() and is_indexed_alone(fx)
                    and is_indexed_alone(fy)):
                pairs.add((fx, fy))
        counts.update(pairs)
    found = []
    for (first, second), n in counts.items():
        if n < 2:
            continue
        if previous is not None and first == previous and second.startswith(prefix):
            if second != prefix:
                found.append((-n, f"{first} {second}", head + second))
        elif previous is None and first.startswith(prefix):
            found.append((-n, f"{first} {second}", head + f"{first} {second}"))
    return [Completion(q, "phrase", q) for _n, _p, q in sorted(found)]


def expected_words(text: str) -> list[Completion]:
    """Words of titles and bodies, by how many articles hold the word's stem
    in the title plus how many in the body (the vocabulary's frequency)."""
    head, prefix, _context, _previous = typed(text)
    in_title = Counter(s for a in ARTICLES for s in {stem(w) for w in words_of(a.title)})
    in_body = Counter(s for a in ARTICLES for s in {stem(w) for w in words_of(a.body)})
    vocabulary = {w for a in ARTICLES for w in words_of(f"{a.title} {a.body}")}
    found = sorted((-(in_title[stem(w)] + in_body[stem(w)]), w) for w in vocabulary
                   if w.startswith(prefix) and w != prefix)
    return [Completion(head + w, "word", head + w) for _n, w in found]


def expected_tags(text: str) -> list[Completion]:
    head, prefix, _context, _previous = typed(text)
    counts: Counter[tuple[str, str]] = Counter(
        (t.key, t.label) for a in ARTICLES for t in a.tags)
    found = sorted((-n, normalize_word(label), key, label) for (key, label), n in counts.items()
                   if normalize_word(label).startswith(prefix))
    return [Completion(label, "tag", head.strip(), tag=key) for _n, _f, key, label in found]


def expected(text: str) -> dict[str, list[Completion]]:
    return {"phrase": expected_phrases(text), "word": expected_words(text),
            "tag": expected_tags(text), "title": expected_titles(text)}


def by_kind(found: list[Completion]) -> dict[str, list[Completion]]:
    return {kind: [c for c in found if c.kind == kind] for kind in KINDS}


def where(c: Completion) -> tuple:
    return (c.query, c.tag, c.article_id)


TEXTS = ["oil pr", "oi", "Oil", "OIL PRICES R", "coffee ex", "co", "e", "ecl", "ÉCL",
         "bank of en", "harv", "prices ri", "crude oil p", "ra", "p", "كشت", "zzz"]


# -- the engine against the brute force ------------------------------------------------------


@pytest.mark.parametrize("text", TEXTS)
def test_each_kind_is_the_start_of_its_brute_force_list(engine, text):
    found = engine.complete(text)
    assert len(found) <= MAX_COMPLETIONS
    assert [c.kind for c in found] == sorted((c.kind for c in found), key=KINDS.index)
    assert len({where(c) for c in found}) == len(found)
    want = expected(text)
    got = by_kind(found)
    share = MAX_COMPLETIONS // len(KINDS)
    for kind in KINDS:
        others = {where(c) for c in found if c.kind != kind}
        possible = [c for c in want[kind] if where(c) not in others]
        assert got[kind] == possible[:len(got[kind])], kind
        assert len(got[kind]) >= min(share, len(possible)), kind
    available = len({where(c) for kind in KINDS for c in want[kind]})
    assert len(found) == min(MAX_COMPLETIONS, available)


@pytest.mark.parametrize("text", TEXTS)
def test_lookups_match_the_brute_force_in_full(text):
    # The per-kind lookups of the module, uncut by the shares of the final list.
    tags = Counter((t.key, t.label) for a in ARTICLES for t in a.tags)
    index = autocomplete.CompletionIndex.build(
        ((a.id, a.title) for a in newest_first(ARTICLES)),
        ((key, label, n) for (key, label), n in tags.items()))
    read = autocomplete.read(text)
    want = expected(text)
    titles = [index.article_ids[t] for t in index.titles_for(read, 50)]
    assert titles == [c.article_id for c in want["title"]]
    if not (read.context and read.previous is None):
        phrases = index.phrases_for(read, 50)
        assert [c.query for c in want["phrase"]] == [
            read.head + (p.split(" ", 1)[1] if read.previous else p) for p in phrases
            if not read.previous or p.split(" ", 1)[1] != read.prefix]
    tags = [index.tag_keys[i] for i in index.tags_for(read.prefix, 50)]
    assert tags == [c.tag for c in want["tag"]]


def test_the_flagship_examples(engine):
    found = engine.complete("oil pr")
    assert found[0] == Completion("oil prices", "phrase", "oil prices")
    titles = [c.text for c in found if c.kind == "title"]
    assert titles[:2] == ["Oil prices rise in March", "Oil prices fall again"]
    # The earlier word must be in the title: "Prices of rice rise" has no oil.
    assert "Prices of rice rise" not in titles
    tag = [c for c in engine.complete("coff") if c.kind == "tag"]
    assert tag == [Completion("Coffee", "tag", "", tag="coffee")]


def test_context_is_compared_by_stem(engine):
    # "price" (typed) and "Prices" (titled) are one word to the index.
    titles = [c.article_id for c in engine.complete("price ri") if c.kind == "title"]
    assert titles == ["a01", "a13"]  # a11 repeats a01's title and is older


def test_folding_matches_accents_case_and_arabic_letter_forms(engine):
    assert [c.article_id for c in engine.complete("ÉCLA") if c.kind == "title"] == ["a09"]
    assert [c.article_id for c in engine.complete("eclai") if c.kind == "title"] == ["a09"]
    # Typed with an Arabic kaf (ك); the title has the Persian keheh (ک).
    assert [c.article_id for c in engine.complete("كشتي") if c.kind == "title"] == ["a10"]


def test_query_syntax_before_the_prefix_is_kept_and_never_context(engine):
    found = engine.complete("title:oil pr")
    assert Completion("title:oil prices", "phrase", "title:oil prices") in found
    assert all(c.query.startswith("title:oil") for c in found if c.kind != "tag")
    # A NOT-ed word is not required of titles.
    titles = [c.article_id for c in engine.complete("-oil pri") if c.kind == "title"]
    assert "a13" in titles
    # A tag takes the prefix's place: what only made sense before it goes too.
    tags = [c for c in engine.complete("oil OR tag:coff") if c.kind == "tag"]
    assert tags == [Completion("Coffee", "tag", "oil", tag="coffee")]


def test_nothing_to_complete(engine):
    assert engine.complete("") == []
    assert engine.complete("oil ") == []  # the text ends in no word
    assert engine.complete("oil*") == []
    assert engine.complete("zzzz") == []
    long = "oil " * (MAX_TEXT // 4) + "pr"
    assert len(long) > MAX_TEXT
    assert engine.complete(long) == []
    assert engine.complete(long[-MAX_TEXT:]) != []  # the same end, short enough


def test_limit(engine):
    assert engine.complete("oil pr", limit=0) == []
    assert {c.kind for c in engine.complete("co")} == set(KINDS)
    three = engine.complete("co", limit=3)
    assert [c.kind for c in three] == ["phrase", "word", "tag"]  # earlier kinds first
    assert sum(len(v) for v in expected("p").values()) > MAX_COMPLETIONS
    assert len(engine.complete("p", limit=50)) == MAX_COMPLETIONS


def test_an_empty_archive_completes_nothing():
    ix = RamStorage().create_index(make_schema())
    assert Engine.from_index(ix).complete("oil") == []


def test_a_new_generation_brings_its_titles():
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, ARTICLES[:3])
    engine = Engine.from_index(ix)
    assert [c.article_id for c in engine.complete("coff") if c.kind == "title"] == []
    write_articles(ix, ARTICLES[4:6])
    time.sleep(REFRESH_SECONDS + 0.1)  # the engine looks for a new generation this often
    titles = [c.article_id for c in engine.complete("coff") if c.kind == "title"]
    assert titles == ["a05", "a06"]


# -- the ceilings ----------------------------------------------------------------------------


def test_titles_are_looked_for_among_a_bounded_number_of_candidates(monkeypatch):
    # 30 titles hold "market"; with room for 8 candidates, a prefix held by
    # more title words than that is looked for among the 8 newest titles only.
    monkeypatch.setattr(autocomplete, "MAX_CANDIDATES", 8)
    articles = [_article(n, f"Market report {n}", D(2020, 1, 1) + dt.timedelta(days=n))
                for n in range(30)]
    articles.append(_article(40, "Marmalade exports", D(2000, 1, 1)))
    index = autocomplete.CompletionIndex.build(
        ((a.id, a.title) for a in newest_first(articles)), [])
    read = autocomplete.read

    def titles(text: str, limit: int = 50) -> list[str]:
        return [index.article_ids[t] for t in index.titles_for(read(text), limit)]

    assert titles("mar") == [f"a{n:02d}" for n in range(29, 21, -1)]  # 8 examined
    assert titles("marm") == ["a40"]  # a rare prefix is found wherever it is
    assert titles("report mar") == [f"a{n:02d}" for n in range(29, 21, -1)]
    assert titles("mar", limit=3) == ["a29", "a28", "a27"]


def test_only_the_newest_titles_and_most_frequent_phrases_are_kept(monkeypatch):
    monkeypatch.setattr(autocomplete, "MAX_TITLES", 5)
    monkeypatch.setattr(autocomplete, "MAX_PHRASES", 2)
    titles = [(f"t{n}", t) for n, t in enumerate(
        ["red apple pie", "red apple jam", "green pear jam", "green pear tart",
         "green pear cake", "red apple cake", "blue plum cake"])]
    index = autocomplete.CompletionIndex.build(titles, [])
    assert len(index) == 5
    assert index.article_ids == ["t0", "t1", "t2", "t3", "t4"]
    # "green pear" is in 3 titles, "red apple" in 2 (the sixth title is not
    # kept), "pear jam" and the rest in fewer than two.
    assert index.phrases == ["green pear", "red apple"]


def test_one_index_per_generation_is_built_once():
    built = []

    def build() -> autocomplete.CompletionIndex:
        built.append(1)
        return autocomplete.CompletionIndex.build([("a", "Some title")], [])

    kept = autocomplete.PerGeneration()
    first = kept.get(("g", 1), build)
    assert kept.get(("g", 1), build) is first
    kept.get(("g", 2), build)
    kept.get(("g", 3), build)
    assert len(built) == 3
    kept.get(("g", 1), build)  # only the current and previous generations stay
    assert len(built) == 4


# -- the web layer ---------------------------------------------------------------------------

HX = {"HX-Request": "true", "HX-Target": "q-options"}


@pytest.fixture(scope="module")
def client(corpus_index):
    app = create_app({"INDEX_DIR": str(corpus_index), "TESTING": True})
    yield app.test_client()
    close_engine(app)


def test_the_fragment_is_options_with_ready_links(client):
    r = client.get("/complete?q=harb&tag=memo&sort=newest", headers=HX)
    assert r.status_code == 200
    assert {"HX-Request", "HX-Target"} <= set(r.vary)
    assert r.cache_control.private and r.cache_control.max_age == 60
    doc = parse_html(b"<ul>" + r.data + b"</ul>")
    options = doc.xpath('//li[@role="option"]')
    assert 0 < len(options) <= MAX_COMPLETIONS
    assert len({o.get("id") for o in options}) == len(options)
    assert all(o.get("aria-selected") == "false" for o in options)
    kinds = {o.get("class").split()[-1].removeprefix("completion-"): o for o in options}
    word = kinds["word"]
    href = word.xpath(".//a/@href")[0]
    assert path_of(href) == "/"
    assert query_of(href) == [("q", "harbour"), ("tag", "memo"), ("sort", "newest")]
    assert word.get("data-q") == "harbour" and word.get("data-in-page") is not None
    title = kinds["title"]
    assert path_of(title.xpath(".//a/@href")[0]).startswith("/articles/")
    assert title.get("data-in-page") is None
    # The hostile title is text, never markup.
    assert not doc.xpath("//script") and not doc.xpath("//li//b")


def test_a_tag_option_adds_the_tag_and_drops_the_prefix(client):
    r = client.get("/complete?q=harbour+mem", headers=HX)
    doc = parse_html(b"<ul>" + r.data + b"</ul>")
    tag = doc.xpath('//li[contains(@class, "completion-tag")]')[0]
    assert tag.xpath("string(.//span[@class='completion-text'])") == "Memo"
    assert query_of(tag.xpath(".//a/@href")[0]) == [("q", "harbour"), ("tag", "memo")]
    assert tag.get("data-q") == "harbour"


def test_no_suggestions_is_an_empty_list(client):
    r = client.get("/complete?q=zzzzqx", headers=HX)
    assert r.status_code == 200
    assert not parse_html(b"<ul>" + r.data + b"</ul>").xpath("//li")


def test_a_reader_landing_on_the_fragment_url_is_sent_to_the_search(client):
    for headers in ({}, {"HX-Request": "true", "HX-Target": "results-region"},
                    {**HX, "HX-History-Restore-Request": "true"}):
        r = client.get("/complete?q=harb&tag=memo", headers=headers)
        assert r.status_code == 303
        assert r.headers["Location"] == "/?q=harb&tag=memo"
        assert "HX-Request" in r.vary


def test_the_search_box_is_a_combobox_over_the_list(client):
    for url in ("/", "/?q=harbour", "/articles/art-01", "/tags"):
        doc = parse_html(client.get(url).data)
        box = doc.get_element_by_id("q")
        assert box.get("role") == "combobox"
        assert box.get("aria-autocomplete") == "list"
        assert box.get("aria-expanded") == "false"
        listbox = doc.get_element_by_id(box.get("aria-controls"))
        assert listbox.get("role") == "listbox" and listbox.get("aria-label")
        assert listbox.get("hidden") is not None
        assert listbox.get("hx-get") == "/complete"
        assert "delay:" in listbox.get("hx-trigger")
        assert listbox.get("hx-sync") == "this:replace"
        assert "/static/complete.js" in doc.xpath("//script/@src")
        assert not [s for s in doc.xpath("//script") if (s.text or "").strip()]


def test_typed_text_is_parsed_like_a_search(client):
    # Control characters and surrounding spaces go, as for any search.
    r = client.get("/complete?q=%20harb%01%20", headers=HX)
    doc = parse_html(b"<ul>" + r.data + b"</ul>")
    assert doc.xpath('//li[@data-q="harbour"]')

