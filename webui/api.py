"""The JSON API: the same searches as the page, as data.

`GET /api/search` takes exactly the search page's parameters and answers
with `SearchResults.to_json()`; `GET /api/articles/<id>` with one article;
`GET /api/openapi.json` with the OpenAPI description of both (`webui.openapi`).
Errors are JSON too (see `webui.errors`), with a fitting status code.

This module formats nothing itself: the result dataclasses own their JSON.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from webui import openapi
from webui.backend import get_engine
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


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi.document())
