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
from collections.abc import Callable

import numpy as np
from whoosh.searching import Searcher

from index.article import StoredArticle
from index.embedded.document import from_stored
from search import snippets
from search.embedded.columns import Columns
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
    stored = [from_stored(cols.stored(s, d)) for d in docnums]
    if marks is None:
        titles = snippets.render([snippets.Piece(a.title, []) for a in stored])
        return [hit_of(a, html, scores[d] if scores is not None else None, shown(a.source))
                for d, a, html in zip(docnums, stored, titles, strict=True)]
    title_spans = char_spans(s, cols, "title", marks["title"], docnums)
    body_spans = char_spans(s, cols, "body", marks["body"], docnums)
    pieces: list[snippets.Piece] = []
    chosen_at: dict[int, list[int]] = {}
    layout = []
    for d, a in zip(docnums, stored, strict=True):
        pieces.append(snippets.Piece(a.title, [(x, y) for x, y, _ in title_spans.get(d, [])]))
        chosen = snippets.passages(a.body, body_spans.get(d, []))
        if not chosen:
            lead = snippets.lead(a.body)
            chosen = [lead] if lead else []
        pieces.extend(chosen)
        chosen_at[d] = [p.offset for p in chosen]
        layout.append(len(chosen))
    html = snippets.render(pieces)
    out = []
    pos = 0
    for d, a, n in zip(docnums, stored, layout, strict=True):
        title_html, snips = html[pos], html[pos + 1: pos + 1 + n]
        pos += 1 + n
        out.append(hit_of(a, title_html, scores[d] if scores is not None else None,
                          shown(a.source), list(snips), pages_of(a, chosen_at[d])))
    return out


def article_view(s: Searcher, cols: Columns, docnum: int, marks: dict[str, set[bytes]],
                 shown: Callable[[str], str]) -> ArticleView:
    """The whole article `docnum`, its paragraphs marked with `marks`."""
    a = from_stored(cols.stored(s, docnum))  # kept: related articles read it again
    title, body = a.title, a.body
    title_spans = [(a, b) for a, b, _ in char_spans(s, cols, "title", marks["title"],
                                                     [docnum]).get(docnum, [])]
    body_spans = [(a, b) for a, b, _ in char_spans(s, cols, "body", marks["body"],
                                                    [docnum]).get(docnum, [])]
    pieces = [snippets.Piece(title, title_spans), *snippets.paragraphs(body, body_spans)]
    html = snippets.render(pieces)
    return ArticleView(
        id=a.id, title=title, title_html=html[0], paragraphs=html[1:], date=a.date,
        tags=hit_tags(a), kind=a.kind, language=a.language, url=a.url,
        source=shown(a.source), publication=a.publication, author=a.author,
        paragraph_pages=pages_of(a, [p.offset for p in pieces[1:]]),
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


def hit_of(a: StoredArticle, title_html, score, source: str, snips=(), pages=()) -> Hit:
    """A `Hit` of a stored article, its title made `title_html`."""
    return Hit(id=a.id, title=a.title, title_html=title_html, date=a.date, tags=hit_tags(a),
               kind=a.kind, source=source, url=a.url, snippets=list(snips),
               score=float(score) if score is not None else None, language=a.language,
               publication=a.publication, author=a.author, snippet_pages=list(pages))


def hit_tags(a: StoredArticle) -> list[HitTag]:
    """The article's tags as hits carry them."""
    return [HitTag(t.key, t.label) for t in a.tags]


def pages_of(a: StoredArticle, offsets: list[int]) -> list[int]:
    """The 1-based page of each offset into the body, for paged articles."""
    if not a.pages:
        return []
    return [max(1, bisect.bisect_right(a.pages, o)) for o in offsets]
