""""Did you mean ...": spelling corrections from the archive's own words.

A word of the search that no article contains is replaced by the nearest
word that some article does contain (`search.vocabulary`: words as written,
never stems), the most frequent among equally near ones. Two strengths:

- a **suggestion** ("Did you mean", which the reader chooses to follow):
  words of 3 or 4 letters within 1 edit, longer ones within 2;
- an **automatic correction** (the engine searches it when the text finds
  nothing or little, and says so): words of 5 to 8 letters within 1 edit,
  9 or more within 2, and only to a word at least `AUTO_MIN_ARTICLES`
  articles hold. Shorter words are too ambiguous to change unasked, and a
  rare neighbour is more likely another word than the one meant ("submit",
  absent from an archive, is not "summit" because one article has that).

Only plain words are corrected. Punctuated words (`e-mail`, `U.S.`),
numbers, prefixes and fuzzy words are left as typed, so a suggestion is
never a mangled piece of punctuation. Nothing here runs a search.
"""

from __future__ import annotations

import re

from index.analysis import normalize_word
from search.vocabulary import Vocabulary

#: Only words at least this long get suggestions (short ones are too ambiguous).
MIN_LENGTH = 3
#: An automatic correction must be a word at least this many articles hold.
AUTO_MIN_ARTICLES = 3


def suggest_distance(word: str) -> int:
    """Edits allowed when suggesting a replacement for a folded word."""
    return 0 if len(word) < MIN_LENGTH else 1 if len(word) <= 4 else 2


def auto_distance(word: str) -> int:
    """Edits allowed when correcting a folded word without asking."""
    return 0 if len(word) < 5 else 1 if len(word) <= 8 else 2


def corrections(words: list[str], vocabulary: Vocabulary,
                distance=suggest_distance, min_articles: int = 1) -> dict[str, str]:
    """Typed word → replacement, for each plain word no article contains
    (replacements held by fewer than `min_articles` articles are not offered)."""
    out: dict[str, str] = {}
    for word in words:
        if word in out or not _correctable(word):
            continue
        folded = normalize_word(word)
        if vocabulary.knows(folded):
            continue
        d = distance(folded)
        if d <= 0:
            continue
        better = vocabulary.closest(folded, d)
        if better is None or vocabulary.word_frequency(better) < min_articles:
            continue
        out[word] = _cased_like(word, better)
    return out


def apply(text: str, replacements: dict[str, str]) -> str:
    """`text` with each whole typed word replaced."""
    out = text
    for word, better in replacements.items():
        out = re.sub(rf"(?<![\w-]){re.escape(word)}(?![\w*~-])", lambda _m, b=better: b, out)
    return out


def suggest(text: str, words: list[str], vocabulary: Vocabulary) -> str | None:
    """`text` with unknown words replaced by known ones, or None if nothing changed."""
    found = corrections(words, vocabulary)
    if not found:
        return None
    better = apply(text, found)
    return better if better != text else None


def _correctable(word: str) -> bool:
    return (len(word) >= MIN_LENGTH and not any(ch.isdigit() for ch in word)
            and all(ch.isalpha() or ch in "\u200c\u200d" for ch in word))


def _cased_like(typed: str, word: str) -> str:
    if typed.isupper() and len(typed) > 1:
        return word.upper()
    if typed[:1].isupper():
        return word[:1].upper() + word[1:]
    return word
