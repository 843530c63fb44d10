"""Hostile articles: every piece of HTML the search side makes is inert.

The fixture holds 50 well-known XSS payloads, each placed in an article's
title, body and tags. Whatever is searched, highlighted or shown, the only
element allowed in produced HTML is <mark>, with no attributes.
"""

import json
from html.parser import HTMLParser
from pathlib import Path

import bleach
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.filedb.filestore import RamStorage

from index.article import Article
from index.embedded.engine import write_articles
from index.embedded.schema import make_schema
from index.normalize import normalize_tags
from search.embedded.engine import Engine
from search.request import SearchRequest
from search.snippets import Piece, _merge, _text, render

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


# -- render: marks added after bleach give what bleach allowing <mark> gives ----------

_BLEACH_WITH_MARK = bleach.Cleaner(tags={"mark"}, attributes={}, strip=True)


def _marks_through_bleach(piece: Piece) -> str:
    """The straightforward pipeline `render` must equal: escape the text, put
    real <mark> tags around the merged spans, let bleach allow <mark>."""
    esc = _text  # the escaping is shared; what differs is where the marks go in
    parts, pos = [], 0
    for start, end in _merge(piece.spans, piece.text):
        parts += [esc(piece.text[pos:start]), "<mark>", esc(piece.text[start:end]), "</mark>"]
        pos = end
    parts.append(esc(piece.text[pos:]))
    return _BLEACH_WITH_MARK.clean("".join(parts))


_PAYLOADS = [a.title for a in ARTICLES] + [a.body for a in ARTICLES]
_texts = st.one_of(
    st.text(max_size=120),
    st.sampled_from(_PAYLOADS),
    st.text(st.sampled_from(list("<>&;\"'/= amp lt gt mark script x\u00a0\n\r\x0c\x00\ue001")),
            max_size=80),
)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_render_equals_bleach_allowing_mark(data):
    pieces = []
    for text in data.draw(st.lists(_texts, min_size=1, max_size=4)):
        bound = st.integers(-2, len(text) + 2)
        spans = data.draw(st.lists(st.tuples(bound, bound), max_size=5))
        pieces.append(Piece(text, spans))
    for piece, html in zip(pieces, render(pieces), strict=True):
        assert str(html) == _marks_through_bleach(piece)
        assert_inert(html)


def test_placeholder_characters_in_article_text_never_become_marks():
    text = "a \ue001<script>x</script>\ue002 b \ue000 c"
    html = str(render([Piece(text, [(0, 1)])])[0])
    assert html.count("<mark>") == 1 and html.count("</mark>") == 1
    assert "\ue001" not in html and "\ue002" not in html and "\ue000" not in html
    assert assert_inert(html).startswith("a \ufffd<script>")


def test_control_characters_show_as_spaces_and_line_breaks():
    html = render([Piece("a\x0cb\x00c\r\nd\re", [(2, 3)])])[0]
    assert str(html) == "a <mark>b</mark> c\nd\ne"
