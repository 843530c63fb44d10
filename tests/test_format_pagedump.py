"""The page dump reader: the seed page, chrome detection, dates, failures."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.article import Article, ReadError, SourceText, stable_id
from index.formats import pagedump, reader_for
from index.sources import load, walk
from index.writer import update
from search.embedded.engine import Engine
from search.request import SearchRequest

SEED = Path(__file__).parent / "fixtures" / "seed-article.txt"
SEED_LAST_SENTENCE = (
    "He stressed: Therefore, the anti-ISIS meeting in Morocco, although held late and with a "
    "long delay, can be considered as a prelude to a serious move by the international "
    "community to eradicate all terrorist-Takfiri movements, provided that ISIS yesterday "
    "supporters have a real intention to deal with it."
)


def read_one(text: str, path: str = "/archive/page.txt") -> Article | ReadError:
    results = list(pagedump.read(SourceText(path=path, text=text)))
    assert len(results) == 1, "a page dump yields exactly one value"
    return results[0]


def read_article(text: str, path: str = "/archive/page.txt") -> Article:
    result = read_one(text, path)
    assert isinstance(result, Article), result
    return result


def read_error(text: str) -> ReadError:
    result = read_one(text)
    assert isinstance(result, ReadError), result
    return result


def dump(*blocks: str) -> str:
    """A page dump with a blank line between blocks, as scrapers save them."""
    return "\n\n".join(blocks) + "\n"


LONG_PARAGRAPH = (
    "The port authority said on Tuesday that the new terminal would double the number of "
    "containers handled each year, and that construction would finish before the winter."
)
SECOND_PARAGRAPH = "Officials expect the first ships to dock at the terminal in the spring."


# --- the seed page ------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed(seed_text: str) -> Article:
    return read_article(seed_text, path="/archive/seed-article.txt")


def test_seed_metadata(seed: Article) -> None:
    assert seed.title == "An Analysis of Anti-ISIS Global Coalition Meeting in Morocco"
    assert seed.date == dt.date(2022, 5, 28)
    assert tuple(t.key for t in seed.tags) == ("interview", "political", "top news")
    assert seed.kind == "Interview"
    assert seed.publication == "Strategic Council Online"
    assert seed.language == "en"


def test_seed_identity(seed: Article) -> None:
    assert seed.id == stable_id("/archive/seed-article.txt")
    assert seed.source == "/archive/seed-article.txt"
    assert seed.url is None


def test_seed_body_is_the_article_and_nothing_else(seed: Article) -> None:
    # The byline lead is metadata (see test_seed_metadata), not text.
    assert seed.body.startswith("A Middle East expert, commenting on the recent meeting")
    assert "Strategic Council Online" not in seed.body
    assert seed.body.endswith(SEED_LAST_SENTENCE)
    assert "tariff" not in seed.body.casefold()
    assert "Netanyahu" not in seed.body
    for chrome in ("Comments", "Submit a Comment", "LATEST CONTENT", "Loading", "Samir"):
        assert chrome not in seed.body
    # 18 paragraphs in the original page, kept apart by blank lines.
    assert len(seed.body.split("\n\n")) == 18


def test_seed_without_any_marker_line_still_loses_its_teasers(
    seed_text: str, seed: Article
) -> None:
    # The teaser lists alone must be recognized: drop every marker line and
    # the footer, and the body has to come out the same.
    markers = {
        "0 Comments",
        "Submit a Comment",
        "Your email address will not be published. Required fields are marked *",
        "LATEST CONTENT",
        "Loading",
        "Últimas publicaciones",
    }
    lines = [line for line in seed_text.splitlines() if line.strip() not in markers]
    stripped = "\n".join(line for line in lines if not line.startswith("Samir Design"))
    assert "LATEST CONTENT" not in stripped
    assert read_article(stripped).body == seed.body


# --- chrome detection ---------------------------------------------------------------


def test_repeated_teaser_list_without_marker_header_is_excluded() -> None:
    teasers = [
        "Port Workers Vote to End Strike",
        "Dock workers in the northern harbour accepted the offer late on Friday night.",
        "City Council Approves New Budget",
        "The council approved a budget that raises spending on schools and libraries.",
    ]
    text = dump(
        "New Terminal to Double Container Traffic",
        "2023-03-14 | economy, ports",
        LONG_PARAGRAPH,
        SECOND_PARAGRAPH,
        *teasers,
        *teasers,
    )
    article = read_article(text)
    assert article.body == f"{LONG_PARAGRAPH}\n\n{SECOND_PARAGRAPH}"
    assert "Strike" not in article.body
    assert "council" not in article.body


def test_teasers_with_the_publication_lead_are_excluded_even_when_shown_once() -> None:
    text = dump(
        "New Terminal to Double Container Traffic",
        "2023/03/14 | economy",
        "Harbour Weekly – Analysis: " + LONG_PARAGRAPH,
        SECOND_PARAGRAPH,
        "Port Workers Vote to End Strike",
        "Harbour Weekly – News: Dock workers accepted the offer late on Friday night.",
        "Why Freight Prices Keep Rising",
        "Harbour Weekly — Opinion: Freight costs have risen for a third straight month.",
    )
    article = read_article(text)
    assert article.kind == "Analysis"
    assert article.publication == "Harbour Weekly"
    assert article.body == f"{LONG_PARAGRAPH}\n\n{SECOND_PARAGRAPH}"


def test_teaser_pairs_from_another_publication_are_excluded_when_in_a_row() -> None:
    text = dump(
        "New Terminal to Double Container Traffic",
        "2023/03/14",
        LONG_PARAGRAPH,
        "Port Workers Vote to End Strike",
        "Coast Daily - News: Dock workers accepted the offer late on Friday night.",
        "Why Freight Prices Keep Rising",
        "Coast Daily - Opinion: Freight costs have risen for a third straight month.",
    )
    article = read_article(text)
    assert article.kind is None
    assert article.body == LONG_PARAGRAPH


def test_marker_words_inside_paragraphs_do_not_cut_the_article() -> None:
    kept = [
        LONG_PARAGRAPH,
        (
            "The minister declined to make comments on the loading of grain ships, saying "
            "that 12 comments from the public would be answered after the loading season."
        ),
        "Comments from exporters were mixed.",
        (
            "Loading the first vessel took two days, and the related articles of the contract "
            "were signed on the quay; all rights reserved by the authority were waived."
        ),
    ]
    article = read_article(dump("Grain Exports Resume", "2023/03/14 | trade", *kept))
    assert article.body == "\n\n".join(kept)


@pytest.mark.parametrize(
    "marker",
    [
        "3 Comments",
        "Leave a Reply",
        "Related articles",
        "Latest posts",
        "Read more",
        "Share this",
        "Loading...",
        "© 2023 Harbour Weekly",
        "Copyright 2023 Harbour Weekly. All rights reserved.",
        "Powered by WordPress",
        "Últimas publicaciones",
        "مطالب مرتبط",
    ],
)
def test_a_marker_line_cuts_the_body_whatever_follows(marker: str) -> None:
    text = dump(
        "Grain Exports Resume",
        "2023/03/14",
        LONG_PARAGRAPH,
        marker,
        "A paragraph after the marker belongs to some other page region entirely.",
    )
    assert read_article(text).body == LONG_PARAGRAPH


def test_short_trailing_chrome_lines_are_dropped() -> None:
    text = dump(
        "Grain Exports Resume",
        "2023/03/14",
        LONG_PARAGRAPH,
        "Home | About | Contact",
        "« Previous",
        "* * *",
        "Designed by Blue Fox Studio",
    )
    assert read_article(text).body == LONG_PARAGRAPH


@pytest.mark.parametrize("count", [2, 3])
def test_a_page_showing_its_article_twice_keeps_one_copy(count: int) -> None:
    article = [LONG_PARAGRAPH, SECOND_PARAGRAPH, "The terminal will employ 900 people."][:count]
    text = dump("Grain Exports Resume", "2023/03/14", *article, *article)
    assert read_article(text).body == "\n\n".join(article)


# --- title, date and tags -------------------------------------------------------------


def test_date_line_without_tags() -> None:
    article = read_article(dump("Grain Exports Resume", "28 May 2022", LONG_PARAGRAPH))
    assert article.date == dt.date(2022, 5, 28)
    assert article.tags == ()
    assert article.body == LONG_PARAGRAPH


def test_tags_keep_their_spelling_as_labels_and_drop_duplicates() -> None:
    article = read_article(
        dump("Grain Exports Resume", "2022-05-28 | Top News, trade ,, top news", LONG_PARAGRAPH)
    )
    assert [(t.key, t.label) for t in article.tags] == [
        ("top news", "Top News"),
        ("trade", "trade"),
    ]


def test_persian_dump_with_solar_date_in_persian_digits() -> None:
    body = (
        "شورای راهبردی آنلاین - گفتگو: یک کارشناس مسائل خاورمیانه گفت نشست ائتلاف "
        "جهانی در مراکش نشان‌دهنده اراده‌ای بین‌المللی برای مقابله با گروه‌های تروریستی است."
    )
    text = dump("تحلیلی بر نشست ائتلاف جهانی در مراکش", "۱۴۰۱/۰۳/۰۷ | سیاسی، گفتگو", body)
    article = read_article(text)
    assert article.title == "تحلیلی بر نشست ائتلاف جهانی در مراکش"
    assert article.date == dt.date(2022, 5, 28)
    assert tuple(t.key for t in article.tags) == ("سیاسی", "گفتگو")
    assert article.kind == "Interview"
    assert article.publication == "شورای راهبردی آنلاین"
    assert article.body.startswith("یک کارشناس مسائل خاورمیانه")
    assert article.language == "fa"
    # Zero-width non-joiners are part of Persian words, not whitespace.
    assert "نشان\u200cدهنده" in article.body


def test_blank_lines_between_title_and_date_line() -> None:
    lines = ["", "  Grain Exports Resume  ", "", "", "2022/05/28 | trade", "", LONG_PARAGRAPH]
    text = "\r\n".join(lines)
    article = read_article(text)
    assert article.title == "Grain Exports Resume"
    assert article.date == dt.date(2022, 5, 28)
    assert article.body == LONG_PARAGRAPH


def test_undated_dump_keeps_its_second_line_as_body() -> None:
    article = read_article(
        dump("Grain Exports Resume", "Exports resumed on Monday.", LONG_PARAGRAPH)
    )
    assert article.date is None
    assert article.tags == ()
    assert article.body == f"Exports resumed on Monday.\n\n{LONG_PARAGRAPH}"


@pytest.mark.parametrize(
    ("line", "date"),
    [
        ("2022-05-28T10:30:00Z | trade", dt.date(2022, 5, 28)),
        ("Saturday, May 28, 2022 at 10:30 AM | trade", dt.date(2022, 5, 28)),
        ("1401/3/7", dt.date(2022, 5, 28)),
        ("28.05.2022", dt.date(2022, 5, 28)),
    ],
)
def test_date_line_forms(line: str, date: dt.date) -> None:
    article = read_article(dump("Grain Exports Resume", line, LONG_PARAGRAPH))
    assert article.date == date
    assert article.body == LONG_PARAGRAPH


def test_a_title_or_paragraph_opening_with_a_date_is_kept_whole() -> None:
    first = "2022/05/28 – The ministry announced that grain exports would resume."
    article = read_article(dump("2022/05/28 Election Results", first, LONG_PARAGRAPH))
    assert article.title == "2022/05/28 Election Results"
    assert article.date is None
    assert article.body == f"{first}\n\n{LONG_PARAGRAPH}"


def test_unreadable_date_is_none_not_a_guess() -> None:
    # Month 13 does not exist; the line is body text, not a date line.
    article = read_article(dump("Grain Exports Resume", "2022/13/40 | trade", LONG_PARAGRAPH))
    assert article.date is None


def test_whitespace_is_collapsed_and_controls_removed() -> None:
    article = read_article(
        "\ufeffGrain\u00a0Exports\tResume\n\n2022/05/28\n\nThe\x07 port reopened."
    )
    assert article.title == "Grain Exports Resume"
    assert article.body == "The port reopened."


def test_undecodable_bytes_become_replacement_characters() -> None:
    # What a surrogateescape decode leaves for a stray Latin-1 byte.
    text = "Grain Exports Resume\n\n2022/05/28\n\nThe caf\udce9 reopened."
    article = read_article(text)
    assert article.body == "The caf\ufffd reopened."
    article.body.encode("utf-8")


@pytest.mark.parametrize(
    ("paragraph", "kind"),
    [
        ("Strategic Council Online - Interview: An expert said", "Interview"),
        ("Strategic Council Online– Interview: An analyst said", "Interview"),
        ("Strategic Council Online — Opinion: Every war", "Opinion"),
        ("Al-Monitor-Analysis: The talks stalled", "Analysis"),
        ("Harbour Weekly – Breaking News: The port", "News"),
        ("Harbour Weekly – Exclusive: The port", None),
        ("He said - and rightly so: the port is full", None),
        ("The port reopened on Monday: the first ships arrived.", None),
        ("In 2022 - Report: numbers rose", None),
        ("", None),
    ],
)
def test_lead_kind(paragraph: str, kind: str | None) -> None:
    assert pagedump.lead_kind(paragraph) == kind


def test_long_hyphenated_runs_are_not_leads() -> None:
    # Only a paragraph's opening can be a lead; scanning more would also let
    # the pattern backtrack for seconds on lines like these.
    assert pagedump.lead_kind("Ab-" * 20000 + ":") is None
    assert pagedump.lead_kind("A" + "-a" * 20000) is None
    assert pagedump.lead_kind("Harbour Weekly " + "x" * 200 + " - News: text") is None


# --- failures -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\t\n  \r\n"])
def test_empty_file(text: str) -> None:
    error = read_error(text)
    assert error.reason == "empty file"
    assert error.source == "/archive/page.txt"
    assert error.line is None


def test_binary_junk_is_not_text() -> None:
    junk = "".join(chr(b) for b in (0, 1, 2, 0xFFFD, 3, 4, 5, 0x1B)) * 40 + "IHDR PNG"
    assert read_error(junk).reason == "not text (binary content)"


def test_a_few_replacement_characters_do_not_make_a_file_binary() -> None:
    text = dump("Grain Exports Resume", "2022/05/28", LONG_PARAGRAPH.replace("the", "th\ufffd"))
    assert isinstance(read_one(text), Article)


def test_absurdly_long_first_line_is_not_a_title() -> None:
    error = read_error("word " * 200 + "\n\n2022/05/28\n\nBody text.")
    assert error.reason == "no title line: first line is 999 characters"


@pytest.mark.parametrize("first", ["2022/05/28 | trade", "* * * — * * *"])
def test_no_title_line(first: str) -> None:
    assert read_error(dump(first, LONG_PARAGRAPH)).reason.startswith("no title line")


@pytest.mark.parametrize(
    "text",
    [
        dump("Grain Exports Resume"),
        dump("Grain Exports Resume", "2022/05/28 | trade"),
        dump("Grain Exports Resume", "2022/05/28", "0 Comments", LONG_PARAGRAPH),
        dump("Grain Exports Resume", "2022/05/28", "Loading", "© 2023 Harbour Weekly"),
    ],
)
def test_no_article_body(text: str) -> None:
    assert read_error(text).reason == "no article body"


# --- robustness ---------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_yields_one_article_or_error(text: str) -> None:
    results = list(pagedump.read(SourceText(path="/archive/any.txt", text=text)))
    assert len(results) == 1
    assert isinstance(results[0], Article | ReadError)


_LINES = st.one_of(
    st.sampled_from(
        [
            "",
            "0 Comments",
            "LATEST CONTENT",
            "Loading",
            "2022/05/28 | a, b",
            "۱۴۰۱/۰۳/۰۷",
            "Harbour Weekly – News: Dock workers accepted.",
            "Port Workers Vote to End Strike",
            LONG_PARAGRAPH,
        ]
    ),
    st.text(max_size=120),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES, max_size=30))
def test_dump_shaped_text_yields_one_article_or_error(lines: list[str]) -> None:
    result = read_one("\n".join(lines))
    if isinstance(result, Article):
        assert result.title and result.body
        assert result.body == result.body.strip()


def test_persian_comment_form_and_lists_are_chrome():
    text = (
        "بحران آب در دشت‌ها\n\n۱۴۰۱/۰۳/۰۷ | آب، کشاورزی\n\n"
        "دیدبان سیاست – تحلیل: کم‌آبی دشت‌های مرکزی را تهدید می‌کند و کشاورزی باید تغییر کند.\n\n"
        "۰ دیدگاه\n\nارسال دیدگاه\n\n"
        "نشانی ایمیل شما منتشر نخواهد شد. بخش‌های موردنیاز علامت‌گذاری شده‌اند *\n\n"
        "آخرین مطالب\n\nعنوان دیگر\n\nمتن معرفی یک مقاله دیگر درباره انتخابات.\n\n"
        "در حال بارگذاری\n"
    )
    (article,) = list(pagedump.read(SourceText("/tmp/fa-chrome.txt", text)))
    assert article.body.endswith("کشاورزی باید تغییر کند.")
    assert "دیدگاه" not in article.body and "انتخابات" not in article.body


# --- byline leads are metadata --------------------------------------------------------

SAMPLE_ARCHIVE = Path(__file__).resolve().parents[1] / "index" / "sample_archive"
SAMPLE_PAGES = SAMPLE_ARCHIVE / "pages"


def sample_page(name: str) -> Article:
    path = SAMPLE_PAGES / name
    return read_article(path.read_text(encoding="utf-8"), str(path))


def test_sample_interview_lead_becomes_publication_and_kind() -> None:
    article = sample_page("interview-desalination-is-not-a-free-lunch.txt")
    assert article.publication == "Eastbrook Policy Review"
    assert article.kind == "Interview"
    assert article.body.startswith("A water resources specialist said that the expansion")
    # Where the article itself names the publication, that is text and stays.
    assert "In an interview with Eastbrook Policy Review, Samira Haddad" in article.body
    assert article.body.count("Eastbrook Policy Review") == 1


@pytest.mark.parametrize(
    ("name", "publication", "kind", "language", "opening"),
    [
        (
            "es-entrevista-hidrogeno-verde-puertos.txt",
            "Mirador de Políticas Públicas",
            "Interview",
            "es",
            "Una ingeniera especializada",
        ),
        (
            # A lead without a kind word, confirmed by the page's own teasers.
            "es-tarifa-agua-riego-cuenca-alta.txt",
            "Mirador de Políticas Públicas",
            None,
            "es",
            "La confederación hidrográfica",
        ),
        (
            "fr-analyse-zones-faibles-emissions.txt",
            "Revue Territoires et Réseaux",
            "Analysis",
            "fr",
            "Quatre ans après",
        ),
        (
            "fr-entretien-tarifs-reseau-electricite.txt",
            "Revue Territoires et Réseaux",
            "Interview",
            "fr",
            "Une ancienne membre",
        ),
        ("fa-gozaresh-otobus-barghi.txt", "دیدبان سیاست", "Report", "fa", "یک سال پس از"),
        ("fa-bazar-bargh-mantaghei.txt", "دیدبان سیاست", "Interview", "fa", "یک کارشناس"),
    ],
)
def test_sample_pages_in_other_languages(
    name: str, publication: str, kind: str | None, language: str, opening: str
) -> None:
    article = sample_page(name)
    assert (article.publication, article.kind, article.language) == (publication, kind, language)
    assert article.body.startswith(opening)
    assert article.date is not None and article.tags


def test_sample_pages_keep_leads_and_other_articles_out_of_their_bodies() -> None:
    pages = {path.name: sample_page(path.name) for path in sorted(SAMPLE_PAGES.glob("*.txt"))}
    assert len(pages) >= 27
    for name, article in pages.items():
        # Every sample page opens with a byline lead.
        assert article.publication, name
        assert not article.body.startswith(article.publication), name
        for other_name, other in pages.items():
            if other_name != name:
                assert other.title not in article.body, (name, other.title)


def test_a_lead_without_a_kind_is_confirmed_by_the_page_teasers() -> None:
    text = dump(
        "New Terminal to Double Container Traffic",
        "2023/03/14",
        "Harbour Weekly – " + LONG_PARAGRAPH,
        SECOND_PARAGRAPH,
        "LATEST CONTENT",
        "Port Workers Vote to End Strike",
        "Harbour Weekly – News: Dock workers accepted the offer late on Friday night.",
    )
    article = read_article(text)
    assert article.publication == "Harbour Weekly"
    assert article.kind is None
    assert article.body == f"{LONG_PARAGRAPH}\n\n{SECOND_PARAGRAPH}"


@pytest.mark.parametrize(
    "first",
    [
        # Without teasers naming it, a kind-less lead is as likely a dateline.
        "Harbour Weekly – " + LONG_PARAGRAPH,
        "New York – The city council voted on Tuesday to widen the bus lanes.",
        # Dashes around an aside.
        "Oil - the commodity everyone watches - fell by a fifth in a month.",
        "Oil – The commodity everyone watches – fell by a fifth in a month.",
        # A label that is no kind, from a publication the page does not name.
        "Inflation – The Silent Tax: why prices outpace wages in the port towns.",
        "He said - and rightly so: the port is full.",
    ],
)
def test_ordinary_first_sentences_are_kept_whole(first: str) -> None:
    article = read_article(dump("Grain Exports Resume", "2023/03/14", first, SECOND_PARAGRAPH))
    assert article.publication is None
    assert article.kind is None
    assert article.body == f"{first}\n\n{SECOND_PARAGRAPH}"


def test_teasers_of_another_publication_do_not_confirm_a_lead() -> None:
    text = dump(
        "New Terminal to Double Container Traffic",
        "2023/03/14",
        "New York – " + LONG_PARAGRAPH,
        "LATEST CONTENT",
        "Port Workers Vote to End Strike",
        "Harbour Weekly – News: Dock workers accepted the offer late on Friday night.",
    )
    article = read_article(text)
    assert article.publication is None
    assert article.body == "New York – " + LONG_PARAGRAPH


# --- short articles -------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "1010",
        "$1,010.50",
        "+2.3%",
        "۱۰۱۰",
        "Correction: an earlier version of this article gave the wrong capacity for the dam.",
    ],
)
def test_a_one_line_body_is_an_article(line: str) -> None:
    article = read_article(dump("Gold Price, 2 May 2024", "2024/05/02 | prices", line))
    assert article.body == line
    assert article.date == dt.date(2024, 5, 2)


def test_a_one_figure_body_before_the_chrome_is_kept() -> None:
    article = read_article(dump("Gold Price", "2024/05/02", "1010", "0 Comments", "Loading"))
    assert article.body == "1010"


def test_short_fixture_page_is_an_article() -> None:
    path = Path(__file__).parent / "fixtures" / "short-price-page.txt"
    article = read_article(path.read_text(encoding="utf-8"), str(path))
    assert article.title == "Brent Crude, Closing Price"
    assert article.body == "84.12"
    assert [t.key for t in article.tags] == ["prices", "oil"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # Pagination is not a figure: nothing is left.
        (dump("Gold Price", "2024/05/02", "1 2 3 »"), "no article body"),
        (dump("Gold Price", "2024/05/02", "Harbour Weekly – News:"), "no article body: the "
         "text is only a byline lead"),
    ],
)
def test_a_page_without_text_still_fails_clearly(text: str, reason: str) -> None:
    assert read_error(text).reason == reason


# --- the sample archive, indexed ----------------------------------------------------------

POLICY = re.compile(r"\bpolic(?:y|ies)\b", re.IGNORECASE)


def test_policy_matches_the_articles_that_say_it_not_every_lead(tmp_path: Path) -> None:
    """Index the whole sample archive; `body:policy` must find exactly the
    articles whose read body says "policy" (or "policies"), counted here by
    brute force over what the readers produce; the publication name in
    "Eastbrook Policy Review – Analysis:" leads no longer counts."""
    articles = _read_archive(SAMPLE_ARCHIVE)
    run = update(tmp_path / "ix", [SAMPLE_ARCHIVE])
    assert run.added == len(articles)

    engine = Engine(tmp_path / "ix", semantic=False)
    try:
        found = engine.run(SearchRequest(q="body:policy", per_page=100, verbatim=True))
    finally:
        engine.close()
    hits = {hit.id for hit in found.hits}
    assert found.total == len(hits)

    expected = {a.id for a in articles if POLICY.search(a.body)}
    assert hits == expected
    assert 0 < len(expected) < len(articles) // 2

    led = [a for a in articles if a.publication == "Eastbrook Policy Review"]
    assert len(led) >= 15
    # Those that mention policy only in their lead are not hits.
    lead_only = [a for a in led if not POLICY.search(a.body)]
    assert len(lead_only) >= 10
    assert not {a.id for a in lead_only} & hits


def _read_archive(root: Path) -> list[Article]:
    """Every article the readers make of the files under `root`, as the writer reads them."""
    articles = []
    for found in walk([root]):
        if found.format is None:
            continue
        loaded = load(found)
        if loaded.text is None:
            continue
        for result in reader_for(found.format)(loaded.text):
            if isinstance(result, Article):
                articles.append(result)
    return articles
