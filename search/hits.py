"""Hits and whole articles as readers get them, from a generation's stored fields.

A page shows ten hits: each needs its title marked, up to two passages of
its body around the matched words, its page numbers (paged sources) and
its metadata; an article page needs every paragraph marked. The words are
found by the character offsets the index stores with each posting
(`char_spans`), read only for the documents and terms on the page, and the
text is cut and sanitized by `search.snippets`, the one place HTML is made.

The stored fields are read here and nowhere else on the read side; what
this module returns are the plain dataclasses of `search.results`.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable

import numpy as np
from whoosh.searching import Searcher

from index.document import split_labels
from search import snippets
from search.columns import Columns
from search.results import ArticleView, Hit, HitTag

#: Terms per field worth marking in snippets (prefix queries can expand a lot).
MAX_MARKED_TERMS = 64

#: The marks of nothing: plain titles, leads for passages.
NO_MARKS: dict[str, set[bytes]] = {"title": set(), "body": set()}


def hits(s: Searcher, cols: Columns, docnums, marks: dict[str, set[bytes]] | None,
         scores: np.ndarray | None, shown: Callable[[str], str]) -> list[Hit]:
    """Hits of `docnums`, with marked titles and passages; with `marks`
    None, plain titles and no passages. `shown(source)` is how a source
    path is shown to readers (`search.places`)."""
    docnums = [int(d) for d in docnums]
    if marks is None:
        stored = [cols.stored(s, d) for d in docnums]
        titles = snippets.render([snippets.Piece(f.get("title") or "", []) for f in stored])
        return [hit_of(f, html, scores[d] if scores is not None else None,
                       shown(f.get("source", "")))
                for d, f, html in zip(docnums, stored, titles, strict=True)]
    title_spans = char_spans(s, cols, "title", marks["title"], docnums)
    body_spans = char_spans(s, cols, "body", marks["body"], docnums)
    stored = [cols.stored(s, d) for d in docnums]
    pieces: list[snippets.Piece] = []
    chosen_at: dict[int, list[int]] = {}
    layout = []
    for d, fields in zip(docnums, stored, strict=True):
        title = fields.get("title") or ""
        body = fields.get("body") or ""
        pieces.append(snippets.Piece(title, [(a, b) for a, b, _ in title_spans.get(d, [])]))
        chosen = snippets.passages(body, body_spans.get(d, []))
        if not chosen:
            lead = snippets.lead(body)
            chosen = [lead] if lead else []
        pieces.extend(chosen)
        chosen_at[d] = [p.offset for p in chosen]
        layout.append(len(chosen))
    html = snippets.render(pieces)
    out = []
    pos = 0
    for d, fields, n in zip(docnums, stored, layout, strict=True):
        title_html, snips = html[pos], html[pos + 1: pos + 1 + n]
        pos += 1 + n
        out.append(hit_of(fields, title_html, scores[d] if scores is not None else None,
                          shown(fields.get("source", "")), list(snips),
                          pages_of(fields, chosen_at[d])))
    return out


def article_view(s: Searcher, cols: Columns, docnum: int, marks: dict[str, set[bytes]],
                 shown: Callable[[str], str]) -> ArticleView:
    """The whole article `docnum`, its paragraphs marked with `marks`."""
    fields = cols.stored(s, docnum)  # related articles read it again
    title = fields.get("title") or ""
    body = fields.get("body") or ""
    title_spans = [(a, b) for a, b, _ in char_spans(s, cols, "title", marks["title"],
                                                     [docnum]).get(docnum, [])]
    body_spans = [(a, b) for a, b, _ in char_spans(s, cols, "body", marks["body"],
                                                    [docnum]).get(docnum, [])]
    pieces = [snippets.Piece(title, title_spans), *snippets.paragraphs(body, body_spans)]
    html = snippets.render(pieces)
    return ArticleView(
        id=fields.get("id", ""), title=title, title_html=html[0],
        paragraphs=html[1:], date=date_of(fields), tags=tags_of(fields),
        kind=fields.get("kind"), language=fields.get("language"),
        url=fields.get("url"), source=shown(fields.get("source", "")),
        publication=fields.get("publication"), author=fields.get("author"),
        paragraph_pages=pages_of(fields, [p.offset for p in pieces[1:]]),
    )


def char_spans(s: Searcher, cols: Columns, fieldname: str, terms: set[bytes],
                docnums: list[int]) -> dict[int, list[tuple[int, int, int]]]:
    """Stored character ranges of `terms` in each of `docnums`.

    The generation's cached postings (`Columns.term`) say which of the
    documents hold each term, so only those (term, document) pairs are
    looked up (`Columns.values`), each straight in the block that holds it.
    Cost grows with the marks on the page, not with text length or with
    terms the page's documents do not contain.
    """
    out: dict[int, list[tuple[int, int, int]]] = {}
    if not terms or not docnums:
        return out
    reader = s.reader()
    try:
        decode = s.schema[fieldname].format.decoder("characters")
    except Exception:  # noqa: BLE001  no stored offsets: nothing to mark
        return out
    wanted = np.array(sorted(set(docnums)), dtype=np.int64)
    for ti, term in enumerate(sorted(terms)[:MAX_MARKED_TERMS]):
        ids = cols.term(reader, fieldname, term).ids  # sorted
        if not len(ids):
            continue
        at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
        present = wanted[ids[at] == wanted].tolist()
        for d, value in cols.values(reader, fieldname, term, present):
            out.setdefault(d, []).extend((a, b, ti) for _p, a, b in decode(value))
    return out


def hit_of(fields: dict, title_html, score, source: str, snips=(), pages=()) -> Hit:
    """A `Hit` from an article's stored fields (the one place they are read)."""
    return Hit(id=fields.get("id", ""), title=fields.get("title") or "", title_html=title_html,
               date=date_of(fields), tags=tags_of(fields), kind=fields.get("kind"),
               source=source, url=fields.get("url"), snippets=list(snips),
               score=float(score) if score is not None else None,
               language=fields.get("language"), publication=fields.get("publication"),
               author=fields.get("author"), snippet_pages=list(pages))


def pages_of(fields: dict, offsets: list[int]) -> list[int]:
    """The 1-based page of each offset into the body, for paged articles."""
    starts = fields.get("pages")
    if not starts:
        return []
    return [max(1, bisect.bisect_right(starts, o)) for o in offsets]


def date_of(fields: dict) -> dt.date | None:
    value = fields.get("date")
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def tags_of(fields: dict) -> list[HitTag]:
    keys = [k.strip() for k in (fields.get("tags") or "").split(",") if k.strip()]
    labels = split_labels(fields.get("tag_labels"))
    if len(labels) != len(keys):
        labels = keys
    return [HitTag(k, lab) for k, lab in zip(keys, labels, strict=True)]
