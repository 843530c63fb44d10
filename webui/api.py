"""The JSON API: the same searches as the page, as data.

`GET /api/search` takes exactly the search page's parameters and answers
with `SearchResults.to_json()`; `GET /api/articles/<id>` with one article;
`GET /api/articles/<id>/citation?format=ris|bibtex` with its citation file
(the one answer that is not JSON); `GET /api/openapi.json` with the OpenAPI
description of them all (`webui.openapi`). Errors are JSON too (see
`webui.errors`), with a fitting status code.

This module formats nothing itself: the result dataclasses own their JSON,
`search.citation` writes citations.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from search.citation import FORMATS
from webui import openapi
from webui.backend import get_engine
from webui.exports import article_citation_file
from webui.limits import search_request

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/search")
def search():
    """Search results as JSON; parameter problems are listed in `messages`."""
    req, messages = search_request()
    explain = request.args.get("explain", "") in ("1", "true", "yes", "on")
    results = get_engine().run(req, explain=explain)
    document = results.to_json()
    document["messages"] = list(dict.fromkeys([*messages, *document.get("messages", [])]))
    return jsonify(document)


@bp.get("/articles/<article_id>")
def article(article_id: str):
    """One whole article as JSON (its paragraphs are sanitized HTML strings)."""
    view = get_engine().get(article_id)
    if view is None:
        abort(404, description=f"No article with id {article_id!r}.")
    return jsonify(view.to_json())


@bp.get("/articles/<article_id>/citation")
def article_citation(article_id: str):
    """One article's citation, `format=ris` or `format=bibtex` (required:
    there is no useful default between two reference managers' formats)."""
    fmt = FORMATS.get(request.args.get("format", ""))
    if fmt is None:
        abort(400, description="Ask for format=ris or format=bibtex.")
    view = get_engine().get(article_id)
    if view is None:
        abort(404, description=f"No article with id {article_id!r}.")
    return article_citation_file(view, fmt)


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi.document())
