"""Which tags a typed prefix offers, the same on every engine.

The tag finder and the API's tag values take what a reader has typed so far
("oil g", "ene", "کتا") and offer the tags it could be the start of. The
typed text and a tag's label are both read as words: folded as the index
folds words (`index.analysis.normalize_word`: case, accents, Persian and
Arabic letter forms) and stripped of punctuation, so "oil g" and "oil,"
both lead to the tag "Oil, Gas", and a stray comma never hides one.

A tag whose words start with the typed words ranks first (`STARTS`), one
with a later word that does ranks after (`INSIDE`); the engines order each
rank by count.
"""

from __future__ import annotations

import re

from index.analysis import normalize_word

STARTS, INSIDE = 0, 1
_WORD = re.compile(r"\w+")


def words(text: str) -> str:
    """`text` folded and reduced to its words, one space apart."""
    return " ".join(_WORD.findall(normalize_word(text)))


def rank(typed: str, label: str) -> int | None:
    """`STARTS`, `INSIDE` or None (not offered) for a tag labelled `label`,
    both already reduced by `words`. An empty `typed` offers every tag."""
    if not typed or label.startswith(typed):
        return STARTS
    if f" {typed}" in f" {label}":
        return INSIDE
    return None
