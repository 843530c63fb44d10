"""Reader and librarian experience, second pass, in real Chromium.

An archive of its own, built here: articles of 1983, 1985 and 1987 (so the
year chart has empty years between them and the archive ends long before
today), more tags than the facet lists (so the tag finder shows), and a
Persian article with a Persian tag. Each test checks what only a browser
shows: where things sit on the screen, what is in view, what a click does.
Screenshots of the results (light, dark, 360 px) and of the console's
Sources page at 360 px land in `tests/artifacts/` for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from index.article import Article, Tag
from tests.browser import ARTIFACTS, Tab
from tests.console_fixtures import PASSWORD, make_app, sign_in, start_reindex, wait_for_job
from tests.corpus import write_corpus
from tests.webui_fixtures import LiveServer, build_index
from webui import create_app
from webui.backend import close_engine

#: 40 tags: more than the facet's top 30, so the tag finder is offered.
TAGS = [f"Topic {n:02d}" for n in range(40)]
PERSIAN_TITLE = "گزارش بندر و کشتیرانی در خلیج"
PERSIAN_TAG = "اقتصاد دریایی"


def archive() -> list[Article]:
    """60 harbour reports of 1987, 6 of 1985, 6 of 1983, and a Persian article
    of June 1987 (the newest)."""
    articles = []
    dates = ([dt.date(1987, 1 + i % 6, 1 + i % 28) for i in range(60)]
             + [dt.date(1985, 3 + i, 10) for i in range(6)]
             + [dt.date(1983, 5 + i, 2) for i in range(6)])
    for i, date in enumerate(dates):
        tags = (Tag(TAGS[i % 40].lower(), TAGS[i % 40]), Tag("shipping", "Shipping"))
        articles.append(Article(
            id=f"ship-{i:02d}", source=f"/archive/{i:02d}.txt",
            title=f"Harbour report {i} from {date:%B %Y}",
            body=(f"Report {i} on the harbour, its cranes and its ships. "
                  "Freight volumes and the weather at sea are described in detail."),
            date=date, tags=tags, kind="News",
        ))
    articles.append(Article(
        id="fa-harbour", source="/archive/fa.txt", title=PERSIAN_TITLE,
        body="این گزارش درباره بندر و تجارت دریایی است. بندر شلوغ بود و کشتی‌ها منتظر ماندند.",
        date=dt.date(1987, 6, 20), language="fa",
        tags=(Tag(PERSIAN_TAG, PERSIAN_TAG), Tag("shipping", "Shipping")),
    ))
    return articles


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    index_dir = build_index(tmp_path_factory.mktemp("reader-ux") / "index", archive())
    app = create_app({"INDEX_DIR": str(index_dir)})
    with LiveServer(app) as server:
        yield server
    close_engine(app)


PHONE = {"viewport": {"width": 360, "height": 800}, "is_mobile": True, "has_touch": True}


def box(page, selector: str) -> dict:
    b = page.locator(selector).first.bounding_box()
    assert b is not None, f"{selector} is not displayed"
    return b


def text_box(locator) -> dict:
    """Where an element's text is drawn (not its box, which a block fills)."""
    return locator.evaluate(
        "el => { const r = document.createRange(); r.selectNodeContents(el);"
        " const b = r.getBoundingClientRect(); return {left: b.left, right: b.right}; }")


def in_viewport(page, selector: str) -> bool:
    """True when the top of the first `selector` is on screen."""
    return page.locator(selector).first.evaluate(
        "el => { const r = el.getBoundingClientRect();"
        " return r.top >= 0 && r.top < window.innerHeight && r.height > 0; }")


# -- 1. the date chart -------------------------------------------------------------------


def test_year_chart_is_continuous_with_empty_years(open_tab):
    page = open_tab().goto("/?q=harbour")
    chart = page.locator("svg.histogram")
    assert chart.get_attribute("data-level") == "year"
    # Every year from the first to the last, the empty ones as unlinked bars.
    titles = chart.locator(":scope > a > title, :scope > g.bar > title").all_text_contents()
    assert titles == ["1983: 6 articles", "1984: no articles", "1985: 6 articles",
                      "1986: no articles", "1987: 60 articles"]
    assert chart.locator(":scope > a").count() == 3
    assert chart.locator("g.is-empty a, g.is-empty[href]").count() == 0
    # Empty years take their share of the axis: the bars are evenly spaced.
    xs = chart.locator("rect.hit-area").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().x)")
    gaps = [round(b - a, 1) for a, b in zip(xs, xs[1:], strict=False)]
    assert len(xs) == 5 and max(gaps) - min(gaps) < 1
    assert "1983" in page.locator(".chart-title").inner_text()
    # Counts fit over five bars, so each is printed there too.
    assert chart.locator("text.bar-count").all_text_contents() == ["6", "6", "60"]


def test_month_chart_names_its_year_and_every_bar_has_its_count(open_tab):
    page = open_tab().goto("/?q=harbour")
    page.locator("svg.histogram a[aria-label^='1987']").click()
    page.wait_for_selector("svg.histogram[data-level='month']")
    assert page.locator(".chart-title").inner_text() == "Articles per month in 1987"
    assert page.locator("svg.histogram > title").text_content() == "Articles per month in 1987"
    titles = page.locator("svg.histogram title").all_text_contents()[1:]
    assert len(titles) == 12
    assert titles[0] == "Jan 1987: 10 articles" and titles[5] == "Jun 1987: 10 articles"
    assert titles[6:] == [f"{m} 1987: no articles"
                          for m in ("Jul", "Aug", "Sep", "Oct", "Nov", "Dec")]
    # The table alternative: every month with its count, the empty ones unlinked.
    table = page.locator("details.chart-table")
    table.locator("summary").click()
    rows = table.locator("tbody tr")
    assert rows.count() == 12
    assert rows.nth(0).locator("th").inner_text() == "Jan 1987"
    assert rows.nth(0).locator("td").inner_text() == "10"
    assert rows.nth(0).locator("a").count() == 1
    assert rows.nth(11).locator("td").inner_text() == "0"
    assert rows.nth(11).locator("a").count() == 0
    assert table.locator("table caption").text_content() == "Articles per month in 1987"
    # A row's link narrows the search like its bar does.
    rows.nth(1).locator("a").click()
    page.wait_for_selector("svg.histogram[data-level='day']")
    assert re.search(r"from=1987-02&to=1987-02", page.url)
    assert page.locator(".chart-title").inner_text() == "Articles per day in February 1987"


# -- 2. Persian results -----------------------------------------------------------------------


def test_persian_title_snippet_and_tags_align_to_their_own_start(open_tab):
    page = open_tab().goto("/?q=%D8%A8%D9%86%D8%AF%D8%B1")  # بندر
    hit = page.locator("li.hit").first
    title, snippet = hit.locator("h2.hit-title a"), hit.locator("p.snippet").first
    tags = hit.locator("ul.hit-tags")
    for piece in (title, snippet, tags):
        assert piece.get_attribute("dir") == "auto"
        assert piece.evaluate("el => getComputedStyle(el).direction") == "rtl"
    # Each right-to-left piece's text ends at the right edge of the hit.
    right = hit.evaluate("el => el.getBoundingClientRect().right")
    for piece in (title, snippet, tags):
        assert abs(text_box(piece)["right"] - right) < 2, piece
    # The first tag is Persian, so the row starts at the right; the English tag
    # after it is on its left, its text still left to right.
    first, second = tags.locator("a").nth(0).bounding_box(), tags.locator("a").nth(1).bounding_box()
    assert second["x"] + second["width"] <= first["x"]
    assert tags.locator("a").nth(1).inner_text() == "Shipping"
    # The date is English, so it stays at the left.
    left = hit.evaluate("el => el.getBoundingClientRect().left")
    assert abs(text_box(hit.locator("p.meta time"))["left"] - left) < 2


def test_persian_tag_label_sits_next_to_its_checkbox(open_tab):
    page = open_tab().goto("/?q=%D8%A8%D9%86%D8%AF%D8%B1")
    def gap(tag: str) -> float:
        """From the right edge of a tag's checkbox to the left edge of its label."""
        option = page.locator("ul.tag-list li.tag-option", has_text=tag)
        checkbox = option.locator(".box").bounding_box()
        return option.locator(".tag-label").bounding_box()["x"] - (checkbox["x"]
                                                                   + checkbox["width"])

    label = page.locator("ul.tag-list .tag-label", has_text=PERSIAN_TAG)
    assert label.get_attribute("dir") == "auto"
    assert label.evaluate("el => getComputedStyle(el).direction") == "rtl"
    assert 0 <= gap(PERSIAN_TAG) < 16
    # An English label sits at the same distance from its box.
    assert abs(gap(PERSIAN_TAG) - gap("Shipping")) < 1


# -- 3. a filter chosen on a phone shows its results ---------------------------------------


def test_phone_after_choosing_a_tag_the_results_are_in_view(open_tab):
    page = open_tab(**PHONE).goto("/?q=harbour")
    page.locator("details#facets > summary").click()
    assert page.locator("details#facets").get_attribute("open") is not None
    # With the panel open the first result is far below.
    assert not in_viewport(page, "ol.hits li.hit")
    page.evaluate("window.__sameDocument = true")
    page.locator("ul.tag-list a.tag-toggle", has_text="Topic 05").click()
    page.wait_for_selector("li.chip")
    page.wait_for_function("() => !document.querySelector('details#facets').open")
    assert page.evaluate("window.__sameDocument === true")
    assert in_viewport(page, "ol.hits li.hit")
    assert page.evaluate("document.activeElement.id") == "results"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # The panel's own way down does the same, without a request.
    page.locator("details#facets > summary").click()
    page.locator("details#facets a[href='#results']").click()
    assert page.locator("details#facets").get_attribute("open") is None
    assert in_viewport(page, "ol.hits li.hit")


def test_phone_after_applying_dates_the_results_are_in_view(open_tab):
    page = open_tab(**PHONE).goto("/?q=harbour")
    page.locator("details#facets > summary").click()
    page.locator("#date-from").fill("1985")
    page.locator("#date-to").fill("1985")
    page.locator(".date-range button").click()
    page.wait_for_url(re.compile(r"from=1985&to=1985"))
    page.wait_for_function("() => !document.querySelector('details#facets').open")
    assert in_viewport(page, "ol.hits li.hit")
    assert page.locator("ol.hits li.hit").count() == 6


def test_phone_without_script_the_panel_leads_to_the_results(open_tab):
    page = open_tab(java_script_enabled=False, **PHONE).goto("/?q=harbour")
    page.locator("ul.tag-list a.tag-toggle", has_text="Topic 05").click()
    page.wait_for_url(re.compile(r"tag=topic"))
    assert not in_viewport(page, "ol.hits li.hit")
    link = page.locator("details#facets a[href='#results']")
    assert link.inner_text() == "Show 2 results"
    link.click()
    assert in_viewport(page, "ol.hits li.hit")


def test_desktop_has_no_jump_to_results(open_tab):
    page = open_tab().goto("/?q=harbour")
    assert not page.locator("details#facets a[href='#results']").is_visible()


# -- 4. date shortcuts from the archive's newest article --------------------------------


def test_quick_ranges_count_back_from_the_newest_article(open_tab):
    page = open_tab().goto("/?q=harbour")
    date_from = page.locator("#date-from")
    assert date_from.input_value() == "" and date_from.get_attribute("placeholder") == (
        "YYYY or YYYY-MM")
    # The hint fits in the field: nothing of it is cut off.
    assert date_from.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert page.locator(".quick-note").inner_text() == "Newest article: June 1987"
    quick = page.locator("ul.quick-ranges a")
    assert quick.all_inner_texts() == ["Latest year", "Last 12 months", "Last 5 years"]
    expected = {"Latest year": ("1987", "1987", 60),
                "Last 12 months": ("1986-07", "1987-06", 60),
                "Last 5 years": ("1983", "1987", 72)}
    for label, (a, b, total) in expected.items():
        page.locator("ul.quick-ranges a", has_text=label).click()
        page.wait_for_url(re.compile(rf"from={a}&to={b}"))
        page.wait_for_function(
            "(n) => document.querySelector('#status').textContent.startsWith(n)",
            arg=f"1–10 of {total} results")
        assert page.locator("ul.quick-ranges a.is-current").inner_text() == label
        dates = page.locator("ol.hits time").evaluate_all("els => els.map(e => e.dateTime)")
        assert dates and all(a <= d[:len(a)] and d[:len(b)] <= b for d in dates)


# -- 5. the tag finder ------------------------------------------------------------------------


def test_tag_finder_is_in_view_without_scrolling_the_sidebar(open_tab):
    page = open_tab().goto("/?q=harbour")
    facets = page.locator("details#facets")
    assert facets.evaluate("el => el.scrollTop") == 0
    finder = box(page, "#tag-find")
    panel = box(page, "details#facets")
    assert finder["y"] + finder["height"] <= min(panel["y"] + panel["height"], 900)
    # It comes before the first tag of the list.
    assert finder["y"] < box(page, "ul.tag-list li")["y"]
    page.locator("#tag-find").fill("topic 3")
    page.wait_for_selector("#tag-matches li")
    assert page.locator("#tag-matches li").count() == 10


# -- 7. the favicon ---------------------------------------------------------------------------


def test_pages_link_the_favicon(open_tab, live):
    page = open_tab().goto("/")
    href = page.locator("link[rel='icon']").get_attribute("href")
    assert page.request.get(live.url + href).headers["content-type"].startswith("image/svg")


# -- screenshots of the reader's pages --------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_reader_screenshots(open_tab, scheme):
    ARTIFACTS.mkdir(exist_ok=True)
    tab = open_tab(color_scheme=scheme)
    for name, path in {"ux-years": "/?q=harbour",
                       "ux-months": "/?q=harbour&from=1987&to=1987",
                       "ux-persian": "/?q=%D8%A8%D9%86%D8%AF%D8%B1"}.items():
        page = tab.goto(path)
        page.locator("details.chart-table > summary").click()
        out = ARTIFACTS / f"{name}-{scheme}.png"
        page.screenshot(path=str(out), full_page=True)
        assert out.stat().st_size > 5000
    phone = open_tab(color_scheme=scheme, **PHONE)
    page = phone.goto("/?q=harbour")
    page.locator("details#facets > summary").click()
    page.locator("ul.tag-list a.tag-toggle", has_text="Topic 05").click()
    page.wait_for_function("() => !document.querySelector('details#facets').open")
    page.screenshot(path=str(ARTIFACTS / f"ux-360-after-tag-{scheme}.png"), full_page=False)
    # Last: after a screenshot on a phone, Playwright's own injected style trips
    # the page's CSP at the next swap (only the test tool, never the page).
    page = phone.goto("/?q=harbour")
    page.locator("details#facets > summary").click()
    page.screenshot(path=str(ARTIFACTS / f"ux-360-filters-{scheme}.png"), full_page=True)


# -- 6 and 7. the console ---------------------------------------------------------------------


def test_console_sources_fits_a_phone(tmp_path, browser):
    # A source indexed earlier and since dropped from the configuration carries
    # the longest badge; at 360 px it used to make the page 516 px wide.
    src, dropped = tmp_path / "reuters-1987-newswire", tmp_path / "an-old-source"
    write_corpus(src, 12)
    write_corpus(dropped, 3, start=100)
    before = make_app(tmp_path, [src, dropped])
    client = before.test_client()
    start_reindex(client, sign_in(client))
    assert wait_for_job(client)["status"] == "done"
    app = make_app(tmp_path, [src])
    (ARTIFACTS / "console").mkdir(parents=True, exist_ok=True)
    with LiveServer(app) as live:
        tab = Tab(browser, live.url, **PHONE)
        page = tab.goto("/admin/login")
        page.fill("#name", "Ann")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live.url}/admin/")
        rows = page.locator("table.sources tbody tr")
        assert rows.count() == 3
        assert "not configured" in rows.nth(2).inner_text()
        page.locator("details.remove-file > summary").click()
        page.screenshot(path=str(ARTIFACTS / "console" / "sources-360.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        # Each folder's path has the width of the screen, and its buttons are on screen.
        path = rows.nth(0).locator(".path").bounding_box()
        assert path["width"] > 300
        reindex = rows.nth(0).locator("button[value=incremental]").bounding_box()
        assert reindex["x"] >= 0 and reindex["x"] + reindex["width"] <= 360
        # The console links the favicon too.
        assert page.locator("link[rel='icon']").get_attribute("href").endswith("favicon.svg")
        tab.close()
