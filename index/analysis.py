"""The one text analyzer, shared by indexing, query parsing and highlighting.

A word must become the same index term whether it came from an article, a
query typed on an English, Persian or Arabic keyboard, or the highlighter
looking for it in stored text. So there is exactly one analyzer, built here:

1. tokenize on word characters, keeping combining marks, tatweel and the
   zero-width (non-)joiners inside the token so a Persian word is one token
   and its character offsets point into the original text;
2. normalize each token: Unicode compatibility folding (Arabic presentation
   forms, ligatures), accents and Arabic diacritics removed, Arabic yeh and
   kaf mapped to their Persian forms, tatweel and ZWNJ dropped, Persian and
   Arabic-Indic digits made ASCII, case folded;
3. drop English stop words;
4. stem Latin-script words with the Porter stemmer (Persian words are left
   whole: an English stemmer would only damage them).

This module must never change what a term looks like without a reindex:
the index stores its output.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from whoosh.analysis import (
    Analyzer,
    Filter,
    RegexTokenizer,
    StopFilter,
)
from whoosh.lang.porter import stem as porter_stem

# Word characters, plus what may sit inside a Persian or Arabic word:
# combining marks (harakat, shadda, accents), tatweel, ZWNJ and ZWJ.
_INWORD = r"\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200c\u200d"
TOKEN_PATTERN = rf"(?:\w|[{_INWORD}])+"

_LETTER_MAP = str.maketrans(
    {
        "ي": "ی",  # Arabic yeh -> Persian yeh
        "ى": "ی",  # alef maksura
        "ك": "ک",  # Arabic kaf -> Persian keheh
        "ة": "ه",  # teh marbuta
        "ۀ": "ه",
        "\u0640": None,  # tatweel
        "\u200c": None,  # zero-width non-joiner
        "\u200d": None,  # zero-width joiner
        **{chr(0x06F0 + i): str(i) for i in range(10)},  # Persian digits
        **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
    }
)


@lru_cache(maxsize=65536)
def normalize_word(word: str) -> str:
    """Fold one word the way the index does (before stemming).

    Exposed so the query side and the spelling suggester can compare words
    exactly as the index sees them.
    """
    s = unicodedata.normalize("NFKD", word.translate(_LETTER_MAP))
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", s.translate(_LETTER_MAP)).casefold()


class NormalizeFilter(Filter):
    """Apply `normalize_word` to every token, dropping tokens left empty."""

    def __call__(self, tokens):
        for t in tokens:
            text = normalize_word(t.text)
            if text:
                t.text = text
                yield t


_porter = lru_cache(maxsize=200_000)(porter_stem)


class LatinStemFilter(Filter):
    """Porter-stem ASCII tokens; leave every other script alone.

    Whoosh's own StemFilter would also run Persian words through the English
    stemmer, and its cache is slower than `functools.lru_cache`.
    """

    def __call__(self, tokens):
        stem = _porter
        for t in tokens:
            text = t.text
            if text.isascii():
                t.text = stem(text)
            yield t


def make_analyzer() -> Analyzer:
    """The analyzer for body and title text (see the module docstring)."""
    return (
        RegexTokenizer(TOKEN_PATTERN)
        | NormalizeFilter()
        | StopFilter(minsize=2)
        | LatinStemFilter()
    )


def make_unstemmed_analyzer() -> Analyzer:
    """The same folding without stemming or stop words.

    Used for the spelling vocabulary and for matching prefixes and fuzzy
    terms, where a stem ("deleg" for "delegation") would be a poor word to
    show or to expand.
    """
    return RegexTokenizer(TOKEN_PATTERN) | NormalizeFilter()


def terms(text: str) -> list[str]:
    """The index terms of `text`, in order (a convenience for tests and queries)."""
    return [t.text for t in ANALYZER(text)]


#: The shared analyzer instance. Whoosh analyzers are stateless between calls.
ANALYZER = make_analyzer()
