"""Format readers: one module per kind of article file, one shared contract.

Each reader module exposes::

    def read(source: SourceText) -> Iterator[Article | ReadError]

A page dump, an HTML page or a PDF yields one `Article` or one `ReadError`; a
JSON Lines export yields one value per non-blank line, so a bad line fails
alone. PDF is the one binary format: its reader gets the file's bytes in
`SourceText.data`, not decoded text.
Readers never raise for bad input: a reason in a `ReadError` is the answer.

`detect` chooses the reader from the file name, and from the first bytes when
the extension says nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from index.article import Article, ReadError, SourceText

Reader = Callable[[SourceText], Iterator[Article | ReadError]]

#: Bump whenever a reader's output changes for the same input (a better chrome
#: cut, a new date form): it is folded into every file's fingerprint, so the
#: next incremental run re-reads files whose bytes did not change.
READERS_VERSION = 3

#: Extensions Archivist reads, mapped to the format that reads them.
EXTENSIONS: dict[str, str] = {
    ".txt": "pagedump",
    ".text": "pagedump",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".pdf": "pdf",
}


def detect(path: str, head: bytes = b"") -> str | None:
    """Name the format of `path` ("pagedump", "html", "jsonl", "pdf"), or None.

    The extension decides; files without a known extension are sniffed from
    `head` (their first bytes), and anything else is not an article file.
    """
    ext = os.path.splitext(path)[1].lower()
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    if ext:
        return None
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:64].lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    if start.startswith(b"{"):
        return "jsonl"
    if start.startswith(b"%pdf-"):
        return "pdf"
    return None


def reader_for(fmt: str) -> Reader:
    """The `read` function of the named format."""
    if fmt == "pagedump":
        from index.formats import pagedump

        return pagedump.read
    if fmt == "html":
        from index.formats import html

        return html.read
    if fmt == "jsonl":
        from index.formats import jsonl

        return jsonl.read
    if fmt == "pdf":
        from index.formats import pdf

        return pdf.read
    raise ValueError(f"unknown format {fmt!r}")
