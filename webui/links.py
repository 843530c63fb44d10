"""URLs for reader states: the one place a `SearchRequest` becomes a link.

Every link on a results page is "this search, changed a little": the
presenters compute the changed request and ask here for its URL. Each URL
is the request's canonical query string on the route that shows it, so the
same state always has the same address (bookmarks, caches and Back agree).

Must run inside a Flask request or app context (it uses `url_for`).
"""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

from flask import current_app, g, url_for
from flask import request as http_request

from search.request import DEFAULT_PER_PAGE, SearchRequest


class _Memo:
    """URLs already worked out during this request (kept on `flask.g`).

    `routes` is shared by every request of the app under the same script
    root (the path the app is mounted at): a route's URL depends on nothing
    else, and `url_for` costs more than the rest of a link.
    """

    def __init__(self, routes: dict[str, str]) -> None:
        self.routes = routes
        self.searches: dict[SearchRequest, str] = {}


def _memo() -> _Memo:
    memo = g.get("archivist_links")
    if memo is None:
        by_root = current_app.extensions.setdefault(_ROUTES, {})
        routes = by_root.setdefault(http_request.script_root, {})
        memo = g.archivist_links = _Memo(routes)
    return memo


_ROUTES = "archivist.route_urls"


def _route(endpoint: str, memo: _Memo | None = None) -> str:
    """`url_for(endpoint)`, worked out once per app and script root.

    A results page links to the same few routes dozens of times (every
    facet value, chip and page number), and every page to the same ones.
    """
    routes = (memo or _memo()).routes
    url = routes.get(endpoint)
    if url is None:
        url = routes[endpoint] = url_for(endpoint)
    return url


def _with_query(base: str, request: SearchRequest | None) -> str:
    qs = request.to_query_string() if request is not None else ""
    return f"{base}?{qs}" if qs else base


def search_url(request: SearchRequest) -> str:
    """The search page showing `request`.

    Remembered for the rest of the request: a page links to the same state
    several times (a tag on many hits, and again in the tag facet).
    """
    memo = _memo()
    url = memo.searches.get(request)
    if url is None:
        url = memo.searches[request] = _with_query(_route("pages.search", memo), request)
    return url


def tag_choice_urls(request: SearchRequest, tags: list[str]) -> list[tuple[str, str]]:
    """For each tag: the search page requiring it and the one excluding it
    (`search_url(request.with_tag(t))`, `search_url(request.with_not_tag(t))`),
    built together for a whole facet."""
    base = _route("pages.search")
    return [(f"{base}?{add}" if add else base, f"{base}?{leave}" if leave else base)
            for add, leave in request.tag_choice_query_strings(tags)]


def date_choice_urls(request: SearchRequest, dates: list[str]) -> list[str]:
    """For each date: the search page narrowed to it
    (`search_url(request.with_dates(d, d))`), built together for a whole
    date histogram."""
    base = _route("pages.search")
    return [f"{base}?{qs}" if qs else base for qs in request.date_choice_query_strings(dates)]


def article_url(article_id: str, request: SearchRequest | None = None) -> str:
    """An article's page; `request` is the search it was reached from.

    Carrying the search along lets the article page highlight its terms and
    link back to exactly the same results, with no session on the server.
    """
    routes = _memo().routes
    prefix = routes.get(_ARTICLE)
    if prefix is None:
        # The route with a one-letter id, that letter cut off: the same for
        # every article of this request. `url_for` itself costs more than
        # the rest of a hit's links together.
        prefix = routes[_ARTICLE] = url_for("pages.article", article_id="_")[:-1]
    return _with_query(prefix + quote(article_id, safe=_SEGMENT_SAFE), request)


_ARTICLE = "pages.article/"
#: What werkzeug's default converter leaves unquoted in a path segment
#: (the URL standard's path-segment set); a test checks the result equals
#: `url_for` for any id.
_SEGMENT_SAFE = "!$&'()*+,/:;=@"


def citation_url(article_id: str, extension: str) -> str:
    """An article's citation file (`extension` "ris" or "bib")."""
    return url_for("pages.citation", article_id=article_id, extension=extension)


def console_url() -> str:
    """The librarians' console (it asks for the password first)."""
    return url_for("admin.sources")


def tag_finder_action() -> str:
    """Where the tag finder form goes (its fields carry the search)."""
    return url_for("pages.tags")


def export_url(endpoint: str, request: SearchRequest) -> str:
    """A feed or export of the whole result set (page and page size dropped)."""
    whole = dataclasses.replace(request, page=1, per_page=DEFAULT_PER_PAGE)
    return _with_query(_route(endpoint), whole)


def excel_csv_url(request: SearchRequest) -> str:
    """The CSV export with a byte-order mark (for Excel)."""
    url = export_url("exports.csv", request)
    return url + ("&" if "?" in url else "?") + "bom=1"


def api_search_url(request: SearchRequest) -> str:
    """The JSON API answer for `request`."""
    return _with_query(_route("api.search"), request)
