"""Reading PDF reports: the text layer, page by page, into one `Article`.

A think-tank report or a policy brief is usually a PDF exported from a word
processor. Its words are in the file's *text layer* (unless it is a scan),
but not as paragraphs: a PDF only says where each run of glyphs is drawn.
This reader asks pypdf for each page's text and, through pypdf's text
visitor, for the baseline and font size of every run, and rebuilds what a
reader sees:

- a *line* is what pypdf ends with a line break; its baseline and font size
  are those of its runs;
- a *paragraph break* falls where the gap to the previous line is clearly
  wider than the page's usual line spacing, where the font size changes, or
  where the text jumps back up the page (a new column);
- a word hyphenated at a line end is joined again ("inter-" + "national")
  when the next line starts in lower case; runs of spaces collapse, and
  ligature glyphs are spelled out ("ﬁ" -> "fi") so that searches match;
- *running headers and footers* (a line that sits among the first or last
  few lines of most pages, digits aside) and bare page numbers are dropped.

The body is the pages' texts joined with a blank line, and `Article.pages`
holds the offset in the body where each page starts, so the search side can
say which page a snippet comes from. An empty page starts where the text
before it ends.

Metadata: the title is the document's /Title when it means something (not a
file name, not "Microsoft Word - ...", not "Untitled"), else the heading of
page 1 (the first run of lines in the page's largest type, else its first
short line that is not a date). The date is /CreationDate, else the first
full date written on page 1 ("12 March 2024", "March 12, 2024",
"2024-03-12"); a month and year alone is not a date. When page 1 has no
text (a cover that is a picture), the first page with text stands in. The
author is /Author; the language is the catalog's /Lang, else detected from
the text.

A file that needs a password is not read. One encrypted only to restrict
printing or copying opens with the empty password and is read like any
other (pypdf decrypts RC4 itself; AES needs the `cryptography` package,
and without it such a file counts as encrypted).

Cost is bounded: at most `MAX_PAGES` pages are read and at most
`MAX_BODY_CHARS` characters kept (the rest of a longer document is not
indexed); the file's size is already capped by `index.sources.load`.

This module must never raise for bad input: pypdf raises many kinds of
exceptions on damaged files, and each becomes a `ReadError` whose reason is
one of `ENCRYPTED`, `NO_TEXT` or `DAMAGED` (followed by pypdf's complaint).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pypdf import PdfReader

from index.article import Article, ReadError, SourceText, stable_id
from index.language import language_of
from index.normalize import parse_date

#: Pages read from one file; a longer document is indexed up to here.
MAX_PAGES = 2000
#: Characters of body text kept from one file; text past this is not indexed.
MAX_BODY_CHARS = 2_000_000
#: A heading line longer than this is a sentence, not a title.
MAX_HEADING_CHARS = 150
#: ... and so is one of more words than this.
MAX_HEADING_WORDS = 20
#: A line that is among the first or last this many lines of a page may be a
#: running header or footer.
EDGE_LINES = 3
#: A gap between lines this many times the usual line spacing starts a paragraph.
PARAGRAPH_GAP = 1.3
#: The kind every PDF article gets.
KIND = "Report"

#: The reasons a PDF is not read (`DAMAGED` is followed by ": <what broke>").
ENCRYPTED = "encrypted PDF"
NO_TEXT = "no text layer; scanned PDFs need OCR"
DAMAGED = "damaged PDF"

# pypdf reports what it repairs in a damaged file as log warnings. With no
# logging configured, Python prints them on stderr, in the middle of an
# indexing run's output; a handler of our own keeps them off the terminal
# while a configured root logger still receives them.
logging.getLogger("pypdf").addHandler(logging.NullHandler())


def read(source: SourceText) -> Iterator[Article | ReadError]:
    """Yield the one `Article` of a PDF (`source.data`), or one `ReadError` saying why not."""
    yield _read_one(source)


@dataclass(frozen=True)
class _Line:
    """One line of a page as pypdf ends it, with where and how big it was drawn."""

    text: str
    #: Baseline height on the page (PDF units, growing upwards); None when unknown.
    y: float | None
    #: Font size as drawn (the font's size scaled by the text matrix); 0 when unknown.
    size: float
    #: A paragraph starts at this line.
    breaks: bool = False


@dataclass
class _Document:
    """What was pulled out of the file before any cleaning."""

    pages: list[list[_Line]]
    title: str | None
    author: str | None
    created: dt.date | None
    lang: str | None
    #: Set when the file needed (and accepted) the empty password.
    decrypted: bool
    #: What went wrong on the first page that could not be read, if any.
    page_error: str | None


def _read_one(source: SourceText) -> Article | ReadError:
    def fail(reason: str) -> ReadError:
        return ReadError(source=source.path, reason=reason)

    data = source.data
    if b"%PDF-" not in data[:1024]:
        return fail(f"{DAMAGED}: not a PDF file (no %PDF- header)")
    opened = _open(data)
    if isinstance(opened, str):
        return fail(opened)
    doc = opened
    if not doc.pages:
        return fail(f"{DAMAGED}: {doc.page_error or 'no pages'}")

    pages = _drop_running_lines([_with_breaks(lines) for lines in doc.pages])
    texts = [_page_text(lines) for lines in pages]
    if not any(texts):
        if doc.decrypted:
            return fail(ENCRYPTED)
        if doc.page_error:
            return fail(f"{DAMAGED}: {doc.page_error}")
        return fail(NO_TEXT)
    body, starts = _join_pages(texts)

    # A cover that is only a picture has no lines: the first page with text stands in.
    first_page = next(lines for lines in pages if lines)
    title = doc.title or _heading(first_page) or _first_words(body)
    date = doc.created or first_date("\n".join(line.text for line in first_page))
    return Article(
        id=stable_id(source.identity),
        source=source.path,
        title=title,
        body=body,
        date=date,
        kind=KIND,
        language=language_of(doc.lang, f"{title}\n{body}"),
        author=doc.author,
        pages=starts,
    )


# -- pulling text and metadata out of the file (the only calls into pypdf) ----------


def _open(data: bytes) -> _Document | str:
    """The document's pages and metadata, or the reason it cannot be read."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        decrypted = False
        if reader.is_encrypted:
            try:
                # Many PDFs are encrypted only to restrict printing or copying,
                # with an empty password for opening them: those can be read.
                decrypted = bool(reader.decrypt(""))
            except Exception:  # noqa: BLE001 -- e.g. AES needs a crypto library
                decrypted = False
            if not decrypted:
                return ENCRYPTED
        count = min(len(reader.pages), MAX_PAGES)
    except Exception as e:  # noqa: BLE001 -- pypdf raises many kinds of errors on bad files
        return f"{DAMAGED}: {_short(e)}"

    pages: list[list[_Line]] = []
    page_error = None
    chars = 0
    for number in range(count):
        if chars >= MAX_BODY_CHARS:
            break
        try:
            lines = _page_lines(reader.pages[number])
        except Exception as e:  # noqa: BLE001 -- one bad page must not lose the others
            page_error = page_error or f"page {number + 1}: {_short(e)}"
            lines = []
        chars += sum(len(line.text) + 1 for line in lines)
        pages.append(lines)

    info = _metadata(reader)
    return _Document(pages=pages, title=_meaningful_title(info.get("title")),
                     author=_clean_author(info.get("author")), created=info.get("created"),
                     lang=info.get("lang"), decrypted=decrypted, page_error=page_error)


def _metadata(reader: PdfReader) -> dict:
    """Title, author, creation date and /Lang, each None when absent or unreadable."""
    found: dict = {}
    try:
        meta = reader.metadata
    except Exception:  # noqa: BLE001 -- a broken info dictionary is no metadata
        meta = None
    if meta is not None:
        try:
            found["title"] = _as_text(meta.title)
            found["author"] = _as_text(meta.author)
        except Exception:  # noqa: BLE001 -- values of the wrong type are no values
            pass
        try:
            created = meta.creation_date
            # PDF dates before 1990 are clock errors: the format did not exist.
            if created is not None and created.year >= 1990:
                found["created"] = created.date()
        except Exception:  # noqa: BLE001 -- a malformed date string is no date
            pass
    try:
        lang = reader.root_object.get("/Lang")
        lang = lang.get_object() if lang is not None else None
        found["lang"] = _as_text(lang)
    except Exception:  # noqa: BLE001 -- a broken catalog only loses the declared language
        pass
    return found


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    text = _clean(str(value))
    return text or None


def _page_lines(page) -> list[_Line]:
    """The lines of one pypdf page, each with its baseline and font size.

    pypdf calls the visitor with every piece of text it adds to the page's
    text, line breaks included, along with the matrices it was drawn with;
    the pieces joined are the text `extract_text` returns. When they are
    not (a pypdf version that reports differently), the text is kept and the
    geometry given up: the page then has no paragraph breaks.
    """
    pieces: list[tuple[str, float, float]] = []

    def visit(text, cm, tm, _font, font_size) -> None:
        if not text:
            return
        m = _times(tm, cm)
        try:
            size = float(font_size) * math.hypot(m[2], m[3])
        except (TypeError, ValueError):
            size = 0.0
        pieces.append((text, m[5], size))

    text = page.extract_text(visitor_text=visit)
    if "".join(p[0] for p in pieces) != text:
        return [_Line(line, None, 0.0) for line in text.split("\n")]

    lines: list[_Line] = []
    parts: list[str] = []
    y: float | None = None
    size = 0.0
    for piece, piece_y, piece_size in pieces:
        chunks = piece.split("\n")
        for i, chunk in enumerate(chunks):
            if i > 0:
                lines.append(_Line("".join(parts), y, size))
                parts, y, size = [], None, 0.0
            if chunk:
                parts.append(chunk)
                if chunk.strip():
                    y = piece_y if y is None else y
                    size = max(size, piece_size)
    lines.append(_Line("".join(parts), y, size))
    return lines


def _times(m: Sequence[float], n: Sequence[float]) -> list[float]:
    """The product of two PDF matrices [a b c d e f] (m applied first)."""
    try:
        a1, b1, c1, d1, e1, f1 = (float(v) for v in m)
        a2, b2, c2, d2, e2, f2 = (float(v) for v in n)
    except (TypeError, ValueError):
        return [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    return [a1 * a2 + b1 * c2, a1 * b2 + b1 * d2, c1 * a2 + d1 * c2, c1 * b2 + d1 * d2,
            e1 * a2 + f1 * c2 + e2, e1 * b2 + f1 * d2 + f2]


def _short(e: BaseException) -> str:
    """A one-line account of a pypdf exception, for a librarian to read."""
    first = _clean(str(e).splitlines()[0]) if str(e).strip() else ""
    text = first or type(e).__name__
    return text if len(text) <= 100 else text[:99].rstrip() + "…"


# -- lines into paragraphs -------------------------------------------------------


def _with_breaks(lines: list[_Line]) -> list[_Line]:
    """The page's non-blank lines, cleaned, each marked where a paragraph starts.

    Distances between baselines are measured in the line's type size, so a
    title in 20-point type and body text in 11-point compare alike. A
    distance wider than the page's usual line spacing (`_usual_leading`) by
    `PARAGRAPH_GAP`, a change of type size, or a jump back up the page (a
    new column, or text drawn out of reading order) starts a paragraph, and
    so does a blank line.
    """
    # Cleaned lines; a blank line marks the line after it as a paragraph start.
    kept: list[_Line] = []
    blank = True
    for line in lines:
        text = _clean(line.text)
        if text:
            kept.append(_Line(text, line.y, line.size, blank))
        blank = not text
    usual = _usual_leading(kept)
    marked: list[_Line] = []
    for line in kept:
        previous = marked[-1] if marked else None
        breaks = line.breaks
        if previous is not None and line.y is not None and previous.y is not None:
            step = (previous.y - line.y) / (line.size or 1.0)
            if step < -0.05 or (usual is not None and step > usual * PARAGRAPH_GAP):
                breaks = True
            if previous.size and line.size and abs(previous.size - line.size) > 0.1 * line.size:
                breaks = True
        marked.append(_Line(line.text, line.y, line.size, breaks))
    return marked


def _usual_leading(lines: list[_Line]) -> float | None:
    """The usual distance between the baselines of two lines of one paragraph.

    It is measured in type sizes (PDF units when sizes are unknown), between
    neighbouring lines of the same size, rounded to 0.05: the smallest value
    seen twice, since a page holds more line steps inside paragraphs than
    between them but a cover page may not. Steps below 0.8 are not two lines
    of text (a raised footnote mark, an accent drawn apart).
    """
    seen: Counter[float] = Counter()
    for a, b in zip(lines, lines[1:], strict=False):
        if a.y is None or b.y is None or abs(a.size - b.size) > 0.1 * max(b.size, 1.0):
            continue
        step = (a.y - b.y) / (b.size or 1.0)
        if step >= 0.8:
            seen[round(step * 20) / 20] += 1
    if not seen:
        return None
    twice = [step for step, n in seen.items() if n >= 2]
    return min(twice or seen)


# A page number alone: "12", "- 12 -", "(12)", "Page 12", "12 of 40", "12 / 40", "xii".
_PAGE_NUMBER = re.compile(
    r"(page\s+)?[-–—(\[]?\s*(\d{1,4}|(?=[ivxlc])c{0,3}(xc|xl|l?x{0,3})(ix|iv|v?i{0,3}))"
    r"\s*[-–—)\]]?(\s*(of|/)\s*\d{1,4})?",
    re.IGNORECASE,
)


def _drop_running_lines(pages: list[list[_Line]]) -> list[list[_Line]]:
    """The pages without running headers, footers and bare page numbers.

    Only the first and last `EDGE_LINES` lines of a page are candidates, so
    that body text is never dropped for repeating. A candidate is a running
    line when, with its digits ignored ("Page 3 of 9", "Eastbrook Institute
    | 2024 | 7"), it is on more than half of the pages and on at least three,
    in the same type size each time: a report whose running header is its
    own title keeps the title on its cover, set large. A bare page number
    goes wherever it stands at an edge. The line after a dropped one starts
    a paragraph, so text on either side is not run together.
    """
    def key(line: _Line) -> tuple[str, int]:
        return re.sub(r"\d+", "#", line.text.casefold()), round(line.size)

    def edges(lines: list[_Line]) -> set[int]:
        n = len(lines)
        return set(range(min(EDGE_LINES, n))) | set(range(max(n - EDGE_LINES, 0), n))

    seen: Counter[tuple[str, int]] = Counter()
    for lines in pages:
        seen.update({key(lines[i]) for i in edges(lines)})
    running = {k for k, n in seen.items() if n >= 3 and n * 2 > len(pages)}

    cleaned = []
    for lines in pages:
        at_edge = edges(lines)
        kept: list[_Line] = []
        dropped = False
        for i, line in enumerate(lines):
            if i in at_edge and (key(line) in running or _PAGE_NUMBER.fullmatch(line.text)):
                dropped = True
                continue
            if dropped and not line.breaks:
                line = _Line(line.text, line.y, line.size, True)
            kept.append(line)
            dropped = False
        cleaned.append(kept)
    return cleaned


def _page_text(lines: list[_Line]) -> str:
    """The page's paragraphs, separated by a blank line, words broken at line ends rejoined."""
    paragraphs: list[str] = []
    for line in lines:
        if line.breaks or not paragraphs:
            paragraphs.append(line.text)
        else:
            paragraphs[-1] = _join_lines(paragraphs[-1], line.text)
    return "\n\n".join(paragraphs)


def _join_lines(before: str, after: str) -> str:
    """Two lines of one paragraph as one.

    A hyphen between letters at the line end is a word broken in two when
    the next line goes on in lower case ("inter-" + "national" ->
    "international"), and a compound's own hyphen otherwise ("Euro-" +
    "Asian" -> "Euro-Asian"); a soft hyphen is always a break.
    """
    if before.endswith("\u00ad"):
        return before[:-1] + after
    if len(before) > 1 and before[-1] == "-" and before[-2].isalpha() and after[:1].isalnum():
        return before[:-1] + after if after[0].islower() else before + after
    return f"{before} {after}"


def _join_pages(texts: list[str]) -> tuple[str, tuple[int, ...]]:
    """The body (pages joined with a blank line, at most `MAX_BODY_CHARS`) and page starts."""
    parts: list[str] = []
    starts: list[int] = []
    length = 0
    for text in texts:
        if length >= MAX_BODY_CHARS:
            break
        if text and parts:
            parts.append("\n\n")
            length += 2
        starts.append(length)
        if text:
            room = MAX_BODY_CHARS - length
            if len(text) > room:
                cut = text.rfind(" ", 0, room)
                text = text[: cut if cut > 0 else room]
            parts.append(text)
            length += len(text)
    return "".join(parts), tuple(starts)


# Characters pypdf passes through that carry no text, and ligature glyphs that
# would keep "ﬁnance" from matching "finance".
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufffe\uffff\ud800-\udfff]")
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi",
                            "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"})


def _clean(text: str) -> str:
    """`text` on one line: control characters removed, ligatures spelled out, spaces collapsed.

    A soft hyphen inside a line is dropped; one at the very end is kept, for
    `_join_lines` to see where a word was broken.
    """
    text = _CONTROLS.sub("", text).translate(_LIGATURES)
    soft_end = text.rstrip().endswith("\u00ad")
    text = " ".join(text.replace("\u00ad", "").split())
    return text + "\u00ad" if soft_end and text else text


# -- title, author and date ---------------------------------------------------------


# Titles that word processors and converters write when nobody typed one.
_PLACEHOLDER_TITLE = re.compile(
    r"(untitled|document|presentation|slide|title|new document|powerpoint presentation"
    r"|microsoft word document)[\s\-_]*\d*"
    r"|(microsoft\s+)?(word|excel|powerpoint)\s+-\s+.*"
    r"|.*\.(docx?|odt|rtf|pdf|txt|indd|pptx?|xlsx?|pages|tex|dvi|ps|qxd|html?|md)"
    r"|\S*_\S*",  # one word joined by underscores: a file name without its extension
    re.IGNORECASE,
)


def _meaningful_title(title: str | None) -> str | None:
    """The metadata title, unless it is empty, a file name or a placeholder.

    >>> _meaningful_title("Microsoft Word - brief_final.docx") is None
    True
    >>> _meaningful_title("Grid Storage and the Winter Peak")
    'Grid Storage and the Winter Peak'
    """
    if not title:
        return None
    text = _clean(title).strip(" \u00ad")
    if not any(ch.isalpha() for ch in text) or _PLACEHOLDER_TITLE.fullmatch(text):
        return None
    if len(text) > 300:
        return None
    return text


def _clean_author(author: str | None) -> str | None:
    if not author:
        return None
    text = _clean(author)
    if not any(ch.isalpha() for ch in text) or len(text) > 200:
        return None
    return text


def _heading(lines: list[_Line]) -> str | None:
    """The title printed on page 1, from its lines (running lines already dropped).

    When some of the page is set in larger type than its body text, the
    first run of lines in the largest type is the title (a long title wraps
    onto a second line); otherwise, or when that run does not read as a
    title, the first short line that is not a date.
    """
    body_size = _body_size(lines)
    largest = max((line.size for line in lines), default=0.0)
    if body_size and largest > body_size * 1.15:
        start = next(i for i, line in enumerate(lines) if abs(line.size - largest) < 0.5)
        run = [lines[start].text]
        for line in lines[start + 1:]:
            if abs(line.size - largest) >= 0.5:
                break
            run.append(line.text)
        joined = " ".join(t.rstrip("\u00ad") for t in run)
        if _is_heading(joined):
            return joined
    for line in lines:
        text = line.text.rstrip("\u00ad")
        if _is_heading(text):
            return text
    return None


def _body_size(lines: list[_Line]) -> float:
    """The type size most of the page's characters are set in (0 when unknown)."""
    weights: Counter[float] = Counter()
    for line in lines:
        if line.size:
            weights[round(line.size, 1)] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 0.0


def _is_heading(text: str) -> bool:
    return (
        0 < len(text) <= MAX_HEADING_CHARS
        and len(text.split()) <= MAX_HEADING_WORDS
        and any(ch.isalpha() for ch in text)
        and parse_date(text) is None
    )


def _first_words(body: str, limit: int = 100) -> str:
    """A title for a document without one: the start of its text, cut at a word."""
    line = body.split("\n", 1)[0].rstrip("\u00ad")
    if len(line) <= limit:
        return line
    cut = line.rfind(" ", 0, limit)
    return line[: cut if cut > 0 else limit].rstrip(" ,;:") + "…"


_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_DATE = re.compile(
    rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}\b"
    rf"|\b{_MONTH}\s+{_DAY},?\s+\d{{4}}\b"
    r"|\b\d{4}-\d{1,2}-\d{1,2}\b"
    r"|\b\d{4}/\d{1,2}/\d{1,2}\b",
    re.IGNORECASE,
)


def first_date(text: str) -> dt.date | None:
    """The first full date written in `text`, or None.

    >>> first_date("Policy brief no. 7 | Published 12 March 2024 | Updated 2024-04-01")
    datetime.date(2024, 3, 12)

    Day, month and year must all be there: "March 2024" on a cover would
    otherwise become the first of March. Numeric dates count only year
    first (`2024-03-12`, `2024/03/12`), since 03/04/2024 reads two ways.
    """
    for m in _DATE.finditer(text):
        date = parse_date(m.group(0))
        if date is not None:
            return date
    return None
