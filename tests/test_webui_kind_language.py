"""The Kind and Language facets, chips and Persian dates in the real Flask app.

Counts are compared with a brute-force count over the articles written to
the index, and every link is followed to check it gives what it promised.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest

from index.article import Article, Tag
from tests.webui_fixtures import build_index, parse_html
from webui import create_app
from webui.backend import close_engine

LANGS = ["en", "en", "en", "es", "es", "fa", "fr"]
KINDS = ["Interview", "Analysis", None, "Interview", "Report", "Interview", "Analysis"]
ARTICLES = [
    Article(id=f"a{i}", source=f"/x/{i}.txt", title=f"Harbour story {i}",
            body=f"harbour body number {i} about the port", date=dt.date(2022, 3, 1 + i),
            tags=(Tag("ports", "Ports"),), kind=k, language=lang,
            publication="Eastbrook Policy Review" if i == 0 else None)
    for i, (lang, k) in enumerate(zip(LANGS, KINDS, strict=True))
]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    index_dir = build_index(tmp_path_factory.mktemp("kinds") / "index", ARTICLES)
    app = create_app({"INDEX_DIR": str(index_dir), "TESTING": True})
    yield app.test_client()
    close_engine(app)


def _page(client, **params):
    r = client.get("/?" + urlencode(params, doseq=True))
    assert r.status_code == 200
    return parse_html(r.data)


def _facet(doc, name: str) -> dict[str, tuple[int, bool, str]]:
    rows = doc.xpath(f'//section[@aria-labelledby="facet-{name}-heading"]'
                     '//li[contains(@class, "tag-option")]')
    out = {}
    for row in rows:
        a = row.xpath('.//a[contains(@class, "tag-toggle")]')[0]
        label = a.xpath('.//*[contains(@class, "tag-label")]')[0].text_content().strip()
        out[label] = (int(a.xpath('.//*[contains(@class, "count")]')[0].text_content()),
                      "is-selected" in row.get("class", ""), a.get("href"))
    return out


def _ids(doc) -> set[str]:
    return {a.get("href").split("/articles/")[1].split("?")[0]
            for a in doc.xpath('//*[contains(@class, "hit-title")]/a')}


def test_facets_count_like_brute_force_and_their_links_filter(client):
    doc = _page(client)
    languages = _facet(doc, "languages")
    assert {k: v[0] for k, v in languages.items()} == {
        "English": 3, "Spanish (español)": 2, "Persian (فارسی)": 1, "French (français)": 1}
    kinds = _facet(doc, "kinds")
    assert {k: v[0] for k, v in kinds.items()} == {"Interview": 3, "Analysis": 2, "Report": 1}
    # Following "Spanish" shows the Spanish articles, with a chip to remove it.
    spanish = client.get(languages["Spanish (español)"][2])
    sdoc = parse_html(spanish.data)
    assert _ids(sdoc) == {a.id for a in ARTICLES if a.language == "es"}
    chips = [c.text_content() for c in sdoc.xpath('//*[contains(@class, "chip")]')]
    assert any("Language: Spanish (español)" in c for c in chips), chips
    # The kind facet now counts within Spanish; the language facet does not
    # count within its own choice.
    assert {k: v[0] for k, v in _facet(sdoc, "kinds").items()} == {"Interview": 1, "Report": 1}
    assert _facet(sdoc, "languages")["English"][0] == 3
    assert _facet(sdoc, "languages")["Spanish (español)"][1] is True


def test_two_languages_are_alternatives_and_the_form_keeps_them(client):
    doc = _page(client, language=["es", "fr"], kind="interview")
    want = {a.id for a in ARTICLES if a.language in ("es", "fr") and a.kind == "Interview"}
    assert _ids(doc) == want == {"a3"}
    hidden = {(i.get("name"), i.get("value"))
              for i in doc.xpath('//input[@type="hidden"][@form="search-form"]')}
    assert {("language", "es"), ("language", "fr"), ("kind", "Interview")} <= hidden


def test_a_persian_article_shows_its_solar_date_and_others_do_not(client):
    doc = _page(client, q="harbour", per_page=20)
    solar = doc.xpath('//li[@class="hit"]//*[@class="solar-date"]')
    assert len(solar) == 1
    # 2022-03-06 is 15 Esfand 1400.
    assert solar[0].text_content() == "۱۵ اسفند ۱۴۰۰"
    article = parse_html(client.get("/articles/a5").data)
    assert article.xpath('//*[@class="solar-date"]')[0].text_content() == "۱۵ اسفند ۱۴۰۰"
    language = article.xpath('//*[@class="meta"]/*[@class="language"]')[0]
    assert "Persian (فارسی)" in language.text_content()
    publication = doc.xpath('//li[@class="hit"]//*[@class="publication"]')[0]
    assert "Eastbrook Policy Review" in publication.text_content()


def test_a_single_language_archive_offers_no_language_choice(tmp_path):
    index_dir = build_index(tmp_path / "index", ARTICLES[:3])
    app = create_app({"INDEX_DIR": str(index_dir), "TESTING": True})
    try:
        doc = parse_html(app.test_client().get("/").data)
        assert not doc.xpath('//section[@aria-labelledby="facet-languages-heading"]')
        assert doc.xpath('//section[@aria-labelledby="facet-kinds-heading"]')
    finally:
        close_engine(app)


def test_the_api_and_cli_filter_by_language_and_kind(client):
    data = client.get("/api/search?language=es&kind=report").get_json()
    assert [h["id"] for h in data["hits"]] == ["a4"]
    assert data["hits"][0]["language"] == "es"
    # Languages are counted within the kind filter, not within their own.
    assert {v["value"]: v["count"] for v in data["facets"]["languages"]} == {"es": 1}
    assert {v["value"]: v["count"] for v in data["facets"]["kinds"]} == {
        "Interview": 1, "Report": 1}
