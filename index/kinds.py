"""Article kinds, and the byline leads that announce them.

Sources say what kind of article they publish in their own words and their
own language: "Interview", "Entrevista", "Entretien" and "گفت‌وگو" are one
kind, and the Kind facet should count them together. `canonical_kind` maps
a kind word, as a source writes it, to one of `KINDS` (in English); words
are compared folded the way the index folds them
(`index.analysis.normalize_word`: case, accents, ZWNJ and Arabic letter
variants), so "ANÁLISIS", "analisis" and "تحليل" with an Arabic yeh all
match.

Think-tank and agency pages name the publication and the kind at the start
of the first paragraph, in a *byline lead*::

    Eastbrook Policy Review – Interview: A former diplomat said ...
    Strategic Council Online - Opinion: With the return of ...
    دیدبان سیاست – تحلیل: کاهش بارندگی ...

`split_lead` recognizes such a lead and returns its publication, its kind
and the paragraph without it, so readers can store the lead as metadata
instead of indexing "Eastbrook Policy Review" as words of every article.

This module must never invent a kind: a word that is not in the table is no
kind (None), and a lead is recognized only in the narrow shapes described
at `split_lead`, because stripping a real sentence would lose article text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from index.analysis import normalize_word

#: The canonical kinds, in the order a Kind facet might list them.
KINDS: tuple[str, ...] = (
    "News",
    "Analysis",
    "Interview",
    "Opinion",
    "Commentary",
    "Editorial",
    "Report",
    "Feature",
    "Review",
    "Brief",
)

# Kind words as sources write them (English, Spanish, French, Persian), by
# canonical kind. They are folded with `_fold` when the table is built, so
# accents, case and ZWNJ here do not matter.
_WORDS: dict[str, tuple[str, ...]] = {
    "News": (
        "news", "breaking news", "latest news",
        "noticia", "noticias", "actualidad",
        "actualité", "actualités", "nouvelles",
        "خبر", "اخبار",
    ),
    "Analysis": (
        "analysis", "news analysis",
        "análisis",
        "analyse", "décryptage",
        "تحلیل",
    ),
    "Interview": (
        "interview", "q&a",
        "entrevista",
        "entretien",
        "گفت‌وگو", "گفت وگو", "گفت و گو", "گفتگو", "مصاحبه",
    ),
    "Opinion": (
        "opinion", "op-ed", "viewpoint", "point of view",
        "opinión", "punto de vista", "tribuna",
        "tribune", "point de vue",
        "یادداشت", "دیدگاه",
    ),
    "Commentary": (
        "commentary", "comment", "column",
        "comentario", "columna",
        "commentaire", "chronique",
        "تفسیر",
    ),
    "Editorial": (
        "editorial", "leader",
        "éditorial",
        "سرمقاله",
    ),
    "Report": (
        "report", "special report", "policy report",
        "informe",
        "rapport",
        "گزارش",
    ),
    "Feature": (
        "feature", "long read",
        "reportaje", "crónica",
        "reportage", "grand format",
        "گزارش ویژه",
    ),
    "Review": (
        "review", "book review",
        "reseña", "crítica",
        "critique", "compte rendu",
        "نقد", "معرفی کتاب",
    ),
    "Brief": (
        "brief", "in brief", "briefing", "news in brief",
        "breve", "breves", "en breve",
        "brève", "brèves", "en bref",
        "خلاصه", "خبر کوتاه",
    ),
}


_EDGE_PUNCTUATION = " \t:：-–—.،؛"


def _fold(text: str) -> str:
    """A kind word or phrase folded for lookup: each word as the index folds it."""
    return " ".join(normalize_word(word) for word in text.split())


_TABLE: dict[str, str] = {
    _fold(word): kind for kind, words in _WORDS.items() for word in (kind, *words)
}


def canonical_kind(word: str | None) -> str | None:
    """The canonical English kind a source's kind word names, or None.

    >>> canonical_kind("Entrevista"), canonical_kind("ANÁLISIS"), canonical_kind("گفتگو")
    ('Interview', 'Analysis', 'Interview')

    Surrounding punctuation (a lead's colon, a dash) is ignored. A word that
    is not in the table returns None rather than a guess: "Business" is a
    section of a site, not a kind of article.
    """
    if not word:
        return None
    return _TABLE.get(_fold(word.strip(_EDGE_PUNCTUATION)))


def declared_kind(value: str | None) -> str | None:
    """The kind of an explicit kind field: canonical when known, else the field itself.

    A JSON Lines export that writes `"kind": "fact check"` has said what the
    article is; unlike a word guessed out of running text, that is kept, with
    each word's first letter capitalized ("Fact Check") so that the facet does
    not split on case. Blank values are no kind.
    """
    text = " ".join((value or "").split())
    if not text:
        return None
    return canonical_kind(text) or " ".join(w[:1].upper() + w[1:] for w in text.split())


# --- byline leads -------------------------------------------------------------------

#: A lead is found only within a paragraph's first characters. This also
#: keeps the patterns' backtracking bounded on long hyphenated lines.
LEAD_SPAN = 160
#: Most words a publication name may have.
MAX_NAME_WORDS = 6

# A word may carry inner hyphens, apostrophes, dots or an ampersand
# ("Al-Monitor", "Reader's", "U.S."); ZWNJ belongs to Persian words.
_WORD = r"[^\W\d_][\w\u200c]*(?:[-'’.&][\w\u200c]+)*"
_NAME = rf"{_WORD}(?:\s+{_WORD}){{0,{MAX_NAME_WORDS - 1}}}?"
_DASH = "-–—"
# "<Publication> – <Kind>:" (spaces around the dash optional).
_LABEL = rf"{_WORD}(?:\s+{_WORD}){{0,2}}?"
_KINDED = re.compile(rf"(?P<pub>{_NAME})\s*[{_DASH}]\s*(?P<label>{_LABEL})\s*:")
# "<Publication> – <Text>" (spaces around the dash required: "Al-Monitor" is one word).
_PLAIN = re.compile(rf"(?P<pub>{_NAME})\s+[{_DASH}]\s+(?=\S)")
# A dash with space on both sides: in running text it opens or closes an aside.
_SPACED_DASH = re.compile(rf"\s[{_DASH}]\s")
_SENTENCE_END = re.compile(r"[.!?؟]\s")

# Small words that may stand lower-case inside a name ("Council on Foreign
# Relations", "Observatorio de la Energía"), never first or last.
_NAME_JOINERS = frozenset(
    "of for on and the at in de del la las los el y e et du des le les di da van von".split()
)


@dataclass(frozen=True)
class Lead:
    """A byline lead found at the start of a paragraph.

    `publication` is the name as written (whitespace collapsed); `label` the
    kind words as written, or None for a lead without them; `kind` the
    canonical kind of `label`, or None when the label names no known kind;
    `text` the rest of the paragraph, without the lead.
    """

    publication: str
    label: str | None
    kind: str | None
    text: str


def match_lead(paragraph: str) -> Lead | None:
    """The lead-shaped opening of `paragraph`, whether or not it is to be trusted.

    This is the shape only: a capitalized name of at most six words, a dash,
    and either kind words and a colon or the rest of the text. `split_lead`
    decides whether the shape is a lead; chrome detection uses the shape of
    the kinded form to spot teasers of other articles.
    """
    head = paragraph[:LEAD_SPAN]
    if not any(dash in head for dash in _DASH):
        return None  # both shapes need a dash
    m = _KINDED.match(head)
    if m and not m["label"][0].islower() and _is_name(m["pub"]):
        label = " ".join(m["label"].split())
        return Lead(_collapse(m["pub"]), label, canonical_kind(label), paragraph[m.end():].lstrip())
    m = _PLAIN.match(head)
    if m and _is_name(m["pub"]):
        return Lead(_collapse(m["pub"]), None, None, paragraph[m.end():])
    return None


def split_lead(paragraph: str, confirmed: Iterable[str] = ()) -> Lead | None:
    """The byline lead opening `paragraph`, or None when it does not open with one.

    Recognized, at the very start of the paragraph only:

    - `<Name> – <Kind>: text`, when `<Kind>` is a known kind word
      ("Eastbrook Policy Review – Interview:", "Al-Monitor-Analysis:");
    - `<Name> – <Label>: text` with any other label, and `<Name> – Text`
      without one, only when `<Name>` is in `confirmed`: publications the
      page itself names elsewhere (its site name, the leads of its teasers).
      Without that, "New York – The council voted" is a dateline and
      "Inflation – The Silent Tax: ..." a headline, not leads.

    `<Name>` is one to six words, each capitalized except joining words
    ("of", "de", "des", ...) inside it; scripts without case (Persian) pass.
    Hyphen, en dash and em dash all count. A lead without a label also needs
    a space on both sides of the dash, text that does not start in
    lower case, and no second spaced dash in its first sentence, which would
    make the dashes an aside: "Oil - the commodity everyone watches - fell".
    """
    lead = match_lead(paragraph)
    if lead is None:
        return None
    trusted = {_collapse(name).casefold() for name in confirmed if name}
    known = lead.publication.casefold() in trusted
    if lead.label is not None:
        return lead if lead.kind is not None or known else None
    text = lead.text
    if not known or not text or text[0].islower():
        return None
    first_sentence = _SENTENCE_END.split(text, maxsplit=1)[0]
    if _SPACED_DASH.search(first_sentence):
        return None
    return lead


def _is_name(words: str) -> bool:
    """True for a publication-like name: capitalized words, joining words inside."""
    parts = words.split()
    for i, word in enumerate(parts):
        if not word[0].islower():
            continue
        if 0 < i < len(parts) - 1 and word in _NAME_JOINERS:
            continue
        return False
    return True


def _collapse(text: str) -> str:
    return " ".join(text.split())
