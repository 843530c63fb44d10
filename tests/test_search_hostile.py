"""Hostile articles: every piece of HTML the search side makes is inert.

The fixture holds 50 well-known XSS payloads, each placed in an article's
title, body and tags. Whatever is searched, highlighted or shown, the only
element allowed in produced HTML is <mark>, with no attributes.
"""

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from whoosh.filedb.filestore import RamStorage

from index.article import Article
from index.normalize import normalize_tags
from index.schema import make_schema
from index.writer import write_articles
from search.engine import Engine
from search.request import SearchRequest
from search.snippets import Piece, render

FIXTURE = Path(__file__).parent / "fixtures" / "hostile" / "xss.jsonl"


def load() -> list[Article]:
    arts = []
    for line in FIXTURE.read_text("utf-8").splitlines():
        rec = json.loads(line)
        arts.append(Article(id=rec["id"], source=f"/hostile/{rec['id']}", title=rec["title"],
                            body=rec["body"], tags=normalize_tags(rec["tags"])))
    return arts


ARTICLES = load()


class Elements(HTMLParser):
    """Collects every element and attribute an HTML fragment really contains."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def assert_inert(html) -> str:
    p = Elements()
    p.feed(str(html))
    p.close()
    assert set(p.tags) <= {"mark"}, (p.tags, str(html))
    assert p.attrs == [], str(html)
    return "".join(p.text)


@pytest.fixture(scope="module")
def engine():
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, ARTICLES)
    return Engine.from_index(ix)


def test_fixture_has_enough_payloads():
    assert len(ARTICLES) >= 40


@pytest.mark.parametrize("q", ["", "alert", "script", "onerror", "javascript", "exploit",
                               "payload", "img src", "mark", "xss", "hostile"])
def test_search_results_are_inert(engine, q):
    r = engine.run(SearchRequest(q=q, per_page=100))
    assert r.hits or q in ("mark",)
    for h in r.hits:
        assert_inert(h.title_html)
        for s in h.snippets:
            assert_inert(s)


def test_titles_read_back_as_the_original_text(engine):
    r = engine.run(SearchRequest(per_page=100))
    by_id = {a.id: a for a in ARTICLES}
    for h in r.hits:
        # What a browser shows is exactly what the source said, character for character.
        shown = assert_inert(h.title_html)
        assert shown == by_id[h.id].title.replace("\r", "\n") or "\r" in by_id[h.id].title


def test_article_pages_are_inert(engine):
    for a in ARTICLES:
        view = engine.get(a.id, q="alert script exploit")
        assert_inert(view.title_html)
        assert view.paragraphs
        for p in view.paragraphs:
            assert_inert(p)


def test_tags_come_back_as_plain_data(engine):
    r = engine.run(SearchRequest(tags=("xss",), per_page=100))
    assert r.total == len(ARTICLES)
    keys = {t.key.replace(",", " ").strip() for a in ARTICLES for t in a.tags}
    assert r.tag_facet.total_distinct == len(keys)
    labels = {v.label for v in engine.tag_values("<script", 10)}
    assert "<script>alert(1)</script>" in labels  # plain text, for the template to escape


def test_render_never_passes_markup_through():
    for a in ARTICLES:
        for html in render([Piece(a.title, [(0, 7), (5, 20)]), Piece(a.body, [(0, len(a.body))])]):
            assert_inert(html)
