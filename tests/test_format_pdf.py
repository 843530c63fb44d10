"""The PDF reader: text, pages, metadata and failures, then through the index, engine and UI.

Every PDF here is built at test time with fpdf2 (`tests/fixtures/make_pdfs.py`)
and read back through the real reader, `index.sources.load`, the writer,
the search engine and the Flask app.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from index import upload
from index.article import Article, ReadError, SourceText
from index.formats import EXTENSIONS, detect, pdf
from index.sources import FoundFile, load
from index.writer import update
from search.embedded.engine import Engine
from search.request import SearchRequest
from tests.fixtures.make_pdfs import Report, build_report, image_only_pdf, sample_reports
from tests.webui_fixtures import parse_html
from webui import create_app
from webui.backend import close_engine

REPORTS = Path(__file__).resolve().parents[1] / "index" / "sample_archive" / "reports"

FILLER = ("The committee heard evidence from regional utilities, consumer groups and the "
          "grid operator over four sessions, and this chapter sets out what each of them said "
          "about costs, timing and the risks of waiting another year.")

# One word per page that appears on no other page, to find each page by.
PAGE_WORDS = ["aqueduct", "lighthouse", "zeppelin"]


def three_pages(**metadata) -> Report:
    """A three-page report, each page with its own word, a heading on the first."""
    pages = [
        ["# Regional Water Security Review", f"Opening {PAGE_WORDS[0]} section. {FILLER}"],
        ["## Findings", f"Middle {PAGE_WORDS[1]} section. {FILLER}", FILLER],
        ["## Recommendations", f"Final {PAGE_WORDS[2]} section. {FILLER}"],
    ]
    return Report(pages=pages, **metadata)


def read(data: bytes, path: str = "/archive/reports/review.pdf") -> Article | ReadError:
    results = list(pdf.read(SourceText(path, "", "binary", data=data)))
    assert len(results) == 1, "a PDF yields exactly one value"
    return results[0]


def read_article(data: bytes) -> Article:
    result = read(data)
    assert isinstance(result, Article), result
    return result


def read_error(data: bytes) -> ReadError:
    result = read(data)
    assert isinstance(result, ReadError), result
    return result


# -- metadata ---------------------------------------------------------------------------


def test_metadata_gives_title_author_date_and_language():
    article = read_article(build_report(three_pages(
        title="Water Security in the Central Plain", author="Jane Roe",
        created=dt.datetime(2024, 3, 12, 10, 0, tzinfo=dt.UTC), lang="en-GB")))
    assert article.title == "Water Security in the Central Plain"
    assert article.author == "Jane Roe"
    assert article.date == dt.date(2024, 3, 12)
    assert article.language == "en"
    assert article.kind == "Report"


@pytest.mark.parametrize("placeholder", [
    None, "Untitled", "untitled-3", "Microsoft Word - water_review_final.docx",
    "water review v2.docx", "Document1",
])
def test_a_missing_or_meaningless_metadata_title_gives_way_to_the_first_heading(placeholder):
    article = read_article(build_report(three_pages(title=placeholder)))
    assert article.title == "Regional Water Security Review"


def test_the_heading_is_the_largest_type_and_a_date_line_is_never_the_title():
    report = Report(pages=[
        ["small: 12 March 2024", "small: Eastbrook Institute", "# Ports After the Canal Drought",
         FILLER],
    ])
    article = read_article(build_report(report))
    assert article.title == "Ports After the Canal Drought"
    # With one size of type throughout, the first short line that is not a date.
    report = Report(pages=[["small: 12 March 2024", "small: Ports After the Canal Drought",
                            "small: " + FILLER]])
    assert read_article(build_report(report)).title == "Ports After the Canal Drought"


@pytest.mark.parametrize("written", ["12 March 2024", "March 12, 2024", "2024-03-12",
                                     "12th of March, 2024"])
def test_without_a_creation_date_the_first_date_on_page_one_is_used(written):
    report = Report(pages=[["# Ports After the Canal Drought",
                            f"small: Policy brief no. 7 | {written} | Ports programme", FILLER,
                            "Revised on 2024-05-01 after comments."]])
    article = read_article(build_report(report))
    assert article.date == dt.date(2024, 3, 12)


def test_the_creation_date_wins_over_a_date_in_the_text():
    report = Report(created=dt.datetime(2023, 1, 5, tzinfo=dt.UTC),
                    pages=[["# Ports", "small: 12 March 2024", FILLER]])
    assert read_article(build_report(report)).date == dt.date(2023, 1, 5)


def test_a_month_and_year_alone_is_not_a_date():
    report = Report(pages=[["# Ports", "small: Spring edition, March 2024", FILLER]])
    assert read_article(build_report(report)).date is None


def test_language_is_the_declared_one_else_detected():
    # Declared German on English text: the declaration wins, so it must be the one read.
    declared = read_article(build_report(three_pages(lang="de-DE")))
    assert declared.language == "de"
    spanish = Report(pages=[[
        "# La reforma de las tarifas del agua",
        "Tres veranos de sequía han dejado a los servicios municipales de agua con embalses "
        "cada vez más bajos y costes de bombeo crecientes. Este informe examina lo que ocurrió "
        "en las seis ciudades que adoptaron tarifas por bloques y qué pueden aprender las demás.",
    ]])
    assert read_article(build_report(spanish)).language == "es"


# -- text and pages ---------------------------------------------------------------------


def test_page_offsets_point_at_each_page():
    article = read_article(build_report(three_pages()))
    assert len(article.pages) == 3
    assert article.pages[0] == 0
    body = article.body
    for number, word in enumerate(PAGE_WORDS):
        start = article.pages[number]
        end = article.pages[number + 1] if number + 1 < 3 else len(body)
        assert word in body[start:end], (number + 1, word)
        assert word not in body[:start] + body[end:]
    assert body[article.pages[2]:].startswith("Recommendations\n\nFinal zeppelin section.")


def test_paragraphs_are_kept_and_lines_inside_them_joined():
    second = "A second paragraph follows the first one after a gap."
    article = read_article(build_report(Report(pages=[["# Heading", FILLER, second]])))
    assert article.body == f"Heading\n\n{FILLER}\n\n{second}"


def test_words_broken_at_a_line_end_are_joined_and_compounds_keep_their_hyphen():
    text = ("Trade in electricity is increasingly inter-\nnational, and the new "
            "Euro-\nAsian link carries it.   Spaces   collapse.")
    article = read_article(build_report(Report(pages=[["# Links", text]])))
    assert "increasingly international, and the new Euro-Asian link" in article.body
    assert "inter-" not in article.body
    assert "Spaces collapse." in article.body


def test_running_headers_and_page_numbers_are_dropped():
    header = "Eastbrook Institute | Water Programme"
    article = read_article(build_report(three_pages(running_header=header)))
    assert header not in article.body
    assert "Page 2 of 3" not in article.body and "of 3" not in article.body
    assert article.body.startswith("Regional Water Security Review")
    # Two pages are too few to tell a running header from a repeated line.
    two = Report(running_header=header, pages=[["# One", FILLER], ["# Two", FILLER]])
    assert read_article(build_report(two)).body.count(header) == 2


def test_an_owner_password_alone_does_not_stop_reading():
    article = read_article(build_report(three_pages(owner_password="owner-only")))
    assert article.title == "Regional Water Security Review"
    assert "zeppelin" in article.body


# -- failures ---------------------------------------------------------------------------


def test_an_encrypted_pdf_is_named_as_such():
    data = build_report(three_pages(owner_password="owner", user_password="secret"))
    assert read_error(data).reason == "encrypted PDF"


def test_pages_without_text_need_ocr():
    assert read_error(image_only_pdf()).reason == "no text layer; scanned PDFs need OCR"


@pytest.mark.parametrize("data", [
    b"this is not a PDF at all, only a text file named .pdf",
    b"%PDF-1.7\n" + bytes(range(256)) * 4,
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << >>\n%%EOF",
])
def test_garbage_is_a_damaged_pdf(data):
    reason = read_error(data).reason
    assert reason.startswith("damaged PDF: ") and len(reason) > len("damaged PDF: ")


def test_damaged_copies_of_a_real_pdf_never_raise():
    data = build_report(three_pages(title="Water", created=dt.datetime(2024, 1, 1,
                                                                       tzinfo=dt.UTC)))
    damaged = [data[:n] for n in range(0, len(data), max(len(data) // 12, 1))]
    damaged += [data[:n] + b"\xff" * 16 + data[n + 16:] for n in range(200, len(data), 300)]
    reasons = {"encrypted PDF", "no text layer; scanned PDFs need OCR"}
    for copy in damaged:
        result = read(copy)
        assert isinstance(result, Article) or result.reason in reasons \
            or result.reason.startswith("damaged PDF: ")


def test_page_count_and_body_are_capped(monkeypatch):
    monkeypatch.setattr(pdf, "MAX_PAGES", 2)
    article = read_article(build_report(three_pages()))
    assert len(article.pages) == 2 and "zeppelin" not in article.body
    monkeypatch.setattr(pdf, "MAX_PAGES", 2000)
    monkeypatch.setattr(pdf, "MAX_BODY_CHARS", 100)
    article = read_article(build_report(three_pages()))
    assert len(article.body) <= 100 and article.pages == (0,)


# -- finding and loading PDF files ------------------------------------------------------


def test_pdf_files_are_detected_by_extension_and_by_their_first_bytes():
    assert EXTENSIONS[".pdf"] == "pdf" and detect("a/Report.PDF") == "pdf"
    assert detect("a/report", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3") == "pdf"
    assert detect("a/report.txt", b"%PDF-1.7") == "pagedump", "the extension decides"


def test_load_hands_the_bytes_over_undecoded(tmp_path):
    data = build_report(three_pages())
    path = tmp_path / "review.pdf"
    path.write_bytes(data)
    loaded = load(FoundFile(str(path), "pdf", key="reports/review.pdf"))
    assert loaded.error is None
    assert loaded.text is not None
    assert (loaded.text.text, loaded.text.encoding, loaded.text.data) == ("", "binary", data)
    assert loaded.text.key == "reports/review.pdf"


def test_an_uploaded_pdf_is_checked_and_its_dry_run_reads_it(tmp_path):
    good = build_report(three_pages())
    locked = build_report(three_pages(owner_password="owner", user_password="secret"))
    prepared = upload.prepare([("review.pdf", good), ("locked.pdf", locked)])
    assert [(r.name, r.reason) for r in prepared.refused] == [
        ("locked.pdf", "cannot be read as an article: encrypted PDF")]
    folder = tmp_path / "src"
    folder.mkdir()
    report = upload.dry_run(tmp_path / "index", folder, prepared)
    [plan] = report.files
    assert (plan.name, plan.action, plan.added, plan.failures) == ("review.pdf", "new", 1, [])


# -- through the writer, the engine and the web UI -------------------------------------


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pdfs") / "archive"
    folder.mkdir()
    (folder / "review.pdf").write_bytes(build_report(three_pages(
        title="Regional Water Security Review",
        created=dt.datetime(2024, 3, 12, tzinfo=dt.UTC))))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\nthis file was cut off in transit")
    (folder / "scan.pdf").write_bytes(image_only_pdf())
    (folder / "notes.txt").write_text(
        "Harbour notes\n\n2021/03/04 | ports\n\nThe harbour master reported on dredging.\n",
        "utf-8")
    return folder


@pytest.fixture(scope="module")
def indexed(archive, tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("pdf-index") / "index"
    return index_dir, update(index_dir, [archive])


def test_the_run_indexes_good_files_and_names_bad_ones(archive, indexed):
    _index_dir, summary = indexed
    assert summary.added == 2
    failures = {Path(f.path).name: f.reason for f in summary.failures}
    assert set(failures) == {"broken.pdf", "scan.pdf"}
    assert failures["broken.pdf"].startswith("damaged PDF: ")
    assert failures["scan.pdf"] == "no text layer; scanned PDFs need OCR"
    assert not [w for w in summary.warnings if "review.pdf" in w.path], summary.warnings


def test_a_word_on_page_three_is_found_on_page_three(indexed):
    engine = Engine(indexed[0])
    try:
        results = engine.run(SearchRequest(q="zeppelin"))
        assert [h.title for h in results.hits] == ["Regional Water Security Review"]
        assert results.hits[0].snippet_pages == [3]
        view = engine.get(results.hits[0].id)
        assert view is not None
        assert view.paragraph_pages[0] == 1 and view.paragraph_pages[-1] == 3
        # An article from a page dump has no pages.
        assert engine.run(SearchRequest(q="dredging")).hits[0].snippet_pages == []
    finally:
        engine.close()


@pytest.fixture(scope="module")
def client(indexed):
    app = create_app({"INDEX_DIR": str(indexed[0]), "TESTING": True})
    yield app.test_client()
    close_engine(app)


def test_results_show_the_page_of_a_snippet(client):
    r = client.get("/?q=zeppelin")
    assert r.status_code == 200
    doc = parse_html(r.data)
    labels = doc.xpath('//p[@class="snippet"]/span[@class="snippet-page"]/text()')
    assert labels == ["p. 3"]
    r = client.get("/?q=dredging")
    assert parse_html(r.data).xpath('//span[@class="snippet-page"]') == []


def test_the_article_page_marks_where_each_page_starts(client):
    doc = parse_html(client.get("/?q=zeppelin").data)
    [href] = doc.xpath('//h2[contains(@class, "hit-title")]/a/@href')
    r = client.get(href)
    assert r.status_code == 200
    page = parse_html(r.data)
    marks = page.xpath('//div[@id="article-body"]/p[@class="page-mark"]')
    assert [m.text_content() for m in marks] == ["Page 1", "Page 2", "Page 3"]
    after_three = marks[2].getnext()
    assert "zeppelin" in after_three.text_content() or "zeppelin" in (
        after_three.getnext().text_content())


# -- the sample archive's reports -------------------------------------------------------


def test_the_sample_reports_read_as_described():
    names = sorted(p.name for p in REPORTS.glob("*.pdf"))
    assert names == sorted(sample_reports())
    assert sum(p.stat().st_size for p in REPORTS.glob("*.pdf")) < 200_000
    winter = read_article((REPORTS / "storing-the-winter-peak.pdf").read_bytes())
    assert winter.title.startswith("Storing the Winter Peak")
    assert (winter.author, winter.date, winter.language) == (
        "Mara Lindqvist", dt.date(2024, 11, 18), "en")
    assert len(winter.pages) == 4
    water = read_article((REPORTS / "pricing-water-after-the-drought.pdf").read_bytes())
    assert (water.title, water.date, water.author) == (
        "Pricing Water After the Drought", dt.date(2025, 6, 3), None)
    assert len(water.pages) == 3
    assert "Eastbrook Institute Policy Brief" not in water.body, "a running header"
