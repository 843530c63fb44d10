"""Which language an article is written in: declared, else detected.

A source may say its language (`<html lang="es">`, `og:locale` `fa_IR`, a
JSON Lines `language` field); `iso_code` turns what it says into an ISO
639-1 code. When it says nothing, `detect` asks py3langid, whose model
ships inside its package (nothing is downloaded), and falls back on the
script when the text is too short for a statistical guess.

The language decides how the article's words are stemmed
(`index.analysis`) and feeds the Language facet. A wrong guess costs
little: a query is stemmed for every language the archive holds.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

#: Less text than this (letters) is judged by its script alone.
MIN_LETTERS = 40
#: Characters of an article's text the detector reads: its start is enough,
#: and the detector's cost grows with the length (it was an eighth of the
#: indexing time at 2,000 characters).
SAMPLE_CHARS = 300
#: Below this probability the statistical guess is not trusted.
MIN_CONFIDENCE = 0.5

#: Three-letter codes and English names sources write, to ISO 639-1.
_ALIASES = {
    "eng": "en", "english": "en", "spa": "es", "spanish": "es", "espanol": "es",
    "español": "es", "fas": "fa", "per": "fa", "persian": "fa", "farsi": "fa",
    "فارسی": "fa", "fra": "fr", "fre": "fr", "french": "fr", "français": "fr",
    "deu": "de", "ger": "de", "german": "de", "deutsch": "de", "ara": "ar",
    "arabic": "ar", "rus": "ru", "russian": "ru", "ita": "it", "italian": "it",
    "por": "pt", "portuguese": "pt", "nld": "nl", "dut": "nl", "dutch": "nl",
    "tur": "tr", "turkish": "tr", "zho": "zh", "chi": "zh", "chinese": "zh",
}
_CODE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)*$")
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
_PERSIAN_LETTERS = re.compile(r"[پچژگکی]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_NOISE = re.compile(r"https?://\S+|\S+@\S+|\d+")
_ASCII_LETTERS = string.ascii_letters.encode("ascii")


def iso_code(value: str | None) -> str | None:
    """The ISO 639-1 code a declared language names, or None.

    Accepts BCP 47 tags (`en-US`, `fa-IR`), locales (`fa_IR`), three-letter
    codes (`spa`) and common names (`English`, `Farsi`); anything else is
    not a language this function can name.
    """
    if not value:
        return None
    s = str(value).strip().casefold()
    if s in _ALIASES:
        return _ALIASES[s]
    m = _CODE.match(s)
    if not m:
        return None
    code = m.group(1)
    if len(code) == 3:
        return _ALIASES.get(code)
    return code


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> str | None:
    """The language of `text` as an ISO 639-1 code, or None for no letters.

    Long enough text is classified statistically; short text, or a guess
    below `MIN_CONFIDENCE`, is named by its dominant script (Arabic script
    is Persian when Persian letters appear, else Arabic; Latin is English;
    Cyrillic is Russian), since a dozen words are too few to tell Spanish
    from Portuguese but enough to tell Persian from English.
    """
    sample = _NOISE.sub(" ", text[:SAMPLE_CHARS])
    if sample.isascii():
        # Only ASCII letters are letters of a script here: counted at C speed.
        arabic = cyrillic = 0
        plain = sample.encode("ascii")
        latin = len(plain) - len(plain.translate(None, _ASCII_LETTERS))
    else:
        arabic = len(_ARABIC_SCRIPT.findall(sample))
        latin = len(_LATIN.findall(sample))
        cyrillic = len(_CYRILLIC.findall(sample))
    letters = arabic + latin + cyrillic
    if letters == 0:
        return None
    if letters >= MIN_LETTERS:
        code, confidence = _identifier().classify(sample)
        if confidence >= MIN_CONFIDENCE:
            return str(code)
    if arabic >= max(latin, cyrillic):
        return "fa" if _PERSIAN_LETTERS.search(sample) else "ar"
    if cyrillic > latin:
        return "ru"
    return "en"


def language_of(declared: str | None, text: str) -> str | None:
    """What an article's language is: the declared one, else the detected one."""
    return iso_code(declared) or detect(text)
