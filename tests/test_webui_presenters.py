"""Presenter arithmetic that needs no index: pagination windows and chart geometry."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.request import SearchRequest
from search.results import DateBucket, DateFacet, SearchResults
from tests.webui_fixtures import query_of
from webui import create_app, histogram, links, presenters


@pytest.fixture
def ctx():
    app = create_app({"INDEX_DIR": "/nonexistent-archivist-index"})
    with app.test_request_context("/"):
        yield


def test_pagination_window_with_gaps(ctx):
    req = SearchRequest(q="x", page=10)
    results = SearchResults(request=req, total=500, page=10, pages=50)
    p = presenters.pagination(results, req, max_page=1000)
    labels = [i.label for i in p.items]
    assert labels == ["1", "…", "8", "9", "10", "11", "12", "…", "50"]
    assert [i.current for i in p.items].count(True) == 1
    assert ("page", "9") in query_of(p.previous_url) and ("page", "11") in query_of(p.next_url)


def test_pagination_respects_max_page(ctx):
    req = SearchRequest(q="x", page=3)
    results = SearchResults(request=req, total=500, page=3, pages=50)
    p = presenters.pagination(results, req, max_page=4)
    assert [i.label for i in p.items] == ["1", "2", "3", "4"]


def test_single_page_has_no_pagination(ctx):
    req = SearchRequest(q="x")
    results = SearchResults(request=req, total=3, pages=1)
    assert presenters.pagination(results, req, 1000).items == []


def test_histogram_geometry(ctx):
    buckets = [DateBucket(str(y), str(y), c, dt.date(y, 1, 1), dt.date(y, 12, 31))
               for y, c in [(2019, 10), (2020, 0), (2021, 5)]]
    req = SearchRequest(q="x", date_from="2021", date_to="2021")
    chart = histogram.build(DateFacet("year", buckets, 2), req)
    tall, empty, half = chart.bars
    assert tall.y + tall.height == pytest.approx(chart.baseline)
    assert half.height == pytest.approx(tall.height / 2, rel=0.01)
    assert empty.height == 0 and empty.url is None
    assert half.selected and not tall.selected
    assert tall.x + tall.width < half.x and half.x + half.width <= chart.width + 0.01
    assert ("from", "2019") in query_of(tall.url) and ("to", "2019") in query_of(tall.url)
    # Each bar links to exactly the search narrowed to its period (an empty bar between).
    assert tall.url == links.search_url(req.with_dates("2019", "2019"))
    assert half.url == links.search_url(req.with_dates("2021", "2021"))
    assert [lab.anchor for lab in chart.labels][0] == "start"


def test_histogram_day_axis_is_short(ctx):
    days = [DateBucket(f"2022-05-{d:02d}", f"{d} May 2022", 1, dt.date(2022, 5, d),
                       dt.date(2022, 5, d)) for d in range(1, 32)]
    chart = histogram.build(DateFacet("day", days, 0), SearchRequest())
    assert len(chart.labels) <= histogram.MAX_LABELS + 1
    assert all(len(lab.text) <= 2 for lab in chart.labels)
    assert chart.bars[0].description == "1 May 2022: 1 article"


@given(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30))
@settings(max_examples=200, deadline=None)
def test_article_links_equal_url_for(article_id):
    from flask import url_for

    from webui.links import article_url

    app = create_app({"INDEX_DIR": "/nonexistent", "TESTING": True})
    with app.test_request_context("/", base_url="http://x/archive"):
        assert article_url(article_id) == url_for("pages.article", article_id=article_id)
        req = SearchRequest(q="oil", page=2)
        assert article_url(article_id, req) == (
            url_for("pages.article", article_id=article_id) + "?" + req.to_query_string())
