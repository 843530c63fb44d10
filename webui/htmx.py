"""What htmx asked for: the one place the `HX-*` request headers are read.

A search URL answers with a whole page or, when htmx swaps one region of a
page it already shows, with just that region. Which one is decided here and
nowhere else, so every view agrees. A history restore (the reader pressed
Back and htmx had no snapshot) always gets a whole page, because htmx puts
it in place of the whole body.

This module never renders anything; it only interprets headers.
"""

from __future__ import annotations

from flask import Request, Response

#: Headers a page's content depends on; caches must key on them.
VARY = ("HX-Request", "HX-Target", "HX-History-Restore-Request")


def is_htmx(request: Request) -> bool:
    """True for any request htmx made (a swap, a boosted link, a history restore)."""
    return request.headers.get("HX-Request") == "true"


def wants_fragment(request: Request, target: str) -> bool:
    """True when htmx asked to swap the element with id `target` only."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-History-Restore-Request") != "true"
        and headers.get("HX-Target") == target
    )


def add_vary(response: Response) -> Response:
    """Mark `response` as depending on the htmx headers (full page vs fragment)."""
    for header in VARY:
        response.vary.add(header)
    return response


def push_url(response: Response, url: str) -> Response:
    """Tell htmx which URL to put in the address bar (the canonical one).

    htmx would otherwise push the raw form submission, empty fields and all.
    """
    response.headers["HX-Push-Url"] = url
    return response
