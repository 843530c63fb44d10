"""The health page: figures read from a real index, charts measured by the presenter."""

from __future__ import annotations

import dataclasses
import datetime as dt

from index.article import Article, Tag
from index.embedded import store
from index.embedded.document import to_document
from index.health import Count, health, sources_overview
from tests.console_fixtures import figure, make_app, sign_in
from tests.webui_fixtures import build_index, corpus, parse_html
from webui import admin_presenters as present

UNTAGGED = Article(id="bare", source="/archive/bare.txt", title="Bare", body="No tags.",
                   date=dt.date(2020, 2, 2))


def test_health_figures_of_a_known_index(tmp_path):
    build_index(tmp_path / "index", corpus() + [UNTAGGED])
    h = health(tmp_path / "index", top=3)
    assert (h.articles, h.undated, h.untagged, h.segments) == (43, 3, 1, 1)
    assert h.years == [Count("2019", 9), Count("2020", 10), Count("2021", 11), Count("2022", 10)]
    assert h.top_tags == [Count("Energy", 18), Count("Trade", 18), Count("Politics", 9)]
    assert h.distinct_tags == 7 and h.size_bytes > 0


def test_sources_count_the_articles_under_each_folder(tmp_path):
    build_index(tmp_path / "index")
    infos = sources_overview(tmp_path / "index", ["/archive", "/elsewhere"])
    assert [(i.path, i.articles, i.configured) for i in infos] == [
        ("/archive", 42, True), ("/elsewhere", 0, True)]


def test_charts_are_measured_from_the_data():
    years = present.year_chart([Count("2019", 5), Count("2020", 10), Count("2021", 0)])
    assert [b.label for b in years.bars] == ["2019", "2020", "2021"]
    tallest = max(years.bars, key=lambda b: b.height)
    assert tallest.label == "2020" and tallest.y == present.YEAR_TOP
    assert years.bars[0].height == tallest.height / 2
    assert years.bars[2].height == 0
    assert all(b.y + b.height == years.baseline for b in years.bars)
    assert "2020: 10 articles" in years.summary
    many = present.year_chart([Count(str(1900 + i), 1) for i in range(100)])
    assert len(many.axis) <= present.YEAR_LABELS + 1, "year labels never crowd"
    tags = present.tag_chart([Count("Energy", 20), Count("A very long tag label " * 3, 5)])
    assert tags.bars[0].width == present.TAG_W - present.TAG_LABEL - present.TAG_COUNT
    assert tags.bars[1].width == tags.bars[0].width / 4
    assert len(tags.bars[1].label) <= 28
    assert present.year_chart([]).bars == []


def test_health_page_draws_both_charts_without_inline_style(tmp_path):
    build_index(tmp_path / "index", corpus() + [UNTAGGED])
    app = make_app(tmp_path, [])
    client = app.test_client()
    sign_in(client)
    response = client.get("/admin/health")
    assert response.status_code == 200
    page = parse_html(response.data)
    assert (figure(page, "articles"), figure(page, "undated"), figure(page, "untagged")) == (
        "43", "3", "1")
    columns = page.xpath("//svg[contains(@class, 'columns')]//rect")
    rows = page.xpath("//svg[contains(@class, 'rows')]//rect")
    assert len(columns) == 4 and len(rows) == 7
    labels = page.xpath("//svg[contains(@class, 'rows')]//text[@class='label']/text()")
    assert labels[:2] == ["Energy", "Trade"]
    # Hostile tag labels arrive as text, never as markup.
    assert "<img src=x onerror=alert(5)>"[:27] in " ".join(labels)
    assert not page.xpath("//svg//img") and not page.xpath("//*[@onerror]")
    assert not page.xpath("//*[@style]") and not page.xpath("//style")
    assert not page.xpath("//script[not(@src)]")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    # One segment and nothing deleted: there is nothing to optimize, so it is not offered.
    assert not page.xpath("//form[@action='/admin/optimize']")
    assert "nothing to optimize" in page.xpath("string(//section[@class='optimize'])")
    # A second commit left unmerged makes a second segment: now Optimize is offered.
    ix = store.open_current(tmp_path / "index")
    w = ix.writer()
    w.add_document(**to_document(dataclasses.replace(UNTAGGED, id="second-segment"), ""))
    w.commit(merge=False)
    again = parse_html(client.get("/admin/health").data)
    assert again.xpath("//form[@action='/admin/optimize']")


def test_health_page_without_an_index(tmp_path):
    app = make_app(tmp_path, [])
    client = app.test_client()
    sign_in(client)
    page = parse_html(client.get("/admin/health").data)
    assert "There is no index yet" in page.text_content()


def test_tag_label_follows_its_key_when_articles_have_several(tmp_path):
    articles = [Article(id=f"a{i}", source=f"/a/{i}.txt", title="T", body="B",
                        tags=(Tag("alpha", "Alpha"), Tag("beta", "BETA"))) for i in range(3)]
    build_index(tmp_path / "index", articles)
    assert health(tmp_path / "index").top_tags == [Count("Alpha", 3), Count("BETA", 3)]
