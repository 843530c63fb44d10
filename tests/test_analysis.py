"""The shared analyzer: folding, stemming, Persian/Arabic normalization, both sides."""

from __future__ import annotations

import datetime as dt

import pytest
from whoosh.filedb.filestore import RamStorage
from whoosh.qparser import QueryParser

from index.analysis import ANALYZER, normalize_word, terms
from index.article import Article
from index.schema import make_schema
from index.writer import write_articles


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
