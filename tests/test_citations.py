"""Citations (RIS and BibTeX) read back the way a reference manager reads them.

A real index holds a few articles built to break citation files: a title
with braces (one of them unmatched), `%`, `&`, backslashes, quotes, BibTeX's
other specials and line breaks followed by "ER  - " and "TY  - " (which
would end a RIS record or start a field if they reached the start of a
line); a Persian one; an undated one; one with a `javascript:` URL; a very
long title; two that would get the same cite key. Every file is parsed back
with rispy and bibtexparser (v2, LaTeX decoded by pylatexenc) and each
field compared with the article it came from, so a test fails when a value
is lost, mangled, or spills into another field or record.

The web routes are driven through Flask's test client: the article page's
"Cite" links, the result set's export links, the API operation (held to its
OpenAPI description by schemathesis), their headers and their limits.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import bibtexparser
import pytest
import rispy
import schemathesis
from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors
from hypothesis import HealthCheck, given, settings
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from index.article import Article
from index.normalize import normalize_tags as tags
from search.citation import Citation, cite_key, cite_keys, to_bibtex, to_ris
from search.embedded.engine import Engine
from search.request import SearchRequest
from tests.webui_fixtures import build_index, parse_html, path_of, query_of
from webui import create_app
from webui.backend import close_engine

HOSTILE_TITLE = ('{Braces}} and {unbalanced 50% & &Co C:\\Temp\\new "quoted" ~^$#_ \\Beta\n'
                 'ER  - \nTY  - JOUR\r\nAU  - Mallory\u2028@misc{x,\x0bend')
#: The hostile title as a citation carries it: each line break (with the
#: spaces around it) is one space, the spaces inside a line are kept.
HOSTILE_TITLE_ONE_LINE = ('{Braces}} and {unbalanced 50% & &Co C:\\Temp\\new "quoted" '
                          '~^$#_ \\Beta ER  - TY  - JOUR AU  - Mallory @misc{x, end')
LONG_TITLE = " ".join(f"Chapter{i} of the long record" for i in range(120))

ARTICLES = [
    Article(
        id="doe-1", source="/archive/doe1.txt", title="Harbour cranes return",
        body="The cranes are back at the harbour.", date=dt.date(2021, 3, 4),
        tags=tags(["Energy", "Trade", "Oil, gas"]),
        kind="News", url="https://example.org/news/1?a=1&b=50%25#top_x~y",
        publication="Eastbrook Daily & Co", author="Jane Doe; Ali Rezaei", language="en",
    ),
    Article(
        id="doe-2", source="/archive/doe2.txt", title="The harbour at night",
        body="Night shifts at the harbour.", date=dt.date(2021, 11, 30),
        tags=tags(["Trade"]), kind="News", url="https://example.org/news/2",
        publication="Eastbrook Daily & Co", author="Jane Doe", language="en",
    ),
    Article(
        id="hostile-1", source="/archive/hostile.txt", title=HOSTILE_TITLE,
        body="A report that tries to break citation files.", date=dt.date(2020, 2, 29),
        tags=tags(["50% & more", "a_b {x}"]),
        kind="Report", url="https://example.org/r?q=a{b}\\c",
        publication="Institute for {Studies} & Research", author="Smith and Sons; O'Brien, Pat",
        language="en",
    ),
    Article(
        id="fa-1", source="/archive/fa.txt", title="گزارش\u200cهای بندر و کشتیرانی",
        body="این گزارش درباره بندر و تجارت دریایی است.", date=dt.date(2022, 3, 1),
        tags=tags(["اقتصاد", "بندر"]), kind="Report",
        publication="دیدبان سیاست", author="علی رضایی", language="fa",
    ),
    Article(
        id="undated-1", source="/archive/undated.txt", title="Undated memo on the harbour",
        body="An undated memo.", tags=tags(["Memo"]), kind="Analysis",
        url="http://example.org/memo", language="en",
    ),
    Article(
        id="js-1", source="/archive/js.txt", title="A link that is not one",
        body="Its URL would run script.", date=dt.date(2019, 5, 6), url="javascript:alert(1)",
        language="en",
    ),
    Article(
        id="long-1", source="/archive/long.txt", title=LONG_TITLE, body="A long title.",
        date=dt.date(2019, 12, 31), language="en",
    ),
    *[Article(id=f"plain-{i}", source=f"/archive/plain{i}.txt", title=f"Plain note {i}",
              body=f"Plain note number {i}.", date=dt.date(2018, 1 + i, 1), language="en")
      for i in range(8)],
]
BY_ID = {a.id: a for a in ARTICLES}

RIS_LINE = re.compile(r"[A-Z][A-Z0-9]  - ")
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("citations") / "index", ARTICLES)


@pytest.fixture(scope="module")
def hits(index_dir):
    """Every article as a search hit, newest first (what an export holds)."""
    engine = Engine(index_dir)
    try:
        results = engine.run(SearchRequest(per_page=100), snippets=False)
    finally:
        engine.close()
    assert results.total == len(ARTICLES)
    return results.hits


# -- what each article should read back as ------------------------------------------


def expected_title(article: Article) -> str:
    return HOSTILE_TITLE_ONE_LINE if article.id == "hostile-1" else article.title


def expected_authors(article: Article) -> list[str]:
    return [name.strip() for name in (article.author or "").split(";") if name.strip()]


def expected_url(article: Article) -> str | None:
    return article.url if (article.url or "").startswith("http") else None


def read_ris(text: str) -> list[dict]:
    """RIS text as rispy reads it, after checking every line's shape."""
    assert "\n" not in text.replace("\r\n", ""), "every line ends with CR LF"
    for line in text.split("\r\n"):
        assert line == "" or RIS_LINE.match(line), line
    return rispy.loads(text)


def _decoder() -> LatexNodes2Text:
    """pylatexenc as bibtexparser sets it up, plus three text commands it
    does not know (or maps to a look-alike): the ones LaTeX prints as
    `{`, `}` and `^`."""
    db = get_default_latex_context_db()
    db.add_context_category("citations-test", prepend=True, macros=[
        MacroTextSpec("url", simplify_repl="%s"),
        MacroTextSpec("textbraceleft", "{"),
        MacroTextSpec("textbraceright", "}"),
        MacroTextSpec("textasciicircum", "^"),
    ])
    return LatexNodes2Text(latex_context=db, keep_braced_groups=False, math_mode="verbatim")


def read_bibtex(text: str) -> tuple[list, list]:
    """(raw entries, decoded entries) of BibTeX text that parsed with no failed block.

    Raw values are the file's own text (keys, url, month, dates; `author`
    split into names); decoded ones are what a reference manager shows
    (title, publication).
    """
    raw = bibtexparser.parse_string(text, append_middleware=[SeparateCoAuthors()])
    decoded = bibtexparser.parse_string(
        text, append_middleware=[LatexDecodingMiddleware(decoder=_decoder())])
    assert raw.failed_blocks == [] and decoded.failed_blocks == []
    return raw.entries, decoded.entries


def keywords_of(raw_value: str) -> list[str]:
    """A raw `keywords` value split at its top-level commas, each decoded."""
    parts, depth, current = [], 0, ""
    for ch in raw_value:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [_decoder().latex_to_text(p.strip()) for p in parts]


def fields(entry) -> dict:
    return {f.key: f.value for f in entry.fields}


# -- RIS ------------------------------------------------------------------------------


def test_ris_reads_back_every_field(hits):
    text = to_ris(Citation.of(h) for h in hits)
    records = read_ris(text)
    assert len(records) == len(hits)
    for record, hit in zip(records, hits, strict=True):
        article = BY_ID[hit.id]
        assert record.get("title") == expected_title(article), hit.id
        assert record.get("authors", []) == expected_authors(article)
        if article.date:
            assert record["year"] == f"{article.date.year:04d}"
            assert record["date"] == article.date.strftime("%Y/%m/%d")
        else:
            assert "year" not in record and "date" not in record
        assert record.get("secondary_title") == article.publication
        assert record.get("urls", [None]) == [expected_url(article)]
        assert record.get("keywords", []) == [t.label for t in article.tags]
        assert record.get("language") == hit.language
        assert record.get("type_of_work") == hit.kind


def test_ris_types_follow_the_kind(hits):
    types = {h.id: r["type_of_reference"]
             for h, r in zip(hits, read_ris(to_ris(Citation.of(h) for h in hits)), strict=True)}
    assert types["doe-1"] == "NEWS"
    assert types["hostile-1"] == types["fa-1"] == "RPRT"
    assert types["undated-1"] == "ELEC"  # an analysis on the web
    assert types["js-1"] == "GEN"  # no kind, and no web address left


def test_a_title_cannot_end_a_ris_record_or_start_a_field(hits):
    hostile = next(h for h in hits if h.id == "hostile-1")
    plain = next(h for h in hits if h.id == "plain-0")
    text = to_ris([Citation.of(hostile), Citation.of(plain)])
    lines = text.split("\r\n")
    assert [ln for ln in lines if ln.startswith("TY  - ")] == ["TY  - RPRT", "TY  - GEN"]
    assert [ln for ln in lines if ln.startswith("ER  - ")] == ["ER  - ", "ER  - "]
    assert [ln for ln in lines if ln.startswith("AU  - ")] == ["AU  - Smith and Sons",
                                                             "AU  - O'Brien, Pat"]
    first, second = read_ris(text)
    assert first["title"] == HOSTILE_TITLE_ONE_LINE
    assert second == {"type_of_reference": "GEN", "title": "Plain note 0", "year": "2018",
                      "date": "2018/01/01", "language": "en"}


# -- BibTeX ---------------------------------------------------------------------------


def test_bibtex_reads_back_every_field(hits):
    raw, decoded = read_bibtex(to_bibtex(Citation.of(h) for h in hits))
    assert len(raw) == len(decoded) == len(hits)
    for entry, shown, hit in zip(raw, decoded, hits, strict=True):
        article = BY_ID[hit.id]
        f, g = fields(entry), fields(shown)
        assert g.get("title") == expected_title(article), hit.id
        names = [_decoder().latex_to_text(name) for name in f.get("author", [])]
        assert names == expected_authors(article)
        where = g.get("journal") or g.get("institution") or g.get("howpublished")
        assert where == article.publication
        if article.date:
            assert f["year"] == str(article.date.year)
            assert f["month"] == MONTHS[article.date.month - 1]
            assert f["date"] == article.date.isoformat()
        else:
            assert not {"year", "month", "date"} & set(f)
        if "keywords" in f:
            assert keywords_of(f["keywords"]) == [t.label for t in article.tags]
        else:
            assert not article.tags
        assert f.get("language") == hit.language


def test_bibtex_types_and_where_published(hits):
    raw, _ = read_bibtex(to_bibtex(Citation.of(h) for h in hits))
    by_id = {h.id: e for h, e in zip(hits, raw, strict=True)}
    assert by_id["doe-1"].entry_type == "article" and "journal" in fields(by_id["doe-1"])
    report = fields(by_id["hostile-1"])
    assert by_id["hostile-1"].entry_type == "techreport"
    assert "institution" in report and report["type"] == "Report"
    assert by_id["undated-1"].entry_type == by_id["js-1"].entry_type == "misc"


def test_bibtex_urls_are_verbatim_and_only_web_addresses(hits):
    raw, _ = read_bibtex(to_bibtex(Citation.of(h) for h in hits))
    urls = {h.id: fields(e).get("url") for h, e in zip(hits, raw, strict=True)}
    assert urls["doe-1"] == "https://example.org/news/1?a=1&b=50%25#top_x~y"
    # Braces and a backslash would unbalance the entry: percent-encoded instead.
    assert urls["hostile-1"] == "https://example.org/r?q=a%7Bb%7D%5Cc"
    assert urls["js-1"] is None and urls["fa-1"] is None


def test_bibtex_title_escapes_specials_and_protects_capitals(hits):
    hostile = next(h for h in hits if h.id == "hostile-1")
    raw, _ = read_bibtex(to_bibtex([Citation.of(hostile)]))
    title = fields(raw[0])["title"]
    # Every brace in the value is the writer's own: they balance, and the
    # article's braces (one "}" and two "{" unmatched) are text commands.
    depth = 0
    for ch in title:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    assert r"50\% \& " in title and r"\$\#\_" in title
    assert "{{\\textbraceleft}Braces{\\textbraceright}{\\textbraceright}}" in title
    assert "{{\\textbackslash}Beta}" in title and r"{\textbraceleft}unbalanced" in title
    # A group opening with a command is a BibTeX "special character", whose
    # letters a style would still lower-case: a second brace protects them.
    assert r"{{\&Co}}" in title
    assert "{ER}  - {TY}" in title and " and " in title  # lower-case words stay bare


def test_persian_and_long_titles_keep_every_character(hits):
    chosen = [h for h in hits if h.id in ("fa-1", "long-1")]
    _, decoded = read_bibtex(to_bibtex(Citation.of(h) for h in chosen))
    assert {fields(e)["title"] for e in decoded} == {BY_ID["fa-1"].title, LONG_TITLE}
    assert "\u200c" in BY_ID["fa-1"].title  # the zero-width non-joiner survives
    records = read_ris(to_ris(Citation.of(h) for h in chosen))
    assert {r["title"] for r in records} == {BY_ID["fa-1"].title, LONG_TITLE}


def test_cite_keys_are_ascii_unique_and_stable(hits):
    citations = [Citation.of(h) for h in hits]
    keys = cite_keys(citations)
    assert len(set(keys)) == len(keys) == len(hits)
    assert all(re.fullmatch(r"[a-z][a-z0-9]*", k) for k in keys), keys
    by_id = dict(zip((h.id for h in hits), keys, strict=True))
    # The two Doe 2021 harbour stories: the first keeps the key, the next gets "a".
    assert {by_id["doe-1"], by_id["doe-2"]} == {"doe2021harbour", "doe2021harboura"}
    assert by_id["hostile-1"] == "smith2020braces"  # an organization: its first word
    assert by_id["fa-1"] == "anon2022"  # nothing in it spells in ASCII
    assert by_id["undated-1"] == "anonundated"  # no year is made up
    # A key depends on the article alone, so every export gives it the same one.
    assert cite_keys(reversed(citations))[-1] == cite_key(citations[0]) == keys[0]
    raw, _ = read_bibtex(to_bibtex(citations))
    assert [e.key for e in raw] == keys


def test_many_articles_with_one_key_get_letters(hits):
    same = Citation.of(next(h for h in hits if h.id == "doe-2"))
    keys = cite_keys([same] * 30)
    assert keys[:3] == ["doe2021harbour", "doe2021harboura", "doe2021harbourb"]
    assert keys[26:] == ["doe2021harbourz", "doe2021harbouraa", "doe2021harbourab",
                         "doe2021harbourac"]
    assert len(set(keys)) == 30


# -- one article over HTTP -------------------------------------------------------------


def _assert_download(response, media_type: str, filename: str) -> str:
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == media_type
    assert response.mimetype_params == {"charset": "utf-8"}
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    return response.data.decode("utf-8")


def test_article_page_cite_links_download_the_article(client):
    doc = parse_html(client.get("/articles/hostile-1?q=braces").data)
    links = doc.xpath('//p[@class="cite"]/a')
    assert [a.text for a in links] == ["RIS", "BibTeX"]
    ris_href, bib_href = (a.get("href") for a in links)
    assert path_of(ris_href) == "/articles/hostile-1/cite.ris" and not query_of(ris_href)
    assert path_of(bib_href) == "/articles/hostile-1/cite.bib"

    ris = _assert_download(client.get(ris_href), "application/x-research-info-systems",
                           "smith2020braces.ris")
    [record] = read_ris(ris)
    assert record["title"] == HOSTILE_TITLE_ONE_LINE
    assert record["authors"] == ["Smith and Sons", "O'Brien, Pat"]

    bib = _assert_download(client.get(bib_href), "application/x-bibtex", "smith2020braces.bib")
    raw, decoded = read_bibtex(bib)
    assert [e.key for e in raw] == ["smith2020braces"]
    assert fields(decoded[0])["title"] == HOSTILE_TITLE_ONE_LINE


def test_api_gives_the_same_files_as_the_page(client):
    for fmt, ext, media_type in (("ris", "ris", "application/x-research-info-systems"),
                                 ("bibtex", "bib", "application/x-bibtex")):
        api = client.get(f"/api/articles/fa-1/citation?format={fmt}")
        body = _assert_download(api, media_type, f"anon2022.{ext}")
        assert body == client.get(f"/articles/fa-1/cite.{ext}").data.decode()
    _, decoded = read_bibtex(body)
    assert fields(decoded[0])["title"] == BY_ID["fa-1"].title


def test_unknown_article_or_format(client):
    page = client.get("/articles/no-such-article/cite.ris")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert client.get("/articles/doe-1/cite.pdf").status_code == 404
    api = client.get("/api/articles/no-such-article/citation?format=bibtex")
    assert api.status_code == 404 and api.get_json()["error"]["status"] == 404
    for query in ("", "?format=endnote", "?format=RIS"):
        bad = client.get(f"/api/articles/doe-1/citation{query}")
        assert bad.status_code == 400, query
        assert "format=ris" in bad.get_json()["error"]["message"]


def test_citation_operation_holds_to_the_openapi_document(app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operation = schema["/api/articles/{article_id}/citation"]["GET"]
    for fmt in ("ris", "bibtex"):
        case = operation.Case(path_parameters={"article_id": "doe-1"}, query={"format": fmt})
        assert case.call_and_validate().status_code == 200

    @settings(max_examples=30, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(case=operation.as_strategy())
    def check(case):
        assert case.call_and_validate().status_code in (200, 404)

    check()


# -- the result set over HTTP ----------------------------------------------------------


def test_results_page_offers_ris_and_bibtex_beside_csv_and_json(client):
    doc = parse_html(client.get("/?q=harbour&tag=trade&page=1&per_page=20").data)
    links = {a.text: a.get("href") for a in doc.xpath('//p[@class="exports"]/a')}
    assert {"Export CSV", "Export JSON", "Export RIS", "Export BibTeX"} <= set(links)
    assert path_of(links["Export RIS"]) == "/export.ris"
    assert path_of(links["Export BibTeX"]) == "/export.bib"
    # The same search as the CSV link: its filters, not the page being shown.
    assert query_of(links["Export RIS"]) == query_of(links["Export CSV"])
    assert query_of(links["Export BibTeX"]) == query_of(links["Export CSV"])
    assert ("tag", "trade") in query_of(links["Export RIS"])


@pytest.mark.parametrize("query", ["", "?q=harbour", "?tag=trade", "?undated=only"])
def test_result_set_exports_hold_the_search_in_order(client, query):
    ids = [h["id"] for h in json.loads(client.get(f"/export.json{query}").data)["hits"]]
    assert ids, query
    today = dt.date.today().isoformat()

    ris = _assert_download(client.get(f"/export.ris{query}"),
                           "application/x-research-info-systems",
                           f"archivist-search-{today}.ris")
    records = read_ris(ris)
    assert [r.get("title") for r in records] == [expected_title(BY_ID[i]) for i in ids]

    bib = _assert_download(client.get(f"/export.bib{query}"), "application/x-bibtex",
                           f"archivist-search-{today}.bib")
    raw, decoded = read_bibtex(bib)
    assert [fields(e).get("title") for e in decoded] == [expected_title(BY_ID[i]) for i in ids]
    assert len({e.key for e in raw}) == len(ids)


def test_result_set_exports_respect_the_row_cap(index_dir):
    app = create_app({"INDEX_DIR": str(index_dir), "TESTING": True, "EXPORT_LIMIT": 3})
    try:
        client = app.test_client()
        assert len(read_ris(client.get("/export.ris").data.decode())) == 3
        raw, _ = read_bibtex(client.get("/export.bib").data.decode())
        assert len(raw) == 3
        assert json.loads(client.get("/export.json").data)["total"] == len(ARTICLES)
    finally:
        close_engine(app)
