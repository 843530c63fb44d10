"""The read side's seam: what the web app, the CLI and the console ask of an
engine, in plain values.

Any engine that answers these methods can serve readers: the embedded
Whoosh engine (`search.embedded.engine.Engine`) today. Everything crossing the seam
is a dataclass of `search.results`, `search.autocomplete` or this module;
no engine object, no HTML but the sanitized `Markup` those dataclasses
carry, and no server path.

The answer cache (`search.cache.CachedEngine`) wraps any engine: it keys
answers by the engine's `version()` token, so an engine only has to say
when what it would answer may have changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable

from search.autocomplete import Completion
from search.request import SearchRequest
from search.results import ArticleView, FacetValue, Hit, SearchResults


@dataclass(frozen=True)
class ArchiveStats:
    """Figures about the whole archive (not about one search).

    `message` says why there is nothing to count (no index yet), else None.
    """

    articles: int = 0
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    distinct_tags: int = 0
    undated: int = 0
    #: When the index last changed, ISO 8601 in local time (None when unknown).
    last_update: str | None = None
    message: str | None = None

    def to_json(self) -> dict:
        """JSON-ready, dates as ISO strings."""
        out = asdict(self)
        for key in ("first_date", "last_date"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out


@runtime_checkable
class ReadEngine(Protocol):
    """What readers' code may ask of an engine. No method raises for
    anything a reader typed; an engine with nothing indexed answers with
    nothing found (and says so in `SearchResults.messages`)."""

    #: Whether `run(..., explain=True)` can say "why this result"; an engine
    #: that cannot says so in its messages when asked, so the page (which
    #: would ask on every search) only asks an engine that can.
    explains: bool

    def version(self) -> str | None:
        """A token that changes whenever the answers may change (a new index
        generation, a commit); None when nothing is indexed."""

    def run(self, request: SearchRequest, *, snippets: bool = True,
            explain: bool = False) -> SearchResults:
        """The answer to one search; `snippets=False` leaves out passages and
        marks, `explain=True` adds "why this result" to each hit."""

    def get(self, article_id: str, q: str | None = None) -> ArticleView | None:
        """One whole article, `q`'s words marked; None for an unknown id."""

    def more_like(self, article_id: str, n: int = 5) -> list[Hit]:
        """Up to `n` articles most like `article_id`."""

    def tag_values(self, prefix: str = "", limit: int = 20,
                   request: SearchRequest | None = None) -> list[FacetValue]:
        """Tags whose label starts with `prefix` (or has a word that does),
        with counts within `request`'s results when given."""

    def complete(self, text: str, limit: int = 8) -> list[Completion]:
        """Up to `limit` ways to finish what a reader is typing."""

    def stats(self) -> ArchiveStats:
        """Figures about the whole archive."""

    def close(self) -> None:
        """Let go of what the engine holds open (one-shot users call it)."""
