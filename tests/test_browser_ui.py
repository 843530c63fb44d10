"""The web UI in real Chromium, against the app served by waitress (`live`).

Only what a browser alone can show is tested here: htmx swapping results
without a page load, history, the date chart's links, keyboard use, and that
no script from a hostile archive ever runs. Screenshots of the main pages in
light and dark land in `tests/artifacts/` for a person to look at.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import ARTIFACTS, mark_document, same_document


def status(page) -> str:
    return page.locator("#status").inner_text()


def wait_status(page, test: str, value: str) -> None:
    """Wait until the status line's text passes `test` (startsWith, includes, is, isNot)."""
    # A function, not a string: the page's CSP forbids evaluating strings.
    page.wait_for_function(
        """([test, value]) => {
            const text = document.querySelector('#status').textContent;
            if (test === 'is') return text === value;
            if (test === 'isNot') return text !== value;
            return text[test](value);
        }""",
        arg=[test, value],
    )


def test_typing_swaps_results_without_a_page_load(tab):
    page = tab.goto("/")
    mark_document(page)
    page.locator("#q").press_sequentially("harbour", delay=30)
    page.wait_for_url(re.compile(r"q=harbour"))
    wait_status(page, "includes", "results")
    assert same_document(page)
    titles = page.locator("ol.hits h2").all_inner_texts()
    assert titles and all("arbour" in t or "بندر" in t for t in titles)
    assert page.evaluate("document.activeElement.id") == "q"


def test_typing_keeps_the_filters(tab):
    page = tab.goto("/?tag=memo")
    mark_document(page)
    page.locator("#q").fill("harbour")
    page.wait_for_url(re.compile(r"q=harbour"))
    assert tab.query() == {"q": ["harbour"], "tag": ["memo"]}
    wait_status(page, "startsWith", "3 results")
    assert same_document(page)


HIT_LINKS = "() => [...document.querySelectorAll('ol.hits h2 a')].map(a => a.href)"


def test_tag_click_then_back_restores_the_results(tab):
    page = tab.goto("/?q=report")
    mark_document(page)
    before = page.evaluate(HIT_LINKS)
    page.locator("ul.tag-list a.tag-toggle", has_text="Politics").click()
    page.wait_for_url(re.compile(r"tag=politics"))
    page.wait_for_selector("li.chip")
    assert same_document(page)
    assert page.evaluate(HIT_LINKS) != before
    page.go_back()
    page.wait_for_url(re.compile(r"/\?q=report$"))
    page.wait_for_function(
        "(before) => JSON.stringify([...document.querySelectorAll('ol.hits h2 a')]"
        ".map(a => a.href)) === JSON.stringify(before)", arg=before)
    assert page.locator("li.chip").count() == 0
    assert page.locator("#q").input_value() == "report"
    page.go_forward()
    page.wait_for_selector("li.chip")
    assert "tag=politics" in page.url


def test_histogram_bar_click_filters(tab):
    page = tab.goto("/?q=report")
    mark_document(page)
    page.locator("svg.histogram a[aria-label^='2020']").click()
    page.wait_for_url(re.compile(r"from=2020&to=2020"))
    page.wait_for_selector("svg.histogram[data-level='month']")
    assert same_document(page)
    assert "Date: 2020" in page.locator(".chips").inner_text()
    dates = page.locator("ol.hits time").evaluate_all("els => els.map(e => e.dateTime)")
    assert dates and all(d.startswith("2020-") for d in dates)


def test_hostile_archive_never_runs_script(tab):
    for path in ("/?q=harbour", "/?q=harbour&from=2021-06&to=2021-06",
                 "/articles/hostile-title?q=harbour", "/articles/hostile-body?q=harbour"):
        page = tab.goto(path)
        page.wait_for_load_state("load")
        # Hover and click what the hostile entries offer, to trip any event handler.
        for link in page.locator("ol.hits h2 a, .hit-tags a, .tag-label").all()[:6]:
            link.hover()
        assert page.evaluate("window.__pwned === undefined")
    page = tab.goto("/?q=harbour&from=2021-06&to=2021-06")
    page.locator("ol.hits h2 a", has_text="bold").click()
    page.wait_for_url(re.compile(r"/articles/hostile-title"))
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("h1").inner_text().startswith("<script>")


def test_keyboard_only_from_slash_to_an_article(tab):
    page = tab.goto("/")
    page.locator("body").press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("harbour")
    page.wait_for_url(re.compile(r"q=harbour"))
    wait_status(page, "includes", "results")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('.hit-title')"):
            break
    else:
        pytest.fail("no result title was reachable with Tab")
    # The focused link is visibly outlined.
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/articles/"))
    assert page.locator("#article-body mark").count() > 0
    page.keyboard.press("n")
    assert page.locator("#article-body mark.is-current").count() == 1
    assert "Match 1 of" in page.locator("#match-count").inner_text()


def test_skip_link_goes_to_results(tab):
    page = tab.goto("/?q=report")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.url.endswith("#results")


def test_phone_width_has_collapsible_filters(open_tab):
    tab = open_tab(viewport={"width": 360, "height": 800})
    page = tab.goto("/?q=report")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    details = page.locator("details#facets")
    assert details.get_attribute("open") is None
    page.locator("details#facets > summary").click()
    assert details.get_attribute("open") is not None


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(open_tab, scheme):
    ARTIFACTS.mkdir(exist_ok=True)
    tab = open_tab(color_scheme=scheme)
    shots = {
        "landing": "/",
        "results": "/?q=harbour&tag=memo",
        "results-filtered": "/?q=report&tag=energy&from=2020&to=2021",
        "zero": "/?q=harbour&tag=politics",
        "article": "/articles/persian-1?q=%D8%A8%D9%86%D8%AF%D8%B1",
    }
    for name, path in shots.items():
        page = tab.goto(path)
        page.wait_for_load_state("load")
        out = ARTIFACTS / f"{name}-{scheme}.png"
        page.screenshot(path=str(out), full_page=True)
        assert out.stat().st_size > 5000
    page = tab.goto("/?q=report")
    page.set_viewport_size({"width": 360, "height": 800})
    page.screenshot(path=str(ARTIFACTS / f"results-360-{scheme}.png"), full_page=False)


def test_keyboard_focus_survives_a_facet_swap(tab):
    page = tab.goto("/?q=report")
    mark_document(page)
    page.locator("ul.tag-list a.tag-toggle", has_text="Politics").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("li.chip")
    page.wait_for_function("() => document.activeElement.dataset.focus === 'tag-politics'")
    assert same_document(page)
    # The same key again drops the filter: the link is now the "remove" toggle.
    page.keyboard.press("Enter")
    page.wait_for_selector("li.chip", state="detached")
