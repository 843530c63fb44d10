"""The engine on a real in-RAM index: query forms, fallbacks, facets, dates, Persian."""

import datetime as dt
import re
from collections import Counter

import pytest
from whoosh.filedb.filestore import RamStorage

from index.analysis import STOPS, terms
from index.article import Article
from index.embedded.engine import write_articles
from index.embedded.schema import make_schema
from search.embedded.engine import NOT_INDEXED, Engine
from search.request import SearchRequest
from search.snippets import MAX_SNIPPETS
from tests.engine_corpus import CORPUS, TAGS


@pytest.fixture(scope="module")
def engine():
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, CORPUS)
    return Engine.from_index(ix)


def matches(article: Article, word: str) -> bool:
    t = terms(word)[0]
    return (t in terms(article.title) or t in terms(article.body)
            or word.lower() in {tag.key for tag in article.tags})


def run(engine, **kw):
    return engine.run(SearchRequest(**kw))


def test_browse_lists_everything_newest_first(engine):
    first, second = run(engine, per_page=100), run(engine, per_page=100, page=2)
    assert first.total == len(CORPUS) and first.pages == 2
    hits = first.hits + second.hits
    assert sorted(h.id for h in hits) == sorted(a.id for a in CORPUS)  # each one once
    newest_first = sorted((a.date for a in CORPUS if a.date), reverse=True)
    undated = sum(1 for a in CORPUS if a.date is None)
    # The undated articles belong at the end of page 2: the corpus has more than a
    # page of dated ones and some undated ones, so both pages are checked.
    assert len(newest_first) > 100 and undated > 0
    assert [h.date for h in hits] == newest_first + [None] * undated


def test_plain_words_all_must_match(engine):
    r = run(engine, q="oil wheat", per_page=100)
    expected = {a.id for a in CORPUS if matches(a, "oil") and matches(a, "wheat")}
    assert {h.id for h in r.hits} == expected and r.total == len(expected)
    assert r.partial_match_note is None


def test_phrase_or_not_title_and_tag_forms(engine):
    assert {h.id for h in run(engine, q='"interest rates"').hits} == {"p1"}
    assert {h.id for h in run(engine, q="interest rates").hits} == {"p1", "p2"}
    either = run(engine, q="oil OR coffee", per_page=100).total
    assert either == sum(1 for a in CORPUS if matches(a, "oil") or matches(a, "coffee"))
    minus = run(engine, q="oil -coffee", per_page=100)
    assert minus.total == sum(1 for a in CORPUS if matches(a, "oil") and not matches(a, "coffee"))
    assert run(engine, q="oil NOT coffee").total == minus.total
    titled = run(engine, q="title:oil", per_page=100)
    assert titled.total == sum(1 for a in CORPUS if "oil" in terms(a.title))
    tagged = run(engine, q='tag:"top news"', per_page=100)
    assert tagged.total == sum(1 for a in CORPUS if any(t.key == "top news" for t in a.tags))


def test_prefix_fuzzy_and_date_forms(engine):
    prefixed = run(engine, q="negotiat*", per_page=100)
    assert prefixed.total == sum(1 for a in CORPUS if "negotiation" in a.body)
    fuzzy = run(engine, q="harvist~", per_page=100)
    assert fuzzy.total == sum(1 for a in CORPUS if "harvest" in a.body)
    in2022 = run(engine, q="date:2022", per_page=100)
    assert in2022.total == sum(1 for a in CORPUS if a.date and a.date.year == 2022)
    ranged = run(engine, q="date:[2021 to 2021-06]", per_page=100)
    assert ranged.total == sum(1 for a in CORPUS
                               if a.date and dt.date(2021, 1, 1) <= a.date <= dt.date(2021, 6, 30))


def test_stemming_applies_to_queries(engine):
    assert run(engine, q="reports").total == run(engine, q="report").total > 0


@pytest.mark.parametrize("q", ['"oil wheat', "oil (wheat", "OR", "title:", "oil AND",
                               "!" * 2000, "[2021 to", "title: oil", "oil)) NOT", "date:"])
def test_unreadable_queries_still_search_and_say_what_they_searched(engine, q):
    r = run(engine, q=q)
    words = [w for w in re.findall(r"\w+", q)
             if w not in ("AND", "OR", "NOT", "title", "date") and w.lower() not in STOPS]
    assert r.searched_for.split() == words or r.searched_for == "title:oil"
    if "oil" in words:
        assert r.total > 0
    if not words:
        assert r.total == len(CORPUS)
    broken = any(c in q for c in '"(') or q.split()[-1] in ("OR", "AND", "NOT", "title:",
                                                            "date:")
    if broken:
        assert r.messages, "the reader is told what was left out"


def test_most_words_fallback_is_ranked_and_announced(engine):
    r = run(engine, q="oil wheat zanzibar", per_page=100)
    assert r.total > 0
    assert r.partial_match_note and "zanzibar" in r.partial_match_note
    both = {a.id for a in CORPUS if matches(a, "oil") and matches(a, "wheat")}
    n = len(both)
    assert {h.id for h in r.hits[:n]} == both  # two words outrank one


def test_tag_facet_counts_match_brute_force(engine):
    for kw in ({}, {"q": "oil"}, {"tags": ("energy",)}, {"q": "market", "not_tags": ("grain",)}):
        r = run(engine, per_page=100, **kw)
        ids = {h.id for h in r.hits} if r.total <= 100 else None
        chosen = [a for a in CORPUS if ids is None or a.id in ids]
        if ids is None:
            chosen = CORPUS
        expected = Counter(t.key for a in chosen for t in a.tags)
        got = {v.value: v.count for v in r.tag_facet.values}
        assert got == {k: c for k, c in expected.items()}
        assert r.tag_facet.total_distinct == len(expected)


def test_tag_count_is_the_total_after_adding_it(engine):
    base = SearchRequest(q="oil")
    r = engine.run(base)
    for v in r.tag_facet.values:
        assert engine.run(base.with_tag(v.value)).total == v.count
    selected = engine.run(base.with_tag("energy"))
    energy = [v for v in selected.tag_facet.values if v.value == "energy"]
    assert energy and energy[0].selected and energy[0].count == selected.total


def test_selected_tag_always_shows(engine):
    r = run(engine, tags=("weather",), q="oil")
    assert any(v.value == "weather" and v.selected for v in r.tag_facet.values)
    unknown = run(engine, tags=("no such tag",))
    assert unknown.total == 0
    assert unknown.tag_facet.values[0].value == "no such tag"


def test_labels_keep_the_source_spelling(engine):
    r = run(engine, tags=("top news",))
    assert [v.label for v in r.tag_facet.values if v.value == "top news"] == ["Top News"]
    assert all(any(t.label == "Top News" for t in h.tags) for h in r.hits)


def test_year_month_and_day_histograms(engine):
    years = run(engine).date_facet
    assert years.level == "year"
    assert {b.value: b.count for b in years.buckets} == Counter(
        str(a.date.year) for a in CORPUS if a.date)
    assert years.undated == sum(1 for a in CORPUS if a.date is None)

    months = run(engine, date_from="2022", date_to="2022").date_facet
    assert months.level == "month" and len(months.buckets) == 12
    assert {b.value: b.count for b in months.buckets if b.count} == Counter(
        f"{a.date:%Y-%m}" for a in CORPUS if a.date and a.date.year == 2022)

    days = run(engine, date_from="2022-05", date_to="2022-05").date_facet
    assert days.level == "day" and len(days.buckets) == 31
    assert {b.value: b.count for b in days.buckets if b.count} == Counter(
        a.date.isoformat() for a in CORPUS if a.date and (a.date.year, a.date.month) == (2022, 5))
    # Following a bucket gives exactly its count.
    for b in months.buckets:
        req = SearchRequest().with_dates(b.value, b.value)
        assert engine.run(req).total == b.count


def test_undated_include_only_exclude(engine):
    undated = sum(1 for a in CORPUS if a.date is None)
    assert run(engine, undated="only").total == undated
    assert run(engine, undated="exclude").total == len(CORPUS) - undated
    assert run(engine, undated="include").total == len(CORPUS)
    assert run(engine, date_from="2021").total == len(CORPUS) - undated


def test_sorts(engine):
    newest = [h.date for h in run(engine, q="oil", sort="newest", per_page=100).hits]
    oldest = [h.date for h in run(engine, q="oil", sort="oldest", per_page=100).hits]
    dated_new = [d for d in newest if d]
    assert dated_new == sorted(dated_new, reverse=True)
    assert [d for d in oldest if d] == sorted(dated_new)
    scores = [h.score for h in run(engine, q="oil", per_page=100).hits]
    assert scores == sorted(scores, reverse=True)


def test_persian_keyboard_variants_and_digits(engine):
    assert {h.id for h in run(engine, q="كتاب").hits} == {"fa1"}  # Arabic kaf
    assert {h.id for h in run(engine, q="يكم").hits} == {"fa1"}  # Arabic yeh and kaf
    assert {h.id for h in run(engine, q="1401").hits} == {"fa1"}  # Persian digits indexed
    assert {h.id for h in run(engine, q="۱۴۰۱").hits} == {"fa1"}
    assert run(engine, tags=("كتاب",)).total == 1  # a tag typed with an Arabic kaf
    assert run(engine, date_from="1401/03/07", date_to="1401/03/07").total == 1


def test_snippets_mark_matches_and_fall_back_to_the_lead(engine):
    r = run(engine, q="delegation", per_page=100)
    assert r.hits and all("<mark>" in str(s) for h in r.hits for s in h.snippets[:1])
    # One passage per place the word stands in the body: its sentence in the
    # first paragraph, and the second paragraph when it repeats it there.
    by_id = {a.id: a for a in CORPUS}
    per_hit = {h.id: len(h.snippets) for h in r.hits}
    assert per_hit == {i: min(by_id[i].body.count("delegation"), MAX_SNIPPETS) for i in per_hit}
    assert set(per_hit.values()) == {1, 2}  # the corpus has hits of both kinds
    only_title = run(engine, q="title:rates").hits
    p1 = next(h for h in only_title if h.id == "p1")
    assert "<mark>Rates</mark>" in str(p1.title_html)
    assert p1.snippets and "Interest rates rose" in str(p1.snippets[0])


def test_a_hit_shows_at_most_max_snippets_passages():
    # The word in five paragraphs far apart: five places to show, MAX_SNIPPETS shown.
    body = "\n\n".join(f"Paragraph {n} is about the lighthouse keeper and nothing else."
                       + " Filler words follow here." * 12 for n in range(5))
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, [Article(id="l1", source="/src/l1.txt", title="Keepers", body=body)])
    hits = Engine.from_index(ix).run(SearchRequest(q="lighthouse")).hits
    assert MAX_SNIPPETS == 2
    assert [h.id for h in hits] == ["l1"] and len(hits[0].snippets) == MAX_SNIPPETS
    assert all("<mark>lighthouse</mark>" in str(s) for s in hits[0].snippets)


def test_a_misspelling_is_corrected_and_the_reader_may_search_as_typed(engine):
    r = run(engine, q="delegatoin")
    assert (r.corrected, r.corrected_from) == ("delegation", "delegatoin")
    assert r.total == run(engine, q="delegation").total > 0
    exact = engine.run(SearchRequest(q="delegatoin", verbatim=True))
    assert exact.total == 0 and exact.corrected is None
    assert exact.suggestion == "delegation"


def test_get_more_like_tag_values_and_stats(engine):
    view = engine.get("p1", q="interest")
    assert view.title == "Rates" and "<mark>Interest</mark>" in str(view.paragraphs[0])
    assert engine.get("nope") is None
    assert len(engine.get("a1").paragraphs) == 2
    related = engine.more_like("p1", n=3)
    assert related and related[0].id == "p2"
    values = engine.tag_values("to", 5)
    assert [v.value for v in values] == ["top news"]
    assert values[0].count == sum(1 for a in CORPUS if any(t.key == "top news" for t in a.tags))
    assert [v.value for v in engine.tag_values("news")] == ["top news"]  # a word of the tag
    stats = engine.stats()
    assert stats.articles == len(CORPUS)
    assert stats.distinct_tags == len(TAGS) + 1


def test_json_contract_shape(engine):
    j = run(engine, q="oil").to_json()
    assert set(j) >= {"q", "searched_for", "total", "page", "pages", "took_ms", "hits",
                      "facets", "suggestion"}
    hit = j["hits"][0]
    assert set(hit) >= {"id", "title", "title_html", "date", "tags", "kind", "source",
                        "snippets"}
    assert all(isinstance(t, str) for t in hit["tags"])
    assert set(j["facets"]) >= {"tags", "tags_total", "dates"}
    assert set(j["facets"]["dates"]) >= {"level", "buckets", "undated"}


def test_missing_or_empty_index_is_not_an_error(tmp_path):
    for e in (Engine(tmp_path / "nothing"),
              Engine.from_index(RamStorage().create_index(make_schema()))):
        r = e.run(SearchRequest(q="oil"))
        assert r.total == 0 and NOT_INDEXED in r.messages
        assert e.get("x") is None and e.more_like("x") == [] and e.tag_values("a", 5) == []
        assert e.stats().articles == 0


def test_engine_sees_new_commits(tmp_path):
    from index.embedded.store import make_current, new_generation

    gen, ix = new_generation(tmp_path)
    write_articles(ix, CORPUS[:5])
    make_current(tmp_path, gen)
    e = Engine(tmp_path)
    assert e.run(SearchRequest()).total == 5
    write_articles(ix, CORPUS[5:8])
    e.refresh()  # skip the half-second wait
    assert e.run(SearchRequest()).total == 8
    gen2, ix2 = new_generation(tmp_path)
    write_articles(ix2, CORPUS[:2])
    make_current(tmp_path, gen2)
    e.refresh()
    assert e.run(SearchRequest()).total == 2


def test_hits_without_snippets_are_the_same_hits(engine):
    req = SearchRequest(q="oil OR wheat", per_page=50)
    full, plain = engine.run(req), engine.run(req, snippets=False)
    assert [h.id for h in plain.hits] == [h.id for h in full.hits] and full.hits
    assert all(not h.snippets for h in plain.hits) and all(h.snippets for h in full.hits)
    assert plain.total == full.total


def test_relevance_and_recency_against_brute_force(engine):
    q = "oil OR wheat OR rates"
    plain = engine.run(SearchRequest(q=q, per_page=100))
    assert 3 <= plain.total <= 100
    by_id = {a.id: a for a in CORPUS}
    dated = [a.date for a in by_id.values() if a.date]
    newest = max(dated).toordinal()
    ages = sorted(newest - by_id[h.id].date.toordinal() for h in plain.hits if by_id[h.id].date)
    mid = len(ages) // 2
    median = ages[mid] if len(ages) % 2 else (ages[mid - 1] + ages[mid]) / 2

    def expected(hit):
        a = by_id[hit.id]
        age = newest - a.date.toordinal() if a.date else median
        return hit.score * 0.5 ** (age / 365.0)

    want = {h.id: expected(h) for h in plain.hits}
    mixed = engine.run(SearchRequest(q=q, per_page=100, sort="recency"))
    assert {h.id for h in mixed.hits} == set(want)  # the same articles, none dropped
    got = [want[h.id] for h in mixed.hits]
    assert all(a >= b * (1 - 1e-4) for a, b in zip(got, got[1:], strict=False))
    for h in mixed.hits:
        assert h.score == pytest.approx(want[h.id], rel=1e-4)
    assert [h.id for h in mixed.hits] != [h.id for h in plain.hits]  # the decay matters here
    assert any(not by_id[h.id].date for h in mixed.hits)  # undated articles stay in
