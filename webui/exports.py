"""Whole result sets to take away: an Atom feed, CSV and JSON files, and
citations (RIS and BibTeX) for a reference manager.

A feed lets a reader follow a tag or a query in a feed reader: it is any
search, newest first. The exports hold up to `EXPORT_LIMIT` results (a
setting), fetched page by page through the engine like any reader would.

Documents are built with the standard library's serializers, which escape
every value; nothing here writes markup by hand. A CSV cell that a
spreadsheet would run as a formula is defused. Citations are written by
`search.citation`; `article_citation_file` also answers for one article
(`webui.views`, `webui.api`), so every citation download has the same headers.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from collections.abc import Iterator
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, abort, current_app
from flask import request as http_request

from search.citation import BIBTEX, RIS, Citation, Format, cite_key
from search.request import SearchRequest
from search.results import ArticleView, Hit
from webui import proxy
from webui.backend import get_engine
from webui.limits import search_request
from webui.links import article_url, search_url

bp = Blueprint("exports", __name__)

ATOM = "http://www.w3.org/2005/Atom"
#: Entries in a feed: a feed reader polls often and wants the latest, not the
#: archive (20 is what most publishers' feeds carry; each entry's summary is
#: a sanitized snippet, the costly part of a feed).
FEED_ENTRIES = 20
CSV_COLUMNS = ("id", "title", "date", "kind", "tags", "url", "source")


def _hits(req: SearchRequest, limit: int,
          snippets: bool = True) -> tuple[int, Iterator[Hit]]:
    """The total and up to `limit` hits of `req`, from one evaluation.

    The query is evaluated once for the whole export (a page of `limit`),
    not once per page of 100: a long or expanding query costs the same to
    evaluate whatever page is asked for. `snippets=False` skips passages.
    """
    engine = get_engine()
    results = engine.run(dataclasses.replace(req, page=1, per_page=max(limit, 1)),
                         snippets=snippets)
    return results.total, iter(results.hits[:limit])


def _filename(ext: str) -> str:
    return f"archivist-search-{dt.date.today().isoformat()}.{ext}"


@bp.get("/feed.atom")
def feed():
    """An Atom feed of the search, newest first."""
    req, _ = search_request()
    # A feed is newest first, unless the reader asked for relevance + recency.
    req = req if req.sort == "recency" else req.with_sort("newest")
    _, hits = _hits(req, FEED_ENTRIES)
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    title = f"Archivist: {req.q}" if req.q else "Archivist: newest articles"
    if req.tags:
        title += " (tagged " + ", ".join(req.tags) + ")"
    root_url = _external_root()
    page_url = root_url + search_url(req)
    ET.SubElement(root, f"{{{ATOM}}}title").text = title
    ET.SubElement(root, f"{{{ATOM}}}id").text = page_url
    ET.SubElement(root, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=page_url)
    author = ET.SubElement(root, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "Archivist"
    updated = ET.SubElement(root, f"{{{ATOM}}}updated")
    newest = None
    for hit in hits:
        entry = ET.SubElement(root, f"{{{ATOM}}}entry")
        link = root_url + article_url(hit.id)
        ET.SubElement(entry, f"{{{ATOM}}}title").text = hit.title or "(untitled)"
        ET.SubElement(entry, f"{{{ATOM}}}id").text = link
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=link)
        stamp = _stamp(hit.date)
        newest = max(newest or stamp, stamp)
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = stamp
        for tag in hit.tags:
            ET.SubElement(entry, f"{{{ATOM}}}category", term=tag.key, label=tag.label)
        if hit.snippets:
            # Sanitized snippet markup, carried as escaped text of type "html".
            summary = ET.SubElement(entry, f"{{{ATOM}}}summary", type="html")
            summary.text = " … ".join(str(s) for s in hit.snippets)
    updated.text = newest or _stamp(None)
    body = ET.tostring(root, encoding="unicode", xml_declaration=True)
    return Response(body, mimetype="application/atom+xml")


def _external_root() -> str:
    """Scheme and host to put before a path the app made (every feed link is
    absolute). The path already starts with the app's mount point.

    Never the client's own `Host` unless it can be trusted: `PUBLIC_URL`,
    else the request's host when `TRUSTED_HOSTS` vetted it or it is a
    loopback name (`webui.proxy`); otherwise the feed is refused (400)."""
    root = proxy.public_root()
    if root is None:
        abort(400, description=proxy.UNTRUSTED_HOST)
    return root


def _stamp(date: dt.date | None) -> str:
    # Undated articles still need an Atom timestamp; the epoch sorts them last.
    d = date or dt.date(1970, 1, 1)
    return f"{d.isoformat()}T00:00:00Z"


def _cell(value: str) -> str:
    # A spreadsheet runs cells starting with these as formulas.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@bp.get("/export.csv", endpoint="csv")
def csv_export():
    """The result set as CSV, one article a row; with `bom=1` it starts with
    a byte-order mark, without which Excel reads UTF-8 as its local code page
    and garbles every non-ASCII letter."""
    req, _ = search_request()
    _, hits = _hits(req, current_app.config["EXPORT_LIMIT"], snippets=False)
    out = io.StringIO()
    if http_request.args.get("bom") == "1":
        out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for hit in hits:
        writer.writerow([_cell(v) for v in (
            hit.id, hit.title, hit.date.isoformat() if hit.date else "", hit.kind or "",
            "; ".join(t.label for t in hit.tags), hit.url or "", hit.source,
        )])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{_filename("csv")}"',
    })


@bp.get("/export.json", endpoint="json")
def json_export():
    """The result set as one JSON document."""
    req, messages = search_request()
    limit = current_app.config["EXPORT_LIMIT"]
    # The rows' metadata and scores, without snippets: a thousand hits'
    # passages cost several times their search (the API has them, page by page).
    total, hits = _hits(req, limit, snippets=False)
    items = [h.to_json() for h in hits]
    document = {
        "request": req.to_query_string(), "total": total, "exported": len(items),
        "limit": limit, "messages": messages, "hits": items,
    }
    return Response(json.dumps(document, ensure_ascii=False, indent=1),
                    mimetype="application/json", headers={
                        "Content-Disposition": f'attachment; filename="{_filename("json")}"',
                    })


@bp.get("/export.ris", endpoint="ris")
def ris_export():
    """The result set as RIS citations, one record per article."""
    return _citations_export(RIS)


@bp.get("/export.bib", endpoint="bibtex")
def bibtex_export():
    """The result set as BibTeX citations, one entry per article."""
    return _citations_export(BIBTEX)


def _citations_export(fmt: Format) -> Response:
    req, _ = search_request()
    _, hits = _hits(req, current_app.config["EXPORT_LIMIT"], snippets=False)
    return citation_file(fmt, [Citation.of(h) for h in hits], _filename(fmt.extension))


def article_citation_file(article: ArticleView, fmt: Format) -> Response:
    """One article's citation, named by its cite key (`doe2022harbour.bib`)."""
    citation = Citation.of(article)
    return citation_file(fmt, [citation], f"{cite_key(citation)}.{fmt.extension}")


def citation_file(fmt: Format, citations: list[Citation], filename: str) -> Response:
    """`citations` as a `fmt` file to download.

    `filename` goes into the header as it is: callers make it of ASCII
    letters, digits, dots and dashes (a cite key or `_filename`), so it
    needs no quoting and cannot end the header.
    """
    return Response(fmt.write(citations), content_type=f"{fmt.media_type}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
