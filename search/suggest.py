""""Did you mean ...": spelling suggestions from the archive's own words.

A word of the query that the index does not know is replaced by the most
frequent index term within a small edit distance. The index holds stems
("deleg"), which no reader wants to be offered, so the suggestion shows the
word as it is written in an article containing that term: the stored text
at the term's stored character offsets.

Candidates come from a `Lexicon`: the body field's terms, grouped by first
letter, read once per index generation. Edit distances against a whole
group are computed by rapidfuzz (optimal string alignment, the same
distance Whoosh's `terms_within` uses) in one call, instead of one Python
loop per term.

Suggestions are only made when a search finds few results; this module
reads the index and never runs the search itself.
"""

from __future__ import annotations

import re
from collections import defaultdict

from rapidfuzz import process
from rapidfuzz.distance import OSA

from index.analysis import normalize_word, terms

#: Only words at least this long get corrected (short ones are too ambiguous).
MIN_LENGTH = 3


class Lexicon:
    """The terms of one field of one index generation, by first character.

    Misspellings rarely change a word's first letter, so only terms that
    share it are compared (as Whoosh does with `prefix=1`).
    """

    def __init__(self, reader, fieldname: str = "body") -> None:
        groups: dict[str, list[str]] = defaultdict(list)
        for btext in reader.lexicon(fieldname):
            term = btext.decode("utf-8") if isinstance(btext, bytes) else btext
            groups[term[:1]].append(term)
        self._groups = dict(groups)

    def within(self, word: str, maxdist: int) -> list[str]:
        """Terms starting like `word` at most `maxdist` edits away from it."""
        group = self._groups.get(word[:1])
        if not group:
            return []
        found = process.extract(word, group, scorer=OSA.distance,
                                score_cutoff=maxdist, limit=None)
        return [term for term, _dist, _i in found]


def suggest(text: str, words: list[str], searcher, lexicon: Lexicon | None = None) -> str | None:
    """`text` with unknown words replaced by known ones, or None if nothing changed.

    `lexicon` is the body field's `Lexicon`; pass the one kept for the
    searcher's generation (one is read from the searcher when it is None).
    """
    reader = searcher.reader()
    if lexicon is None:
        lexicon = Lexicon(reader)
    replacements: dict[str, str] = {}
    for word in words:
        if len(word) < MIN_LENGTH or word in replacements or word.isdigit():
            continue
        if _operand(text, word):
            continue  # a prefix, wildcard or fuzzy word is not meant to be a whole word
        analyzed = terms(word)
        if len(analyzed) != 1:
            continue  # a stop word, or a word the analyzer splits
        term = analyzed[0]
        if _frequency(reader, term) > 0:
            continue
        surface = _closest(searcher, lexicon, word)
        if surface is None:
            continue
        if word.islower():
            surface = surface.lower()
        if surface.casefold() != word.casefold():
            replacements[word] = surface
    if not replacements:
        return None
    out = text
    for word, better in replacements.items():
        out = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", better, out)
    return out if out != text else None


def _operand(text: str, word: str) -> bool:
    """True when `word` starts a word of `text` that ends in `*`, `?` or `~`.

    What the pattern `(?<!\\w)word[*?~]` finds, without compiling a pattern
    for every word asked about (Python keeps only 512 compiled patterns, and
    each keystroke brings new words).
    """
    at = text.find(word)
    while at >= 0:
        end = at + len(word)
        before = text[at - 1] if at else " "
        if end < len(text) and text[end] in "*?~" and not (before.isalnum() or before == "_"):
            return True
        at = text.find(word, at + 1)
    return False


def _frequency(reader, term: str) -> int:
    return sum(reader.doc_frequency(f, term) for f in ("title", "body"))


def _closest(searcher, lexicon: Lexicon, word: str) -> str | None:
    """The archive's word closest to `word`, as written in an article.

    The index holds stems, and a misspelled word's stem may be far from the
    right one ("delegatoin" stays whole, "delegation" is "deleg"). So stems
    near ever shorter starts of the word are tried, each turned back into
    the word an article wrote, and the written word nearest `word` wins.
    """
    reader = searcher.reader()
    folded = normalize_word(word)
    best, best_key = None, None
    for cut in range(len(folded), max(MIN_LENGTH, len(folded) - 4) - 1, -1):
        stems = lexicon.within(folded[:cut], 1 if cut <= 5 else 2)
        stems = sorted(stems, key=lambda t: -_frequency(reader, t))[:3]
        for stem in stems:
            surface = _surface(searcher, stem, folded)
            if not surface:
                continue
            dist = OSA.distance(normalize_word(surface), folded)
            if dist == 0 or dist > 2:
                continue
            key = (dist, -_frequency(reader, stem))
            if best_key is None or key < best_key:
                best, best_key = surface, key
        if best is not None:
            return best
    return None


def _surface(searcher, term: str, near: str, samples: int = 8) -> str | None:
    """How articles write `term`: of the spellings found in its first few
    occurrences, the one closest to `near` (the stem "water" is written
    "water", "waters" and "watered"; a reader who typed "wter" wants the first).
    """
    spellings: set[str] = set()
    for field in ("body", "title"):
        try:
            m = searcher.postings(field, term)
        except Exception:  # noqa: BLE001  no such term, or no stored offsets
            continue
        # At most `samples` articles are read: a common term written one way
        # everywhere must not load every article that contains it.
        for _ in range(samples):
            if not m.is_active():
                break
            try:
                chars = m.value_as("characters")
            except Exception:  # noqa: BLE001  a field without stored offsets
                break
            stored = searcher.stored_fields(m.id()).get(field) or ""
            for _pos, start, end in chars[:samples]:
                if stored[start:end]:
                    spellings.add(stored[start:end])
            m.next()
        if spellings:
            break
    if not spellings:
        return None
    return min(spellings, key=lambda w: (OSA.distance(normalize_word(w), near), len(w), w))
