"""The HTML page reader: main text without chrome, dates never invented, failures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.article import Article, ReadError, SourceText, Tag, stable_id
from index.formats import html

FIXTURES = Path(__file__).parent / "fixtures" / "html"

ZWNJ = "\u200c"


def read_one(text: str, path: str = "/archive/page.html") -> Article | ReadError:
    results = list(html.read(SourceText(path=path, text=text)))
    assert len(results) == 1, "an HTML page yields exactly one value"
    return results[0]


def read_article(text: str, path: str = "/archive/page.html") -> Article:
    result = read_one(text, path)
    assert isinstance(result, Article), result
    return result


def read_error(text: str) -> ReadError:
    result = read_one(text)
    assert isinstance(result, ReadError), result
    return result


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def assert_absent(body: str, phrases: list[str]) -> None:
    leaked = [p for p in phrases if p.casefold() in body.casefold()]
    assert not leaked, f"chrome leaked into the body: {leaked}"


PARAGRAPH = (
    "The committee met on Thursday to review the budget for the coming year, and members "
    "agreed to delay a decision on the new library wing until the spring, when the "
    "auditors will have reported on last year's accounts."
)


def page(body: str, head: str = "", lang: str = "en") -> str:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">{head}</head>'
        f"<body>{body}</body></html>"
    )


# --- a think-tank analysis with every kind of chrome -----------------------------------


@pytest.fixture(scope="module")
def analysis() -> Article:
    path = str(FIXTURES / "thinktank-analysis.html")
    return read_article(fixture("thinktank-analysis.html"), path)


def test_analysis_metadata(analysis: Article) -> None:
    assert analysis.title == "Water Diplomacy on the Helmand River"
    assert analysis.date == dt.date(2022, 5, 28)
    assert analysis.kind == "Analysis"
    assert analysis.url == "https://caspianforum.example.org/analysis/helmand-water-diplomacy"
    assert analysis.language == "en"


def test_analysis_id_and_source_come_from_the_path(analysis: Article) -> None:
    path = str(FIXTURES / "thinktank-analysis.html")
    assert analysis.source == path
    assert analysis.id == stable_id(path)


def test_analysis_tags_from_keywords_meta_and_section(analysis: Article) -> None:
    keys = {t.key for t in analysis.tags}
    assert {"water security", "afghanistan", "iran"} <= keys
    assert Tag(key="water security", label="Water Security") in analysis.tags


def test_analysis_body_keeps_the_article(analysis: Article) -> None:
    assert analysis.body.startswith("The Helmand River rises in the Hindu Kush")
    assert "the Hamoun lakes shrink into salt flats" in analysis.body
    assert analysis.body.endswith("rather than a reason to cooperate.")
    # The headline is the title, not the first line of the body.
    assert "Water Diplomacy on the Helmand River" not in analysis.body


def test_analysis_body_leaves_out_nav_sidebar_comments_and_footer(analysis: Article) -> None:
    assert_absent(
        analysis.body,
        [
            # navigation
            "Programmes",
            "Our Fellows",
            "Donate Today",
            # sidebar
            "Latest posts",
            "Lithium Corridors",
            "Baltic Power Grid",
            "Fuel Subsidies",
            # comments
            "3 Responses",
            "smuggling networks",
            "Nile basin",
            "Farhad",
            "Post Comment",
            # footer
            "weekly newsletter",
            "Privacy Policy",
            "Secretariat",
            "All rights reserved",
        ],
    )


def test_sidebar_dates_do_not_date_an_article_without_one() -> None:
    # The same page without its byline: the "Latest posts" list still shows
    # three dates, none of which is this article's.
    text = fixture("thinktank-analysis.html").replace(
        '<time class="published" datetime="2022-05-28T09:30:00+04:30">28 May 2022</time>', ""
    )
    assert "28 May 2022" not in text
    article = read_article(text)
    assert article.date is None


# --- a news page: JSON-LD date, article:tag metas, og: title and url --------------------


@pytest.fixture(scope="module")
def news() -> Article:
    return read_article(fixture("news-jsonld.html"))


def test_news_date_from_json_ld(news: Article) -> None:
    assert news.date == dt.date(2023, 3, 14)


def test_news_title_and_url_from_open_graph(news: Article) -> None:
    assert news.title == "Port strike ends after nine days"
    assert news.url == "https://harbourtimes.example.com/business/2023/port-strike-ends"


def test_news_article_tags_are_deduplicated(news: Article) -> None:
    assert [t.label for t in news.tags] == ["Labour", "Shipping"]


def test_news_without_section_has_no_kind(news: Article) -> None:
    # og:type "article" says nothing an archive can facet on.
    assert news.kind is None


def test_news_body_without_banner_menus_and_most_read(news: Article) -> None:
    assert "Dock workers at the eastern container terminal returned to work" in news.body
    assert "clear the backlog of delayed containers within a fortnight" in news.body
    assert_absent(
        news.body,
        [
            "cookies",
            "Crossword Puzzles",
            "Weather Outlook",
            "Most read",
            "Late equaliser",
            "Storm warning",
            "Quayside Media",
            "Advertise with us",
        ],
    )


# --- a Persian right-to-left page ------------------------------------------------------


@pytest.fixture(scope="module")
def persian() -> Article:
    return read_article(fixture("persian-rtl.html"))


def test_persian_solar_date_in_meta(persian: Article) -> None:
    # ۱۴۰۱/۰۳/۰۷ in the solar calendar is 28 May 2022.
    assert persian.date == dt.date(2022, 5, 28)


def test_persian_metadata(persian: Article) -> None:
    assert persian.title == "نگاهی به نشست ائتلاف جهانی در مراکش"
    assert persian.language == "fa"
    # The section "گفتگو" is Persian for "Interview", the canonical kind.
    assert persian.kind == "Interview"
    # Keywords separated by the Arabic comma.
    assert {"خاورمیانه", "مصاحبه", "تروریسم"} <= {t.key for t in persian.tags}


def test_persian_body_keeps_half_spaces(persian: Article) -> None:
    assert f"اطلاع{ZWNJ}رسانی" in persian.body
    assert f"نشان{ZWNJ}دهنده" in persian.body
    assert "اطلاعرسانی" not in persian.body


def test_persian_body_without_chrome(persian: Article) -> None:
    assert "همکاری منطقه" in persian.body
    assert_absent(
        persian.body,
        ["صفحه اصلی", "بایگانی نشریات", "پربازدیدترین", "بازار نفت", "کلیه حقوق", "خیابان فرضی"],
    )


# --- dates: only what the page states --------------------------------------------------


def test_undated_page_stays_undated() -> None:
    # The page shows a masthead date (the day it was saved) and a copyright
    # year; trafilatura's default settings would date it by either.
    text = fixture("undated.html")
    assert "6 November 2023" in text and "© 2021" in text
    article = read_article(text)
    assert article.date is None
    assert article.title == "How Seed Banks Protect Crop Diversity"
    assert article.tags == ()
    assert article.kind is None
    assert article.url is None
    assert "Seed banks keep samples" in article.body
    assert_absent(article.body, ["Gift Shop", "Botanical Outreach Office", "November"])


def test_persian_date_in_json_ld() -> None:
    ld = (
        '<script type="application/ld+json">'
        '{"@graph": [{"@type": "NewsArticle", "datePublished": "1401-03-07"}]}</script>'
    )
    text = page(
        f"<article><h1>عنوان</h1><p>{'متن مقاله درباره بودجه سال آینده است. ' * 8}</p></article>",
        head=f"<title>عنوان</title>{ld}",
        lang="fa",
    )
    assert read_article(text).date == dt.date(2022, 5, 28)


def test_unreadable_meta_date_leaves_the_article_undated() -> None:
    head = '<title>Budget</title><meta property="article:published_time" content="soon">'
    assert read_article(page(f"<article><p>{PARAGRAPH}</p></article>", head)).date is None


# --- titles, language -----------------------------------------------------------------


def test_title_from_og_title_when_the_page_has_no_other() -> None:
    head = '<meta property="og:title" content="Library wing decision delayed">'
    article = read_article(page(f"<div><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>", head))
    assert article.title == "Library wing decision delayed"


def test_script_outranks_a_template_lang() -> None:
    text = page(
        f"<article><p>{'متن مقاله درباره بودجه سال آینده است. ' * 8}</p></article>",
        head="<title>بودجه</title>",
        lang="en-US",
    )
    assert read_article(text).language == "fa"


# --- failures -------------------------------------------------------------------------


def test_no_title() -> None:
    error = read_error(page(f"<div><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></div>"))
    assert error.reason == "no title"
    assert error.source == "/archive/page.html"
    assert error.line is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t",
        "just a few words, not a page",
        page(
            "<nav><a href='/'>Home</a> <a href='/about'>About us</a></nav>", "<title>Menu</title>"
        ),
        page(
            "<header><a href='/'>Home</a></header>"
            "<div class='sidebar'><ul><li><a href='/a'>Latest: budget news</a></li></ul></div>"
            "<footer>Copyright Example Media</footer>",
            "<title>Site</title>",
        ),
    ],
    ids=["empty", "blank", "plain-text", "menu-only", "chrome-only"],
)
def test_no_article_text(text: str) -> None:
    assert read_error(text).reason == "no article text found"


def test_short_article_is_not_mistaken_for_chrome() -> None:
    text = page(
        "<nav><a href='/'>Home</a></nav><article><h1>Bike lanes</h1>"
        "<p>Council approves new bike lanes on Main Street.</p></article>",
        "<title>Bike lanes</title>",
    )
    assert read_article(text).body == "Council approves new bike lanes on Main Street."


def test_layout_wrapper_named_like_a_sidebar_is_kept() -> None:
    # Some themes wrap content and sidebar together in "content-sidebar-wrap";
    # here with no <p>, <h1> or <article> to recognize the article by.
    text = page(
        "<div class='content-sidebar-wrap'><div class='entry'>"
        + f"{PARAGRAPH}<br>" * 4
        + "</div><div class='widget'><a href='/other'>Other news</a> 12 May 2021</div></div>",
        "<title>Library wing</title>",
    )
    article = read_article(text)
    assert article.body.startswith("The committee met on Thursday")
    assert "Other news" not in article.body
    assert article.date is None  # the widget's date is not this article's


# --- never raises -----------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    results = list(html.read(SourceText(path="/archive/x.html", text=text)))
    assert len(results) == 1
    assert isinstance(results[0], (Article, ReadError))


_markup = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "<p>",
                "</p>",
                "<nav>",
                "</nav>",
                "<aside class='sidebar'>",
                "</aside>",
                "<h1>",
                "</h1>",
                "<title>",
                "</title>",
                "<article>",
                "</article>",
                "<footer>",
                "<br>",
                "<meta property='article:published_time' content='۱۴۰۱/۱۳/۴۰'>",
                "<script type='application/ld+json'>{\"datePublished\": [</script>",
                "&zwnj;",
                ZWNJ,
                "\ufffc",
                "\x00",
            ]
        ),
        st.text(max_size=40),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_markup)
def test_arbitrary_markup_never_raises(parts: list[str]) -> None:
    text = "<!DOCTYPE html><html><head>" + "".join(parts) + "</body></html>"
    results = list(html.read(SourceText(path="/archive/x.html", text=text)))
    assert len(results) == 1
    result = results[0]
    assert isinstance(result, (Article, ReadError))
    if isinstance(result, Article):
        assert result.title and result.body
        assert "\ufffc" not in result.body or "\ufffc" in text


def test_kicker_and_repeated_headline_are_not_body():
    page = (
        "<html><head><title>Grid Storage Grows | Review</title></head><body><article>"
        "<p class='kicker'>Analysis</p><h1>Grid Storage Grows</h1>"
        "<time datetime='2023-02-01'>1 February 2023</time>"
        "<p>Battery storage on the grid doubled last year, the regulator said in its annual "
        "report, as falling cell prices made evening arbitrage profitable for more operators.</p>"
        "<p>Most of the new capacity sits beside solar farms that now sell power after sunset, "
        "which smooths the evening peak and lowers the price of balancing services.</p>"
        "</article></body></html>"
    )
    (article,) = list(html.read(SourceText("/tmp/kicker.html", page)))
    assert article.title == "Grid Storage Grows"
    assert article.body.startswith("Battery storage on the grid doubled")


# --- the heading, bylines and leads are not body text ----------------------------------

SAMPLE_HTML = Path(__file__).resolve().parents[1] / "index" / "sample_archive" / "html"
TURBINES = (
    "Engineers lowered the first turbine into the channel on Friday, and the operator said "
    "the array would feed the grid by the autumn if the trial goes well. The trial will run "
    "for eighteen months."
)


@pytest.fixture(scope="module")
def tidal() -> Article:
    return read_article(fixture("heading-in-text.html"))


def test_headline_and_byline_line_are_not_body(tidal: Article) -> None:
    # og:title differs from the headline shown on the page, and the page's
    # <title> carries the site's name: the shown headline is still the heading.
    assert tidal.title == "Tidal energy trials begin in the Narrows channel"
    assert tidal.body.startswith("Engineers lowered the first turbine")
    assert_absent(tidal.body, ["Tidal Energy Trials Begin", "Jane Roe", "5 May 2024"])
    assert tidal.body.endswith("subject to a new grid connection.")


def test_author_and_publication_from_metas(tidal: Article) -> None:
    # article:author is a profile link here, and a link is not a name.
    assert tidal.author == "Jane Roe"
    assert tidal.publication == "Coastal Review"


@pytest.mark.parametrize(
    "heading",
    [
        "<div>Tidal Energy Trials Begin</div><div>5 May 2024</div>",
        "<div>5 May 2024</div><div>Tidal Energy Trials Begin</div>",
        "<div>Tidal Energy Trials Begin</div><div>Published: May 5, 2024</div>",
        "<div>Tidal Energy Trials Begin</div><div>By Jane Roe and Amir Tehrani</div>",
    ],
)
def test_a_date_or_byline_line_around_the_headline_is_dropped(heading: str) -> None:
    text = page(
        f"<div>{heading}<div>{TURBINES}</div><div>{PARAGRAPH}</div></div>",
        "<title>Tidal Energy Trials Begin | Coastal Review</title>",
    )
    article = read_article(text)
    assert article.body.startswith("Engineers lowered the first turbine"), article.body[:80]
    assert "Tidal Energy" not in article.body


@pytest.mark.parametrize(
    "first",
    [
        "On 5 May 2024 the first turbine was lowered into the channel.",
        "By then, prices had fallen by a fifth.",
        "5 May 2024 was the day the first turbine went into the water.",
    ],
)
def test_a_first_sentence_that_mentions_a_date_or_starts_with_by_stays(first: str) -> None:
    text = page(
        f"<div><div>Tidal Energy Trials Begin</div><div>{first}</div><div>{TURBINES}</div></div>",
        "<title>Tidal Energy Trials Begin</title>",
    )
    assert read_article(text).body.startswith(first)


def test_a_sample_page_lead_is_publication_and_kind() -> None:
    path = SAMPLE_HTML / "cities-adopt-heat-action-plans.html"
    article = read_article(path.read_text(encoding="utf-8"), str(path))
    assert article.kind == "News"
    # The lead names the publication; og:site_name names the institute's site.
    assert article.publication == "Eastbrook Policy Review"
    assert article.body.startswith("Seven of the country’s largest cities")
    assert "Eastbrook Policy Review" not in article.body


def test_a_page_without_a_lead_takes_its_publication_from_the_site_name() -> None:
    path = SAMPLE_HTML / "how-we-track-groundwater.html"
    article = read_article(path.read_text(encoding="utf-8"), str(path))
    assert article.publication == "Eastbrook Institute for Public Affairs"
    assert article.kind == "Analysis"


def test_a_lead_without_a_kind_is_cut_when_it_names_the_site() -> None:
    head = '<title>Port budget</title><meta property="og:site_name" content="Harbour Weekly">'
    article = read_article(page(f"<article><p>Harbour Weekly – {PARAGRAPH}</p></article>", head))
    assert article.publication == "Harbour Weekly"
    assert article.kind is None
    assert article.body == PARAGRAPH


def test_a_section_that_names_no_kind_stays_a_tag() -> None:
    head = '<title>Port budget</title><meta property="article:section" content="Business">'
    article = read_article(page(f"<article><p>{PARAGRAPH}</p></article>", head))
    assert article.kind is None
    assert "business" in {t.key for t in article.tags}


def test_a_spanish_section_is_a_canonical_kind() -> None:
    head = '<title>Agua</title><meta property="article:section" content="Entrevista">'
    article = read_article(page(f"<article><p>{PARAGRAPH}</p></article>", head))
    assert article.kind == "Interview"
    assert "entrevista" not in {t.key for t in article.tags}


# --- the declared language ---------------------------------------------------------------

SHORT_SPANISH = "El agua escasea en el valle."
SHORT_FRENCH = "Le tramway arrive enfin."
PERSIAN = "متن مقاله درباره بودجه سال آینده است. " * 8


@pytest.mark.parametrize(
    ("lang", "head", "text", "language"),
    [
        # Too short for a statistical guess, which would say "en" by script.
        ("es", "", SHORT_SPANISH, "es"),
        ("es-MX", "", SHORT_SPANISH, "es"),
        ("", '<meta property="og:locale" content="fr_FR">', SHORT_FRENCH, "fr"),
        ("fa-IR", "", PERSIAN, "fa"),
        # A declaration in one script for text in another is a template's default.
        ("fa-IR", "", PARAGRAPH, "en"),
        ("en-US", "", PERSIAN, "fa"),
        # Nothing declared: detected.
        ("", "", PARAGRAPH, "en"),
    ],
)
def test_declared_language(lang: str, head: str, text: str, language: str) -> None:
    body = f"<article><h1>Titular</h1><p>{text}</p></article>"
    markup = page(body, f"<title>T</title>{head}", lang=lang)
    if not lang:
        markup = markup.replace(' lang=""', "")
    assert read_article(markup).language == language


def test_a_persian_site_name_with_a_half_space_confirms_its_lead() -> None:
    site = f"نشریه سیاست{ZWNJ}پژوهی"
    head = f'<title>بودجه</title><meta property="og:site_name" content="{site}">'
    article = read_article(page(f"<article><p>{site} – {PERSIAN}</p></article>", head, "fa"))
    assert article.publication == site
    assert article.body == PERSIAN.strip()
