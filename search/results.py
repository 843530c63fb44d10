"""The plain values a search answers with.

These dataclasses are all that leaves `search/`: a web view, the CLI or a
test reads them without knowing a search engine exists. Every piece of HTML
in them (`title_html`, `snippets`, article paragraphs) is a
`markupsafe.Markup` made by `search.snippets`, the one function allowed to
produce HTML; everything else is plain text for the template to escape.

Nothing here talks to Whoosh or to the index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from markupsafe import Markup

from search.request import SearchRequest


@dataclass(frozen=True)
class HitTag:
    """One tag of a hit: `key` is what filters use, `label` what readers see."""

    key: str
    label: str


def number(value: float, decimals: int = 4) -> str:
    """An explanation's value as printed: `decimals` decimals, or 4
    significant digits once it is a million or more (a Typesense text match
    is a packed number of 19 digits)."""
    return f"{value:.4g}" if abs(value) >= 1e6 else f"{value:.{decimals}f}"


@dataclass
class Explanation:
    """One part of a hit's score: what it is, what it adds, and its own parts.

    A node's `value` is the sum of its parts' values, except where its label
    says it multiplies (recency) or scales (the mix with meaning).
    """

    label: str
    value: float
    parts: list[Explanation] = field(default_factory=list)

    def to_json(self) -> dict:
        """As nested JSON: label, value (rounded to 6 places), parts."""
        out: dict = {"label": self.label, "value": round(self.value, 6)}
        if self.parts:
            out["parts"] = [p.to_json() for p in self.parts]
        return out

    def lines(self, indent: int = 0) -> list[str]:
        """As indented text lines (the CLI's `--explain`)."""
        out = [f"{'  ' * indent}{number(self.value):>10}  {self.label}"]
        for p in self.parts:
            out.extend(p.lines(indent + 1))
        return out


@dataclass
class Hit:
    """One article in a result list."""

    id: str
    title: str
    title_html: Markup
    date: dt.date | None
    tags: list[HitTag]
    kind: str | None
    #: The article's file as readers see it: its source's name and the path
    #: relative to the source folder (`search.places`), never a server path.
    source: str
    url: str | None
    snippets: list[Markup]
    score: float | None = None
    #: "Why this result", when asked for (`Engine.run(..., explain=True)`).
    explanation: Explanation | None = None
    #: ISO 639-1 code of the article's language, when known.
    language: str | None = None
    publication: str | None = None
    author: str | None = None
    #: For paged sources: the page (1-based) each snippet comes from.
    snippet_pages: list[int] = field(default_factory=list)

    def to_json(self) -> dict:
        """The hit in the JSON contract's shape (plus `tag_labels`, `url`, `score`)."""
        return {
            "id": self.id,
            "title": self.title,
            "title_html": str(self.title_html),
            "date": self.date.isoformat() if self.date else None,
            "tags": [t.key for t in self.tags],
            "tag_labels": [t.label for t in self.tags],
            "kind": self.kind,
            "language": self.language,
            "publication": self.publication,
            "author": self.author,
            "source": self.source,
            "url": self.url,
            "snippets": [str(s) for s in self.snippets],
            **({"snippet_pages": list(self.snippet_pages)} if self.snippet_pages else {}),
            "score": self.score,
            **({"explanation": self.explanation.to_json()} if self.explanation else {}),
        }


@dataclass
class FacetValue:
    """One tag in the tag facet.

    `count` is the number of results the reader would get by adding this tag
    to the current request (for a selected tag: the current total).
    """

    value: str
    label: str
    count: int
    selected: bool = False


@dataclass
class TagFacet:
    """The top tags for the current results, and how many distinct tags they have."""

    values: list[FacetValue] = field(default_factory=list)
    total_distinct: int = 0


@dataclass
class DateBucket:
    """One bar of a date histogram: a year, a month, a day, or a decade
    (century, millennium) when the years are too many to show one by one.

    `value` is how the period is written in a request (`2022`, `2022-05`,
    `2022-05-28`); for a group of years `value_to` is its last year, and
    `request.with_dates(*b.bounds)` narrows to the bucket either way.
    `start` and `end` are its first and last day.
    """

    value: str
    label: str
    count: int
    start: dt.date
    end: dt.date
    value_to: str = ""

    @property
    def bounds(self) -> tuple[str, str]:
        """The `from` and `to` of a request narrowed to this bucket."""
        return self.value, self.value_to or self.value


@dataclass
class DateFacet:
    """A date histogram at one level, plus the undated matches.

    `undated` counts the undated articles matching the search text and tag
    filters: what `undated=only` would show.
    """

    #: "day", "month", "year", "decade", "century" or "millennium".
    level: str = "year"
    buckets: list[DateBucket] = field(default_factory=list)
    undated: int = 0


@dataclass
class SearchResults:
    """The answer to one `SearchRequest`.

    `searched_for` is the query as the engine understood it (after any
    forgiving fallback), `partial_match_note` is set when no article had all
    the words and the hits have most of them, `messages` carries everything
    the reader should be told (bad parameters, an unreadable query, an index
    not built yet).
    """

    request: SearchRequest
    total: int = 0
    page: int = 1
    pages: int = 0
    searched_for: str = ""
    took_ms: float = 0.0
    hits: list[Hit] = field(default_factory=list)
    tag_facet: TagFacet = field(default_factory=TagFacet)
    date_facet: DateFacet = field(default_factory=DateFacet)
    #: Kinds and languages of the results, counted without their own filter.
    kind_facet: TagFacet = field(default_factory=TagFacet)
    language_facet: TagFacet = field(default_factory=TagFacet)
    suggestion: str | None = None
    partial_match_note: str | None = None
    messages: list[str] = field(default_factory=list)
    #: Set when the text found little and a spelling correction found more:
    #: the results are for `corrected`, and `corrected_from` is what was typed.
    corrected: str | None = None
    corrected_from: str | None = None
    #: Display labels of the tags the request requires or excludes (an
    #: excluded tag is in no facet, yet its chip shows its label).
    filter_labels: dict[str, str] = field(default_factory=dict)
    #: True when the engine answered from its cache of recent answers.
    from_cache: bool = False
    #: The date of the archive's newest dated article (not of these results),
    #: so date shortcuts can count back from it; None when nothing is dated.
    newest_date: dt.date | None = None

    @property
    def first(self) -> int:
        """1-based position of the first hit on this page (0 when none)."""
        return (self.page - 1) * self.request.per_page + 1 if self.hits else 0

    @property
    def last(self) -> int:
        """1-based position of the last hit on this page (0 when none)."""
        return self.first + len(self.hits) - 1 if self.hits else 0

    def to_json(self) -> dict:
        """The results in the documented JSON contract shape (with extra keys)."""
        return {
            "q": self.request.q,
            "searched_for": self.searched_for,
            "total": self.total,
            "page": self.page,
            "pages": self.pages,
            "per_page": self.request.per_page,
            "took_ms": round(self.took_ms, 3),
            "hits": [h.to_json() for h in self.hits],
            "facets": {
                "tags": [
                    {"value": v.value, "label": v.label, "count": v.count,
                     "selected": v.selected}
                    for v in self.tag_facet.values
                ],
                "tags_total": self.tag_facet.total_distinct,
                "kinds": _choices(self.kind_facet),
                "languages": _choices(self.language_facet),
                "dates": {
                    "level": self.date_facet.level,
                    "buckets": [
                        {"value": b.value, "label": b.label, "count": b.count,
                         **({"value_to": b.value_to} if b.value_to else {})}
                        for b in self.date_facet.buckets
                    ],
                    "undated": self.date_facet.undated,
                },
            },
            "suggestion": self.suggestion,
            "showing_results_for": self.corrected,
            "search_instead_for": self.corrected_from,
            "partial_match_note": self.partial_match_note,
            "messages": list(self.messages),
            "request": self.request.to_query_string(),
        }


@dataclass
class ArticleView:
    """One whole article for its own page.

    `paragraphs` are the body's paragraphs as sanitized markup, with the
    terms of the reader's query (if any) marked.
    """

    id: str
    title: str
    title_html: Markup
    paragraphs: list[Markup]
    date: dt.date | None
    tags: list[HitTag]
    kind: str | None
    language: str | None
    url: str | None
    #: As `Hit.source`: the source's name and the relative path, never a server path.
    source: str
    publication: str | None = None
    author: str | None = None
    #: For paged sources: the page (1-based) each paragraph starts on.
    paragraph_pages: list[int] = field(default_factory=list)

    def to_json(self) -> dict:
        """A JSON-ready dict of the article."""
        return {
            "id": self.id,
            "title": self.title,
            "title_html": str(self.title_html),
            "paragraphs": [str(p) for p in self.paragraphs],
            "date": self.date.isoformat() if self.date else None,
            "tags": [t.key for t in self.tags],
            "tag_labels": [t.label for t in self.tags],
            "kind": self.kind,
            "language": self.language,
            "url": self.url,
            "source": self.source,
            "publication": self.publication,
            "author": self.author,
            **({"paragraph_pages": list(self.paragraph_pages)} if self.paragraph_pages else {}),
        }


def _choices(facet: TagFacet) -> list[dict]:
    return [{"value": v.value, "label": v.label, "count": v.count, "selected": v.selected}
            for v in facet.values]
