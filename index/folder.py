"""The index folder's own files: the write lock and small JSON side files.

Whichever engine holds the articles, the index folder (`INDEX_DIR`) keeps
what the librarians' side needs between runs: the write lock that
serializes indexing runs, and small JSON files (the roots and their names,
the last run's summary, an upload folder's manifest). The embedded engine
also keeps its generations here (`index.embedded.store`).

`write_lock` serializes writers across processes with an advisory `flock`,
which the kernel releases when a process dies, even by `kill -9`. The JSON
files are replaced by an atomic rename, so a reader sees the old file or
the new one, never half of one.

This module never opens an index; it only knows these few files.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

LOCK = "write.lock"


class LockTimeout(Exception):
    """Another process holds the index's write lock for longer than we waited."""


@contextlib.contextmanager
def write_lock(index_dir: Path, timeout: float = 10.0) -> Iterator[None]:
    """Hold the index's exclusive write lock, waiting at most `timeout` seconds.

    Raises `LockTimeout` naming the holder's pid when the wait runs out.
    """
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
                    who = f" (pid {holder})" if holder else ""
                    raise LockTimeout(
                        f"another indexing run holds the lock on {index_dir}{who}; "
                        f"waited {timeout:g} s"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def read_json(index_dir: Path, name: str, default):
    """Read a small JSON side file of the index directory (sources, last run)."""
    try:
        return json.loads((Path(index_dir) / name).read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return default


def write_json(index_dir: Path, name: str, value) -> None:
    """Write a small JSON side file atomically."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = index_dir / f".{name}.{os.getpid()}"
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False), "utf-8")
    os.replace(tmp, index_dir / name)
