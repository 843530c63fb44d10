"""Finding article files under the librarian's folders and decoding them.

`walk` lists the files an indexing run considers; `load` reads one file's
bytes, fingerprints them, and decodes them into a `SourceText` or says
exactly why it could not (`ReadError`). Parsing is not done here: that is
the format readers' job, so a file can be skipped as unchanged by its hash
before anyone spends time parsing it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from index import formats
from index.article import ReadError, SourceText
from index.formats import detect

#: Default largest file an indexing run reads (bytes).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024

#: Tried in order; the first that decodes the whole file wins.
ENCODINGS = ("utf-8", "cp1252")


@dataclass(frozen=True)
class FoundFile:
    """A candidate file: its resolved path and the format that will read it."""

    path: str
    format: str | None


@dataclass(frozen=True)
class LoadedFile:
    """A file's bytes, read once: their hash, and the decoded text or the error."""

    path: str
    format: str
    sha: str
    text: SourceText | None
    error: ReadError | None


def walk(roots: Iterable[Path]) -> Iterator[FoundFile]:
    """Every file under `roots` (files given directly are taken as they are).

    Hidden files and folders (names starting with ".") are skipped, so are
    editor back-ups. Files of unknown type come out with `format=None`, so the
    caller can report them as skipped rather than silently ignore them.
    Paths are resolved and each is yielded once, in sorted order.
    """
    seen: set[str] = set()
    for root in roots:
        root = Path(root).resolve()
        if root.is_file():
            candidates = [root]
        else:
            candidates = []
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                candidates.extend(
                    Path(dirpath) / f
                    for f in sorted(filenames)
                    if not f.startswith(".") and not f.endswith("~")
                )
        for path in candidates:
            key = str(path)
            if key in seen:
                continue
            seen.add(key)
            yield FoundFile(key, _detect(path))


def _detect(path: Path) -> str | None:
    fmt = detect(str(path))
    if fmt is None and not path.suffix:
        try:
            with open(path, "rb") as f:
                fmt = detect(str(path), f.read(256))
        except OSError:
            return None
    return fmt


def file_hash(data: bytes) -> str:
    """Fingerprint of a file's bytes *as this version of the readers sees them*.

    Keyed with `READERS_VERSION`, so upgraded readers count every file as
    changed once and the index catches up without a manual rebuild.
    """
    key = f"archivist-readers-{formats.READERS_VERSION}".encode()
    return hashlib.blake2b(data, digest_size=16, key=key).hexdigest()


def load(found: FoundFile, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedFile:
    """Read, fingerprint and decode one file; never raises for bad content."""
    path, fmt = found.path, found.format or "pagedump"

    def fail(reason: str, sha: str = "") -> LoadedFile:
        return LoadedFile(path, fmt, sha, None, ReadError(path, reason))

    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            return fail(f"file too large: {size:,} bytes (limit {max_bytes:,})")
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        return fail(f"cannot read file: {e.strerror or e}")
    sha = file_hash(data)
    if not data.strip():
        return fail("empty file", sha)
    if _looks_binary(data):
        return fail("not a text file (binary content)", sha)
    text, encoding = _decode(data)
    if text is None:
        return fail("cannot decode text: neither UTF-8 nor cp1252", sha)
    return LoadedFile(path, fmt, sha, SourceText(path, text, encoding), None)


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return controls > len(head) // 20


def _decode(data: bytes) -> tuple[str | None, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return None, ""
