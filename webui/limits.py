"""The reader's search parameters, parsed and held to this app's limits.

`SearchRequest.from_args` already refuses absurd values; an operator may set
tighter limits in the app's configuration (`MAX_QUERY_CHARS`, `MAX_PAGE`,
`MAX_PER_PAGE`), and this is where they are applied, for the page, the API
and the exports alike. Like `from_args`, it never raises: a value over a
limit is cut back, and the reader is told.
"""

from __future__ import annotations

import dataclasses

from flask import current_app, request

from search.request import SearchRequest


def search_request(args=None) -> tuple[SearchRequest, list[str]]:
    """The current request's search state and the messages about it."""
    cfg = current_app.config
    parsed, messages = SearchRequest.from_args(request.args if args is None else args)
    max_q, max_page, max_per_page = cfg["MAX_QUERY_CHARS"], cfg["MAX_PAGE"], cfg["MAX_PER_PAGE"]
    changes = {}
    if len(parsed.q) > max_q:
        changes["q"] = parsed.q[:max_q].strip()
        messages.append(f"The search text was cut to its first {max_q} characters.")
    if parsed.page > max_page:
        changes["page"] = max_page
        messages.append(f"Pages go up to {max_page}; showing page {max_page}.")
    if parsed.per_page > max_per_page:
        changes["per_page"] = max_per_page
        messages.append(f"At most {max_per_page} results are shown per page.")
    if changes:
        parsed = dataclasses.replace(parsed, **changes)
    return parsed, messages
