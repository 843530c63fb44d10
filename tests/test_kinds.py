"""Kind words in four languages, and the byline leads that name publication and kind."""

from __future__ import annotations

import pytest

from index.kinds import KINDS, canonical_kind, declared_kind, match_lead, split_lead

ZWNJ = "\u200c"


# --- kind words -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        # English
        ("Interview", "Interview"),
        ("analysis", "Analysis"),
        ("OPINION", "Opinion"),
        ("Breaking News", "News"),
        ("Op-Ed", "Opinion"),
        ("Editorial", "Editorial"),
        ("Q&A", "Interview"),
        # Spanish
        ("Entrevista", "Interview"),
        ("Análisis", "Analysis"),
        ("Opinión", "Opinion"),
        ("Noticias", "News"),
        ("Informe", "Report"),
        ("Reportaje", "Feature"),
        ("Columna", "Commentary"),
        # French
        ("Entretien", "Interview"),
        ("Analyse", "Analysis"),
        ("Actualités", "News"),
        ("Rapport", "Report"),
        ("Éditorial", "Editorial"),
        ("Tribune", "Opinion"),
        ("En bref", "Brief"),
        # Persian
        (f"گفت{ZWNJ}وگو", "Interview"),
        ("گفتگو", "Interview"),
        ("مصاحبه", "Interview"),
        ("تحلیل", "Analysis"),
        ("یادداشت", "Opinion"),
        ("دیدگاه", "Opinion"),
        ("خبر", "News"),
        ("گزارش", "Report"),
        ("سرمقاله", "Editorial"),
    ],
)
def test_kind_words_in_four_languages(word: str, kind: str) -> None:
    assert canonical_kind(word) == kind


@pytest.mark.parametrize(
    "variant",
    [
        "گفتوگو",  # ZWNJ left out
        "گفت وگو",  # a space where the ZWNJ belongs
        f"گفت{ZWNJ}وگو:",  # with the lead's colon
    ],
)
def test_persian_spelling_variants_fold_together(variant: str) -> None:
    assert canonical_kind(variant) == "Interview"


def test_arabic_letters_fold_to_persian_ones() -> None:
    # "تحليل" with an Arabic yeh (U+064A), as Arabic keyboards type it.
    assert "\u064a" in "تحليل"
    assert canonical_kind("تحليل") == "Analysis"
    # "ديدگاه", Arabic yeh again.
    assert canonical_kind("ديدگاه") == "Opinion"


def test_accents_and_case_do_not_matter() -> None:
    assert canonical_kind("ANALISIS") == canonical_kind("análisis") == "Analysis"
    assert canonical_kind("actualites") == "News"


@pytest.mark.parametrize("word", ["Business", "Sports", "Exclusive", "Tehran", "", None, "  "])
def test_unknown_words_are_no_kind(word: str | None) -> None:
    assert canonical_kind(word) is None


def test_every_kind_names_itself() -> None:
    assert all(canonical_kind(kind) == kind for kind in KINDS)
    assert len(set(KINDS)) == len(KINDS) == 10


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("interview", "Interview"),
        ("Entrevista", "Interview"),
        ("fact check", "Fact Check"),
        ("editor's note", "Editor's Note"),
        ("  podcast  ", "Podcast"),
        ("", None),
        (None, None),
    ],
)
def test_a_declared_kind_is_kept_capitalized_when_unknown(value: str | None, kind: str) -> None:
    assert declared_kind(value) == kind


# --- byline leads ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paragraph", "publication", "kind", "text"),
    [
        (
            "Strategic Council Online - Interview: A Middle East expert said",
            "Strategic Council Online",
            "Interview",
            "A Middle East expert said",
        ),
        (
            "Eastbrook Policy Review – Analysis: When five states signed",
            "Eastbrook Policy Review",
            "Analysis",
            "When five states signed",
        ),
        ("Al-Monitor-Analysis: The talks stalled", "Al-Monitor", "Analysis", "The talks stalled"),
        (
            "Observatorio de la Energía – Entrevista: Una ingeniera explicó",
            "Observatorio de la Energía",
            "Interview",
            "Una ingeniera explicó",
        ),
        (
            "Observatoire des Transports — Analyse : Le réseau a perdu",
            "Observatoire des Transports",
            "Analysis",
            "Le réseau a perdu",
        ),
        (
            f"دیدبان سیاست – گفت{ZWNJ}وگو: یک کارشناس گفت",
            "دیدبان سیاست",
            "Interview",
            "یک کارشناس گفت",
        ),
    ],
)
def test_kinded_leads(paragraph: str, publication: str, kind: str, text: str) -> None:
    lead = split_lead(paragraph)
    assert lead is not None
    assert (lead.publication, lead.kind, lead.text) == (publication, kind, text)


@pytest.mark.parametrize(
    "paragraph",
    [
        # Dashes as an aside, not a lead.
        "Oil - the commodity everyone watches - fell by a fifth.",
        "Oil – The commodity everyone watches – fell by a fifth.",
        "He said - and rightly so: the port is full.",
        "The port reopened on Monday: the first ships arrived.",
        # A date or a number is no publication.
        "In 2022 - Report: numbers rose",
        "2022/05/28 – The ministry announced that exports would resume.",
        # A dateline, and a headline-like opening, without any confirmation.
        "New York – The city council voted on Tuesday to widen the bus lanes.",
        "Inflation – The Silent Tax: why prices outpace wages",
        # A name too long to be a publication's.
        "The Very Long Name Of Some Committee Of Ministers – Analysis: text",
        # A lower-case word inside the name makes it a sentence.
        "Energy prices rose – Analysis: text",
        "",
    ],
)
def test_ordinary_openings_are_not_leads(paragraph: str) -> None:
    assert split_lead(paragraph) is None


def test_a_lead_without_a_kind_needs_a_confirmed_publication() -> None:
    paragraph = "Eastbrook Policy Review – The ministry said on Monday that tariffs would rise."
    assert split_lead(paragraph) is None
    lead = split_lead(paragraph, confirmed=["Eastbrook  Policy Review"])
    assert lead is not None
    assert (lead.publication, lead.kind, lead.label) == ("Eastbrook Policy Review", None, None)
    assert lead.text == "The ministry said on Monday that tariffs would rise."


def test_a_confirmed_name_still_needs_a_sentence_after_the_dash() -> None:
    confirmed = ["Eastbrook Policy Review"]
    aside = "Eastbrook Policy Review – the journal of record – said nothing."
    assert split_lead(aside, confirmed) is None
    second_dash = "Eastbrook Policy Review – The ministry – a week late – said nothing."
    assert split_lead(second_dash, confirmed) is None


def test_an_unknown_label_counts_only_for_a_confirmed_publication() -> None:
    paragraph = "Harbour Weekly – Exclusive: The port will close."
    assert split_lead(paragraph) is None
    lead = split_lead(paragraph, confirmed=["Harbour Weekly"])
    assert lead is not None
    assert (lead.label, lead.kind, lead.text) == ("Exclusive", None, "The port will close.")


def test_match_lead_reports_the_shape_without_judging_it() -> None:
    shape = match_lead("Harbour Weekly – Exclusive: The port will close.")
    assert shape is not None and shape.label == "Exclusive" and shape.kind is None
    assert match_lead("Oil - the commodity everyone watches - fell") is not None
    assert match_lead("oil - the commodity everyone watches - fell") is None


def test_only_the_start_of_a_paragraph_is_searched() -> None:
    assert split_lead("Harbour Weekly " + "x" * 200 + " - News: text") is None
    assert split_lead("A" + "-a" * 20000) is None
