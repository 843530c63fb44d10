"""The embedded index on disk: its generations and the CURRENT pointer.

An index directory holds one or more *generations*, each a complete Whoosh
index in its own folder (`gen-000001`, ...), and a small file `CURRENT`
naming the one readers should open. Incremental runs write into the current
generation through Whoosh's own commit (which swaps its table of contents
atomically); a rebuild writes a whole new generation beside it and then
replaces `CURRENT` with an atomic rename. Either way a reader, or a crash at
any instant, sees the last committed index and never a half-written one.

The write lock and the folder's JSON side files belong to every engine
(`index.folder`); the generations are the embedded engine's own.

This module never parses articles or queries; it only knows where things are.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.index import FileIndex

from index.embedded.schema import SCHEMA_VERSION, make_schema

CURRENT = "CURRENT"
#: Each generation's note of the schema version it was written with.
VERSION_FILE = "schema-version"
GEN_PREFIX = "gen-"


def current_generation(index_dir: Path) -> Path | None:
    """The folder of the current generation, or None when there is no index."""
    try:
        name = (Path(index_dir) / CURRENT).read_text("utf-8").strip()
    except FileNotFoundError:
        return None
    gen = Path(index_dir) / name
    return gen if name.startswith(GEN_PREFIX) and gen.is_dir() else None


def open_current(index_dir: Path) -> FileIndex | None:
    """Open the current generation for reading or writing, or None if absent."""
    gen = current_generation(index_dir)
    if gen is None or not whoosh_index.exists_in(str(gen)):
        return None
    return whoosh_index.open_dir(str(gen))


def new_generation(index_dir: Path) -> tuple[Path, FileIndex]:
    """Create an empty index in a fresh generation folder (not yet current)."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    numbers = [
        int(p.name[len(GEN_PREFIX):])
        for p in index_dir.glob(GEN_PREFIX + "*")
        if p.name[len(GEN_PREFIX):].isdigit()
    ]
    gen = index_dir / f"{GEN_PREFIX}{max(numbers, default=0) + 1:06d}"
    gen.mkdir()
    (gen / VERSION_FILE).write_text(f"{SCHEMA_VERSION}\n", "utf-8")
    return gen, whoosh_index.create_in(str(gen), make_schema())


def schema_version(index_dir: Path) -> int | None:
    """The schema version the current generation was written with.

    None when there is no index; 1 for generations made before versions
    were noted. An older version than `SCHEMA_VERSION` needs a rebuild:
    its terms were made by an older analyzer.
    """
    gen = current_generation(index_dir)
    if gen is None:
        return None
    try:
        return int((gen / VERSION_FILE).read_text("utf-8").strip())
    except (FileNotFoundError, ValueError):
        return 1


def make_current(index_dir: Path, gen: Path) -> None:
    """Point CURRENT at `gen` atomically, then drop generations no one needs.

    The generation that was current just before is kept, so a reader that
    opened it a moment ago can finish; older ones are deleted.
    """
    index_dir = Path(index_dir)
    previous = current_generation(index_dir)
    tmp = index_dir / f".{CURRENT}.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(gen.name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)
    keep = {gen.name, previous.name if previous else None}
    for old in index_dir.glob(GEN_PREFIX + "*"):
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def disk_size(index_dir: Path) -> int:
    """Bytes used by the current generation (0 when there is none)."""
    gen = current_generation(index_dir)
    if gen is None:
        return 0
    return sum(p.stat().st_size for p in gen.iterdir() if p.is_file())
