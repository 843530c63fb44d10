"""Taking files a librarian uploads and putting them safely into a source folder.

An upload is one or many article files (`.txt`, `.html`, `.jsonl`, ...) or
zip archives of them. `prepare` reads them under limits (total bytes,
number of files, bytes per file), unpacks the zips, and gives every file a
safe relative name; whatever it cannot accept is listed in `refused` with a
reason a librarian can act on, and an upload that breaks a whole-upload
limit raises `UploadRefused`. `dry_run` tells what indexing the files would
change, without writing anything; `save` writes them into the folder.

The rules that keep a hostile upload harmless:

- Names are cleaned component by component (werkzeug's `secure_filename`
  for ASCII names, an equivalent that keeps letters of other scripts for
  the rest); a name with a `..` part or an absolute path, in a form field or
  in a zip entry (a "zip slip"), is refused outright rather than repaired.
- Every destination is resolved and must lie inside the chosen folder, so a
  symbolic link in the folder cannot lead a write elsewhere; an existing
  link or non-file at the destination is never written through.
- Zip entries that are links, encrypted, nested zips, or larger than the
  per-file limit (by their header and again while reading) are refused.
- A file is written under a hidden temporary name and renamed into place,
  so an indexing run never reads half a file.

Between the dry run and the go-ahead the files wait in a staging folder
(`stage` / `load_stage`). This module never indexes anything itself.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from werkzeug.utils import secure_filename

from index import store
from index.article import Article, ReadError, SourceText
from index.formats import EXTENSIONS, detect, reader_for
from index.sources import DEFAULT_MAX_BYTES, FoundFile, file_hash, load
from index.writer import count_change

ZIP_SUFFIX = ".zip"
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

    max_bytes: int = 50 * 1024 * 1024
    max_files: int = 500
    max_file_bytes: int = DEFAULT_MAX_BYTES


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
    refused: list[Refused] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(len(f.data) for f in self.files)


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

    Raises `UploadRefused` when the upload holds more files, or more bytes
    (counted after unzipping), than `limits` allow.
    """
    out = Prepared()
    seen: dict[str, str] = {}
    budget = _Budget(limits)
    for raw_name, content in items:
        shown = raw_name or "(no name)"
        parts, problem = _clean_path(raw_name or "", keep_folders=False)
        if problem:
            out.refused.append(Refused(shown, problem))
            continue
        if not parts:
            out.refused.append(Refused(shown, "a hidden or system file; left out"))
            continue
        name = "/".join(parts)
        data = _read_capped(content, max(limits.max_file_bytes, limits.max_bytes))
        if name.lower().endswith(ZIP_SUFFIX):
            if len(data) > limits.max_bytes:
                out.refused.append(Refused(
                    shown, f"larger than {_size(limits.max_bytes)}, the limit for one upload"))
                continue
            _unzip(shown, data, out, seen, budget)
            continue
        _accept(out, seen, budget, name, data, shown)
    if not out.files and not out.refused:
        raise UploadRefused("The upload holds no files. Choose one or more files to upload.")
    return out


@dataclass
class _Budget:
    limits: UploadLimits
    files: int = 0
    bytes: int = 0

    def take(self, size: int) -> None:
        self.files += 1
        self.bytes += size
        lim = self.limits
        if self.files > lim.max_files:
            raise UploadRefused(
                f"The upload holds more than {lim.max_files:,} files (the limit per upload). "
                "Split it into smaller uploads."
            )
        if self.bytes > lim.max_bytes:
            raise UploadRefused(
                f"The upload holds more than {_size(lim.max_bytes)} of files once unpacked "
                "(the limit per upload). Split it into smaller uploads."
            )


def _accept(out: Prepared, seen: dict[str, str], budget: _Budget, name: str, data: bytes,
            shown: str) -> None:
    limits = budget.limits
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in EXTENSIONS:
        kinds = ", ".join(sorted(EXTENSIONS))
        out.refused.append(Refused(
            shown, f"not an article file ({suffix or 'no extension'}); "
                   f"Archivist reads {kinds}, or a .zip of them"))
        return
    if len(data) > limits.max_file_bytes:
        out.refused.append(Refused(
            shown, f"larger than {_size(limits.max_file_bytes)}, the limit for one file"))
        return
    key = name.casefold()
    if key in seen:
        out.refused.append(Refused(
            shown, f"another file of this upload ({seen[key]}) is saved under the same name "
                   f"{name!r}"))
        return
    budget.take(len(data))
    seen[key] = shown
    out.files.append(UploadedFile(name, data, shown))


def _unzip(shown: str, data: bytes, out: Prepared, seen: dict[str, str], budget: _Budget) -> None:
    limits = budget.limits
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        out.refused.append(Refused(shown, "not a readable zip archive"))
        return
    with archive:
        for info in archive.infolist():
            entry = f"{shown}: {info.filename}"
            if info.is_dir():
                continue
            parts, problem = _clean_path(info.filename, keep_folders=True)
            if problem:
                out.refused.append(Refused(entry, problem))
                continue
            if not parts:
                continue  # hidden or system files (.DS_Store, __MACOSX/...) are left out
            name = "/".join(parts)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                out.refused.append(Refused(entry, "a symbolic link, which is never unpacked"))
                continue
            if info.flag_bits & 0x1:
                out.refused.append(Refused(entry, "encrypted; unpack it yourself and upload "
                                                  "the files"))
                continue
            if name.lower().endswith(ZIP_SUFFIX):
                out.refused.append(Refused(entry, "a zip inside a zip is not unpacked; upload "
                                                  "it on its own"))
                continue
            if info.file_size > limits.max_file_bytes:
                out.refused.append(Refused(
                    entry, f"larger than {_size(limits.max_file_bytes)}, the limit for one file"))
                continue
            try:
                with archive.open(info) as f:
                    content = f.read(limits.max_file_bytes + 1)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as e:
                out.refused.append(Refused(entry, f"cannot be unpacked: {e}"))
                continue
            _accept(out, seen, budget, name, content, entry)


def _read_capped(content: BinaryIO | bytes, limit: int) -> bytes:
    if isinstance(content, (bytes, bytearray)):
        return bytes(content)
    return content.read(limit + 1)


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


# -- what would change -----------------------------------------------------------------


def dry_run(index_dir: Path, folder: Path, prepared: Prepared,
            max_bytes: int = DEFAULT_MAX_BYTES) -> DryRun:
    """What indexing `prepared` in `folder` would change; nothing is written."""
    report = DryRun(folder=str(folder), refused=list(prepared.refused))
    ix = store.open_current(index_dir)
    try:
        searcher = ix.searcher() if ix is not None else None
        with tempfile.TemporaryDirectory(prefix="archivist-dry-") as scratch:
            for n, f in enumerate(prepared.files):
                try:
                    dest = destination(folder, f.name)
                except ValueError as e:
                    report.refused.append(Refused(f.origin, str(e)))
                    continue
                report.files.append(_plan_one(f, dest, searcher, Path(scratch) / str(n),
                                              max_bytes))
    finally:
        if ix is not None:
            if searcher is not None:
                searcher.close()
            ix.close()
    return report


def _plan_one(f: UploadedFile, dest: Path, searcher, scratch: Path, max_bytes: int) -> FilePlan:
    if dest.is_file():
        same = file_hash(dest.read_bytes()) == file_hash(f.data)
        action = "same" if same else "replace"
    else:
        action = "new"
    plan = FilePlan(f.name, str(dest), action)
    before = _indexed(searcher, str(dest))
    scratch.mkdir()
    tmp = scratch / dest.name
    tmp.write_bytes(f.data)
    loaded = load(FoundFile(str(tmp), detect(f.name, f.data[:256])), max_bytes)
    if loaded.error is not None:
        plan.failures.append(loaded.error.reason)
        return plan
    assert loaded.text is not None
    text = SourceText(str(dest), loaded.text.text, loaded.text.encoding)
    seen: set[str] = set()
    for item in reader_for(loaded.format)(text):
        if isinstance(item, ReadError):
            plan.failures.append(f"line {item.line}: {item.reason}" if item.line else item.reason)
            continue
        owner = _owner(searcher, item)
        if owner is not None and owner != str(dest):
            plan.failures.append(f"duplicate id {item.id!r}, already used by {owner}")
            continue
        seen.add(item.id)
        count_change(plan, before, item)
    plan.removed = len(set(before) - seen)
    return plan


def _indexed(searcher, source: str) -> dict[str, str]:
    """id -> content hash of the articles the index holds from `source`."""
    if searcher is None:
        return {}
    r = searcher.reader()
    if r.doc_count_all() == 0:
        return {}
    ids, hashes = r.column_reader("id"), r.column_reader("content_hash")
    return {_text(ids[d]): _text(hashes[d]) for d in searcher.document_numbers(source=source)}


def _owner(searcher, article: Article) -> str | None:
    if searcher is None:
        return None
    fields = searcher.document(id=article.id)
    return fields.get("source") if fields else None


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


# -- waiting between the dry run and the go-ahead -------------------------------------------


def stage(staging_root: Path, folder: Path, prepared: Prepared) -> str:
    """Keep `prepared` aside for a later `load_stage`; return its token."""
    token = secrets.token_urlsafe(18)
    where = Path(staging_root) / token
    where.mkdir(parents=True)
    manifest = {"folder": str(folder), "created": time.time(), "files": [], "refused": [
        {"name": r.name, "reason": r.reason} for r in prepared.refused]}
    for n, f in enumerate(prepared.files):
        blob = f"{n:06d}.bin"
        (where / blob).write_bytes(f.data)
        manifest["files"].append({"name": f.name, "origin": f.origin, "blob": blob})
    store.write_json(where, _MANIFEST, manifest)
    return token


def load_stage(staging_root: Path, token: str) -> tuple[Path, Prepared] | None:
    """The folder and files kept under `token`, or None if there is no such stage."""
    if not _TOKEN.fullmatch(token or ""):
        return None
    where = Path(staging_root) / token
    manifest = store.read_json(where, _MANIFEST, None)
    if not isinstance(manifest, dict):
        return None
    prepared = Prepared(
        files=[UploadedFile(m["name"], (where / m["blob"]).read_bytes(), m["origin"])
               for m in manifest["files"]],
        refused=[Refused(r["name"], r["reason"]) for r in manifest["refused"]],
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
        manifest = store.read_json(where, _MANIFEST, {}) if where.is_dir() else {}
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
