"""Articles in several languages: detection, stemming by language, and the
Language and Kind facets, checked against answers worked out by hand or by
brute force over the articles, never against the engine's own output."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from whoosh.filedb.filestore import RamStorage

from index.analysis import stem, terms
from index.article import Article, Tag
from index.embedded.engine import write_articles
from index.embedded.schema import make_schema
from index.language import detect, iso_code
from search.embedded.engine import Engine
from search.request import SearchRequest


@pytest.mark.parametrize("text, code", [
    ("The oil ministers met in Vienna on Monday and agreed to cut output again.", "en"),
    ("Los precios del petróleo subieron tras la reunión de los ministros en Viena.", "es"),
    ("Les prix du pétrole ont augmenté après la réunion des ministres à Vienne.", "fr"),
    ("Die Ölpreise stiegen nach dem Treffen der Minister in Wien am Montag deutlich.", "de"),
    ("قیمت نفت پس از نشست وزیران در وین افزایش یافت و بازار واکنش نشان داد.", "fa"),
    ("ارتفعت أسعار النفط بعد اجتماع الوزراء في فيينا يوم الاثنين الماضي.", "ar"),
    ("گفت‌وگو", "fa"),  # too short for statistics: Persian letters decide
    ("oil", "en"),
    ("1987 — 12,000", None),
])
def test_detect_names_the_language(text, code):
    assert detect(text) == code


@pytest.mark.parametrize("declared, code", [
    ("en-US", "en"), ("fa_IR", "fa"), ("ES", "es"), ("spa", "es"), ("Farsi", "fa"),
    ("fr-CA", "fr"), ("", None), ("klingon-ish!", None), ("xyz", None),
])
def test_declared_languages_become_iso_codes(declared, code):
    assert iso_code(declared) == code


def test_english_stems_join_a_word_family_snowball_style():
    # Whoosh's Porter split these (associat / associ); Snowball joins them.
    assert len({stem(w, "en") for w in ("associated", "associate", "association")}) == 1
    assert stem("running", None) == stem("run", None)


def test_spanish_is_stemmed_as_spanish_and_accents_do_not_matter():
    assert terms("precios", "es") == terms("precio", "es")
    assert terms("economía", "es") == terms("economia", "es")
    # Spanish suffixes mean nothing to the English stemmer.
    assert len(set(terms("económicas económico", "es"))) == 1
    assert len(set(terms("económicas económico", "en"))) == 2


def test_words_of_another_script_keep_their_script_default():
    # An English word in a Persian article is stemmed as English; a Persian
    # word in a Spanish article is left whole (normalized).
    assert terms("prices", "fa") == terms("prices", "en")
    assert terms("کتاب‌ها", "es") == ["کتابها"]


def test_arabic_articles_use_the_arabic_stemmer():
    assert terms("المكتبات", "ar") != terms("المكتبات", "fa")
    assert terms("الكتاب", "ar") == terms("كتاب", "ar")  # the article al- goes


# -- an archive in four languages ------------------------------------------

ARTICLES = [
    ("en1", "en", "Analysis", "Oil prices rise", "The price of oil rose as exporters cut output."),
    ("en2", "en", "Interview", "Water rationing", "Cities ration water as reservoirs fall."),
    ("en3", "en", "Report", "Grid batteries", "Battery storage lowers the price of power."),
    ("es1", "es", "Analysis", "Los precios del petróleo",
     "El precio del crudo subió tras el recorte de los exportadores."),
    ("es2", "es", "Interview", "Entrevista sobre el agua",
     "Las ciudades racionan el agua mientras bajan los embalses."),
    ("fr1", "fr", "Analysis", "Les prix de l'électricité",
     "Les prix de l'électricité augmentent avec la demande."),
    ("fa1", "fa", "Interview", "گفت‌وگو درباره آب",
     "شهرها آب را جیره‌بندی می‌کنند و قیمت آب بالا رفته است."),
    ("fa2", "fa", None, "قیمت نفت", "قیمت نفت پس از کاهش تولید افزایش یافت."),
]


@pytest.fixture(scope="module")
def archive() -> tuple[Engine, list[Article]]:
    articles = [
        Article(id=i, source=f"/a/{i}.txt", title=t, body=b, date=dt.date(2024, 1, n + 1),
                tags=(Tag("energy", "Energy"),) if "oil" in b or "نفت" in b else (),
                kind=k, language=lang)
        for n, (i, lang, k, t, b) in enumerate(ARTICLES)
    ]
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, articles)
    return Engine.from_index(ix), articles


def _ids(results) -> set[str]:
    return {h.id for h in results.hits}


def _search(engine: Engine, **params):
    request, problems = SearchRequest.from_args({**params, "per_page": "100"})
    assert not problems
    return engine.run(request)


def test_a_word_finds_its_forms_in_the_article_language(archive):
    engine, articles = archive
    # Spanish plural and singular: the reference is the regex of both forms.
    want = {a.id for a in articles if re.search(r"\bprecios?\b", f"{a.title} {a.body}", re.I)}
    assert want == {"es1"}
    assert _ids(_search(engine, q="precios")) == want
    assert _ids(_search(engine, q="precio")) == want
    english = {a.id for a in articles if re.search(r"\bprices?\b", f"{a.title} {a.body}", re.I)}
    assert _ids(_search(engine, q="prices")) == english == {"en1", "en3"}


def test_the_language_filter_and_its_facet(archive):
    engine, articles = archive
    results = _search(engine, q="", language="es")
    assert _ids(results) == {a.id for a in articles if a.language == "es"}
    assert all(h.language == "es" for h in results.hits)
    # Counted without the language filter itself: every language is offered
    # with the number of articles choosing it would show.
    counts = {v.value: v.count for v in results.language_facet.values}
    brute = {}
    for a in articles:
        brute[a.language] = brute.get(a.language, 0) + 1
    assert counts == brute
    assert [v.value for v in results.language_facet.values if v.selected] == ["es"]
    labels = {v.value: v.label for v in results.language_facet.values}
    assert labels["fa"] == "Persian (فارسی)"
    # Two languages are alternatives.
    both = _search(engine, q="", language=["es", "fr"])
    assert _ids(both) == {a.id for a in articles if a.language in ("es", "fr")}


def test_the_kind_facet_counts_within_the_other_filters(archive):
    engine, articles = archive
    results = _search(engine, q="", language="en", kind="interview")
    assert _ids(results) == {"en2"}
    kinds = {v.value: v.count for v in results.kind_facet.values}
    brute: dict[str, int] = {}
    for a in articles:
        if a.language == "en" and a.kind:
            brute[a.kind] = brute.get(a.kind, 0) + 1
    assert kinds == brute
    languages = {v.value: v.count for v in results.language_facet.values}
    assert languages == {"en": 1, "es": 1, "fa": 1}  # the interviews, by language


def test_a_filtered_language_stems_the_query_in_that_language_only(archive):
    engine, _ = archive
    # "prix" is French; with the filter on English nothing is found.
    assert _ids(_search(engine, q="prix")) == {"fr1"}
    assert _ids(_search(engine, q="prix", language="en")) == set()


def test_the_json_answer_carries_languages_and_kinds(archive):
    engine, articles = archive
    data = _search(engine, q="water").to_json()
    assert {h["language"] for h in data["hits"]} == {"en"}
    assert {"value": "en", "label": "English", "count": 1, "selected": False} in \
        data["facets"]["languages"]
    assert all(set(v) == {"value", "label", "count", "selected"}
               for v in data["facets"]["kinds"])


def test_bad_language_and_kind_parameters_are_explained_not_fatal():
    request, problems = SearchRequest.from_args({"language": ["es", "not a code"],
                                                 "kind": ["x" * 100]})
    assert request.languages == ("es",)
    assert request.kinds == ()
    assert len(problems) == 2
    assert "language=es" in request.to_query_string()
    assert request.with_kind("report").kinds == ("Report",)
    assert request.without_language("ES").languages == ()
