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
3. drop English stop words and one-letter words;
4. stem each word with the Snowball stemmer of the article's language when
   the word is written in that language's script (`stem`); other words get
   their script's default: Latin words the English stemmer, Cyrillic the
   Russian one, Persian and Arabic-script words are left whole (normalized
   above) unless the article is Arabic.

**Languages.** The article's language (`index.language`) travels with its
text as a `LanguageText` and reaches the tokenizer as its `language`
argument. The query side cannot know which language a reader's word is in,
so it stems the word for every language the archive holds and looks for
any of the results (`search.embedded.compiler`); `units(text, language)` gives the
stems of one language.

**Punctuated words.** Names and abbreviations are written with punctuation
inside them: `al-Qaeda`, `U.S.`, `AT&T`, `S&L`, `1986/87`, `O'Brien`,
`3,000`. A run of words joined by single `-`, `.`, `&`, `/` or apostrophes
(a comma only between digits) is a *compound*. Its parts are indexed at
consecutive positions like any words, except that a part is never dropped as
a stop word or for being one letter (`U.S.` would otherwise leave nothing),
and the whole compound is indexed once more, folded but not stemmed
(`u.s`, `at&t`, `al-qaeda`), at the first part's position. So a query can
match a punctuated word as the phrase of its parts or as its joined form
(`search.plan` decides which), and the highlighter marks the whole of it.
A possessive `'s` is no compound: `France's` is indexed as `France`.

This module must never change what a term looks like without a schema
version bump (`index.embedded.schema.SCHEMA_VERSION`): the index stores its output.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import Stemmer
from whoosh.analysis import Filter, Token, Tokenizer
from whoosh.analysis.filters import STOP_WORDS
from whoosh.lang.porter import stem as porter_stem

# Word characters, plus what may sit inside a Persian or Arabic word:
# combining marks (harakat, shadda, accents), tatweel, ZWNJ and ZWJ.
_INWORD = r"\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200c\u200d"
TOKEN_PATTERN = rf"(?:\w|[{_INWORD}])+"
#: What may join two words into one compound (see the module docstring).
_JOINERS = "-\u2010\u2011.&/'\u2019\u02bc"
_SEPARATOR = rf"(?:[{re.escape(_JOINERS)}]|(?<=\d),(?=\d))"
#: A plain word or a compound: the unit a reader types and the highlighter marks.
COMPOUND_PATTERN = rf"{TOKEN_PATTERN}(?:{_SEPARATOR}{TOKEN_PATTERN})*"
_COMPOUND = re.compile(COMPOUND_PATTERN)
_PART = re.compile(TOKEN_PATTERN)
_PLAIN_WORD = re.compile(TOKEN_PATTERN)
_APOSTROPHES = "'\u2019\u02bc"
# Joiners written several ways, folded to one spelling in the joined form.
_JOINER_MAP = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2019": "'", "\u02bc": "'"})
#: Words too common to index on their own (Whoosh's English list).
STOPS = STOP_WORDS
#: Shorter words are not indexed on their own.
MIN_WORD = 2

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


_porter = lru_cache(maxsize=200_000)(porter_stem)

#: ISO 639-1 code -> the Snowball algorithm that stems it (PyStemmer's names).
SNOWBALL = {
    "en": "english", "es": "spanish", "fr": "french", "de": "german", "it": "italian",
    "pt": "portuguese", "nl": "dutch", "sv": "swedish", "da": "danish", "no": "norwegian",
    "nb": "norwegian", "nn": "norwegian", "fi": "finnish", "hu": "hungarian",
    "ro": "romanian", "tr": "turkish", "ca": "catalan", "eu": "basque", "ga": "irish",
    "id": "indonesian", "ms": "indonesian", "lt": "lithuanian", "et": "estonian",
    "cs": "czech", "pl": "polish", "eo": "esperanto", "ru": "russian", "sr": "serbian",
    "el": "greek", "ar": "arabic", "hi": "hindi", "ne": "nepali", "ta": "tamil",
    "hy": "armenian", "yi": "yiddish",
}
#: The script a language's stemmer reads; languages not named here write Latin.
_SCRIPT_OF = {"ru": "cyrillic", "sr": "cyrillic", "el": "greek", "ar": "arabic",
              "hi": "devanagari", "ne": "devanagari", "ta": "tamil", "hy": "armenian",
              "yi": "hebrew"}
#: The stemmer for a word whose script is not its article's language's.
_SCRIPT_DEFAULT = {"latin": "english", "cyrillic": "russian", "greek": "greek"}
_SCRIPT_RANGES = (
    (0x0250, "latin"), (0x0370, "other"), (0x0400, "greek"), (0x0530, "cyrillic"),
    (0x0590, "armenian"), (0x0600, "hebrew"), (0x0900, "arabic"), (0x0980, "devanagari"),
    (0x0B80, "other"), (0x0C00, "tamil"), (0x1E00, "other"), (0x1F00, "latin"),
    (0x2000, "greek"),
)
_local = threading.local()


def _script(word: str) -> str:
    """The script of a folded word, judged by its first letter."""
    if word.isascii():
        return "latin"
    for ch in word:
        if ch.isalpha():
            code = ord(ch)
            for end, name in _SCRIPT_RANGES:
                if code < end:
                    return name
            return "other"
    return "latin"


def _stemmer(algorithm: str):
    """A PyStemmer object per thread (they keep state between calls)."""
    made = getattr(_local, "stemmers", None)
    if made is None:
        made = _local.stemmers = {}
    stemmer = made.get(algorithm)
    if stemmer is None:
        stemmer = made[algorithm] = Stemmer.Stemmer(algorithm)
    return stemmer


def stemmer_name(language: str | None, script: str) -> str | None:
    """The Snowball algorithm for a word of `script` in an article of `language`."""
    algorithm = SNOWBALL.get(language or "")
    if algorithm is not None and _SCRIPT_OF.get(language or "", "latin") == script:
        return algorithm
    return _SCRIPT_DEFAULT.get(script)


def stemmer_of(folded: str, language: str | None = None) -> str | None:
    """The Snowball algorithm `stem` uses for `folded` in an article of
    `language` (None: the word is its own term)."""
    return stemmer_name(language, _script(folded))


@lru_cache(maxsize=400_000)
def stem(folded: str, language: str | None = None) -> str:
    """The index term of one folded word in an article of `language`.

    The word is stemmed after folding, accents gone, so `economía` and
    `economia` meet; Arabic is the exception: folding rewrites its letters
    into Persian forms its stemmer does not know, so an Arabic word is
    stemmed as written (see `_unit`) and only this fallback sees it folded.
    """
    algorithm = stemmer_name(language, _script(folded))
    if algorithm is None:
        return folded
    return _stemmer(algorithm).stemWord(folded)


@lru_cache(maxsize=100_000)
def _arabic_term(raw: str) -> str:
    """An Arabic word stemmed before folding (its letters intact), then folded."""
    plain = "".join(ch for ch in unicodedata.normalize("NFC", raw)
                    if not unicodedata.combining(ch) and ch not in "\u0640\u200c\u200d")
    return normalize_word(_stemmer("arabic").stemWord(plain))


@lru_cache(maxsize=400_000)
def _plain_term(raw: str, language: str | None) -> str | None:
    """The index term of a word without joiners as written, or None when it is
    not indexed on its own (what `_unit` gives it, without the `Unit`)."""
    folded = normalize_word(raw)
    if not folded or not is_indexed_alone(folded):
        return None
    return _term(raw, folded, language)


def _term(raw: str, folded: str, language: str | None) -> str:
    if language == "ar" and _script(folded) == "arabic":
        return _arabic_term(raw) or folded
    return stem(folded, language)


def is_indexed_alone(folded: str) -> bool:
    """True when a folded word outside a compound becomes an index term."""
    return len(folded) >= MIN_WORD and folded not in STOPS


@dataclass(frozen=True)
class Unit:
    """One word or compound of a text, as the index sees it.

    `parts` are the index terms of its words in order (stemmed); `joined` is
    the compound's joined term (None for a single word); `words` are the
    folded words before stemming; `start`/`end` are character offsets.
    """

    text: str
    parts: tuple[str, ...]
    joined: str | None
    words: tuple[str, ...]
    start: int
    end: int


def units(text: str, language: str | None = None) -> list[Unit]:
    """The words and compounds of `text`, analyzed exactly as indexing does
    for an article in `language` (None: the default, see `stem`).

    A lone word that indexing drops (a stop word, one letter) comes back
    with no parts, so a caller can tell the reader what was left out.
    """
    out = []
    for m in _COMPOUND.finditer(text):
        unit = _unit(m, language)
        if unit is not None:
            out.append(unit)
    return out


def _unit(m: re.Match, language: str | None = None) -> Unit | None:
    raw = m.group(0)
    pieces = [p for p in _PART.finditer(raw)]
    # A possessive 's ends the compound: "France's" is France, "U.S.'s" is U.S.
    if (len(pieces) >= 2 and raw[pieces[-1].start() - 1] in _APOSTROPHES
            and normalize_word(pieces[-1].group(0)) == "s"):
        pieces.pop()
    folded = [(p.group(0), w) for p in pieces if (w := normalize_word(p.group(0)))]
    if not folded:
        return None
    words = tuple(w for _, w in folded)
    start, end = m.start(), m.end()
    if len(words) == 1:
        w = words[0]
        parts = (_term(folded[0][0], w, language),) if is_indexed_alone(w) else ()
        return Unit(raw, parts, None, words, start, end)
    joined = normalize_word(raw[:pieces[-1].end()].translate(_JOINER_MAP))
    return Unit(raw, tuple(_term(r, w, language) for r, w in folded), joined, words, start,
                end)


class ArchiveTokenizer(Tokenizer):
    """The whole analyzer in one pass: tokens are final index terms.

    Tokenizing, folding, dropping stop words and stemming in one loop (see
    the module docstring for the rules) instead of a chain of generators.
    Positions are consecutive over the terms kept; a compound's joined term
    shares its first part's position, so a phrase of the parts still finds
    the parts adjacent. `surface`, when given a set, collects every folded
    word before stemming (and each joined compound): the spelling
    vocabulary that `ArticleText` indexes beside the stems. `language` is
    the article's ISO 639-1 code, which chooses the stemmer.
    """

    is_morph = True

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True,
                 mode="", surface=None, language=None, **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode)
        t.boost = 1.0
        t.stopped = False
        if not tokenize:  # one term, as it is (Whoosh asks this of queries)
            t.original = t.text = value
            t.pos, t.startchar, t.endchar = start_pos, start_char, start_char + len(value)
            yield t
            return
        pos = start_pos
        plain = surface is None
        for m in _COMPOUND.finditer(value):
            if plain and _PLAIN_WORD.fullmatch(m.group(0)):
                # Most words: no compound to take apart, and the term is remembered.
                term = _plain_term(m.group(0), language)
                if term is None:
                    continue
                if chars:
                    t.startchar, t.endchar = start_char + m.start(), start_char + m.end()
                if keeporiginal:
                    t.original = m.group(0)
                t.text = term
                t.pos = pos
                pos += 1
                yield t
                continue
            found, used = _unit_terms(m, language, surface)
            for text, offset, start, end, original in found:
                t.text = text
                t.pos = pos + offset
                if chars:
                    t.startchar, t.endchar = start_char + start, start_char + end
                if keeporiginal:
                    t.original = original
                yield t
            pos += used


def _unit_terms(m: re.Match, language: str | None, surface: set[str] | None = None
                ) -> tuple[list[tuple[str, int, int, int, str]], int]:
    """The index terms of one word or compound that `_COMPOUND` matched.

    Returns `(terms, used)`: each term as (text, position offset, start char,
    end char, original text), and how many positions the match takes. A
    compound's joined term shares its first part's position (offset 0).
    `surface`, when given, collects the folded words and the joined form.
    """
    unit = _unit(m, language)
    if unit is None:
        return [], 0
    if surface is not None:
        surface.update(w for w in unit.words if is_indexed_alone(w))
        if unit.joined:
            surface.add(unit.joined)
    if unit.joined is None:
        if not unit.parts:
            return [], 0
        return [(unit.parts[0], 0, unit.start, unit.end, unit.text)], 1
    found = [(unit.joined, 0, unit.start, unit.end, unit.text)]
    k = 0
    for piece in _PART.finditer(unit.text):
        if k >= len(unit.parts):
            break
        if not normalize_word(piece.group(0)):
            continue
        found.append((unit.parts[k], k, unit.start + piece.start(), unit.start + piece.end(),
                      piece.group(0)))
        k += 1
    return found, k


#: `_COMPOUND` with its separated parts in a group: a match without the
#: group is a plain word (what `_PLAIN_WORD.fullmatch` would say of it).
_WORD_OR_COMPOUND = re.compile(rf"{TOKEN_PATTERN}((?:{_SEPARATOR}{TOKEN_PATTERN})+)?")
#: Per language, what `term_occurrences` worked out before: plain words as
#: written -> their term ("" when not indexed alone), and compounds as
#: written -> `_unit_terms` of the compound alone. Plain dicts answer faster
#: than `_plain_term`'s cache; each is emptied when it reaches the limit.
_KNOWN: dict[str | None, tuple[dict[str, str], dict[str, tuple]]] = {}
_KNOWN_LIMIT = 400_000


def _known_terms(language: str | None) -> tuple[dict[str, str], dict[str, tuple]]:
    known = _KNOWN.get(language)
    if known is None:
        known = _KNOWN[language] = ({}, {})
    return known


def term_occurrences(text: str, language: str | None = None
                     ) -> dict[str, list[tuple[int, int, int]]]:
    """Each index term of `text` with its (position, start char, end char)
    occurrences in order: what the tokenizer yields, grouped by term.

    The indexer's way through the analyzer (`schema.ArticleText`): the same
    terms at the same places as `ANALYZER(text, positions=True, chars=True)`,
    without a token object per word.
    """
    found: dict[str, list[tuple[int, int, int]]] = {}
    pos = 0
    known, compounds = _known_terms(language)
    for m in _WORD_OR_COMPOUND.finditer(text):
        if m.lastindex is None:  # a plain word
            raw = m.group()
            term = known.get(raw)
            if term is None:
                if len(known) >= _KNOWN_LIMIT:
                    known.clear()
                term = known[raw] = _plain_term(raw, language) or ""
            if not term:
                continue
            at = found.get(term)
            if at is None:
                found[term] = [(pos, *m.span())]
            else:
                at.append((pos, *m.span()))
            pos += 1
            continue
        hit = compounds.get(m.group())
        if hit is None:
            if len(compounds) >= _KNOWN_LIMIT:
                compounds.clear()
            # Offsets from the compound's start: the same compound anywhere.
            hit = compounds[m.group()] = _unit_terms(_COMPOUND.match(m.group()), language)
        start = m.start()
        for term, offset, first, end, _ in hit[0]:
            found.setdefault(term, []).append((pos + offset, start + first, start + end))
        pos += hit[1]
    return found


def make_analyzer() -> ArchiveTokenizer:
    """The analyzer for body and title text (see the module docstring)."""
    return ArchiveTokenizer()


def surface_words(*texts: str) -> set[str]:
    """The words of `texts` as the vocabulary keeps them: folded, not
    stemmed, each word indexed on its own and each punctuated word's joined
    form.

    The same words the tokenizer's `surface` set collects, found without
    stemming: the indexer's parsing processes call this, so the one writing
    the index does not have to. Each distinct word or compound is folded
    once, however often the texts repeat it.
    """
    written: set[str] = set()
    for text in texts:
        written.update(_COMPOUND.findall(text))
    out: set[str] = set()
    known = _SURFACE
    for raw in written:
        words = known.get(raw)
        if words is None:
            if len(known) >= _KNOWN_LIMIT:
                known.clear()
            words = known[raw] = _surface_of(raw)
        out.update(words)
    return out


#: Words or compounds as written -> their vocabulary words (`_surface_of`).
_SURFACE: dict[str, tuple[str, ...]] = {}


def _surface_of(raw: str) -> tuple[str, ...]:
    """The vocabulary words of one word or compound as `_COMPOUND` matched it."""
    if _PLAIN_WORD.fullmatch(raw):
        w = normalize_word(raw)
        return (w,) if w and is_indexed_alone(w) else ()
    unit = _unit(_COMPOUND.match(raw))
    if unit is None:
        return ()
    words = tuple(w for w in unit.words if is_indexed_alone(w))
    return (*words, unit.joined) if unit.joined else words


def terms(text: str, language: str | None = None) -> list[str]:
    """The index terms of `text`, in order (joined compounds included)."""
    return [t.text for t in ANALYZER(text, language=language)]


class LanguageText(str):
    """An article's text that knows its language, for the indexer.

    `index.embedded.document` hands the title and body to Whoosh as these, so the
    analyzer (called by Whoosh with the value alone) can stem by language;
    the stored copy is passed separately as a plain `str`.
    """

    def __new__(cls, text: str, language: str | None = None) -> LanguageText:
        made = super().__new__(cls, text)
        made.language = language
        return made

    def __reduce__(self):
        return (LanguageText, (str(self), self.language))


#: The shared analyzer instance. It keeps no state between calls.
ANALYZER = make_analyzer()


# -- kept for indexes written before schema version 2 ------------------------
# Their pickled schemas name these classes; opening such an index (to read
# it, or to replace it with a rebuild) must still find them.


class NormalizeFilter(Filter):
    """Apply `normalize_word` to every token (schema version 1)."""

    def __call__(self, tokens):
        for t in tokens:
            text = normalize_word(t.text)
            if text:
                t.text = text
                yield t


class LatinStemFilter(Filter):
    """Porter-stem ASCII tokens (schema version 1)."""

    is_morph = True

    def __call__(self, tokens):
        for t in tokens:
            if t.text.isascii():
                t.text = _porter(t.text)
            yield t
