"""Reading page dumps: plain-text copies of scraped article pages.

A page dump is what a scraper saved when it kept the page's text and threw the
markup away::

    An Analysis of Anti-ISIS Global Coalition Meeting in Morocco

    2022/05/28 | interview, political, top news

    Strategic Council Online - Interview: A Middle East expert ...
    ... more paragraphs ...

    0 Comments
    Submit a Comment
    LATEST CONTENT
    <titles and teasers of other articles, sometimes twice>
    Loading
    <footer credits>

The first non-blank line is the title; the next one, when it reads as a date
(any form `index.normalize.parse_date` knows), is the date line with optional
`| tag, tag` after it; the rest is the body followed by *site chrome*: the
comment form, lists of other articles, footers. The body stops where the
chrome starts (see `chrome_start`), because indexing another article's teaser
would make this page a false hit for every search that teaser matches.

The body's first paragraph often opens with a *byline lead*, "Strategic
Council Online - Interview:": the publication and the kind, not article
text. It becomes the article's `publication` and `kind` (a canonical kind,
see `index.kinds`) and is cut from the body. A body of a single line counts,
even a lone figure such as a price ("1010"): short articles are articles.

This module must never raise for bad input and never invent a value: an
unreadable date is None, a missing kind is None, and a file that is not an
article becomes a `ReadError` with a reason a librarian can act on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from dateutil.parser import parserinfo

from index.article import Article, ReadError, SourceText, Tag, stable_id
from index.kinds import Lead, match_lead, split_lead
from index.normalize import detect_language, normalize_tags, parse_date, split_tags

#: A first line longer than this is a paragraph (or a file without line
#: breaks), not a title.
MAX_TITLE_CHARS = 500

#: Chrome markers are recognized only on lines at most this long, so that a
#: marker phrase inside a real paragraph ("... declined to make comments")
#: never cuts the article short.
SHORT_LINE_CHARS = 80

#: Above this share of control / replacement characters the "text" is a
#: binary file that went through a lenient decoder.
_BINARY_SHARE = 0.10

# Lines that open the chrome region. Each pattern must match a whole short line
# (case-insensitively, after whitespace is collapsed). Grouped by what they are:
_CHROME_MARKERS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        # Comment counters and comment forms.
        r"\d+\s+comments?",
        r"(no|one)\s+comments?(\s+yet)?\.?",
        r"comments?\s*(\(\d+\))?:?",
        r"(submit|post|add|write|leave)\s+an?\s+(comment|reply)",
        r"leave\s+a\s+reply(\s+cancel\s+reply)?",
        r"your\s+email\s+address\s+will\s+not\s+be\s+published\b.*",
        r"required\s+fields\s+are\s+marked\b.*",
        # Lists of other articles.
        (
            r"(latest|recent|related|more|popular|trending|top|most\s+read|most\s+viewed"
            r"|most\s+popular)\s+(content|posts|news|articles|stories|comments)\s*:?"
        ),
        r"related\s*:?",
        r"you\s+(may|might)\s+also\s+like\s*:?",
        r"read\s+(more|also|next)(\s*:.*|\s*[.…»›>]*)",
        r"(últimas|ultimas)\s+(publicaciones|noticias|entradas)",
        r"(artículos|articulos|entradas|noticias)\s+relacionad[oa]s",
        r"\d+\s+comentarios?",
        r"(deja|dejar|escribe|escribir|publicar|enviar)\s+(un|tu)\s+comentario",
        r"tu\s+dirección\s+de\s+correo(\s+electrónico)?\s+no\s+será\s+publicada\b.*",
        r"(derniers|dernières)\s+(articles|publications|contenus|actualités)",
        r"(articles|publications)\s+(similaires|liés|récents)",
        r"(à|a)\s+lire\s+aussi\s*:?",
        r"\d+\s+commentaires?",
        r"(laisser|laissez|ajouter|écrire|publier)\s+un\s+commentaire",
        r"votre\s+adresse\s+(e-?mail|courriel)\s+ne\s+sera\s+pas\s+publiée\b.*",
        r"[\d۰-۹]+\s+(دیدگاه|نظر)",
        r"(ارسال|ثبت|افزودن)\s+(دیدگاه|نظر)",
        r"(دیدگاه\u200c?ها|نظرات)\s*:?",
        r"نشانی\s+ایمیل\s+شما\s+منتشر\s+نخواهد\s+شد.*",
        r"در\s+حال\s+بارگذاری(\.{0,3}|…)",
        r"(مطالب|اخبار)\s+(مرتبط|مشابه)",
        r"(آخرین|جدیدترین)\s+(مطالب|اخبار)",
        # Widgets and sharing bars.
        r"(loading|cargando|chargement)(\.{0,3}|…)",
        r"share(\s+this(\s+(article|post|page|story))?|\s+(on|via)\s+.{1,30})?\s*:?",
        r"tags?\s*:.*",
        # Footers.
        r"(©|\(c\)|copyright\b).*",
        r".*\b(all\s+rights\s+reserved|todos\s+los\s+derechos\s+reservados"
        r"|tous\s+droits\s+réservés)\b.*",
        r"powered\s+by\b.*",
        r".*کلیه\s+حقوق.*محفوظ.*",
    )
)

# Lines that are chrome when they trail the body but open nothing by themselves:
# credits, navigation bars, pagination, social links, separators.
_TRAILING_CHROME: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r".*\b(designed|developed|built|made|hosted)\s+by\b.*",
        r".*\b(web\s+)?design\s+(group|studio|agency|team)\b.*",
        (
            r".*\b(privacy\s+policy|terms\s+of\s+(use|service)|cookie\s+policy|newsletter"
            r"|subscribe|follow\s+us)\b.*"
        ),
        r"[\W\d_]*",
        (
            r"((home|about(\s+us)?|contact(\s+us)?|print|e-?mail|facebook|twitter|x|telegram"
            r"|instagram|whatsapp|linkedin|rss)[\s|•·/,]*)+"
        ),
        r"[«‹<\s]*(previous|next|older|newer)(\s+(post|article|entries|posts))?[\s»›>]*",
    )
)

# Each list as one pattern: a line fully matches the alternation exactly
# when it fully matches one of its patterns, and one search is cheaper than
# trying forty patterns a line.
_ANY_MARKER = re.compile("|".join(f"(?:{p.pattern})" for p in _CHROME_MARKERS), re.IGNORECASE)
_ANY_TRAILING = re.compile("|".join(f"(?:{p.pattern})" for p in _TRAILING_CHROME),
                           re.IGNORECASE)

_DATE_WORDS = parserinfo()

# A line that is one figure: a price, a rate, a count ("1010", "$1,010.50",
# "+2.3%", "۱۰۱۰"). Alone it can be a whole article (a price page), so it is
# not dropped as trailing chrome when it is the only line of the body.
_FIGURE = re.compile(r"[^\w\s]{0,3}\s?(?:\d{1,3}(?:[ ,.٬]\d{3})+|\d+)(?:[.,٫]\d+)?\s?[^\w\s]{0,3}")


def read(source: SourceText) -> Iterator[Article | ReadError]:
    """Yield the one `Article` of a page dump, or one `ReadError` saying why not."""
    yield _read_one(source)


def _read_one(source: SourceText) -> Article | ReadError:
    def fail(reason: str) -> ReadError:
        return ReadError(source=source.path, reason=reason)

    text = source.text
    if not text.strip():
        return fail("empty file")
    if _looks_binary(text):
        return fail("not text (binary content)")

    lines = _text_lines(text)
    if not lines:
        return fail("empty file")
    title, rest = lines[0], lines[1:]
    if len(title) > MAX_TITLE_CHARS:
        return fail(f"no title line: first line is {len(title)} characters")
    if not any(ch.isalnum() for ch in title):
        return fail("no title line: first line has no letters or digits")
    if _date_line(title) is not None:
        return fail("no title line: the first line is the date line")

    date: dt.date | None = None
    tags: tuple[Tag, ...] = ()
    dated = _date_line(rest[0]) if rest else None
    if dated is not None:
        (date, tags), rest = dated, rest[1:]

    body_lines = rest[: chrome_start(rest)]
    while body_lines and _is_trailing_chrome(body_lines[-1]):
        if len(body_lines) == 1 and _FIGURE.fullmatch(body_lines[0]):
            break  # a one-figure article (a price line), not a page number
        body_lines.pop()
    if not body_lines:
        return fail("no article body")

    # The lead is metadata: indexed as text, "Eastbrook Policy Review" would
    # make every article of that publication a hit for "policy".
    lead = split_lead(body_lines[0], _page_publications(rest[1:]))
    if lead is not None:
        body_lines[0] = lead.text
        if not lead.text:
            body_lines.pop(0)
        if not body_lines:
            return fail("no article body: the text is only a byline lead")

    body = "\n\n".join(body_lines)
    return Article(
        id=stable_id(source.identity),
        source=source.path,
        title=title,
        body=body,
        date=date,
        tags=tags,
        kind=lead.kind if lead else None,
        language=detect_language(f"{title}\n{body}"),
        publication=lead.publication if lead else None,
    )


def _page_publications(lines: list[str]) -> set[str]:
    """Publications the page names in kinded leads (its teasers, mostly).

    They confirm a lead without a kind word at the start of the article
    ("Eastbrook Policy Review – The ministry said ..."), which on its own
    could as well be a dateline ("New York – The council voted ...").
    """
    found = set()
    for line in lines:
        lead = match_lead(line)
        if lead is not None and lead.kind is not None:
            found.add(lead.publication)
    return found


def lead_kind(paragraph: str) -> str | None:
    """The canonical kind named by a `<Publication> – <Kind>:` lead, else None.

    >>> lead_kind("Strategic Council Online - Interview: A Middle East expert said")
    'Interview'
    >>> lead_kind("دیدبان سیاست – تحلیل: کاهش بارندگی")
    'Analysis'

    Hyphen, en dash and em dash all count, with or without spaces around them.
    The kind must not start with a lower-case letter, which keeps ordinary
    sentences ("He said - and rightly so: ...") from being read as a lead,
    and must be a kind word `index.kinds.canonical_kind` knows.
    """
    lead = split_lead(paragraph)
    return lead.kind if lead else None


def chrome_start(paragraphs: list[str]) -> int:
    """The index of the first chrome line in `paragraphs` (len() when there is none).

    `paragraphs` are the non-blank lines after the title and date line. Three
    signals mark where the article ends, and the earliest one wins:

    1. a *marker*: a whole short line such as "0 Comments", "LATEST CONTENT",
       "Loading" or a copyright footer (`_CHROME_MARKERS`);
    2. a *teaser*: a title-like line followed by a paragraph opening with a
       `<Publication> – <Kind>:` lead of the article's own publication, or,
       when the article has no lead, two such pairs in a row from one
       publication;
    3. a *repeated block*: two or more consecutive lines that occur again
       later on the page, as "latest" lists shown in two widgets do.

    The first paragraph is never chrome by signals 2 and 3: a page that shows
    its own body twice keeps the first copy.
    """
    return min(
        _first_marker(paragraphs),
        _first_teaser(paragraphs),
        _first_repeated_block(paragraphs),
    )


def _first_marker(paragraphs: list[str]) -> int:
    for i, line in enumerate(paragraphs):
        if _is_marker(line):
            return i
    return len(paragraphs)


def _first_teaser(paragraphs: list[str]) -> int:
    own = _lead(paragraphs[0]) if paragraphs else None
    own_pub = _fold(own.publication) if own else None

    def teaser_pub(j: int) -> str | None:
        """The publication of a teaser pair starting at line j, if there is one."""
        if j + 1 >= len(paragraphs) or not _is_title_like(paragraphs[j]):
            return None
        lead = _lead(paragraphs[j + 1])
        return _fold(lead.publication) if lead else None

    for j in range(1, len(paragraphs) - 1):
        pub = teaser_pub(j)
        if pub is None:
            continue
        if pub == own_pub or pub == teaser_pub(j + 2):
            return j
    return len(paragraphs)


def _first_repeated_block(paragraphs: list[str]) -> int:
    # A block of two or more lines that repeats contains a repeated pair of
    # neighbouring lines, so pairs are all that need comparing.
    folded = [_fold(p) for p in paragraphs]
    pairs: dict[tuple[str, str], list[int]] = {}
    for i in range(len(folded) - 1):
        pairs.setdefault((folded[i], folded[i + 1]), []).append(i)
    # Dicts keep insertion order: the first pair that repeats starts earliest.
    for starts in pairs.values():
        first = starts[0]
        again = next((k for k in starts if k > first + 1), None)
        if again is not None:
            # When the article itself is what repeats, chrome starts at its copy.
            return first if first > 0 else again
    return len(paragraphs)


def _is_marker(line: str) -> bool:
    return len(line) <= SHORT_LINE_CHARS and _ANY_MARKER.fullmatch(line) is not None


def _is_trailing_chrome(line: str) -> bool:
    return _is_marker(line) or (
        len(line) <= SHORT_LINE_CHARS and _ANY_TRAILING.fullmatch(line) is not None
    )


def _is_title_like(line: str) -> bool:
    """Short, a handful of words, not ending like a sentence or a lead-in."""
    return (
        len(line) <= 200
        and len(line.split()) <= 30
        and not line.endswith((".", ":", ",", ";", "،", "؛"))
        and _lead(line) is None
    )


def _lead(paragraph: str) -> Lead | None:
    """The `<Publication> – <Label>:` shape at the start of a paragraph, else None.

    Any capitalized label counts here: a teaser's lead only has to look like
    one to mark a teaser, whether or not its label is a known kind.
    """
    lead = match_lead(paragraph)
    return lead if lead is not None and lead.label is not None else None


def _date_line(line: str) -> tuple[dt.date, tuple[Tag, ...]] | None:
    """(date, tags) when `line` is a `date | tag, tag` line, else None."""
    head, bar, tail = line.partition("|")
    if not _only_date_words(head):
        return None
    date = parse_date(head)
    if date is None:
        return None
    return date, normalize_tags(split_tags(tail)) if bar else ()


def _only_date_words(text: str) -> bool:
    """True when every word of `text` is one a date is written with.

    `parse_date` reads "2022/05/28 10:30" by its leading Y/M/D, so on its own
    it would also take "2022/05/28 Election Results" as a date, and a title
    or first paragraph that opens with a date would be lost. Month and weekday
    names, AM/PM, "of", "T", "UTC" and the like are what dateutil knows.
    """
    if len(text) > 60:
        return False
    info = _DATE_WORDS
    return all(
        info.jump(word)
        or info.pertain(word)
        or info.utczone(word)
        or any(f(word) is not None for f in (info.month, info.weekday, info.hms, info.ampm))
        for word in re.findall(r"[^\W\d_]+", text)
    )


def _text_lines(text: str) -> list[str]:
    """The non-blank lines of `text`, whitespace-collapsed, control characters removed.

    Collapsing turns no-break spaces (common in scraped text) into plain
    spaces; Persian zero-width non-joiners are not whitespace and stay.
    """
    # Neither pattern removes a line break, so the whole text is cleaned at once.
    text = _SURROGATES.sub("\ufffd", _CONTROLS.sub("", text))
    lines = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if line:
            lines.append(line)
    return lines


# Control characters (whitespace ones excepted: they collapse like spaces) and a
# stray byte-order mark carry no text. A lone surrogate (an undecodable byte kept
# by surrogateescape) cannot even be written as UTF-8: it becomes U+FFFD.
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ufeff]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
# What a binary file leaves in decoded text: control characters other than
# layout whitespace, lone surrogates, and U+FFFD from a lenient decoder.
_JUNK = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")
_SPACE = re.compile(r"\s")


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    visible = len(sample) - len(_SPACE.findall(sample))
    junk = len(_JUNK.findall(sample))
    return visible > 0 and junk / visible > _BINARY_SHARE


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())
