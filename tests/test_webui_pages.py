"""The web UI through Flask's test client, over a real index, reading the HTML.

Every link a results page offers must reproduce the state it promises, the
same URL must answer with the whole page or the htmx fragment as asked, and
nothing from the archive may reach the page as live markup.
"""

from __future__ import annotations

import csv
import io
import json
import time
import xml.etree.ElementTree as ET

import pytest

from index.article import Article
from search.request import SearchRequest
from tests.webui_fixtures import HOSTILE_TITLE, build_index, parse_html, path_of, query_of
from webui import create_app
from webui.backend import close_engine

HX = {"HX-Request": "true", "HX-Target": "results-region"}


def get_page(client, url, **kw):
    r = client.get(url, **kw)
    assert r.status_code == 200, (url, r.status_code, r.data[:500])
    return r, parse_html(r.data)


def state_of(url: str) -> SearchRequest:
    req, errors = SearchRequest.from_args(query_of(url))
    assert errors == [], (url, errors)
    return req


def region_links(doc) -> list[str]:
    """Every search-state link in the results region (not article or export links)."""
    hrefs = doc.xpath('//*[@id="results-region"]//a/@href')
    return [h for h in hrefs if path_of(h) == "/"]


def form_state(doc) -> SearchRequest:
    """The state a browser would submit from the page's search form (JS off)."""
    pairs = []
    for el in doc.xpath('//input[@name]'):
        owner = el.get("form")
        in_form = bool(el.xpath('ancestor::form[@id="search-form"]'))
        if owner == "search-form" or in_form:
            pairs.append((el.get("name"), el.get("value") or ""))
    req, errors = SearchRequest.from_args(pairs)
    assert errors == []
    return req


# -- the landing page and full page vs fragment --------------------------------------


def test_landing_page_browses_newest_first_with_facets(client):
    r, doc = get_page(client, "/")
    dates = doc.xpath('//ol[@class="hits"]//time/@datetime')
    assert len(dates) == 10 and dates == sorted(dates, reverse=True)
    assert doc.xpath('//*[@id="facet-tags-heading"]')
    assert doc.xpath('//svg[@class="histogram"]//a')
    assert "42 articles" in doc.xpath('string(//*[@id="status"])')
    # Browsing has nothing to rank by relevance: only the date orders are offered.
    assert doc.xpath('//nav[@aria-label="Sort order"]//a/text()') == ["Newest", "Oldest"]


def test_security_headers_and_vary(client):
    r = client.get("/?q=harbour")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "HX-Request" in r.headers["Vary"]


def test_page_has_no_inline_script_or_style(client):
    _, doc = get_page(client, "/?q=harbour&tag=energy")
    for script in doc.xpath("//script"):
        assert script.get("src", "").startswith("/static/")
        assert not (script.text or "").strip()
    assert doc.xpath("//style") == []
    assert doc.xpath("//*[@style]") == []
    assert not [a for el in doc.iter() for a in el.attrib if a.startswith("on")]
    assert doc.xpath('//meta[@name="htmx-config"]')[0].get("content").count(
        '"includeIndicatorStyles": false') == 1


def test_fragment_for_htmx_and_full_page_otherwise(client):
    full = client.get("/?q=harbour")
    frag = client.get("/?q=harbour", headers=HX)
    assert full.data.lstrip().startswith(b"<!doctype html>")
    assert b"<html" not in frag.data and b"<header" not in frag.data
    doc = parse_html(b"<div>" + frag.data + b"</div>")
    assert doc.xpath('//*[@id="results-region"]')
    status = doc.xpath('//*[@id="status"]')[0]
    assert status.get("hx-swap-oob") == "innerHTML"
    assert frag.headers["HX-Push-Url"] == "/?q=harbour"
    assert "HX-Request" in frag.headers["Vary"]
    # Same hits either way.
    full_ids = parse_html(full.data).xpath('//ol[@class="hits"]//h2/a/@href')
    assert doc.xpath('//ol[@class="hits"]//h2/a/@href') == full_ids


def test_history_restore_gets_the_whole_page(client):
    r = client.get("/?q=harbour", headers={**HX, "HX-History-Restore-Request": "true"})
    assert r.data.lstrip().startswith(b"<!doctype html>")


def test_pushed_url_is_canonical(client):
    r = client.get("/?q=harbour&from=&to=&tag=Energy&page=1", headers=HX)
    assert r.headers["HX-Push-Url"] == "/?q=harbour&tag=energy"


# -- the no-JavaScript form -----------------------------------------------------------


def test_form_works_without_javascript_and_keeps_filters(client):
    url = "/?q=harbour&tag=energy&not_tag=politics&from=2019&to=2021&sort=newest&page=2"
    _, doc = get_page(client, url)
    form = doc.xpath('//form[@id="search-form"]')[0]
    assert form.get("method") == "get" and form.get("action") == "/"
    assert form.xpath('.//input[@name="q"]/@value') == ["harbour"]
    submitted = form_state(doc)
    expected = state_of(url)
    # Typing a new search keeps every filter and starts again at page 1.
    assert submitted == expected.with_page(1)


def test_blank_form_fields_redirect_to_the_clean_address(client):
    r = client.get("/?q=harbour&from=&to=&tag=energy")
    assert r.status_code == 303
    assert r.headers["Location"] == "/?q=harbour&tag=energy"


# -- every link reproduces its state ---------------------------------------------------


def test_every_region_link_is_canonical_and_loads(client):
    url = "/?q=report&tag=energy&from=2019&to=2021&page=2"
    _, doc = get_page(client, url)
    links = region_links(doc)
    assert len(links) > 15
    for href in set(links):
        req = state_of(href)
        assert query_of(href) == req.to_params(), href
        _, target = get_page(client, href)
        # The page the link opens shows the state the link promised.
        assert form_state(target) == req.with_page(1), href
        assert target.xpath('//input[@id="q"]/@value') == [req.q]


def test_tag_facet_links_toggle_and_exclude(client):
    url = "/?q=report&tag=energy"
    base = state_of(url)
    _, doc = get_page(client, url)
    rows = doc.xpath('//ul[@class="tag-list"]/li')
    assert rows
    by_label = {}
    for row in rows:
        label = row.xpath('string(.//span[@class="tag-label"])')
        by_label[label] = row
    energy = by_label["Energy"]
    assert "is-selected" in energy.get("class")
    assert state_of(energy.xpath('.//a[@class="tag-toggle"]/@href')[0]) == base.without_tag(
        "energy")
    assert not energy.xpath('.//a[@class="tag-exclude"]')
    trade = by_label["Trade"]
    assert "is-selected" not in trade.get("class")
    assert state_of(trade.xpath('.//a[@class="tag-toggle"]/@href')[0]) == base.with_tag("trade")
    assert state_of(trade.xpath('.//a[@class="tag-exclude"]/@href')[0]) == base.with_not_tag(
        "trade")
    count = int(trade.xpath('string(.//span[@class="count"])'))
    _, after = get_page(client, "/?q=report&tag=energy&tag=trade")
    assert f"{count} result" in after.xpath('string(//*[@id="status"])')


def test_chips_remove_one_filter_each_and_clear_all(client):
    url = "/?q=report&tag=energy&not_tag=politics&from=2019&to=2021"
    base = state_of(url)
    _, doc = get_page(client, url)
    removes = [state_of(h) for h in doc.xpath('//li[contains(@class,"chip")]/a/@href')]
    assert removes == [
        base.without_tag("energy"), base.without_not_tag("politics"), base.without_dates(),
    ]
    clear = doc.xpath('//a[@class="clear-all"]/@href')[0]
    assert state_of(clear) == SearchRequest(q="report")


def test_pagination_links(client):
    _, doc = get_page(client, "/?q=report&page=2")
    nav = doc.xpath('//nav[@class="pagination"]')[0]
    assert state_of(nav.xpath('.//a[@rel="prev"]/@href')[0]).page == 1
    assert state_of(nav.xpath('.//a[@rel="next"]/@href')[0]).page == 3
    current = nav.xpath('.//a[@aria-current="page"]')
    assert [a.text for a in current] == ["2"]
    numbers = [state_of(h).page for h in nav.xpath('.//a[not(@rel)]/@href')]
    assert numbers == sorted(numbers) and numbers[0] == 1
    _, p2 = get_page(client, "/?q=report&page=2")
    _, p3 = get_page(client, "/?q=report&page=3")
    assert not set(p2.xpath('//ol[@class="hits"]//h2/a/@href')) & set(
        p3.xpath('//ol[@class="hits"]//h2/a/@href'))


def test_sort_links(client):
    _, doc = get_page(client, "/?q=report&page=2")
    links = doc.xpath('//nav[@aria-label="Sort order"]//a')
    assert [a.text for a in links] == ["Relevance", "Relevance + recency", "Newest", "Oldest"]
    assert [state_of(a.get("href")).sort for a in links] == ["relevance", "recency", "newest",
                                                             "oldest"]
    assert all(state_of(a.get("href")).page == 1 for a in links)
    assert links[0].get("aria-current") == "true"
    _, oldest = get_page(client, links[3].get("href"))
    dates = oldest.xpath('//ol[@class="hits"]//time/@datetime')
    assert dates == sorted(dates)


def test_date_histogram_bars_filter_to_their_period(client):
    _, doc = get_page(client, "/?q=report")
    bars = doc.xpath('//svg[@class="histogram"]/a')
    years = [a.get("aria-label").split(":")[0] for a in bars]
    assert years == ["2019", "2020", "2021", "2022"]
    for a in bars:
        assert a.xpath("./title/text()") == [a.get("aria-label")]
        assert float(a.xpath('./rect[@class="fill"]/@height')[0]) > 0
    req = state_of(bars[1].get("href"))
    assert (req.date_from, req.date_to, req.q) == ("2020", "2020", "report")
    # Drilling down: a year shows its months, a month its days.
    _, year = get_page(client, bars[1].get("href"))
    assert year.xpath('//svg[@class="histogram"]/@data-level') == ["month"]
    month_bar = year.xpath('//svg[@class="histogram"]/a')[0]
    _, month = get_page(client, month_bar.get("href"))
    assert month.xpath('//svg[@class="histogram"]/@data-level') == ["day"]
    assert month.xpath('//svg[@class="histogram"]/a[contains(@class,"is-selected")]')


def test_quick_ranges_and_undated(client):
    _, doc = get_page(client, "/?q=harbour")
    quick = [state_of(h) for h in doc.xpath('//ul[@class="quick-ranges"]//a/@href')]
    assert all(r.date_from and r.date_to and r.q == "harbour" for r in quick)
    undated = doc.xpath('//p[@class="undated"]')[0]
    assert undated.xpath('string(.//span[@class="count"])') == "3"
    only = state_of(undated.xpath(".//a/@href")[0])
    assert only.undated == "only"
    _, page = get_page(client, undated.xpath(".//a/@href")[0])
    assert "3 results" in page.xpath('string(//*[@id="status"])')


def test_hit_tag_links_add_the_filter(client):
    _, doc = get_page(client, "/?q=report")
    hit = doc.xpath('//li[@class="hit"]')[0]
    for href in hit.xpath('.//ul[@class="hit-tags"]//a/@href'):
        req = state_of(href)
        assert req.q == "report" and len(req.tags) == 1


# -- messages, zero results ------------------------------------------------------------


def test_zero_results_advice(client):
    _, doc = get_page(client, "/?q=harbour&tag=politics")
    assert "No articles match" in doc.xpath('string(//div[@class="empty"])')
    relax = doc.xpath('//ul[@class="relaxations"]//a/@href')
    assert state_of(relax[0]) == SearchRequest(q="harbour")
    assert doc.xpath('//dl[@class="hints"]//code')


def test_a_misspelling_shows_the_corrected_results_and_a_way_back(client):
    _, doc = get_page(client, "/?q=harbuor")
    note = doc.xpath('//p[contains(@class,"corrected")]')
    assert note and "Showing results for harbour" in note[0].text_content()
    corrected, instead = note[0].xpath(".//a")
    assert state_of(corrected.get("href")).q == "harbour"
    exact = state_of(instead.get("href"))
    assert exact.q == "harbuor" and exact.verbatim
    assert doc.xpath('//ol[contains(@class,"hits")]/li') or doc.xpath("//article")


def test_did_you_mean_when_searching_as_typed(client):
    _, doc = get_page(client, "/?q=harbuor&verbatim=1")
    link = doc.xpath('//p[@class="did-you-mean"]/a')
    assert link and state_of(link[0].get("href")).q == link[0].text == "harbour"


def test_unreadable_query_says_what_was_searched(client):
    _, doc = get_page(client, '/?q=%22harbour')
    assert "Searched for:" in doc.xpath('string(//p[contains(@class,"searched-for")])')


def test_limits_are_applied_with_a_message():
    app = create_app({"INDEX_DIR": "/nonexistent-archivist-index", "MAX_QUERY_CHARS": 10,
                      "MAX_PAGE": 5, "MAX_PER_PAGE": 20})
    with app.test_request_context("/?q=" + "a" * 50 + "&page=9&per_page=50"):
        from webui.limits import search_request

        req, messages = search_request()
    assert (len(req.q), req.page, req.per_page) == (10, 5, 20)
    assert len(messages) == 3


# -- the article page -----------------------------------------------------------------


def test_article_page_highlights_and_links_back(client):
    _, results = get_page(client, "/?q=harbour&tag=memo")
    href = results.xpath('//ol[@class="hits"]//h2/a/@href')[0]
    assert path_of(href).startswith("/articles/")
    _, doc = get_page(client, href)
    assert doc.xpath('//div[@id="article-body"]//mark')
    assert doc.xpath('//div[@id="match-bar"]')
    back = doc.xpath('//p[@class="back"]/a/@href')[0]
    assert state_of(back) == SearchRequest(q="harbour", tags=("memo",))
    assert doc.xpath('//h1/@dir') == ["auto"]
    assert all(p.get("dir") == "auto" for p in doc.xpath('//div[@id="article-body"]/p'))


def test_article_page_related_and_tags(client):
    _, doc = get_page(client, "/articles/art-01")
    assert doc.xpath('//aside[@class="related"]//a')
    tags = doc.xpath('//ul[@class="hit-tags"]//a/@href')
    assert [state_of(h).tags for h in tags] == [("trade",), ("energy",)]
    assert doc.xpath('//a[@class="source"]/@href') == ["https://example.org/1"]


def test_unknown_article_is_a_friendly_404(client):
    r = client.get("/articles/no-such-thing")
    assert r.status_code == 404
    assert b"Traceback" not in r.data and b"no article with this id" in r.data


def test_persian_text_is_marked_for_direction(client):
    _, doc = get_page(client, "/?q=%D8%A8%D9%86%D8%AF%D8%B1")
    title = doc.xpath('//ol[@class="hits"]//h2/a')[0]
    assert title.get("dir") == "auto" and "بندر" in title.text_content()
    assert all(s.get("dir") == "auto" for s in doc.xpath('//p[@class="snippet"]'))


# -- hostile archive content -------------------------------------------------------------


@pytest.mark.parametrize("url", ["/?q=harbour", "/?q=harbour&from=2021-06&to=2021-06",
                                 "/articles/hostile-title?q=harbour",
                                 "/articles/hostile-body?q=harbour", "/tags?find=x"])
def test_hostile_text_is_inert(client, url):
    _, doc = get_page(client, url)
    scripts = doc.xpath("//script")
    assert [s.get("src") for s in scripts] == ["/static/htmx.min.js", "/static/app.js",
                                               "/static/complete.js"]
    assert not doc.xpath("//img | //iframe | //svg[not(@class='histogram')] | //style")
    for el in doc.iter():
        for name, value in el.attrib.items():
            assert not name.startswith("on"), (el.tag, name)
            assert not value.strip().lower().startswith("javascript:"), (el.tag, name, value)
    # Only <mark> may appear as markup inside titles, snippets and paragraphs.
    for el in doc.xpath('//h2[@class="hit-title"]//* | //p[@class="snippet"]//*'
                        ' | //div[@id="article-body"]/p//*'):
        assert el.tag in ("a", "mark")


def test_hostile_title_is_shown_as_text(client):
    _, doc = get_page(client, "/articles/hostile-title")
    assert doc.xpath("string(//h1)") == HOSTILE_TITLE
    # A javascript: source URL is printed, never linked.
    assert not doc.xpath('//a[@class="source"]')


# -- API, feed and exports ------------------------------------------------------------------


def test_api_search_matches_the_page(client):
    r = client.get("/api/search?q=report&tag=energy&page=2")
    assert r.status_code == 200 and r.mimetype == "application/json"
    data = r.get_json()
    assert data["page"] == 2 and data["total"] > 10
    _, doc = get_page(client, "/?q=report&tag=energy&page=2")
    ids = [path_of(h).rsplit("/", 1)[1] for h in doc.xpath('//ol[@class="hits"]//h2/a/@href')]
    assert [h["id"] for h in data["hits"]] == ids


def test_api_article_and_json_errors(client):
    ok = client.get("/api/articles/art-03")
    assert ok.status_code == 200 and ok.get_json()["id"] == "art-03"
    missing = client.get("/api/articles/nope")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["status"] == 404
    unknown = client.get("/api/unknown")
    assert unknown.status_code == 404 and unknown.is_json


def test_atom_feed_is_newest_first(client):
    r = client.get("/feed.atom?tag=energy")
    assert r.mimetype == "application/atom+xml"
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ET.fromstring(r.data)
    updated = [e.findtext("a:updated", namespaces=ns) for e in root.findall("a:entry", ns)]
    assert len(updated) == 18 and updated == sorted(updated, reverse=True)
    link = root.find("a:entry/a:link", ns).get("href")
    assert link.startswith("http://localhost/articles/")
    assert root.find("a:id", ns).text == "http://localhost/?tag=energy&sort=newest"


def test_atom_feed_links_under_a_mount_point(client):
    r = client.get("/feed.atom?tag=energy", environ_overrides={"SCRIPT_NAME": "/archive"})
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ET.fromstring(r.data)
    assert root.find("a:entry/a:link", ns).get("href").startswith(
        "http://localhost/archive/articles/")
    assert root.find("a:id", ns).text == "http://localhost/archive/?tag=energy&sort=newest"


def test_exports_honour_the_limit(index_dir):
    app = create_app({"INDEX_DIR": str(index_dir), "EXPORT_LIMIT": 5})
    client = app.test_client()
    csv_r = client.get("/export.csv?q=report")
    assert "attachment" in csv_r.headers["Content-Disposition"]
    lines = csv_r.data.decode().strip().splitlines()
    assert lines[0] == "id,title,date,kind,tags,url,source" and len(lines) == 6
    data = json.loads(client.get("/export.json?q=report").data)
    assert data["exported"] == 5 and data["total"] == 36 and len(data["hits"]) == 5
    close_engine(app)


def test_csv_defuses_formulas(tmp_path):
    index_dir = build_index(tmp_path / "ix", [Article(
        id="f1", source="/f1.txt", title="=HYPERLINK(\"http://evil\")", body="formula text")])
    app = create_app({"INDEX_DIR": str(index_dir)})
    rows = list(csv.reader(io.StringIO(app.test_client().get("/export.csv").data.decode())))
    assert rows[1][:2] == ["f1", "'=HYPERLINK(\"http://evil\")"]
    close_engine(app)


# -- an index that is missing, empty, or replaced ------------------------------------------


def test_missing_index_says_how_to_index(tmp_path):
    app = create_app({"INDEX_DIR": str(tmp_path / "nothing-here")})
    r = app.test_client().get("/")
    assert r.status_code == 200
    assert b"archivist index" in r.data and b"Traceback" not in r.data
    api = app.test_client().get("/api/search?q=x").get_json()
    assert api["total"] == 0 and api["messages"]


def test_unexpected_error_is_a_friendly_500(index_dir):
    app = create_app({"INDEX_DIR": str(index_dir)})

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    r = app.test_client().get("/boom")
    assert r.status_code == 500
    assert b"secret internals" not in r.data and b"Something went wrong" in r.data


def test_reindexed_archive_is_picked_up_without_restart(tmp_path):
    from index.article import Tag

    index_dir = build_index(tmp_path / "ix", [Article(
        id="one", source="/1.txt", title="First lighthouse", body="lighthouse keeper")])
    app = create_app({"INDEX_DIR": str(index_dir)})
    client = app.test_client()
    assert b"/articles/one" in client.get("/?q=lighthouse").data
    build_index(index_dir, [Article(id="two", source="/2.txt", title="Second lighthouse",
                                    body="lighthouse lamp", tags=(Tag("sea", "Sea"),))])
    deadline = time.monotonic() + 5
    while b"/articles/two" not in client.get("/?q=lighthouse").data:
        assert time.monotonic() < deadline, "the new index was never picked up"
        time.sleep(0.2)
    close_engine(app)


def test_links_follow_the_path_the_app_is_mounted_at(client):
    # Route URLs are kept per app and mount point; a page served under a
    # prefix (SCRIPT_NAME, as behind a proxy) links within it, and the
    # unprefixed pages served before and after it are unaffected.
    plain = get_page(client, "/?sort=oldest")[1]
    mounted = get_page(client, "/?sort=oldest", environ_overrides={"SCRIPT_NAME": "/archive"})[1]
    again = get_page(client, "/?sort=oldest")[1]
    for doc, prefix in ((plain, "/"), (mounted, "/archive/"), (again, "/")):
        hrefs = doc.xpath('//*[@id="results-region"]//a/@href')
        assert hrefs and all(h.startswith(prefix) for h in hrefs if not h.startswith("#")), hrefs
        assert any(h.startswith(prefix + "articles/") for h in hrefs)
        assert any(h.startswith(prefix + "?") for h in hrefs)
    assert not any(h.startswith("/archive") for h in plain.xpath("//a/@href"))


def test_why_this_result_is_a_disclosure_under_each_hit(client):
    _, doc = get_page(client, "/?q=report")
    hits = doc.xpath('//ol[@class="hits"]/li')
    assert hits
    for hit in hits:
        why = hit.xpath('.//details[@class="why"]')
        assert why and why[0].xpath("string(./summary)") == "Why this result"
        assert why[0].xpath('.//span[@class="why-label"]')
    assert not doc.xpath("//details//script") and not doc.xpath("//details//*[@style]")


def test_api_explains_when_asked(client):
    plain = client.get("/api/search?q=report").get_json()
    assert all("explanation" not in h for h in plain["hits"])
    asked = client.get("/api/search?q=report&explain=1").get_json()
    for h in asked["hits"]:
        assert h["explanation"]["value"] == pytest.approx(h["score"], rel=1e-4)
        assert h["explanation"]["label"]


def test_chips_show_labels_for_required_and_excluded_tags(client):
    _, doc = get_page(client, "/?q=report&not_tag=memo")
    chips = [c.text_content().strip() for c in doc.xpath('//li[contains(@class,"chip")]/span')]
    assert "Not: Memo" in chips, chips


def test_a_date_filter_that_matches_nothing_does_not_call_the_archive_empty(client):
    _, doc = get_page(client, "/?from=1900&to=1900")
    text = doc.xpath("string(//main)")
    assert "The archive is empty" not in text and "No articles match" in text


def test_csv_for_excel_starts_with_a_byte_order_mark(client):
    _, doc = get_page(client, "/?q=report")
    excel = doc.xpath('//p[@class="exports"]/a[text()="for Excel"]/@href')
    assert excel and "bom=1" in excel[0]
    data = client.get(excel[0]).data
    assert data.startswith("\ufeff".encode()) and b"id,title" in data[:20]
    assert not client.get("/export.csv?q=report").data.startswith("\ufeff".encode())


def test_readers_choose_how_many_results_a_page_shows(client):
    _, doc = get_page(client, "/?q=report&page=2")
    links = doc.xpath('//nav[@aria-label="Results per page"]//a')
    assert [a.text for a in links] == ["10", "20", "50", "100"]
    assert links[0].get("aria-current") == "true"
    wanted = state_of(links[2].get("href"))
    assert wanted.per_page == 50 and wanted.page == 1 and wanted.q == "report"
    _, fifty = get_page(client, links[2].get("href"))
    assert len(fifty.xpath('//ol[@class="hits"]/li')) == 36  # every report on one page
    assert fifty.xpath('//nav[@aria-label="Results per page"]//a[@aria-current="true"]/text()') \
        == ["50"]
