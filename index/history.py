"""The librarians' logbook: who ran which job on the index, when, and what it changed.

Each finished job (an indexing run, a rebuild, an upload, a merge of
segments) is one line of JSON in `history.jsonl`, appended when the job
ends, interrupted ones included, whether the console ran it or the command
line (`archivist index`). The file lives in the index folder, beside the
other records of what was done to that index, so every process that writes
the index (console workers, the CLI) logs to the same place. Appending a
line is cheap and a crash can at worst lose the line being written, never
the lines before it; the file is trimmed back to the newest `keep` entries
once it grows to twice that. Appends and trims of all processes take turns
on an advisory lock (`history.lock`), so a trim never drops a line another
process is writing.

This module only records and reads back; it never runs a job or touches
the index itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

HISTORY_FILE = "history.jsonl"
_LOCK_FILE = "history.lock"

#: Failed files kept with an entry (the count is always kept whole).
MAX_FAILURES_KEPT = 100

#: Entries kept by default (the file is trimmed to this when it reaches twice as many).
DEFAULT_KEEP = 50

# One lock for every history file of the process: appends come from job
# threads, trims rewrite the file, and the two must not interleave.
_LOCK = threading.Lock()


@dataclass
class Entry:
    """One finished job, as the history page lists it."""

    job: str
    kind: str
    label: str
    who: str
    started: str
    finished: str
    seconds: float
    #: "done", "failed" or "interrupted".
    status: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    articles: int | None = None
    error: str | None = None
    roots: list[str] = field(default_factory=list)
    #: Where the job was started: "console" or "command line".
    via: str = "console"
    #: The first `MAX_FAILURES_KEPT` failed files: {"path", "reason", "line"}.
    failures: list[dict] = field(default_factory=list)

    def changes(self) -> str:
        """What the job changed, in one short phrase."""
        if self.kind == "optimize":
            return "merged the index's segments" if self.status == "done" else "no change"
        return (
            f"added {self.added}, updated {self.updated}, removed {self.removed}, "
            f"failed {self.failed}"
        )

    @classmethod
    def from_json(cls, data: dict) -> Entry:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def append(folder: Path, entry: Entry, keep: int = DEFAULT_KEEP) -> None:
    """Add `entry` to the history in `folder`, trimming old entries now and then."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / HISTORY_FILE
    entry.failures = entry.failures[:MAX_FAILURES_KEPT]
    line = json.dumps(asdict(entry), ensure_ascii=False) + "\n"
    with _locked(folder):
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
        lines = _lines(path)
        if len(lines) >= 2 * max(keep, 1):
            tmp = path.with_name(f".{HISTORY_FILE}.{os.getpid()}")
            tmp.write_text("".join(lines[-keep:]), "utf-8")
            os.replace(tmp, path)


def find(folder: Path, job: str) -> Entry | None:
    """The entry of the job with id `job`, or None when the history no longer has it."""
    for entry in recent(folder, 1_000_000):
        if job and entry.job == job:
            return entry
    return None


def adopt(old_folder: Path, folder: Path) -> None:
    """Move a history kept in `old_folder` (before it lived with the index) into `folder`.

    Only when `folder` has none yet, so it happens once; entries are never merged.
    """
    old, new = Path(old_folder) / HISTORY_FILE, Path(folder) / HISTORY_FILE
    if not old.is_file() or new.exists() or old.resolve() == new.resolve():
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    with _locked(Path(folder)):
        if new.exists():
            return
        try:
            os.replace(old, new)
        except OSError:  # another file system: copy, then let go of the old file
            shutil.copyfile(old, new)
            old.unlink(missing_ok=True)


def recent(folder: Path, n: int = 20) -> list[Entry]:
    """The newest `n` entries, newest first; a damaged line is skipped, not fatal."""
    path = Path(folder) / HISTORY_FILE
    with _LOCK:
        lines = _lines(path)
    entries: list[Entry] = []
    for line in reversed(lines):
        if len(entries) >= n:
            break
        try:
            entries.append(Entry.from_json(json.loads(line)))
        except (ValueError, TypeError):
            continue
    return entries


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """This process's lock, then the folder's advisory lock shared with other processes."""
    with _LOCK:
        fd = os.open(folder / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return []
    return [line + "\n" for line in text.split("\n") if line.strip()]
