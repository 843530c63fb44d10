"""Normalizing the loose values articles come with: dates, tags, language.

Readers hand over what they found in the source ("28 May 2022",
"۱۴۰۱/۰۳/۰۷", " Top News ,interview"); this module turns it into the values
the index stores. It never guesses: a date it cannot read is None, never
"today" or a year-1401 Gregorian date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

import jdatetime
from dateutil import parser as dateparser

from index.article import Tag

# Persian (U+06F0..) and Arabic-Indic (U+0660..) digits to ASCII.
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")

#: Years in this range, in a numeric date, are Persian solar years: the solar
#: calendar is ~621 years behind, so 1300..1500 is 1921..2121.
SOLAR_YEARS = range(1300, 1500)

_YMD = re.compile(r"^\s*(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})\b")
_YEAR_ONLY = re.compile(r"^\s*(\d{4})\s*$")


def to_ascii_digits(text: str) -> str:
    """Replace Persian and Arabic-Indic digits by ASCII ones."""
    return text.translate(_DIGITS)


def parse_date(text: str | None) -> dt.date | None:
    """Read a publication date, or return None when there is none to read.

    Accepts ISO 8601 (with or without a time), `2022/05/28`, `28 May 2022`,
    `May 28, 2022`, and Persian solar dates such as `1401/03/07` in ASCII or
    Persian digits (converted with jdatetime, because dateutil would happily
    return the Gregorian year 1401).
    """
    if text is None:
        return None
    s = to_ascii_digits(str(text)).strip()
    if not s or len(s) > 100:
        return None
    m = _YMD.match(s)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        try:
            if y in SOLAR_YEARS:
                return jdatetime.date(y, mo, d).togregorian()
            return dt.date(y, mo, d)
        except ValueError:
            return None
    if _YEAR_ONLY.match(s):
        # A bare year is not a publication date; refusing it keeps
        # "1987" in a title from turning into 1987-01-01.
        return None
    if not re.search(r"\d", s):
        return None
    try:
        parsed = dateparser.parse(s, default=dt.datetime(1, 1, 1), fuzzy=False)
    except (ValueError, OverflowError, TypeError):
        return None
    if parsed.year < 1000:
        return None
    return parsed.date()


def split_tags(text: str) -> list[str]:
    """Split a comma-separated tag string (Latin or Arabic commas)."""
    return [p for p in re.split(r"[,،;]", text) if p.strip()]


def tag_key(label: str) -> str:
    """The key a tag is counted and filtered by: spaces collapsed, case folded.

    Commas become spaces because the index keeps an article's tags as one
    comma-separated keyword list, so a comma can never be inside a key.
    """
    return " ".join(str(label).replace(",", " ").split()).casefold()


def normalize_tags(labels: Iterable[str]) -> tuple[Tag, ...]:
    """Trim tags, drop empty ones and case-insensitive duplicates.

    The first spelling seen is kept as the label; the key is the casefolded,
    whitespace-collapsed form used for facets and filters.
    """
    seen: dict[str, Tag] = {}
    for raw in labels:
        if raw is None:
            continue
        label = " ".join(str(raw).split())
        if not label:
            continue
        key = tag_key(label)
        if key and key not in seen:
            seen[key] = Tag(key=key, label=label)
    return tuple(seen.values())


def detect_language(text: str) -> str | None:
    """The article's language as an ISO 639-1 code (see `index.language`)."""
    from index.language import detect

    return detect(text)
