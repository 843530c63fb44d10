"""The archive's vocabulary: words as written, their index terms, their counts.

Prefixes (`negotiat*`), fuzzy words (`desalinaton~`) and spelling
corrections are matched against the words articles contain *as written*
(folded, not stemmed), each with how many articles hold its index term, so
that a prefix can be cut to its most frequent words.

The index keeps stems only. The indexer's parsing processes collect each
article's words as written (`analysis.surface_words`); an engine pairs
them with the term counts it holds (`assemble`) into a `VocabularyData`
for the readers. The embedded engine keeps it in a file beside each
generation (`index.embedded.vocabulary`); the Typesense engine works it
out from the cluster.

`VocabularyData` is pickled into the embedded engine's vocabulary files
under this module's name: it stays here. This module never parses queries
and never imports `search/`.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.analysis import stem, stemmer_of

WORD_FIELDS = ("title", "body")
_JOINERS = set("-.&/',")


def index_term(word: str, language: str | None = None) -> str:
    """The index term of a folded word or joined compound (stemmed for
    `language`, the default stemmer when None)."""
    return word if any(c in _JOINERS for c in word) else stem(word, language)


@dataclass
class VocabularyData:
    """Sorted words as written, their index terms, and articles per term.

    A word's term is its stem in whichever of the archive's `languages`
    gives the term most articles hold (`casa` is Spanish `cas` in a Spanish
    archive, whatever English would make of it)."""

    words: list[str]
    terms: list[str]
    term_counts: dict[str, int]
    languages: tuple[str, ...] = ()


def best_term(word: str, counts: dict[str, int], languages: tuple[str, ...]) -> str:
    """The index term of `word` held by most articles among its stems in
    `languages` and the default stemmer's."""
    if any(c in _JOINERS for c in word):
        return word  # a joined compound: its own term in every language
    best = stem(word)
    # Languages whose stemmer for this word is one already tried give its term.
    tried = {stemmer_of(word, None)}
    for lang in languages:
        algorithm = stemmer_of(word, lang)
        if algorithm in tried:
            continue
        tried.add(algorithm)
        term = stem(word, lang)
        if counts.get(term, 0) > counts.get(best, 0):
            best = term
    return best


def assemble(words: set[str], counts: dict[str, int], languages: tuple[str, ...]
             ) -> VocabularyData:
    """The vocabulary of `words`, given how many articles hold each term of
    the word fields and the archive's languages (in the index's order)."""
    if not words:  # nothing to read them from: stems stand in for words
        words = set(counts)
    ordered = sorted(words)
    return VocabularyData(ordered, [best_term(w, counts, languages) for w in ordered],
                          dict(counts), languages)
