"""The Kind and Language facets, Persian dates and PDF pages in a real
browser, on the bundled sample archive (English, Spanish, French and
Persian pages, HTML pages, JSON Lines and two PDF reports).

Counts are checked against what the readers produce from the sample files,
read here without the engine; screenshots of each screen are left in
`tests/artifacts/` (light, dark, 360 px).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from index.formats import detect, reader_for
from index.sources import load, walk
from index.writer import update
from tests.browser import ARTIFACTS
from tests.webui_fixtures import LiveServer
from webui import create_app
from webui.backend import close_engine

SAMPLE = Path(__file__).resolve().parent.parent / "index" / "sample_archive"
PHONE = {"viewport": {"width": 360, "height": 800}, "is_mobile": True, "has_touch": True}


def _sample_articles() -> list:
    out = []
    for found in walk([SAMPLE]):
        if found.format is None or detect(found.path) is None:
            continue
        loaded = load(found)
        if loaded.error is None:
            out.extend(a for a in reader_for(loaded.format)(loaded.text)
                       if hasattr(a, "title"))
    return out


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("sample") / "index"
    update(index_dir, [SAMPLE])
    app = create_app({"INDEX_DIR": str(index_dir)})
    with LiveServer(app) as server:
        yield server
    close_engine(app)


def _facet(page, name: str) -> dict[str, int]:
    rows = page.locator(f'section[aria-labelledby="facet-{name}-heading"] li.tag-option')
    out = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        out[row.locator(".tag-label").inner_text().strip()] = int(
            row.locator(".count").inner_text())
    return out


def test_choosing_a_language_filters_and_shows_a_chip(open_tab):
    articles = _sample_articles()
    by_language = Counter(a.language for a in articles)
    assert {"en", "es", "fr", "fa"} <= set(by_language)
    tab = open_tab()
    page = tab.goto("/")
    assert _facet(page, "kinds") == dict(Counter(a.kind for a in articles if a.kind))
    counts = _facet(page, "languages")
    assert counts["Spanish (español)"] == by_language["es"]
    assert counts["Persian (فارسی)"] == by_language["fa"]
    page.locator('section[aria-labelledby="facet-languages-heading"] a.tag-toggle',
                 has_text="Spanish").click()
    page.wait_for_url(lambda url: "language=es" in url)
    page.locator(".chip", has_text="Language: Spanish").wait_for()
    titles = page.locator(".hit-title a").all_inner_texts()
    assert sorted(titles) == sorted(a.title for a in articles if a.language == "es")
    # The kind facet counts within Spanish; one kind alone is no choice to offer.
    spanish_kinds = Counter(a.kind for a in articles if a.language == "es" and a.kind)
    assert _facet(page, "kinds") == (dict(spanish_kinds) if len(spanish_kinds) > 1 else {})
    # Removing the chip brings every language back.
    page.locator(".chip", has_text="Language: Spanish").locator("a.chip-remove").click()
    page.wait_for_url(lambda url: "language=" not in url)
    assert len(_facet(page, "languages")) == len(by_language)
    # (Last: Playwright's screenshot styles would trip the CSP on a later swap.)
    tab.goto("/?language=es").screenshot(
        path=str(ARTIFACTS / "languages-spanish-light.png"), full_page=True)


def test_persian_articles_show_both_calendars_and_align_right(open_tab):
    for scheme in ("light", "dark"):
        tab = open_tab(color_scheme=scheme)
        page = tab.goto("/?language=fa")
        solar = page.locator(".hit .solar-date")
        assert solar.count() == page.locator(".hit").count() > 0
        assert all(any("\u06f0" <= ch <= "\u06f9" for ch in t)
                   for t in solar.all_inner_texts())  # Persian digits
        title = page.locator(".hit-title a").first.bounding_box()
        results = page.locator("#results").bounding_box()
        # A right-to-left title sits at the right edge of the results column.
        assert title["x"] + title["width"] > results["x"] + results["width"] * 0.6
        page.screenshot(path=str(ARTIFACTS / f"languages-persian-{scheme}.png"))


def test_a_pdf_hit_names_its_page_and_the_article_marks_pages(open_tab):
    tab = open_tab(**PHONE, color_scheme="dark")
    page = tab.goto("/?q=pumped+hydro+financing")
    hit = page.locator(".hit").first
    assert "Storing the Winter Peak" in hit.locator(".hit-title").inner_text()
    pages = hit.locator(".snippet-page").all_inner_texts()
    assert pages and all(p.startswith("p. ") for p in pages)
    page.screenshot(path=str(ARTIFACTS / "pdf-hit-360-dark.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    hit.locator(".hit-title a").click()
    page.wait_for_url("**/articles/**")
    marks = page.locator(".page-mark").all_inner_texts()
    assert marks == [f"Page {i}" for i in range(1, len(marks) + 1)] and len(marks) >= 3
