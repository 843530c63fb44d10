"""Errors as a reader should see them: a friendly page, or JSON for the API.

No stack trace ever reaches a browser. An unexpected error is logged in
full for the operator and answered with a short apology; an HTTP error (an
unknown article, a wrong method) says what happened in plain words. Under
`/api/` the same errors are JSON objects with the status code.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

TITLES = {
    400: "That request could not be read",
    404: "Page not found",
    405: "Not allowed",
    500: "Something went wrong",
}

MESSAGES = {
    404: "There is nothing at this address. It may have moved, or the link may be mistyped.",
    500: "The archive could not answer this request. Please try again in a moment; "
         "if it keeps happening, tell whoever runs this archive.",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _render(status: int, description: str | None):
    title = TITLES.get(status, "Something went wrong")
    message = description or MESSAGES.get(status) or title
    if _wants_json():
        return jsonify({"error": {"status": status, "title": title, "message": message}}), status
    return render_template("error.html", title=title, message=message), status


def init_app(app: Flask) -> None:
    """Register the handlers on `app`."""

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        if status >= 500:
            return _render(status, None)
        # Werkzeug's stock descriptions are written for developers; ours are set with abort().
        custom = error.description if error.description != type(error).description else None
        return _render(status, custom)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):  # pragma: no cover - handled above
            return _http_error(error)
        app.logger.exception("unhandled error on %s", request.path, exc_info=error)
        return _render(InternalServerError.code, None)
