"""The plain data that crosses from the format readers to the indexer.

Every reader (page dumps, HTML pages, JSON Lines) turns a source file into
`Article` values or `ReadError` values. Nothing here knows about Whoosh, files
on disk or the web: these are the nouns the rest of the librarians' side
speaks in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Tag:
    """One tag of an article.

    `key` is the case-folded, trimmed form that facets count and filters
    match; `label` is the spelling the source used, kept for display.
    """

    key: str
    label: str


@dataclass(frozen=True)
class Article:
    """One article, as every reader produces it.

    `id` is stable across re-indexing and across moving the archive (derived
    from the file's place in its source, `SourceText.identity`, or the
    record's own `id` in a JSON Lines export). `source` is the file's
    absolute path: the librarians' side needs it, readers never see it.
    `date` is None for an undated article: the indexer never invents one.
    `content_hash` fingerprints the fields that are indexed, so a changed
    article can be told from an unchanged one without comparing text.
    """

    id: str
    source: str
    title: str
    body: str
    date: dt.date | None = None
    tags: tuple[Tag, ...] = ()
    kind: str | None = None
    language: str | None = None
    url: str | None = None
    #: The publication the source names in a byline lead ("Eastbrook Policy Review").
    publication: str | None = None
    author: str | None = None
    #: For paged sources (PDF): the character offset in `body` where each page
    #: starts, first page first (so `pages[0] == 0`); empty for unpaged text.
    pages: tuple[int, ...] = ()
    content_hash: str = field(default="")

    def __post_init__(self) -> None:
        if not self.content_hash:
            object.__setattr__(self, "content_hash", self.fingerprint())

    def fingerprint(self) -> str:
        """A hash of everything the index stores about this article."""
        h = hashlib.blake2b(digest_size=16)
        for part in (
            self.id,
            self.title,
            self.body,
            self.date.isoformat() if self.date else "",
            "\x1f".join(t.label for t in self.tags),
            self.kind or "",
            self.language or "",
            self.url or "",
            self.publication or "",
            self.author or "",
            ",".join(map(str, self.pages)),
        ):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\x1e")
        return h.hexdigest()


@dataclass(frozen=True)
class ReadError:
    """Why one file (or one line of a JSON Lines file) could not be read.

    `line` is set only when the failure belongs to a single record of a
    multi-record file; the rest of that file is still indexed.
    """

    source: str
    reason: str
    line: int | None = None

    def where(self) -> str:
        """The path, with the line number when there is one."""
        return f"{self.source}:{self.line}" if self.line is not None else self.source


@dataclass(frozen=True)
class SourceText:
    """A file's text after decoding, handed to a format reader.

    `encoding` says which codec worked (`utf-8`, or the fallback); a reader
    may pass it on as a warning, never as a failure. `key` is the file's
    place in its source: the source's name and the path relative to the
    source folder (`news/2021/a.txt`, see `index.sources.source_key`). Ids
    derive from it, never from `path`, so they survive moving the archive.
    A text read from no source folder (a test, a preview) has no key, and
    its path stands in.
    """

    path: str
    text: str
    encoding: str = "utf-8"
    key: str = ""
    #: The file's bytes, for binary formats (PDF) whose `text` is empty.
    data: bytes = b""

    @property
    def identity(self) -> str:
        """What a derived article id is made from: the key, else the path."""
        return self.key or self.path


def stable_id(*parts: str) -> str:
    """A short, URL-safe id derived deterministically from `parts`."""
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


@dataclass(frozen=True)
class StoredArticle:
    """What an index stores of an article, decoded (the embedded engine's
    `index.embedded.document.from_stored`, or the Typesense engine's).

    `source` is the absolute path of its file (the librarians' side keeps
    it; readers are shown `search.places`'s form); `tags` pair each key
    with the label the source spelled.
    """

    id: str
    title: str
    body: str
    date: dt.date | None
    tags: tuple[Tag, ...]
    kind: str | None
    language: str | None
    url: str | None
    publication: str | None
    author: str | None
    pages: tuple[int, ...]
    source: str
