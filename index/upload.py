"""Taking files a librarian uploads and putting them safely into a source folder.

An upload is one or many article files (`.txt`, `.html`, `.jsonl`, ...) or
zip archives of them. `prepare` reads them under limits (total bytes,
number of files, bytes per file), unpacks the zips, and gives every file a
safe relative name; whatever it cannot accept is listed in `refused` with a
reason a librarian can act on, and an upload that breaks a whole-upload
limit raises `UploadRefused`. `dry_run` tells what indexing the files would
change, without writing anything, by asking the engine the articles go to
(the embedded index, or a cluster's state by source key); `save` writes
them into the folder.

The rules that keep a hostile upload harmless:

- Names are cleaned component by component (werkzeug's `secure_filename`
  for ASCII names, an equivalent that keeps letters of other scripts for
  the rest); a name with a `..` part or an absolute path, in a form field or
  in a zip entry (a "zip slip"), is refused outright rather than repaired.
- Every destination is resolved and must lie inside the chosen folder, so a
  symbolic link in the folder cannot lead a write elsewhere; an existing
  link or non-file at the destination is never written through.
- Every entry of the upload (each form file, each zip member, refused
  ones too) is charged against the limits: a cap on entries, and a cap on
  bytes once unpacked that counts each member's declared size before it is
  opened and its actual bytes while it is read, stopping at the cap. A
  zip's table of contents is sized up before it is parsed, so a zip of a
  million entries costs nothing to refuse.
- A zip member's name is judged (path, extension, duplicates, links,
  encryption, nested zips, declared size) before a byte of it is
  decompressed; a refused member is never inflated.
- A zip whose members' data overlap in the archive (one compressed kernel
  shared by many entries, the "overlapping zip bomb") is refused whole.
- A file is parsed by its format's reader before it is accepted: one that
  is empty, binary, a title without a body, or that the reader rejects in
  any other way is refused with the reader's reason and never saved.
- The list of refused files is bounded (`MAX_REFUSED_LISTED`, then a count).
- A file is written under a hidden temporary name and renamed into place,
  so an indexing run never reads half a file.

Between the dry run and the go-ahead the files wait in a staging folder
(`stage` / `load_stage`). The way back out is `remove`: one article file of
a source folder, named relative to it, deleted without following a link on
the way (so nothing outside the folder can be reached). This module never
indexes anything itself; the next run over the folder drops what changed.
"""

from __future__ import annotations

import io
import lzma
import os
import re
import secrets
import shutil
import stat
import struct
import tempfile
import time
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from werkzeug.utils import secure_filename

from index.article import ReadError, SourceText
from index.embedded.contents import Lookup
from index.embedded.engine import WhooshWriteEngine
from index.folder import read_json, write_json
from index.formats import EXTENSIONS, detect, reader_for
from index.protocol import IndexedState, WriteEngine
from index.sources import DEFAULT_MAX_BYTES, FoundFile, file_hash, load, source_key, source_names
from index.writer import count_change, source_names_for

ZIP_SUFFIX = ".zip"
#: Refused files listed one by one; beyond this they are only counted.
MAX_REFUSED_LISTED = 50
#: Bytes of a zip's table of contents allowed per entry the limits allow
#: (46 fixed bytes, the name, extra fields; far more than real archives use).
_TOC_BYTES_PER_ENTRY = 1024
#: Bytes decompressed at a time while a zip member is read.
_CHUNK = 64 * 1024
#: Longest file name kept (characters); longer stems are cut.
MAX_NAME_CHARS = 150
#: Deepest folder nesting kept from a zip.
MAX_DEPTH = 8
#: Names Windows reserves; refused as they are, wherever the archive is served from.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
             *(f"lpt{i}" for i in range(1, 10))}
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_MANIFEST = "manifest.json"


class UploadRefused(Exception):
    """The upload as a whole breaks a limit; the message says which and by how much."""


@dataclass(frozen=True)
class UploadLimits:
    """How much one upload may bring."""

    #: Bytes of all entries once unpacked (declared sizes, and actual bytes as read).
    max_bytes: int = 50 * 1024 * 1024
    #: Article files (entries with an article file's name that are read).
    max_files: int = 500
    max_file_bytes: int = DEFAULT_MAX_BYTES
    #: Entries of every kind: form files and zip members, refused ones included.
    max_entries: int = 2000


@dataclass(frozen=True)
class UploadedFile:
    """One accepted file: its safe relative name (with "/" between folders) and bytes."""

    name: str
    data: bytes
    #: Where it came from, as the librarian named it ("batch.zip: 2022/a.txt").
    origin: str


@dataclass(frozen=True)
class Refused:
    """A file of the upload that was not accepted, and why."""

    name: str
    reason: str


@dataclass
class Prepared:
    """The accepted files of an upload and the refused ones."""

    files: list[UploadedFile] = field(default_factory=list)
    #: The first `MAX_REFUSED_LISTED` refused files, with their reasons.
    refused: list[Refused] = field(default_factory=list)
    #: Refused files beyond those listed.
    refused_more: int = 0

    @property
    def total_bytes(self) -> int:
        return sum(len(f.data) for f in self.files)

    def refuse(self, name: str, reason: str) -> None:
        """Note a refused file; past `MAX_REFUSED_LISTED` it is only counted."""
        if len(self.refused) < MAX_REFUSED_LISTED:
            self.refused.append(Refused(name, reason))
        else:
            self.refused_more += 1


@dataclass
class FilePlan:
    """What indexing one uploaded file would do."""

    name: str
    dest: str
    #: "new", "replace" (a different file of that name is there) or "same".
    action: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass
class DryRun:
    """What indexing an upload would change, file by file, with totals."""

    folder: str
    files: list[FilePlan] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    #: Refused files of the upload beyond those listed in `refused`.
    refused_more: int = 0

    def total(self, what: str) -> int:
        if what == "failed":
            return sum(len(f.failures) for f in self.files)
        return sum(getattr(f, what) for f in self.files)


@dataclass
class Saved:
    """The files written into the folder, and those refused at the last step."""

    paths: list[str] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


def allowed_suffixes() -> list[str]:
    """The file name endings an upload may have (article formats, and .zip)."""
    return sorted(EXTENSIONS) + [ZIP_SUFFIX]


# -- reading the upload ------------------------------------------------------------


def prepare(items: Iterable[tuple[str, BinaryIO | bytes]],
            limits: UploadLimits = UploadLimits()) -> Prepared:
    """Read `(filename, stream or bytes)` pairs into accepted and refused files.

    Raises `UploadRefused` when the upload holds more entries, more article
    files, or more bytes (counted after unzipping, refused entries included)
    than `limits` allow. Every accepted file was read by its format's reader
    without a complaint.
    """
    out = Prepared()
    budget = _Budget(limits)
    with tempfile.TemporaryDirectory(prefix="archivist-upload-") as scratch:
        taker = _Taker(out, budget, Path(scratch))
        for raw_name, content in items:
            shown = raw_name or "(no name)"
            budget.entries_seen(1)
            parts, problem = _clean_path(raw_name or "", keep_folders=False)
            if problem:
                out.refuse(shown, problem)
                continue
            if not parts:
                out.refuse(shown, "a hidden or system file; left out")
                continue
            name = "/".join(parts)
            if name.lower().endswith(ZIP_SUFFIX):
                data = _read_capped(content, limits.max_bytes)
                if len(data) > limits.max_bytes:
                    out.refuse(shown, f"larger than {_size(limits.max_bytes)}, the limit for "
                                      "one upload")
                    continue
                _unzip(shown, data, taker)
                continue
            problem = taker.name_problem(name)
            if problem:
                out.refuse(shown, problem)
                continue
            taker.reserve(name, shown)
            data = _read_capped(content, limits.max_file_bytes)
            budget.charge(len(data))
            if len(data) > limits.max_file_bytes:
                out.refuse(shown, f"larger than {_size(limits.max_file_bytes)}, the limit for "
                                  "one file")
                continue
            taker.take(name, data, shown)
    if not out.files and not out.refused and not out.refused_more:
        raise UploadRefused("The upload holds no files. Choose one or more files to upload.")
    return out


@dataclass
class _Budget:
    """What the upload has cost so far; raises `UploadRefused` at the first limit crossed."""

    limits: UploadLimits
    entries: int = 0
    files: int = 0
    bytes: int = 0

    def entries_seen(self, n: int) -> None:
        self.entries += n
        if self.entries > self.limits.max_entries:
            raise UploadRefused(
                f"The upload holds more than {self.limits.max_entries:,} entries (files and "
                "folders, zipped ones included; the limit per upload). Split it into smaller "
                "uploads."
            )

    def file(self) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise UploadRefused(
                f"The upload holds more than {self.limits.max_files:,} files (the limit per "
                "upload). Split it into smaller uploads."
            )

    def charge(self, size: int) -> None:
        self.bytes += max(size, 0)
        if self.bytes > self.limits.max_bytes:
            raise UploadRefused(
                f"The upload holds more than {_size(self.limits.max_bytes)} of files once "
                "unpacked (the limit per upload). Split it into smaller uploads."
            )


@dataclass
class _Taker:
    """Judges names and takes files in: duplicates, article file types, readability."""

    out: Prepared
    budget: _Budget
    scratch: Path
    #: Casefolded names taken so far -> where the file came from.
    seen: dict[str, str] = field(default_factory=dict)

    def name_problem(self, name: str) -> str | None:
        """Why a file of this name is refused, judged from the name alone (or None)."""
        suffix = PurePosixPath(name).suffix.lower()
        if suffix not in EXTENSIONS:
            kinds = ", ".join(sorted(EXTENSIONS))
            return (f"not an article file ({suffix or 'no extension'}); "
                    f"Archivist reads {kinds}, or a .zip of them")
        taken = self.seen.get(name.casefold())
        if taken is not None:
            return f"another file of this upload ({taken}) has the same name {name!r}"
        return None

    def reserve(self, name: str, shown: str) -> None:
        """Claim `name` for the entry `shown`, whatever becomes of it.

        Claimed before the entry is read: were only accepted files to claim
        their name, every copy of a refused one would be read again.
        """
        self.seen[name.casefold()] = shown

    def take(self, name: str, data: bytes, shown: str) -> None:
        """Accept `data` as `name` if its reader reads it without complaint."""
        self.budget.file()
        problem = _unreadable(name, data, self.budget.limits.max_file_bytes, self.scratch)
        if problem:
            self.out.refuse(shown, f"cannot be read as an article: {problem}")
            return
        self.out.files.append(UploadedFile(name, data, shown))


def _unreadable(name: str, data: bytes, max_bytes: int, scratch: Path) -> str | None:
    """The reader's reason `data` is no article file, or None when it reads cleanly.

    The file is read exactly as an indexing run would read it (`load`, then
    its format's reader), from a scratch copy that is removed at once.
    """
    tmp = scratch / f"check{PurePosixPath(name).suffix.lower()}"
    tmp.write_bytes(data)
    try:
        loaded = load(FoundFile(str(tmp), detect(name, data[:256])), max_bytes)
        if loaded.error is not None:
            return loaded.error.reason
        assert loaded.text is not None
        problems: list[str] = []
        articles = 0
        try:
            for item in reader_for(loaded.format)(loaded.text):
                if isinstance(item, ReadError):
                    problems.append(f"line {item.line}: {item.reason}" if item.line
                                    else item.reason)
                else:
                    articles += 1
        except Exception as e:  # noqa: BLE001 -- readers should not raise; if one does, refuse
            return f"the {loaded.format} reader failed on it ({type(e).__name__})"
    finally:
        tmp.unlink(missing_ok=True)
    if problems:
        more = len(problems) - 3
        return "; ".join(problems[:3]) + (f" (and {more:,} more)" if more > 0 else "")
    if not articles:
        return "it holds no article"
    return None


def _unzip(shown: str, data: bytes, taker: _Taker) -> None:
    budget, out = taker.budget, taker.out
    limits = budget.limits
    toc = _table_of_contents(data)
    if toc is None:
        out.refuse(shown, "not a readable zip archive")
        return
    declared, toc_bytes = toc
    budget.entries_seen(declared)
    if toc_bytes > limits.max_entries * _TOC_BYTES_PER_ENTRY:
        out.refuse(shown, "its table of contents is larger than the entries an upload may hold "
                          "could need; a damaged or hostile archive is not unpacked")
        return
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
            struct.error):
        out.refuse(shown, "not a readable zip archive")
        return
    with archive:
        infos = archive.infolist()
        # The table of contents may understate its entries; charge what it holds.
        budget.entries_seen(max(len(infos) - declared, 0))
        overlap = _overlapping(data, infos, archive.start_dir)
        if overlap:
            out.refuse(shown, overlap)
            return
        for info in infos:
            entry = f"{shown}: {info.filename}"
            budget.charge(info.file_size)  # every entry, refused ones too, before any reading
            if info.filename.endswith("/"):  # a folder (ZipInfo.is_dir fails on an empty name)
                continue
            problem = _entry_problem(info, taker)
            if problem == "":
                continue  # hidden or system files (.DS_Store, __MACOSX/...) are left out
            if problem:
                out.refuse(entry, problem)
                continue
            name = "/".join(_clean_path(info.filename, keep_folders=True)[0])
            taker.reserve(name, entry)
            content, problem = _inflate(archive, info, budget)
            if problem:
                out.refuse(entry, problem)
                continue
            taker.take(name, content, entry)


def _entry_problem(info: zipfile.ZipInfo, taker: _Taker) -> str | None:
    """Why a zip member is refused, from its header alone: "" to leave it out quietly."""
    parts, problem = _clean_path(info.filename, keep_folders=True)
    if problem:
        return problem
    if not parts:
        return ""
    name = "/".join(parts)
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link, which is never unpacked"
    if info.flag_bits & 0x1:
        return "encrypted; unpack it yourself and upload the files"
    if name.lower().endswith(ZIP_SUFFIX):
        return "a zip inside a zip is not unpacked; upload it on its own"
    problem = taker.name_problem(name)
    if problem:
        return problem
    limit = taker.budget.limits.max_file_bytes
    if info.file_size > limit:
        return f"larger than {_size(limit)}, the limit for one file"
    return None


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
             budget: _Budget) -> tuple[bytes, str | None]:
    """A member's bytes, read in chunks and counted, stopping at the per-file limit.

    Its declared size is already charged; bytes beyond it (a header that
    lies) are charged as they come, so the upload's limit holds either way.
    """
    limit = budget.limits.max_file_bytes
    chunks: list[bytes] = []
    got = 0
    try:
        with archive.open(info) as f:
            while True:
                chunk = f.read(min(_CHUNK, limit + 1 - got))
                if not chunk:
                    break
                got += len(chunk)
                if got > info.file_size:
                    budget.charge(min(len(chunk), got - info.file_size))
                if got > limit:
                    return b"", (f"larger than {_size(limit)}, the limit for one file "
                                 "(found while unpacking it)")
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError, zlib.error,
            lzma.LZMAError) as e:
        return b"", f"cannot be unpacked: {e}"
    return b"".join(chunks), None


def _table_of_contents(data: bytes) -> tuple[int, int] | None:
    """The entries a zip declares and the size of its table of contents, read before parsing.

    None when there is no end-of-archive record. Uses the same finder
    `zipfile` itself uses, so both agree on which record counts.
    """
    try:
        end = zipfile._EndRecData(io.BytesIO(data))  # noqa: SLF001 -- zipfile's own EOCD reader
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, struct.error):
        return None
    if not end:
        return None
    return int(end[zipfile._ECD_ENTRIES_TOTAL]), int(end[zipfile._ECD_SIZE])  # noqa: SLF001


def _overlapping(data: bytes, infos: list[zipfile.ZipInfo], toc_start: int) -> str | None:
    """Why the members' stored data overlap each other or the table of contents (or None).

    A member spans its local header (30 bytes, its name and extra field as
    written there) and its compressed data. In a well-formed zip these spans
    are disjoint; a zip bomb of overlapping entries points many entries at
    one shared stretch of compressed data.
    """
    spans: list[tuple[int, int, str]] = []
    for info in infos:
        start = info.header_offset
        head = data[start:start + 30] if start >= 0 else b""
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            return "not a readable zip archive (an entry's header is missing)"
        name_len, extra_len = int.from_bytes(head[26:28], "little"), \
            int.from_bytes(head[28:30], "little")
        spans.append((start, start + 30 + name_len + extra_len + info.compress_size,
                      info.filename))
    spans.sort()
    end_before, name_before = 0, ""
    for start, end, name in spans:
        if start < end_before:
            return (f"its entries {name_before!r} and {name!r} share their data (a \"zip bomb\" "
                    "of overlapping entries); the archive is refused as a whole")
        end_before, name_before = end, name
    if spans and end_before > toc_start:
        return (f"the data of its entry {name_before!r} runs into the archive's table of "
                "contents; a damaged or hostile archive is not unpacked")
    return None


def _read_capped(content: BinaryIO | bytes, limit: int) -> bytes:
    """At most `limit + 1` bytes of `content` (one more than allowed shows it is too long)."""
    if isinstance(content, (bytes, bytearray)):
        return bytes(content[: limit + 1])
    # In chunks: one read of a large configured limit would allocate it all at once.
    chunks: list[bytes] = []
    got = 0
    while got <= limit:
        chunk = content.read(min(16 * _CHUNK, limit + 1 - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _clean_path(raw: str, keep_folders: bool) -> tuple[list[str], str | None]:
    """Safe name components of `raw`, or the reason it is refused.

    Empty components (hidden and system files) are dropped, so a zip's
    `__MACOSX/...` entries come back as an empty list.
    """
    text = unicodedata.normalize("NFC", raw).replace("\\", "/")
    if "\x00" in text:
        return [], "its name contains a NUL character"
    pieces = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in pieces or text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        return [], ("its name would place it outside the folder (path traversal); "
                    "such names are refused")
    if not pieces:
        return [], "it has no file name"
    if not keep_folders:
        pieces = pieces[-1:]
    if any(p.startswith(".") or p == "__MACOSX" for p in pieces):
        return [], None
    if len(pieces) > MAX_DEPTH + 1:
        return [], f"it is nested more than {MAX_DEPTH} folders deep"
    parts = [_safe_component(p) for p in pieces]
    if not all(parts):
        return [], "nothing of its name is usable as a file name"
    return [p for p in parts if p], None


def _safe_component(name: str) -> str | None:
    """One path component made safe: werkzeug's rules, kept for non-Latin scripts too."""
    name = name.strip()
    if name.isascii():
        clean = secure_filename(name)
    else:
        # secure_filename would drop every Persian or Arabic letter; keep letters,
        # marks and digits of any script, and nothing else but - _ .
        chars = [c if unicodedata.category(c)[0] in "LNM" or c in "-_." else "_" for c in name]
        clean = re.sub(r"_+", "_", "".join(chars)).strip("._")
    if not clean:
        return None
    stem, dot, ext = clean.rpartition(".")
    if not dot:
        stem, ext = clean, ""
    if stem.split(".")[0].casefold() in _RESERVED:
        stem = "_" + stem
    stem = stem[: MAX_NAME_CHARS - len(ext) - 1]
    return f"{stem}.{ext}" if dot else stem


# -- where the files go --------------------------------------------------------------


def destination(folder: Path, name: str) -> Path:
    """The path `name` is saved to inside `folder`; ValueError if that would leave it."""
    root = Path(folder).resolve()
    dest = root.joinpath(*name.split("/"))
    real = dest.resolve()
    if not real.is_relative_to(root) or real != dest:
        raise ValueError("its destination lies outside the folder (through a link)")
    if dest.is_symlink() or (dest.exists() and not dest.is_file()):
        raise ValueError("something that is not a plain file is in its place")
    return dest


def save(prepared: Prepared, folder: Path) -> Saved:
    """Write the accepted files into `folder` (which must exist); refuse unsafe ones."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UploadRefused(f"The folder {folder} does not exist. Create it, or choose another.")
    result = Saved()
    for f in prepared.files:
        try:
            dest = destination(folder, f.name)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest = destination(folder, f.name)  # again: a folder just made is no link
        except (ValueError, OSError) as e:
            result.refused.append(Refused(f.origin, str(e)))
            continue
        fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(f.data)
            os.replace(tmp, dest)
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            result.refused.append(Refused(f.origin, f"could not be saved: {e.strerror or e}"))
            continue
        result.paths.append(str(dest))
    return result


def removable(root: Path, relative: str) -> Path:
    """The article file `relative` names inside the source folder `root`; ValueError says why not.

    `relative` uses "/" between folders. Refused: an absolute name, a `..`
    or empty part, a hidden part, a symbolic link anywhere on the way (the
    resolved path must be the path itself, inside `root`), anything that is
    not a plain file, and files an indexing run would not read.
    """
    parts = _relative_parts(relative)
    base = Path(root).resolve()
    if not base.is_dir():
        raise ValueError("its source folder does not exist")
    path = base.joinpath(*parts)
    if os.path.realpath(path) != str(path):
        raise ValueError("it is reached through a symbolic link")
    if not path.is_file():
        raise ValueError("there is no such file in the source")
    with open(path, "rb") as f:
        head = f.read(256)
    if detect(str(path), head) is None:
        raise ValueError("it is not an article file, so indexing never reads it")
    return path


def remove(root: Path, relative: str) -> Path:
    """Delete the file `relative` names inside the source folder `root` (see `removable`).

    The folders on the way are opened one by one without following links,
    and the file is unlinked from the last of them, so a link swapped in
    after the check cannot lead the deletion out of `root`.
    """
    path = removable(root, relative)
    parts = _relative_parts(relative)
    fd = os.open(Path(root).resolve(), os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
        if not stat.S_ISREG(os.stat(parts[-1], dir_fd=fd, follow_symlinks=False).st_mode):
            raise ValueError("it is not a plain file")
        os.unlink(parts[-1], dir_fd=fd)
    finally:
        os.close(fd)
    return path


def _relative_parts(relative: str) -> list[str]:
    if not relative or "\x00" in relative or relative.startswith("/"):
        raise ValueError("give the file's name relative to its source folder")
    parts = relative.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError("its name would leave the source folder (path traversal)")
    if any(p.startswith(".") for p in parts) or parts[-1].endswith("~"):
        raise ValueError("it is a hidden file, which indexing never reads")
    return parts


# -- what would change -----------------------------------------------------------------


class ArticleLookup(Protocol):
    """The two questions a dry run asks the engine, with sources named as its state names them."""

    def articles_of(self, source: str) -> dict[str, str]:
        """id -> content hash of the articles the engine holds from `source`."""

    def source_of(self, article_id: str) -> str | None:
        """The source that holds the article `article_id`, if one does."""


class StateLookup:
    """`ArticleLookup` answered from an engine's whole indexed state.

    For an engine with no cheaper way to ask (a cluster): its state is read
    once per dry run, the same state an indexing run plans from.
    """

    def __init__(self, state: IndexedState) -> None:
        self._state = state
        self._owner = {aid: src for src, held in state.items() for aid in held.articles}

    def articles_of(self, source: str) -> dict[str, str]:
        held = self._state.get(source)
        return dict(held.articles) if held is not None else {}

    def source_of(self, article_id: str) -> str | None:
        return self._owner.get(article_id)


@contextmanager
def _lookup(index_dir: Path, engine: WriteEngine | None) -> Iterator[ArticleLookup]:
    """What `engine` (default: the Whoosh index in `index_dir`) holds, to ask from."""
    if engine is None or isinstance(engine, WhooshWriteEngine):
        # The embedded index answers each question from its columns, without
        # reading the whole state.
        with Lookup(engine.index_dir if engine is not None else index_dir) as lookup:
            yield lookup
        return
    # `state`, not `indexed`: a preview must never take (or wait for) the
    # cluster's write lock that an indexing run holds.
    yield StateLookup(engine.state())


def dry_run(index_dir: Path, folder: Path, prepared: Prepared,
            max_bytes: int = DEFAULT_MAX_BYTES, engine: WriteEngine | None = None) -> DryRun:
    """What indexing `prepared` in `folder` would change; nothing is written.

    `engine` is where the articles go (`index.writer.write_engine`; default:
    the Whoosh index in `index_dir`); it is asked through `state()`, which
    reads the indexed state without the write lock. `index_dir`
    keeps the known source folders either way, which name the files' keys.
    """
    report = DryRun(folder=str(folder), refused=list(prepared.refused),
                    refused_more=prepared.refused_more)
    # Keyed as the run that indexes the folder keys its files, so ids agree.
    root = str(Path(folder).resolve())
    names = source_names_for(index_dir, [root])
    if root not in names:  # a folder made by the first upload into it
        names = source_names([*names, root])
    keyed = engine is not None and engine.keyed
    with _lookup(index_dir, engine) as lookup, \
            tempfile.TemporaryDirectory(prefix="archivist-dry-") as scratch:
        for n, f in enumerate(prepared.files):
            try:
                dest = destination(folder, f.name)
            except ValueError as e:
                report.refused.append(Refused(f.origin, str(e)))
                continue
            key = source_key(str(dest), names) or ""
            report.files.append(_plan_one(f, dest, lookup, Path(scratch) / str(n), max_bytes,
                                          key, source=key if keyed else str(dest)))
    return report


def _plan_one(f: UploadedFile, dest: Path, lookup: ArticleLookup, scratch: Path, max_bytes: int,
              key: str, source: str) -> FilePlan:
    """One file's plan; `key` makes its articles' ids, `source` names it in the lookup."""
    if dest.is_file():
        same = file_hash(dest.read_bytes()) == file_hash(f.data)
        action = "same" if same else "replace"
    else:
        action = "new"
    plan = FilePlan(f.name, str(dest), action)
    before = lookup.articles_of(source)
    scratch.mkdir()
    tmp = scratch / dest.name
    tmp.write_bytes(f.data)
    loaded = load(FoundFile(str(tmp), detect(f.name, f.data[:256])), max_bytes)
    if loaded.error is not None:
        plan.failures.append(loaded.error.reason)
        return plan
    assert loaded.text is not None
    text = SourceText(str(dest), loaded.text.text, loaded.text.encoding, key,
                      data=loaded.text.data)
    seen: set[str] = set()
    for item in reader_for(loaded.format)(text):
        if isinstance(item, ReadError):
            plan.failures.append(f"line {item.line}: {item.reason}" if item.line else item.reason)
            continue
        owner = lookup.source_of(item.id)
        if owner is not None and owner != source:
            plan.failures.append(f"duplicate id {item.id!r}, already used by {owner}")
            continue
        seen.add(item.id)
        count_change(plan, before, item)
    plan.removed = len(set(before) - seen)
    return plan


# -- waiting between the dry run and the go-ahead -------------------------------------------


def stage(staging_root: Path, folder: Path, prepared: Prepared) -> str:
    """Keep `prepared` aside for a later `load_stage`; return its token."""
    token = secrets.token_urlsafe(18)
    where = Path(staging_root) / token
    where.mkdir(parents=True)
    manifest = {"folder": str(folder), "created": time.time(), "files": [], "refused": [
        {"name": r.name, "reason": r.reason} for r in prepared.refused],
        "refused_more": prepared.refused_more}
    for n, f in enumerate(prepared.files):
        blob = f"{n:06d}.bin"
        (where / blob).write_bytes(f.data)
        manifest["files"].append({"name": f.name, "origin": f.origin, "blob": blob})
    write_json(where, _MANIFEST, manifest)
    return token


def load_stage(staging_root: Path, token: str) -> tuple[Path, Prepared] | None:
    """The folder and files kept under `token`, or None if there is no such stage."""
    if not _TOKEN.fullmatch(token or ""):
        return None
    where = Path(staging_root) / token
    manifest = read_json(where, _MANIFEST, None)
    if not isinstance(manifest, dict):
        return None
    prepared = Prepared(
        files=[UploadedFile(m["name"], (where / m["blob"]).read_bytes(), m["origin"])
               for m in manifest["files"]],
        refused=[Refused(r["name"], r["reason"]) for r in manifest["refused"]],
        refused_more=int(manifest.get("refused_more", 0)),
    )
    return Path(manifest["folder"]), prepared


def discard_stage(staging_root: Path, token: str) -> None:
    if _TOKEN.fullmatch(token or ""):
        shutil.rmtree(Path(staging_root) / token, ignore_errors=True)


def prune_stages(staging_root: Path, older_than: float = 24 * 3600) -> None:
    """Forget staged uploads nobody confirmed within `older_than` seconds."""
    root = Path(staging_root)
    if not root.is_dir():
        return
    cutoff = time.time() - older_than
    for where in root.iterdir():
        manifest = read_json(where, _MANIFEST, {}) if where.is_dir() else {}
        if manifest.get("created", 0) < cutoff:
            shutil.rmtree(where, ignore_errors=True)


def human_size(n: float) -> str:
    """A byte count as a librarian reads it (`50 MB`, `1.5 KB`)."""
    if n < 1024:
        return f"{int(n):,} bytes"
    for unit in ("KB", "MB", "GB"):
        n /= 1024
        if n < 1024 or unit == "GB":
            break
    return f"{n:,.1f} {unit}".replace(".0 ", " ")


_size = human_size
