"""The telling words of one article, for finding the articles most like it.

An article's key terms are the words that are frequent in it and rare in
the archive. Whoosh's `Expander` weighs them with the Bo1 model from each
word's frequency in the whole collection; `key_terms` uses it as Whoosh's
own `Searcher.key_terms` does, the article's body and title each on their
own (as Lucene's MoreLikeThis does, a term is later looked for in the field
it came from).

For each distinct word of the article, the Expander asks the reader whether
the term exists and how often it occurs: two hash-table lookups in every
segment, about 85% of the time of finding related articles. Those figures
depend only on the index generation and the same words recur from article
to article, so the reader handed to the Expander remembers them
(`KnownFrequencies`), in an LRU kept with the generation's columns.

This module only reads the index.
"""

from __future__ import annotations

from collections.abc import Callable

from whoosh.classify import Expander

from search.lru import LRU

#: Key terms drawn from each field, and the field they are looked for in.
KEY_TERMS = (("body", 12), ("title", 4))


class KnownFrequencies:
    """A Whoosh reader whose term lookups the Expander needs are remembered.

    Answers `(field, term) in reader` and `reader.frequency(field, term)`
    from `known` (an LRU shared by the generation's threads), asking the
    wrapped reader on a miss; `stored_fields` goes to `stored`. Everything
    else is the wrapped reader's.
    """

    def __init__(self, reader, known: LRU, stored: Callable[[int], dict]) -> None:
        self._reader = reader
        self._known = known
        self._stored = stored

    def __getattr__(self, name: str):
        return getattr(self._reader, name)

    def _frequency(self, fieldname: str, btext: bytes) -> int:
        """The term's collection frequency, or -1 when no segment has it."""
        key = (fieldname, btext)
        found = self._known.get(key)
        if found is None:
            reader = self._reader
            found = reader.frequency(fieldname, btext) if key in reader else -1
            self._known.put(key, found)
        return found

    def __contains__(self, term: tuple[str, bytes]) -> bool:
        return self._frequency(*term) >= 0

    def frequency(self, fieldname: str, btext: bytes) -> float:
        return max(self._frequency(fieldname, btext), 0)

    def stored_fields(self, docnum: int) -> dict:
        return self._stored(docnum)


def key_terms(reader, docnum: int) -> list[tuple[str, str, float]]:
    """(field, term, weight) of document `docnum`'s most telling words.

    `reader` is a Whoosh reader, best a `KnownFrequencies`. Weights are the
    Bo1 model's, normalized per field as `Searcher.key_terms` gives them.
    An article with no text in a field gives no terms for it.
    """
    found: list[tuple[str, str, float]] = []
    for fieldname, count in KEY_TERMS:
        expander = Expander(reader, fieldname)
        expander.add_document(docnum)
        found += [(fieldname, t, w) for t, w in expander.expanded_terms(count)]
    return found
