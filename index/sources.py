"""Finding article files under the librarian's folders and decoding them.

`walk` lists the files an indexing run considers; `load` reads one file's
bytes, fingerprints them, and decodes them into a `SourceText` or says
exactly why it could not (`ReadError`). Parsing is not done here: that is
the format readers' job, so a file can be skipped as unchanged by its hash
before anyone spends time parsing it.

Each folder given to a run is a *source*, named after its folder
(`source_names`); a file's *key* is its source's name and its path relative
to the source folder (`news/2021/a.txt`, `source_key`). Article ids derive
from the key, never from the absolute path, so moving or re-mounting the
archive keeps every id. A file or folder under a source that is a symbolic
link leading outside the source folder is never read: it is listed with the
reason (`FoundFile.refused`), like any other file that could not be read.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from index import formats
from index.article import ReadError, SourceText
from index.formats import detect

#: Default largest file an indexing run reads (bytes).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024

#: Tried in order; the first that decodes the whole file wins.
ENCODINGS = ("utf-8", "cp1252")

#: Formats whose readers take the file's bytes (`SourceText.data`) instead of text.
BINARY_FORMATS = frozenset({"pdf"})


#: Why a file or folder reached through a symbolic link is not read.
OUTSIDE_SOURCE = "symbolic link to a place outside its source folder; not read"
#: The name of a source whose folder has no name (the file system's root).
UNNAMED_SOURCE = "root"


@dataclass(frozen=True)
class FoundFile:
    """A candidate file: its path and the format that will read it.

    `key` is the file's place in its source (`source_key`), `root` the
    source folder it was found under (a file given directly: itself), and
    `refused` the reason it must not be read at all (a symbolic link leading
    outside `root`); files not found by `walk` have none of the three.
    """

    path: str
    format: str | None
    key: str = ""
    root: str = ""
    refused: str | None = None


@dataclass(frozen=True)
class LoadedFile:
    """A file's bytes, read once: their hash, and the decoded text or the error."""

    path: str
    format: str
    sha: str
    text: SourceText | None
    error: ReadError | None


def source_names(roots: Iterable[str]) -> dict[str, str]:
    """The name of each source in `roots` (resolved paths): its folder's name.

    A file given as a root belongs to the folder that holds it. Folders that
    share a name are told apart by as many of their parent folders as it
    takes (`2021/news`, `2022/news`); the names depend on the roots' paths
    alone, so moving or re-mounting the whole archive keeps them.
    """
    folders = {r: (os.path.dirname(r) if os.path.isfile(r) else r) for r in roots}
    groups: dict[str, set[str]] = {}
    for folder in folders.values():
        groups.setdefault(_tail(folder, 1), set()).add(folder)
    named: dict[str, str] = {}
    for members in groups.values():
        depth = 1
        while len({_tail(m, depth) for m in members}) < len(members):
            depth += 1
        named.update((m, _tail(m, depth)) for m in members)
    return {r: named[folder] for r, folder in folders.items()}


def _tail(folder: str, depth: int) -> str:
    parts = [p for p in folder.split(os.sep) if p]
    return "/".join(parts[-depth:]) or UNNAMED_SOURCE


def source_key(path: str, names: Mapping[str, str]) -> str | None:
    """`path`'s place in its source: `name/relative/path`, or None outside every source.

    `names` maps source roots to their names (`source_names`). Under
    nested roots the outermost one counts, so a file has one key whichever
    root an indexing run reached it through.
    """
    best: tuple[str, str] | None = None
    for root, name in names.items():
        folder = root.rstrip(os.sep)
        if path == root:  # a file given as a root: named in its folder
            relative = os.path.basename(path)
        elif path.startswith(folder + os.sep):
            relative = path[len(folder) + 1:]
        else:
            continue
        if best is None or len(root) < len(best[0]):
            best = (root, f"{name}/{relative.replace(os.sep, '/')}")
    return best[1] if best is not None else None


def is_inside(path: str, root: str) -> bool:
    """Whether `path`, once every symbolic link in it is resolved, is `root` or under it."""
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def walk(roots: Iterable[Path], names: Mapping[str, str] | None = None) -> Iterator[FoundFile]:
    """Every file under `roots` (files given directly are taken as they are).

    Hidden files and folders (names starting with ".") are skipped, so are
    editor back-ups. Files of unknown type come out with `format=None`, so the
    caller can report them as skipped rather than silently ignore them.
    Roots are resolved; each path is yielded once, in sorted order, with its
    key (`source_key` under `names`, by default the names of `roots`).

    A symbolic link (to a file or a folder) that leads outside its root comes
    out with `refused` set and is never opened. Links to folders are not
    descended (what they lead to inside the root is walked where it is);
    links to files inside the root are read like files.
    """
    resolved = [str(Path(r).resolve()) for r in roots]
    if names is None:
        names = source_names(r for r in resolved if os.path.exists(r))
    seen: set[str] = set()
    for root in resolved:
        candidates: list[tuple[str, str | None]] = []
        if os.path.isfile(root):
            candidates.append((root, None))
        else:
            for dirpath, dirnames, filenames in os.walk(root):
                kept = []
                for d in sorted(d for d in dirnames if not d.startswith(".")):
                    linked = os.path.join(dirpath, d)
                    if not os.path.islink(linked):
                        kept.append(d)
                    elif not is_inside(linked, root):
                        candidates.append((linked, OUTSIDE_SOURCE))
                dirnames[:] = kept
                for f in sorted(filenames):
                    if f.startswith(".") or f.endswith("~"):
                        continue
                    path = os.path.join(dirpath, f)
                    outside = os.path.islink(path) and not is_inside(path, root)
                    candidates.append((path, OUTSIDE_SOURCE if outside else None))
        for path, refused in candidates:
            if path in seen:
                continue
            seen.add(path)
            yield FoundFile(path, None if refused else _detect(path),
                            source_key(path, names) or "", root, refused)


def _detect(path: str) -> str | None:
    fmt = detect(path)
    if fmt is None and not os.path.splitext(path)[1]:
        try:
            with open(path, "rb") as f:
                fmt = detect(str(path), f.read(256))
        except OSError:
            return None
    return fmt


def file_hash(data: bytes, place: str = "") -> str:
    """Fingerprint of a file's bytes *as this version of the readers sees them*.

    Keyed with `READERS_VERSION`, so upgraded readers count every file as
    changed once and the index catches up without a manual rebuild; `place`
    is the file's key (`source_key`), so a file whose key changed (its
    source was renamed) is read again and its articles get their new ids.
    """
    key = f"archivist-readers-{formats.READERS_VERSION}".encode()
    h = hashlib.blake2b(data, digest_size=16, key=key)
    if place:
        h.update(b"\x00" + place.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def load(found: FoundFile, max_bytes: int = DEFAULT_MAX_BYTES,
         known_sha: str | None = None) -> LoadedFile:
    """Read, fingerprint and decode one file; never raises for bad content.

    A file whose fingerprint equals `known_sha` (it is indexed as it is)
    comes back with neither text nor error: it is not checked or decoded.

    A file of a binary format (`BINARY_FORMATS`) is not decoded: its bytes
    go to the reader in `SourceText.data`, with empty `text`.
    """
    path, fmt = found.path, found.format or "pagedump"

    def fail(reason: str, sha: str = "") -> LoadedFile:
        return LoadedFile(path, fmt, sha, None, ReadError(path, reason))

    if found.refused:
        return fail(found.refused)
    try:
        nofollow = getattr(os, "O_NOFOLLOW", 0) if found.root else 0
        flags = os.O_RDONLY | nofollow
        fd = -1
        if nofollow:
            try:
                # A plain file opens at once; a symbolic link is refused (ELOOP).
                fd = os.open(path, flags)
            except OSError as e:
                if e.errno != errno.ELOOP:
                    raise
        if fd < 0:
            target = path
            if found.root and os.path.islink(path):
                # Checked again when read, and the file it leads to opened without
                # following links, so a link swapped in since the walk is not followed.
                target = os.path.realpath(path)
                if not is_inside(target, found.root):
                    return fail(OUTSIDE_SOURCE)
            fd = os.open(target, flags)
        with open(fd, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_bytes:
                return fail(f"file too large: {size:,} bytes (limit {max_bytes:,})")
            # Asking for the limit would allocate that much for every file;
            # the rest is read only if the file grew since it was measured.
            data = f.read(size + 1)
            if len(data) > size:
                data += f.read(max_bytes + 1 - len(data))
    except OSError as e:
        return fail(f"cannot read file: {e.strerror or e}")
    sha = file_hash(data, found.key)
    if known_sha is not None and sha == known_sha:
        # Indexed as it is: nothing more to check or decode (no text, no error).
        return LoadedFile(path, fmt, sha, None, None)
    if not data.strip():
        return fail("empty file", sha)
    if fmt in BINARY_FORMATS:
        # Its reader takes the bytes as they are and judges them itself.
        return LoadedFile(path, fmt, sha, SourceText(path, "", "binary", found.key, data=data),
                          None)
    if _looks_binary(data):
        return fail("not a text file (binary content)", sha)
    text, encoding = _decode(data)
    if text is None:
        return fail("cannot decode text: neither UTF-8 nor cp1252", sha)
    return LoadedFile(path, fmt, sha, SourceText(path, text, encoding, found.key), None)


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
