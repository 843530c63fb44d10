"""The date facet: a continuous time axis, grouped years, and what the web UI
makes of it (the chart, its counts, the date shortcuts).

Facets are counted by the real engine on in-RAM indexes; the chart and the
shortcuts are built by the real presenters inside a Flask request context.
"""

from __future__ import annotations

import datetime as dt

import pytest
from whoosh.filedb.filestore import RamStorage

from index.article import Article
from index.embedded.engine import write_articles
from index.embedded.schema import make_schema
from search import facets
from search.embedded.engine import Engine
from search.request import SearchRequest
from search.results import DateBucket, DateFacet, SearchResults
from tests.webui_fixtures import query_of
from webui import create_app, histogram, links, presenters


def engine_of(dates: list[dt.date | None]) -> Engine:
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, [
        Article(id=f"a{i}", source=f"/src/a{i}.txt", title=f"Story {i}",
                body=f"A story about the harbour, number {i}.", date=d)
        for i, d in enumerate(dates)
    ])
    return Engine.from_index(ix)


@pytest.fixture
def ctx():
    app = create_app({"INDEX_DIR": "/nonexistent-archivist-index"})
    with app.test_request_context("/"):
        yield


# -- the engine's facet ---------------------------------------------------------------


def test_years_without_articles_keep_their_place():
    dates = [dt.date(y, 5, 1) for y in (2019, 2019, 2020, 2023, 2024, 2024, 2024)]
    r = engine_of([*dates, None]).run(SearchRequest())
    f = r.date_facet
    assert f.level == "year"
    assert [(b.value, b.count) for b in f.buckets] == [
        ("2019", 2), ("2020", 1), ("2021", 0), ("2022", 0), ("2023", 1), ("2024", 3)]
    assert f.undated == 1
    assert all(b.value_to == "" and b.bounds == (b.value, b.value) for b in f.buckets)
    empty = f.buckets[2]
    assert (empty.start, empty.end) == (dt.date(2021, 1, 1), dt.date(2021, 12, 31))


def test_a_long_span_is_counted_by_decade():
    years = [1900, 1901, 1955, 1983, 1987, 2026]
    engine = engine_of([dt.date(y, 1, 15) for y in years])
    f = engine.run(SearchRequest()).date_facet
    assert f.level == "decade"
    assert len(f.buckets) == 13
    assert [b.label for b in f.buckets][:2] == ["1900s", "1910s"]
    assert f.buckets[-1].label == "2020s"
    counts = {b.label: b.count for b in f.buckets if b.count}
    assert counts == {"1900s": 2, "1950s": 1, "1980s": 2, "2020s": 1}
    eighties = f.buckets[8]
    assert eighties.bounds == ("1980", "1989")
    assert (eighties.start, eighties.end) == (dt.date(1980, 1, 1), dt.date(1989, 12, 31))
    # Following a decade gives exactly its count, and shows each of its ten years.
    for b in f.buckets:
        assert engine.run(SearchRequest().with_dates(*b.bounds)).total == b.count
    inside = engine.run(SearchRequest().with_dates(*eighties.bounds)).date_facet
    assert inside.level == "year"
    assert [b.value for b in inside.buckets] == [str(y) for y in range(1980, 1990)]
    assert [b.count for b in inside.buckets] == [0, 0, 0, 1, 0, 0, 0, 1, 0, 0]


@pytest.mark.parametrize(("span", "level", "bars"), [(40, "year", 40), (41, "decade", 5)])
def test_forty_years_are_shown_one_by_one_and_no_more(span, level, bars):
    engine = engine_of([dt.date(1960, 3, 1), dt.date(1960 + span - 1, 3, 1)])
    f = engine.run(SearchRequest()).date_facet
    assert (f.level, len(f.buckets)) == (level, bars)
    assert len(f.buckets) <= facets.MAX_BARS


def test_centuries_when_decades_are_too_many():
    f = engine_of([dt.date(1200, 1, 1), dt.date(2026, 1, 1)]).run(SearchRequest()).date_facet
    assert f.level == "century"
    assert [b.label for b in f.buckets][0] == "1200\u20131299"
    assert f.buckets[-1].bounds == ("2000", "2099")
    assert sum(b.count for b in f.buckets) == 2


def test_decades_in_json_carry_their_last_year():
    engine = engine_of([dt.date(1900, 1, 1), dt.date(2026, 1, 1)])
    buckets = engine.run(SearchRequest()).to_json()["facets"]["dates"]["buckets"]
    assert buckets[0] == {"value": "1900", "value_to": "1909", "label": "1900s", "count": 1}
    years = engine_of([dt.date(2020, 1, 1), dt.date(2022, 1, 1)]).run(SearchRequest())
    assert "value_to" not in years.to_json()["facets"]["dates"]["buckets"][0]


def test_newest_date_is_the_archives_not_the_results():
    engine = engine_of([dt.date(1985, 2, 1), dt.date(1987, 6, 20), None])
    assert engine.run(SearchRequest()).newest_date == dt.date(1987, 6, 20)
    older = engine.run(SearchRequest().with_dates("1985", "1985"))
    assert older.total == 1 and older.newest_date == dt.date(1987, 6, 20)
    assert engine_of([None]).run(SearchRequest()).newest_date is None


# -- the chart --------------------------------------------------------------------------


def month_facet(year: int, counts: list[int]) -> DateFacet:
    buckets = []
    for m, c in enumerate(counts, start=1):
        first = dt.date(year, m, 1)
        last = (dt.date(year + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1))
        buckets.append(DateBucket(f"{year}-{m:02d}", f"{first:%b %Y}", c, first, last))
    return DateFacet("month", buckets, 0)


def test_month_chart_says_its_year_and_empty_months_are_not_links(ctx):
    chart = histogram.build(month_facet(1987, [3, 0, 0, 5] + [0] * 8), SearchRequest(q="x"))
    assert chart.title == "Articles per month in 1987"
    assert chart.period_heading == "Month"
    assert [b.url is None for b in chart.bars] == [False, True, True, False] + [True] * 8
    assert chart.bars[1].description == "Feb 1987: no articles"
    assert chart.bars[3].description == "Apr 1987: 5 articles"
    assert chart.bars[0].url == links.search_url(SearchRequest(q="x").with_dates("1987-01",
                                                                                 "1987-01"))
    # The counts fit over twelve bars; each sits over the middle of its bar.
    assert chart.show_counts
    bar = chart.bars[3]
    assert bar.count_text == "5" and bar.count_x == pytest.approx(bar.x + bar.width / 2, abs=0.01)
    assert bar.count_y < bar.y
    # Room is kept over the tallest bar for its count.
    assert min(b.y for b in chart.bars) >= histogram.COUNT_ROOM


def test_counts_that_do_not_fit_stay_in_the_tooltips(ctx):
    days = [DateBucket(f"2022-05-{d:02d}", f"{d} May 2022", 1000 + d, dt.date(2022, 5, d),
                       dt.date(2022, 5, d)) for d in range(1, 32)]
    chart = histogram.build(DateFacet("day", days, 0), SearchRequest())
    assert not chart.show_counts
    assert chart.title == "Articles per day in May 2022"
    assert chart.bars[0].description == "1 May 2022: 1,001 articles"
    assert chart.bars[0].count_text == "1,001"


def test_decade_bars_link_to_their_ten_years(ctx):
    buckets = [DateBucket(f"{y}", f"{y}s", c, dt.date(y, 1, 1), dt.date(y + 9, 12, 31),
                          value_to=f"{y + 9}") for y, c in [(1980, 4), (1990, 0), (2000, 2)]]
    req = SearchRequest(q="harbour", tags=("trade",))
    chart = histogram.build(DateFacet("decade", buckets, 0), req)
    assert chart.title == "Articles per decade, 1980s\u20132000s"
    assert chart.period_heading == "Decade"
    eighties, nineties, noughties = chart.bars
    assert nineties.url is None
    assert eighties.url == links.search_url(req.with_dates("1980", "1989"))
    assert ("from", "2000") in query_of(noughties.url) and ("to", "2009") in query_of(
        noughties.url)
    assert [lab.text for lab in chart.labels] == ["1980s", "1990s", "2000s"]


# -- date shortcuts -----------------------------------------------------------------------


def shortcuts(newest: dt.date | None, request: SearchRequest | None = None):
    request = request or SearchRequest(q="harbour")
    results = SearchResults(request=request, newest_date=newest)
    page = presenters.search_page(results, request)
    return page.dates, [(link.label, query_of(link.url)) for link in page.dates.quick]


def test_shortcuts_count_back_from_the_newest_article(ctx):
    dates, quick = shortcuts(dt.date(1987, 6, 20))
    assert dates.quick_note == "Newest article: June 1987"
    assert quick == [
        ("Latest year", [("q", "harbour"), ("from", "1987"), ("to", "1987")]),
        ("Last 12 months", [("q", "harbour"), ("from", "1986-07"), ("to", "1987-06")]),
        ("Last 5 years", [("q", "harbour"), ("from", "1983"), ("to", "1987")]),
    ]
    assert "July 1986" not in dates.quick[1].description
    assert "Jul 1986 to Jun 1987" in dates.quick[1].description


def test_a_december_archive_has_no_second_latest_year(ctx):
    _, quick = shortcuts(dt.date(2022, 12, 3))
    assert [label for label, _ in quick] == ["Latest year", "Last 5 years"]


def test_the_current_shortcut_is_marked(ctx):
    dates, _ = shortcuts(dt.date(1987, 6, 20), SearchRequest(q="harbour").with_dates("1983",
                                                                                    "1987"))
    assert [link.current for link in dates.quick] == [False, False, True]


def test_no_shortcuts_without_dated_articles(ctx):
    dates, quick = shortcuts(None)
    assert quick == [] and dates.quick_note == ""
