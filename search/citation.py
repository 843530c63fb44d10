"""Articles as citations a reference manager imports: RIS and BibTeX.

`Citation.of(hit_or_article)` keeps the fields a citation needs, tidied for
a one-line-per-field format; `to_ris` and `to_bibtex` write any number of
them as one file. `FORMATS` names both formats with their media type and
file extension, so the web routes and any other caller agree on them.

What goes where:

    =============  ===========================  ====================================
    article        RIS                          BibTeX
    =============  ===========================  ====================================
    title          TI                           title (capitals protected)
    author         AU, one per name             author, names joined with " and "
    date           PY (YYYY), DA (YYYY/MM/DD)   year, month (macro), date (ISO)
    publication    T2                           journal / institution / howpublished
    kind           TY, M3                       entry type (and `type` of a report)
    url            UR (http and https only)     url (http and https only)
    tag labels     KW, one per tag              keywords, comma-separated
    language       LA                           language (the ISO 639-1 code)
    =============  ===========================  ====================================

The reference type follows the article's kind, which sources spell freely
("News", "Policy brief", "گزارش"): a kind naming a report, paper, brief or
study is a report (RIS `RPRT`, BibTeX `@techreport` with the publication
as its institution); a kind naming news is a newspaper article (`NEWS`,
`@article` in the publication as journal, `@misc` when no publication is
named, since an article needs its journal); anything else is a web page
(`ELEC`) when it has a web address and a generic work (`GEN`) when not, and
a BibTeX `@misc` with the publication as `howpublished`. These are the types
Zotero, EndNote and Mendeley map to their report, newspaper article and web
page items; a journal type would make them expect volume and pages an
archive of web articles does not have.

An undated article has no year or date in either format: a citation never
invents one. Both writers take plain text only and must never let a value
end its record or start a field: every value is written on one line (line
breaks collapsed to a space), and BibTeX's special characters are escaped.

Nothing here talks to Whoosh, Flask or the index.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote

from search.results import ArticleView, Hit

# -- the citation ---------------------------------------------------------------

#: Where an `author` holding several names separates them ("Jane Doe; Ali
#: Rezaei"). A comma is not a separator: "Doe, Jane" is one name.
AUTHOR_SEPARATOR = ";"

#: Words of a kind that make an article a report or a news item (compared
#: case-folded, word by word).
REPORT_WORDS = frozenset({"report", "reports", "paper", "brief", "study", "studies", "گزارش"})
NEWS_WORDS = frozenset({"news", "newspaper", "خبر", "اخبار"})

#: Runs of whitespace that hold a line break (or a tab) become one space.
#: These are the characters `str.splitlines` and RIS readers end a line at.
_BREAKS = re.compile(r"\s*[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]\s*")


def one_line(text: str | None) -> str:
    """`text` fit to be one field's value: one line, no control characters.

    Line breaks and tabs (with the spaces around them) become one space;
    other control characters are dropped, and a lone surrogate (text that
    was not valid Unicode) becomes U+FFFD so the file can be encoded.
    Spaces inside a line are kept as they are; the ends are trimmed.
    """
    if not text:
        return ""
    out = []
    for ch in _BREAKS.sub(" ", text):
        category = unicodedata.category(ch)
        if category == "Cc":
            continue
        out.append("\ufffd" if category == "Cs" else ch)
    return "".join(out).strip()


@dataclass(frozen=True)
class Citation:
    """What a citation says about one article, each value on one line.

    Empty strings and empty tuples stand for "not known"; `date` is None
    for an undated article. `url` is kept only when it is a web address
    (any space in it percent-encoded): a reference manager makes it a link,
    and a `javascript:` URL from a hostile archive must not become one.
    """

    id: str
    title: str
    authors: tuple[str, ...]
    date: dt.date | None
    publication: str
    kind: str
    url: str
    keywords: tuple[str, ...]
    language: str

    @classmethod
    def of(cls, record: Hit | ArticleView) -> Citation:
        """The citation of a search hit or a whole article (they carry the same fields)."""
        return cls(
            id=record.id,
            title=one_line(record.title),
            authors=split_authors(record.author),
            date=record.date,
            publication=one_line(record.publication),
            kind=one_line(record.kind),
            url=_web_url(record.url),
            keywords=tuple(dict.fromkeys(
                label for label in (one_line(t.label) for t in record.tags) if label)),
            language=one_line(record.language),
        )

    @property
    def category(self) -> str:
        """What the kind says the article is: "report", "news" or "other"."""
        words = set(re.findall(r"\w+", self.kind.casefold()))
        if words & REPORT_WORDS:
            return "report"
        if words & NEWS_WORDS:
            return "news"
        return "other"


def split_authors(author: str | None) -> tuple[str, ...]:
    """The names in an `author` field, split at `AUTHOR_SEPARATOR`, blanks dropped."""
    if not author:
        return ()
    names = (one_line(name) for name in author.split(AUTHOR_SEPARATOR))
    return tuple(name for name in names if name)


def _web_url(url: str | None) -> str:
    url = one_line(url)
    if not url.lower().startswith(("http://", "https://")):
        return ""
    # A space is no part of a URL (a browser sends %20); readers that split
    # a URL field at spaces would cut it.
    return re.sub(r"\s", lambda m: quote(m.group(), safe=""), url)


# -- RIS ------------------------------------------------------------------------

#: The RIS spec ends every line with CR LF, and so does every RIS file
#: EndNote writes; readers that want LF accept it too.
RIS_NEWLINE = "\r\n"


def ris_type(citation: Citation) -> str:
    """The RIS `TY` of a citation (see the module docstring for why these)."""
    category = citation.category
    if category == "report":
        return "RPRT"
    if category == "news":
        return "NEWS"
    return "ELEC" if citation.url else "GEN"


def ris_record(citation: Citation) -> list[tuple[str, str]]:
    """The (tag, value) lines of one record, `TY` first and `ER` last."""
    lines = [("TY", ris_type(citation))]
    if citation.title:
        lines.append(("TI", citation.title))
    lines.extend(("AU", name) for name in citation.authors)
    if citation.date is not None:
        d = citation.date
        lines.append(("PY", f"{d.year:04d}"))
        lines.append(("DA", f"{d.year:04d}/{d.month:02d}/{d.day:02d}"))
    if citation.publication:
        lines.append(("T2", citation.publication))
    if citation.kind:
        lines.append(("M3", citation.kind))
    if citation.url:
        lines.append(("UR", citation.url))
    lines.extend(("KW", keyword) for keyword in citation.keywords)
    if citation.language:
        lines.append(("LA", citation.language))
    lines.append(("ER", ""))
    return lines


def to_ris(citations: Iterable[Citation]) -> str:
    """The citations as one RIS file: "TAG  - value" lines, CR LF line
    endings, a blank line between records.

    Every value went through `one_line`, so a title holding "ER  - " or a
    line break stays inside its own `TI` line and cannot end the record.
    """
    records = []
    for citation in citations:
        records.append("".join(f"{tag}  - {value}{RIS_NEWLINE}"
                               for tag, value in ris_record(citation)))
    return RIS_NEWLINE.join(records)


# -- BibTeX ---------------------------------------------------------------------

#: Each BibTeX and LaTeX special character and what stands for it. Braces
#: are written as text commands rather than `\{` and `\}`: BibTeX and biber
#: count every brace, escaped or not, so one unmatched `\{` in a title
#: would unbalance the entry. A command sits in a group of its own, which
#: ends it before a following letter and which BibTeX takes for one
#: "special character", whose command name it never changes the case of.
_LATEX_SPECIALS = {
    "\\": r"{\textbackslash}",
    "{": r"{\textbraceleft}",
    "}": r"{\textbraceright}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"{\textasciitilde}",
    "^": r"{\textasciicircum}",
}
_LATEX_TABLE = str.maketrans(_LATEX_SPECIALS)

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def latex_text(text: str) -> str:
    """`text` (already one line) with every BibTeX special escaped.

    Everything else is kept as it is, non-ASCII letters included: biber
    and biblatex read UTF-8, and so do BibTeX-based reference managers.
    """
    return text.translate(_LATEX_TABLE)


def protected_title(title: str) -> str:
    """A title escaped, each word with a capital letter in braces.

    Bibliography styles that set titles in sentence case lower-case every
    letter outside braces; a title quoted from an archive keeps its
    capitals (names, acronyms) as the source printed them.
    """
    return " ".join(map(_protected_word, title.split(" ")))


def _protected_word(word: str) -> str:
    escaped = latex_text(word)
    if not any(ch.isupper() for ch in word):
        return escaped
    # BibTeX takes a group opening with a backslash, `{\&Co}`, for one
    # special character and changes the case of the letters after its
    # command; a second brace makes it a plain protected group.
    return "{{" + escaped + "}}" if escaped.startswith("\\") else "{" + escaped + "}"


def bibtex_name(name: str) -> str:
    """One author for the `author` field; a name holding the word "and"
    ("Smith and Sons") is braced so BibTeX keeps it as one name."""
    escaped = latex_text(name)
    return "{" + escaped + "}" if _is_organization(name) else escaped


def _is_organization(name: str) -> bool:
    # BibTeX would split it into two people at the "and".
    return re.search(r"\sand\s", name, flags=re.IGNORECASE) is not None


def bibtex_type(citation: Citation) -> str:
    """The BibTeX entry type of a citation: `article` for news in a named
    publication (an article needs its journal), `techreport` for a report,
    `misc` for the rest."""
    category = citation.category
    if category == "report":
        return "techreport"
    if category == "news" and citation.publication:
        return "article"
    return "misc"


def bibtex_fields(citation: Citation) -> list[tuple[str, str]]:
    """The (name, written value) fields of one entry, in print order.

    A value is written in braces, except `month`, which is the standard
    month macro (`may`) that every style turns into its own month name.
    """
    entry_type = bibtex_type(citation)
    fields = []
    if citation.title:
        fields.append(("title", "{" + protected_title(citation.title) + "}"))
    if citation.authors:
        fields.append(("author", "{" + " and ".join(map(bibtex_name, citation.authors)) + "}"))
    if citation.publication:
        where = {"article": "journal", "techreport": "institution"}.get(entry_type,
                                                                        "howpublished")
        fields.append((where, "{" + latex_text(citation.publication) + "}"))
    if entry_type == "techreport" and citation.kind:
        # Printed instead of "Technical report": the source's own word for it.
        fields.append(("type", "{" + latex_text(citation.kind) + "}"))
    if citation.date is not None:
        d = citation.date
        fields.append(("year", f"{{{d.year:04d}}}"))
        fields.append(("month", MONTHS[d.month - 1]))
        fields.append(("date", "{" + d.isoformat() + "}"))
    if citation.url:
        fields.append(("url", "{" + bibtex_url(citation.url) + "}"))
    if citation.keywords:
        fields.append(("keywords", "{" + ", ".join(map(_keyword, citation.keywords)) + "}"))
    if citation.language:
        fields.append(("language", "{" + latex_text(citation.language) + "}"))
    return fields


def bibtex_url(url: str) -> str:
    """A URL as the verbatim `url` field takes it: unescaped, except for
    the characters that would break the entry (braces, backslash), which
    are percent-encoded as a browser would send them anyway."""
    return re.sub(r"[{}\\]", lambda m: quote(m.group(), safe=""), url)


def _keyword(label: str) -> str:
    # biblatex splits `keywords` at commas; a label with one stays whole in braces.
    escaped = latex_text(label)
    return "{" + escaped + "}" if "," in label else escaped


def to_bibtex(citations: Iterable[Citation]) -> str:
    """The citations as one BibTeX file (UTF-8 text, LF line endings),
    each with a cite key unique within the file (`cite_keys`)."""
    citations = list(citations)
    entries = []
    for key, citation in zip(cite_keys(citations), citations, strict=True):
        lines = [f"@{bibtex_type(citation)}{{{key},"]
        lines.extend(f"  {name} = {value}," for name, value in bibtex_fields(citation))
        lines.append("}")
        entries.append("\n".join(lines) + "\n")
    return "\n".join(entries)


# -- cite keys ------------------------------------------------------------------

#: Words never used as a key's title word (the first other word is).
_STOPWORDS = frozenset("""
    a an the of on in at to for from by with and or but as is are was were be
    about into over under after before than this that these those its it
    der die das ein eine und von zu le la les un une des du et de el los las
""".split())
#: Letters NFKD does not take apart into ASCII.
_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o",
                       "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "þ": "th",
                       "Þ": "Th", "ı": "i"})
#: Longest name part and title word in a key.
_KEY_PART = 20


def _ascii_word(text: str) -> str:
    """`text` folded to lower-case ASCII letters and digits ("Müller" -> "muller")."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum()).lower()


def _first_significant(text: str) -> str:
    for word in text.split():
        folded = _ascii_word(word)
        if folded and not folded.isdigit() and folded not in _STOPWORDS:
            return folded[:_KEY_PART]
    return ""


def _who(citation: Citation) -> str:
    """The key's first part: the first author's family name (an
    organization's first significant word), else the publication's first
    significant word, else "anon"."""
    if citation.authors:
        name = citation.authors[0]
        if _is_organization(name):
            folded = _first_significant(name)
        else:
            # "Doe, Jane" names the family first; "Jane Doe" last.
            family = name.split(",")[0] if "," in name else name.split()[-1]
            folded = _ascii_word(family)[:_KEY_PART]
        if folded:
            return folded
    return _first_significant(citation.publication) or "anon"


def cite_key(citation: Citation) -> str:
    """The base cite key: who, year, first significant title word
    (`doe2022harbour`), in ASCII letters and digits only.

    It depends on the citation alone, so an article has the same key in
    every export; the year is left out of an undated article's key.
    """
    year = f"{citation.date.year:04d}" if citation.date else ""
    return _who(citation) + year + _first_significant(citation.title)


def cite_keys(citations: Iterable[Citation]) -> list[str]:
    """A key for each citation, unique in the list: the first of a kind
    keeps its base key, later ones get a, b, … z, aa, ab, … appended."""
    used: set[str] = set()
    #: The next suffix to try for each base key (a thousand alike stay quick).
    tried: dict[str, int] = {}
    keys = []
    for citation in citations:
        base = key = cite_key(citation)
        n = tried.get(base, 0)
        while key in used:
            key = base + _letters(n)
            n += 1
        tried[base] = n
        used.add(key)
        keys.append(key)
    return keys


def _letters(n: int) -> str:
    """0 -> "a", 25 -> "z", 26 -> "aa", 27 -> "ab", …"""
    out = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(ord("a") + rest) + out
    return out


# -- formats --------------------------------------------------------------------


@dataclass(frozen=True)
class Format:
    """A citation file format: its name, media type, file extension and writer."""

    name: str
    media_type: str
    extension: str
    write: Callable[[Iterable[Citation]], str]


RIS = Format("ris", "application/x-research-info-systems", "ris", to_ris)
BIBTEX = Format("bibtex", "application/x-bibtex", "bib", to_bibtex)
#: The formats by name, as a `format=` parameter names them.
FORMATS = {f.name: f for f in (RIS, BIBTEX)}
#: The formats by file extension, as a file's URL names them.
EXTENSIONS = {f.extension: f for f in (RIS, BIBTEX)}
