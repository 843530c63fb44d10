"""Response headers that keep an archive's hostile text inert in the browser.

Article text is whatever the archive held; it reaches the page only escaped
or as the sanitized snippet markup of `search.snippets`. These headers are
the second wall: no inline script or style can run even if something slipped
through, the page cannot be framed, and a reader's queries do not leak to
the sites an article links to. Over HTTPS (direct, or a trusted proxy's
scheme) a Strict-Transport-Security header keeps browsers on HTTPS for
`HSTS_MAX_AGE` seconds; it is never sent over plain HTTP, where a browser
ignores it and an operator trying the server out would not want it.

This module only sets headers; it never inspects content.
"""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Searches are in our URLs; an article's outbound link must not carry them away.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    """Add the security headers to every response of `app`."""
    hsts_age = int(app.config.get("HSTS_MAX_AGE") or 0)
    hsts = f"max-age={hsts_age}" if hsts_age > 0 else None

    @app.after_request
    def _secure(response: Response) -> Response:
        headers = response.headers
        # Not `setdefault` (nor `in`): werkzeug's raise and catch an
        # exception for each header missing, which is all of them on almost
        # every response.
        present = {name.lower() for name in headers.keys()}
        for name, value in HEADERS.items():
            if name.lower() not in present:
                headers.add(name, value)
        if hsts and request.is_secure and "strict-transport-security" not in present:
            headers.add("Strict-Transport-Security", hsts)
        return response
