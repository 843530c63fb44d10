"""The shared analyzer: folding, stemming, Persian/Arabic normalization, both sides."""

from __future__ import annotations

import datetime as dt

import pytest
from whoosh.fields import ID, TEXT
from whoosh.filedb.filestore import RamStorage
from whoosh.qparser import QueryParser

from index.analysis import (
    ANALYZER,
    LanguageText,
    normalize_word,
    surface_words,
    term_occurrences,
    terms,
)
from index.article import Article
from index.embedded.engine import write_articles
from index.embedded.schema import make_schema


@pytest.mark.parametrize(
    ("arabic_keyboard", "persian_keyboard"),
    [
        ("كتاب", "کتاب"),  # Arabic kaf / Persian keheh
        ("يكي", "یکی"),  # Arabic yeh / Persian yeh
        ("ایران\u200cشناسی", "ایرانشناسی"),  # with and without ZWNJ
        ("مـــدرسه", "مدرسه"),  # tatweel
        ("عَرَبِيّ", "عربی"),  # diacritics
        ("١٤٠١", "۱۴۰۱"),  # Arabic-Indic and Persian digits
    ],
)
def test_both_keyboards_give_the_same_term(arabic_keyboard, persian_keyboard):
    assert terms(arabic_keyboard) == terms(persian_keyboard)
    assert terms(arabic_keyboard)


def test_digits_become_ascii_and_latin_is_folded_and_stemmed():
    assert terms("۱۴۰۱") == ["1401"]
    assert terms("Café CAFÉ cafe") == ["cafe", "cafe", "cafe"]
    assert terms("The delegations were meeting") == ["deleg", "were", "meet"]
    assert normalize_word("Ünïcödé") == "unicode"


def test_persian_words_are_not_run_through_the_english_stemmer():
    assert terms("کتاب‌ها") == ["کتابها"]


def test_offsets_point_into_the_original_text():
    text = "Iran’s مـدرسه‌ها and كتاب"
    for tok in ANALYZER(text, chars=True, positions=True):
        assert normalize_word(text[tok.startchar:tok.endchar]).startswith(tok.text[:3])


def _index(*articles: Article):
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, articles)
    return ix


def _titles(ix, query: str) -> list[str]:
    with ix.searcher() as s:
        q = QueryParser("body", ix.schema).parse(query)
        return sorted(h["title"] for h in s.search(q))


def test_index_side_and_query_side_normalize_alike():
    ix = _index(
        Article(id="a", source="a", title="Arabic spelling", body="هذا كتاب عن يكي من المدارس",
                date=dt.date(2022, 5, 28)),
        Article(id="p", source="p", title="Persian spelling",
                body="این کتاب درباره یکی از مدرسه‌ها است"),
        Article(id="e", source="e", title="English", body="Delegations met in Rabat in 1401."),
    )
    # Typed on a Persian keyboard: finds the Arabic-spelled article too.
    assert _titles(ix, "کتاب") == ["Arabic spelling", "Persian spelling"]
    # Typed on an Arabic keyboard: finds the Persian-spelled article too.
    assert _titles(ix, "يكي") == ["Arabic spelling", "Persian spelling"]
    assert _titles(ix, "مدرسهها") == ["Persian spelling"]
    assert _titles(ix, "delegation") == ["English"]
    assert _titles(ix, "۱۴۰۱") == ["English"]


# -- the indexer's shortcuts through the analyzer ----------------------------
# The indexer does not run the tokenizer a token at a time; what it makes
# instead must be exactly what the tokenizer and Whoosh's fields make.

SHORTCUT_TEXTS = [
    "The delegations were meeting in Rabat; U.S. and al-Qaeda, AT&T's 1986/87 results.",
    "France's 3,000 jobs and O'Brien’s U.S.'s long-term plans -- mid-1987, 1.5 pct, 0/92",
    "Iran’s مـدرسه‌ها and كتاب، ایران‌شناسی ۱۴۰۱ و ١٤٠١; سیاست‌های هسته‌ای",
    "هذا كتاب عن يكي من المدارس العَرَبِيّة",
    "Москва и Санкт-Петербург; Ελλάδα; economía y política; Ünïcödé ß",
    "a I x to of the -- ... & / ' ’ ʼ,, 1,2,3 a.b.c a-b-c-d-e-f-g-h x’y",
    "",
    "word " * 40 + "Word WORD w-o-r-d word.",
]
SHORTCUT_LANGUAGES = [None, "en", "es", "fa", "ar", "ru", "el", "pcm"]


def _grouped_tokens(text: str, language: str | None) -> dict[str, list[tuple[int, int, int]]]:
    found: dict[str, list[tuple[int, int, int]]] = {}
    for t in ANALYZER(text, positions=True, chars=True, language=language):
        found.setdefault(t.text, []).append((t.pos, t.startchar, t.endchar))
    return found


@pytest.mark.parametrize("language", SHORTCUT_LANGUAGES)
def test_term_occurrences_are_the_tokens_grouped_by_term(language):
    for text in SHORTCUT_TEXTS:
        for _ in range(2):  # the second time from what the first remembered
            assert term_occurrences(text, language) == _grouped_tokens(text, language), text


@pytest.mark.parametrize("language", SHORTCUT_LANGUAGES)
def test_text_fields_make_the_postings_whoosh_makes(language):
    schema = make_schema()
    for fieldname in ("title", "body"):
        field = schema[fieldname]
        for text in SHORTCUT_TEXTS:
            value = LanguageText(text, language)
            whoosh = list(TEXT.index(field, value, language=language))
            assert sorted(field.index(value)) == sorted(whoosh), text


def test_identifier_fields_make_the_postings_whoosh_makes():
    schema = make_schema()
    for fieldname in ("id", "source", "language", "kind", "dated", "content_hash"):
        field = schema[fieldname]
        for value in ("abc", "/archive/a b/ü.txt", "", "MiXeD"):
            assert list(field.index(value)) == list(ID.index(field, value)), value


def test_surface_words_of_several_texts_are_what_the_tokenizer_collects():
    collected: set[str] = set()
    for text in SHORTCUT_TEXTS:
        for _ in ANALYZER(text, surface=collected):
            pass
    assert surface_words(*SHORTCUT_TEXTS) == collected
    assert surface_words(*SHORTCUT_TEXTS) == collected  # from what it remembered
    assert surface_words() == set()
