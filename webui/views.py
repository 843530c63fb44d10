"""The reader's pages: search (also the landing page), article, tag finder,
and an article's citation files.

Each view reads the search state from the URL (`webui.limits`), asks the
engine, hands the answer to a presenter and renders. The search view answers
the same URL with the whole page or, for an htmx swap of the results
region, with that region only (`webui.htmx` decides); either way the
response varies on the htmx headers and tells htmx the canonical URL.

No view builds a link or a piece of HTML itself.
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request

from search.citation import EXTENSIONS
from search.request import SearchRequest
from webui import htmx, presenters
from webui.backend import get_engine
from webui.exports import article_citation_file
from webui.limits import search_request
from webui.links import console_url, search_url, tag_finder_action

bp = Blueprint("pages", __name__)

#: Ids of the page regions htmx swaps.
RESULTS_REGION = "results-region"
TAG_MATCHES = "tag-matches"
#: How many related articles an article page lists.
RELATED = 5
#: How many tags the tag finder lists.
TAG_MATCHES_LIMIT = 40
#: What a reader is told for an unknown article id (or its citation).
NO_ARTICLE = ("There is no article with this id in the archive. "
              "It may have been removed when the archive was re-indexed.")


def _empty_index_page():
    """The friendly page for an archive with nothing indexed, or None if there are articles."""
    engine = get_engine()
    if engine.stats().articles:
        return None
    # Never the index's path: this page is public (the console shows it to librarians).
    return render_template("no_index.html", console_url=console_url())


def _has_blank_params(args) -> bool:
    return any(not v.strip() for _, v in args.items(multi=True))


@bp.get("/")
def search():
    """The search page; with no search text, the archive newest first."""
    req, messages = search_request()
    fragment = htmx.wants_fragment(request, RESULTS_REGION)
    if not htmx.is_htmx(request) and not messages and _has_blank_params(request.args):
        # A no-JavaScript form submission sends its empty fields (?q=&from=);
        # the reader lands on the clean address of the same search instead.
        return redirect(search_url(req), code=303)
    if not fragment:
        empty = _empty_index_page()
        if empty is not None:
            return htmx.add_vary(make_response(empty))
    engine = get_engine()
    results = engine.run(req, explain=engine.explains)

    def count(other: SearchRequest) -> int:
        return engine.run(dataclasses.replace(other, per_page=1)).total

    page = presenters.search_page(
        results, req, messages=messages, count=count,
        max_page=current_app.config["MAX_PAGE"],
    )
    template = "_fragment.html" if fragment else "search.html"
    response = make_response(render_template(template, page=page))
    htmx.add_vary(response)
    if htmx.is_htmx(request):
        htmx.push_url(response, search_url(req))
    return response


@bp.get("/articles/<article_id>")
def article(article_id: str):
    """One article, its query terms marked, with related articles and a way back."""
    req, _ = search_request()
    engine = get_engine()
    view = engine.get(article_id, q=req.q or None)
    if view is None:
        abort(404, description=NO_ARTICLE)
    related = engine.more_like(article_id, RELATED)
    page = presenters.article_page(view, req, related)
    return htmx.add_vary(make_response(render_template("article.html", view=page, q=req.q)))


@bp.get("/articles/<article_id>/cite.<any(ris, bib):extension>", endpoint="citation")
def article_citation(article_id: str, extension: str):
    """One article's citation as a RIS or BibTeX file for a reference manager."""
    view = get_engine().get(article_id)
    if view is None:
        abort(404, description=NO_ARTICLE)
    return article_citation_file(view, EXTENSIONS[extension])


@bp.get("/tags")
def tags():
    """Tags by the start of their name, each a link that adds it to the search."""
    req, _ = search_request()
    find = " ".join(request.args.get("find", "").split())[:100]
    values = get_engine().tag_values(find, TAG_MATCHES_LIMIT, request=req)
    options = presenters.tag_options_for(values, req)
    if htmx.wants_fragment(request, TAG_MATCHES):
        body = render_template("_tag_matches.html", options=options, find=find)
    else:
        body = render_template(
            "tags.html", options=options, find=find, request_q=req.q,
            action=tag_finder_action(), back_url=search_url(req),
            fields=[(k, v) for k, v in req.to_params() if k != "page"],
        )
    return htmx.add_vary(make_response(body))


#: The id of the search box's list of suggestions, which `_complete.html` fills.
COMPLETIONS = "q-options"
#: How long a browser may reuse a list of suggestions (typing back over a
#: word asks again for nothing). They change only with the index.
COMPLETIONS_MAX_AGE = 60


@bp.get("/complete")
def complete():
    """Suggestions for the search box as typed: the options of its listbox.

    Only htmx asks for them, to fill the list under the box. A fragment is
    never a page: a reader who lands on this address (a shared link, scripts
    off) is sent on to the search it describes. Both answers vary on the
    htmx headers, so no cache hands one out for the other; the fragment may
    be kept for `COMPLETIONS_MAX_AGE` seconds by the reader's browser only.
    """
    req, _ = search_request()
    if not htmx.wants_fragment(request, COMPLETIONS):
        return htmx.add_vary(redirect(search_url(req), code=303))
    options = presenters.completion_options(get_engine().complete(req.q), req)
    response = make_response(render_template("_complete.html", options=options))
    response.cache_control.private = True
    response.cache_control.max_age = COMPLETIONS_MAX_AGE
    return htmx.add_vary(response)
