"""The librarians' logbook: who ran which job on the index, when, and what it changed.

Each finished job (an indexing run, a rebuild, an upload, a merge of
segments) is one line of JSON in `history.jsonl`, appended when the job
ends, interrupted ones included. Appending a line is cheap and a crash can
at worst lose the line being written, never the lines before it; the file
is trimmed back to the newest `keep` entries once it grows to twice that.

This module only records and reads back; it never runs a job or touches
the index itself.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

HISTORY_FILE = "history.jsonl"

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
    line = json.dumps(asdict(entry), ensure_ascii=False) + "\n"
    with _LOCK:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
        lines = _lines(path)
        if len(lines) >= 2 * max(keep, 1):
            tmp = path.with_name(f".{HISTORY_FILE}.{os.getpid()}")
            tmp.write_text("".join(lines[-keep:]), "utf-8")
            os.replace(tmp, path)


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


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return []
    return [line + "\n" for line in text.split("\n") if line.strip()]
