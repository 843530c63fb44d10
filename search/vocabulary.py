"""The archive's words as written: for prefixes, fuzzy words and "did you mean".

The index holds stems ("negoti" for "negotiation"), which are poor things to
expand a prefix against ("negotiat*" starts no stem) and worse to offer a
reader. The indexer keeps the words before stemming (`index.vocabulary`);
this module holds them for one index generation as a sorted list with, for
each word, how many articles hold its index term, so that:

- a prefix is a bisected slice of the list, cut to its most frequent words;
- a fuzzy word is compared (rapidfuzz, optimal string alignment) only with
  the words sharing its first letter;
- a suggestion is always a word some article contains, never a stem.

Cost: loading the indexer's file takes a few tens of milliseconds on the
19k Reuters archive (building it from the index instead, when there is no
file, about half a second). A lookup then costs a bisection or one
rapidfuzz call over one first-letter group, whatever the reader typed.
This module reads; it never writes the index.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from index.vocabulary import VocabularyData, best_term, index_term

__all__ = ["Vocabulary", "index_term"]


class Vocabulary:
    """The folded words of the title and body fields of one generation."""

    def __init__(self, data: VocabularyData) -> None:
        self.words = data.words
        self.terms = data.terms
        self.languages = tuple(getattr(data, "languages", ()))
        self._term_counts = data.term_counts
        counts = data.term_counts
        self.frequency = np.array([counts.get(t, 0) for t in self.terms], dtype=np.int64)
        groups: dict[str, list[int]] = defaultdict(list)
        for i, w in enumerate(self.words):
            groups[w[:1]].append(i)
        self._groups = {k: ([self.words[i] for i in v], np.array(v)) for k, v in groups.items()}

    @classmethod
    def from_reader(cls, reader) -> Vocabulary:
        """Built from an embedded index's reader (no indexer's file at hand)."""
        from index.embedded.vocabulary import build

        return cls(build(reader))

    def __len__(self) -> int:
        return len(self.words)

    def term_frequency(self, term: str) -> int:
        """Articles holding the index term (title or body; deleted ones until merged)."""
        return self._term_counts.get(term, 0)

    def word_frequency(self, word: str) -> int:
        """Articles holding the folded `word`'s index term, in the language
        whose stem of it most articles hold."""
        return self.term_frequency(best_term(word, self._term_counts, self.languages))

    def knows(self, word: str) -> bool:
        """True when some article contains the folded `word` (by its index term)."""
        return self.word_frequency(word) > 0

    def prefixed(self, prefix: str, limit: int) -> tuple[list[str], bool]:
        """Words starting with `prefix`, the `limit` most frequent; and whether
        more were left out."""
        lo = bisect_left(self.words, prefix)
        hi = bisect_left(self.words, prefix + "\U0010ffff", lo)
        if hi - lo <= limit:
            found = range(lo, hi)
            capped = False
        else:
            freq = self.frequency[lo:hi]
            top = np.argpartition(-freq, limit - 1)[:limit]
            found = (lo + top).tolist()
            capped = True
        ranked = sorted(found, key=lambda i: (-self.frequency[i], self.words[i]))
        return [self.words[i] for i in ranked], capped

    def within(self, word: str, distance: int, limit: int) -> tuple[list[str], bool]:
        """Words sharing `word`'s first letter at most `distance` edits from it,
        the `limit` most frequent; and whether more were left out."""
        group = self._groups.get(word[:1])
        if group is None:
            return [], False
        names, ids = group
        found = process.extract(word, names, scorer=OSA.distance, score_cutoff=distance,
                                limit=None)
        ranked = sorted(((d, -int(self.frequency[ids[i]]), w) for w, d, i in found))
        # The nearest first, then the most frequent: an exact word always stays.
        words = [w for _d, _f, w in ranked]
        return words[:limit], len(words) > limit

    def closest(self, word: str, distance: int) -> str | None:
        """The known word nearest `word` (then the most frequent), or None."""
        found, _ = self.within(word, distance, 64)
        for w in found:
            if w != word and self.knows(w):
                return w
        return None
