"""Snippets and marked text: the one place in Archivist that makes HTML.

Article text is data, never markup: a title like `<img src=x onerror=...>`
must reach the reader as those characters. So `render` escapes the text,
runs it through bleach allowing no tags at all, as a second, independent
guard, and only then turns the match boundaries it placed in the text into
`<mark>` and `</mark>`. Its output is a `markupsafe.Markup`, the only type
a template may print unescaped, and `<mark>` is the only tag it can hold.
Titles, snippets and the article page all go through `render`.

Choosing what to show is plain text work: `passages` picks up to two
sentence-bounded passages of about 200 characters around the best matches
(the character ranges come from the index's stored term offsets, so a long
article is never re-analyzed), `lead` gives an article's opening when only
its title or tags matched, and `paragraphs` splits a whole body for the
article page.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import bleach
from markupsafe import Markup

from search.lru import LRU

SNIPPET_SIZE = 200
#: Passages per hit: two show a query's words in two places while keeping a
#: results page scannable (three made a hit five or six lines long).
MAX_SNIPPETS = 2
ELLIPSIS = "…"

# A sentence ends at . ! ? (Latin or Arabic question mark) or an ellipsis,
# possibly followed by closing quotes or brackets, then white space; a line
# break ends one too.
_SENTENCE_END = re.compile(r"[.!?؟…。][\"'”’»)\]]*\s+|\n+")
_PARAGRAPH = re.compile(r"\n\s*\n")
# bleach.clean builds a Cleaner on every call; on the hot path one Cleaner
# per thread (a Cleaner is not thread-safe) is made once and reused.
_local = threading.local()

# Three private-use characters that only `render` may put in text: one
# joins the pieces of a bleach call, two stand for where a mark opens and
# closes. Any of them in article text becomes U+FFFD before anything else.
_SEPARATOR, _OPEN, _CLOSE = "\ue000", "\ue001", "\ue002"


def _cleaner() -> bleach.Cleaner:
    c = getattr(_local, "cleaner", None)
    if c is None:
        c = _local.cleaner = bleach.Cleaner(tags=set(), attributes={}, strip=True)
    return c


@dataclass
class Piece:
    """A stretch of plain text and the character ranges in it to mark."""

    text: str
    spans: list[tuple[int, int]] = field(default_factory=list)
    #: Where the stretch starts in the text it was cut from (for page numbers).
    offset: int = 0


def render(pieces: Sequence[Piece]) -> list[Markup]:
    """Escape each piece, sanitize it, mark its spans: the HTML for readers.

    Overlapping or out-of-range spans are tolerated (merged or clipped).

    bleach sees the escaped text with the marks still as placeholder
    characters and is allowed no tags: whatever the text holds leaves it as
    characters. Then each placeholder becomes `<mark>` or `</mark>`. The
    output is the same as handing bleach the marked text and allowing
    `<mark>` (a property test checks this on hostile text), at a quarter of
    the cost: html5lib's tree building charged about 60 µs for each mark.

    Sanitizing is a pure function of its input, so results are remembered
    (a reader paging back and forth gets the same snippets for free) and the
    rest are cleaned in one bleach call, which costs less than one per piece.
    """
    marked = [_mark(p) for p in pieces]
    out: list[Markup | None] = [None] * len(marked)
    todo = []
    for i, text in enumerate(marked):
        hit = _cache.get(text)
        if hit is not None:
            out[i] = Markup(hit)
        else:
            todo.append(i)
    if todo:
        cleaner = _cleaner()
        cleaned = cleaner.clean(_SEPARATOR.join(marked[i] for i in todo)).split(_SEPARATOR)
        if len(cleaned) != len(todo):  # cannot happen, but never guess: clean one by one
            cleaned = [cleaner.clean(marked[i]) for i in todo]
        for i, clean in zip(todo, cleaned, strict=True):
            html = clean.replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")
            # Kept as plain str: a Markup is an object the garbage
            # collector must walk, a str is not.
            _cache.put(marked[i], html)
            out[i] = Markup(html)
    return out


_cache = LRU(8192)  # escaped text with mark placeholders -> sanitized, marked HTML


# Characters with no place in HTML text: C0 controls (html5lib turns them
# into "?", or keeps them, depending on where a token starts), carriage
# returns, and `render`'s own placeholders.
_UNSAFE = re.compile("\r\n?|[\x00-\x08\x0b\x0c\x0e-\x1f\ue000-\ue002]")
_REPLACEMENT = {"\r": "\n", "\r\n": "\n", _SEPARATOR: "\ufffd", _OPEN: "\ufffd", _CLOSE: "\ufffd"}


def _safe_char(m: re.Match) -> str:
    return _REPLACEMENT.get(m.group(0), " ")


def _text(s: str) -> str:
    """`s` as HTML text: controls become spaces, and only & < > need escaping."""
    s = _UNSAFE.sub(_safe_char, s)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mark(piece: Piece) -> str:
    text = piece.text
    parts = []
    pos = 0
    for start, end in _merge(piece.spans, text):
        parts.append(_text(text[pos:start]))
        parts.append(_OPEN + _text(text[start:end]) + _CLOSE)
        pos = end
    parts.append(_text(text[pos:]))
    return "".join(parts)


def _merge(spans, text: str) -> list[tuple[int, int]]:
    """Spans clipped to `text`, sorted, and joined where they overlap or only
    spaces part them: "oil prices" is one mark, not two (easier to read)."""
    limit = len(text)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(limit, end)
        if end <= start:
            continue
        gap = text[merged[-1][1]:start] if merged else "x"
        if merged and (start <= merged[-1][1] or (len(gap) <= 2 and not gap.strip(" "))):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _sentence_start(text: str, pos: int, reach: int) -> int:
    """Start of the sentence containing `pos`, looking back at most `reach`.

    When no sentence starts within reach, the passage starts at a word
    boundary instead, never inside a word.
    """
    lo = max(0, pos - reach)
    start = None
    for m in _SENTENCE_END.finditer(text, lo, pos):
        start = m.end()
    if start is not None or lo == 0:
        return start or 0
    space = text.find(" ", lo, pos)
    return space + 1 if space >= 0 else lo


def _sentence_end(text: str, pos: int, reach: int) -> int:
    """End of the sentence containing `pos`, looking ahead at most `reach`.

    When no sentence ends within reach, the passage ends at the last word
    boundary before the limit, never inside a word.
    """
    limit = min(len(text), pos + reach)
    m = _SENTENCE_END.search(text, pos, limit)
    if m:
        return m.start() if text[m.start()] == "\n" else m.start() + 1
    if limit >= len(text):
        return len(text)
    space = text.rfind(" ", pos, limit)
    return space if space > pos else limit


def _word_boundary_left(text: str, pos: int) -> int:
    if pos <= 0:
        return 0
    i = text.rfind(" ", max(0, pos - 20), pos)
    return i + 1 if i >= 0 else pos


def _word_boundary_right(text: str, pos: int) -> int:
    if pos >= len(text):
        return len(text)
    i = text.find(" ", pos, pos + 20)
    return i if i >= 0 else pos


def _window(text: str, first: int, last: int, size: int) -> tuple[int, int]:
    """A passage of about `size` characters around [first, last)."""
    start = _sentence_start(text, first, size)
    end = _sentence_end(text, max(last - 1, first), size)
    if end - start > size * 1.3:
        # One long sentence: cut a window around the match at word boundaries.
        room = max(0, size - (last - first))
        start = max(start, first - room // 3)
        end = min(end, max(last, start + size))
        start = _word_boundary_left(text, start)
        end = _word_boundary_right(text, end)
    else:
        # Short sentences: add the following ones while they fit.
        while end < len(text) and end - start < size * 0.8:
            nxt = _sentence_end(text, min(len(text), end + 1), size)
            if nxt - start > size * 1.1 or nxt <= end:
                break
            end = nxt
    return start, end


def _piece(text: str, start: int, end: int, spans) -> Piece:
    body = text[start:end]
    stripped_left = len(body) - len(body.lstrip())
    body = body.strip()
    start += stripped_left
    local = [(s - start, e - start) for s, e in spans if s >= start and e <= start + len(body)]
    prefix = ELLIPSIS + " " if start > 0 and text[start - 1] not in "\n" and not _after_sentence(
        text, start) else ""
    suffix = " " + ELLIPSIS if start + len(body) < len(text) and not _ends_sentence(body) else ""
    shift = len(prefix)
    return Piece(prefix + body + suffix, [(s + shift, e + shift) for s, e in local], start)


def _after_sentence(text: str, start: int) -> bool:
    before = text[max(0, start - 3):start].rstrip()
    return not before or before[-1] in ".!?؟…。\"'”’»)]"


def _ends_sentence(body: str) -> bool:
    return bool(body) and body[-1] in ".!?؟…。\"'”’»)]"


def passages(text: str, spans: Sequence[tuple[int, int, int]], count: int = MAX_SNIPPETS,
             size: int = SNIPPET_SIZE) -> list[Piece]:
    """Up to `count` passages of `text` around the matches, best first.

    `spans` are (start, end, term number) character ranges of matched
    terms. A passage scores by how many different terms it holds, then how
    many matches; passages never overlap.
    """
    if not text or not spans:
        return []
    spans = sorted(spans)[:400]
    candidates = []
    i = 0
    while i < len(spans):
        first = spans[i][0]
        # Gather the matches that fit in one passage starting here.
        j = i
        while j + 1 < len(spans) and spans[j + 1][1] - first <= size * 0.8:
            j += 1
        group = spans[i:j + 1]
        start, end = _window(text, first, group[-1][1], size)
        inside = [s for s in spans if s[0] >= start and s[1] <= end]
        score = (len({s[2] for s in inside}), len(inside), -start)
        candidates.append((score, start, end, inside))
        i = j + 1
    candidates.sort(key=lambda c: c[0], reverse=True)
    chosen = []
    for score, start, end, inside in candidates:
        if any(start < e and s < end for _, s, e, _ in chosen):
            continue
        chosen.append((score, start, end, inside))
        if len(chosen) == count:
            break
    return [_piece(text, s, e, [(a, b) for a, b, _ in inside]) for _, s, e, inside in chosen]


def lead(text: str, size: int = SNIPPET_SIZE) -> Piece | None:
    """The opening of `text` (about `size` characters, whole sentences)."""
    if not text or not text.strip():
        return None
    offset = len(text) - len(text.lstrip())
    start, end = _window(text, offset, offset, size)
    return _piece(text, start, end, [])


def paragraphs(text: str, spans: Sequence[tuple[int, int]]) -> list[Piece]:
    """The paragraphs of `text` (split at blank lines), each with its spans."""
    pieces = []
    pos = 0
    bounds = []
    for m in _PARAGRAPH.finditer(text):
        bounds.append((pos, m.start()))
        pos = m.end()
    bounds.append((pos, len(text)))
    ordered = sorted(spans)
    for start, end in bounds:
        chunk = text[start:end]
        if not chunk.strip():
            continue
        local = [(s - start, e - start) for s, e in ordered if s >= start and e <= end]
        pieces.append(Piece(chunk, local, start))
    return pieces
