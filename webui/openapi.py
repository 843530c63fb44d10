"""The public JSON API described as an OpenAPI 3.1 document.

`document()` returns the description of `GET /api/search`,
`GET /api/articles/{article_id}` and its `/citation` as plain data;
`webui.api` serves it at
`/api/openapi.json`, and `tests/test_openapi.py` has schemathesis hold the
running server to it. The shapes written here mirror
`search.results.SearchResults.to_json` and `ArticleView.to_json`: when one
of those gains a key, this document says so too (objects stay open to extra
keys, so a client written against it keeps working).

The search parameters are forgiving on the server (a bad value is dropped
and explained in `messages`, never refused); the document describes what a
client should send, not every string the server tolerates.

This module only holds data; it never runs a search or reads the index.
"""

from __future__ import annotations

from typing import Any

from search.citation import FORMATS
from search.request import (
    DEFAULT_PER_PAGE,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_Q,
    SORTS,
    UNDATED_MODES,
)

#: Bumped when the API's shape changes in a way clients can notice.
API_VERSION = "1.0.0"

_NULLABLE_STRING = {"type": ["string", "null"]}
_STRINGS = {"type": "array", "items": {"type": "string"}}
# A day written as YYYY-MM-DD; no `format` keyword so validators agree on it.
_DAY = {"type": ["string", "null"], "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_DATE_PARAM = {
    "type": "string",
    "description": "`2022`, `2022-05` or `2022-05-28`; years 1300-1499 are Persian solar "
                   "years. Digits may be Persian; `/` or `.` may separate the parts.",
    "examples": ["2019", "1987-03", "1987-03-02", "1401/03/07"],
}


def _query_param(name: str, schema: dict, description: str, **extra: Any) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema, **extra}


_SEARCH_PARAMETERS = [
    _query_param("q", {"type": "string", "maxLength": MAX_Q},
                 "Search text: words, \"a phrase\", -excluded, prefix*, OR. "
                 "Empty means every article, newest first.",
                 examples={"words": {"value": "oil prices"}}),
    _query_param("tag", {"type": "array", "items": {"type": "string", "maxLength": 200},
                         "maxItems": 20},
                 "Only articles with this tag (repeatable; all must match).",
                 style="form", explode=True),
    _query_param("not_tag", {"type": "array", "items": {"type": "string", "maxLength": 200},
                             "maxItems": 20},
                 "Leave out articles with this tag (repeatable).", style="form", explode=True),
    _query_param("from", _DATE_PARAM, "First day of the date range (inclusive)."),
    _query_param("to", _DATE_PARAM, "Last day of the date range (inclusive)."),
    _query_param("undated", {"type": "string", "enum": list(UNDATED_MODES),
                             "default": "include"},
                 "Whether articles without a date are included, the only ones, or left out."),
    _query_param("sort", {"type": "string", "enum": list(SORTS), "default": "relevance"},
                 "Order of the hits (relevance falls back to newest without search text)."),
    _query_param("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                 "Page of results, from 1; past the last page the last one is shown."),
    _query_param("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                              "default": DEFAULT_PER_PAGE},
                 "Hits per page."),
    _query_param("verbatim", {"type": "string", "enum": ["0", "1"], "default": "0"},
                 "1: search exactly as typed, with no automatic spelling correction."),
]

#: Parameters of `/api/search` only (the page always explains its hits).
_API_ONLY = [
    _query_param("explain", {"type": "string", "enum": ["0", "1"], "default": "0"},
                 "1: each hit carries `explanation`, its score taken apart (on a Typesense "
                 "cluster, its text match shown whole with where each word occurs)."),
]

_SCHEMAS: dict[str, Any] = {
    "Hit": {
        "type": "object",
        "required": ["id", "title", "title_html", "date", "tags", "tag_labels", "kind",
                     "source", "url", "snippets", "score"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "title_html": {"type": "string",
                           "description": "The title, escaped, with query terms in <mark>."},
            "date": _DAY,
            "tags": {**_STRINGS, "description": "Tag keys, as filters take them."},
            "tag_labels": {**_STRINGS, "description": "Tags as the source spelled them."},
            "kind": _NULLABLE_STRING,
            "source": {"type": "string", "description": (
                "The file the article came from: its source's name and its path relative "
                "to the source folder (`news/2021/a.txt`), never a path on the server.")},
            "url": _NULLABLE_STRING,
            "snippets": {**_STRINGS, "description": "Sanitized HTML passages."},
            "score": {"type": ["number", "null"],
                      "description": "Relevance score; null when sorted by date."},
            "explanation": {"$ref": "#/components/schemas/Explanation"},
        },
    },
    "Explanation": {
        "type": "object",
        "description": "Why this result: a part of the score, what it adds, and its parts "
                       "(which add up to it).",
        "required": ["label", "value"],
        "properties": {
            "label": {"type": "string"},
            "value": {"type": "number"},
            "parts": {"type": "array", "items": {"$ref": "#/components/schemas/Explanation"}},
        },
    },
    "TagCount": {
        "type": "object",
        "required": ["value", "label", "count", "selected"],
        "properties": {
            "value": {"type": "string"},
            "label": {"type": "string"},
            "count": {"type": "integer", "minimum": 0},
            "selected": {"type": "boolean"},
        },
    },
    "DateBucket": {
        "type": "object",
        "required": ["value", "label", "count"],
        "properties": {
            "value": {"type": "string", "description": "Usable as `from` and `to`."},
            "value_to": {"type": "string",
                         "description": "Only on a group of years (a decade, century or "
                                        "millennium): its last year, the `to` that goes "
                                        "with `value` as `from`."},
            "label": {"type": "string"},
            "count": {"type": "integer", "minimum": 0},
        },
    },
    "SearchResults": {
        "type": "object",
        "required": ["q", "searched_for", "total", "page", "pages", "per_page", "took_ms",
                     "hits", "facets", "suggestion", "partial_match_note", "messages",
                     "request"],
        "properties": {
            "q": {"type": "string"},
            "searched_for": {"type": "string",
                             "description": "The query as understood, after any repair."},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "pages": {"type": "integer", "minimum": 0},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "took_ms": {"type": "number", "minimum": 0},
            "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"},
                     "maxItems": MAX_PER_PAGE},
            "facets": {
                "type": "object",
                "required": ["tags", "tags_total", "dates"],
                "properties": {
                    "tags": {"type": "array",
                             "items": {"$ref": "#/components/schemas/TagCount"}},
                    "tags_total": {"type": "integer", "minimum": 0},
                    "dates": {
                        "type": "object",
                        "required": ["level", "buckets", "undated"],
                        "properties": {
                            "level": {"type": "string", "enum": ["millennium", "century", "decade",
                                                                "year", "month", "day"]},
                            "buckets": {"type": "array",
                                        "items": {"$ref": "#/components/schemas/DateBucket"}},
                            "undated": {"type": "integer", "minimum": 0},
                        },
                    },
                },
            },
            "suggestion": {**_NULLABLE_STRING, "description": "A \"did you mean\" query."},
            "showing_results_for": {**_NULLABLE_STRING,
                                    "description": "The corrected text the hits are for, "
                                                   "when a misspelling was corrected."},
            "search_instead_for": {**_NULLABLE_STRING,
                                   "description": "What was typed, when it was corrected "
                                                  "(search it with `verbatim=1`)."},
            "partial_match_note": _NULLABLE_STRING,
            "messages": {**_STRINGS,
                         "description": "What the reader should be told: dropped or clamped "
                                        "parameters, an unreadable query, no index yet."},
            "request": {"type": "string",
                        "description": "The canonical query string of this search."},
        },
    },
    "Article": {
        "type": "object",
        "required": ["id", "title", "title_html", "paragraphs", "date", "tags", "tag_labels",
                     "kind", "language", "url", "source"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "title_html": {"type": "string"},
            "paragraphs": {**_STRINGS, "description": "Sanitized HTML, one per paragraph."},
            "date": _DAY,
            "tags": _STRINGS,
            "tag_labels": _STRINGS,
            "kind": _NULLABLE_STRING,
            "language": _NULLABLE_STRING,
            "url": _NULLABLE_STRING,
            "source": {"type": "string", "description": (
                "The file the article came from: its source's name and its relative path.")},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "title", "message"],
                "properties": {
                    "status": {"type": "integer", "minimum": 400, "maximum": 599},
                    "title": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


def _json(ref: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the public API, as JSON-ready data.

    Server URLs are left relative ("/"), so the same document is right for
    whatever host and port the app is served on.
    """
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Archivist API",
            "version": API_VERSION,
            "description": "Search an archive of articles and read them, as JSON. The same "
                           "searches as the web page, with the same parameters.",
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/api/search": {
                "get": {
                    "operationId": "search",
                    "summary": "Search the archive",
                    "description": "Ranked, highlighted hits of one page, with tag and date "
                                   "facets. Never refuses a parameter: a value that cannot be "
                                   "used is dropped or clamped and explained in `messages`.",
                    "parameters": [*_SEARCH_PARAMETERS, *_API_ONLY],
                    "responses": {
                        "200": _json("SearchResults", "One page of results."),
                        "500": _json("Error", "The archive could not answer."),
                    },
                },
            },
            "/api/articles/{article_id}": {
                "get": {
                    "operationId": "getArticle",
                    "summary": "One whole article",
                    "parameters": [{
                        "name": "article_id", "in": "path", "required": True,
                        "description": "An id from a search hit.",
                        "schema": {"type": "string", "minLength": 1},
                    }],
                    "responses": {
                        "200": _json("Article", "The article."),
                        "404": _json("Error", "No article has this id (any more)."),
                        "500": _json("Error", "The archive could not answer."),
                    },
                },
            },
            "/api/articles/{article_id}/citation": {
                "get": {
                    "operationId": "getArticleCitation",
                    "summary": "One article's citation, for a reference manager",
                    "description": "The article as a RIS or BibTeX file (UTF-8), sent as an "
                                   "attachment named by its cite key (`doe2022harbour.bib`). "
                                   "An undated article has no year or date in it.",
                    "parameters": [
                        {"name": "article_id", "in": "path", "required": True,
                         "description": "An id from a search hit.",
                         "schema": {"type": "string", "minLength": 1}},
                        _query_param("format", {"type": "string", "enum": list(FORMATS)},
                                     "`ris` (EndNote, Zotero, Mendeley) or `bibtex` "
                                     "(LaTeX, biblatex).", required=True),
                    ],
                    "responses": {
                        "200": {
                            "description": "The citation file.",
                            "headers": {"Content-Disposition": {
                                "description": "`attachment` with a file name of ASCII "
                                               "letters and digits and the format's extension.",
                                "schema": {"type": "string"}}},
                            "content": {f.media_type: {"schema": {"type": "string"}}
                                        for f in FORMATS.values()},
                        },
                        "400": _json("Error", "`format` is missing or not one of the two."),
                        "404": _json("Error", "No article has this id (any more)."),
                        "500": _json("Error", "The archive could not answer."),
                    },
                },
            },
        },
        "components": {"schemas": _SCHEMAS},
    }
