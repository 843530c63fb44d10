"""Where an article came from, as readers may see it: never a server path.

The index keeps each article's absolute file path (`source`): the writer
needs it to find changed and deleted files. A reader is shown the file's
place in its source instead: the source's name and the path relative to the
source folder (`news/2021/a.txt`), the key article ids are derived from
(`index.sources.source_key`). `Places.shown` is the one function that turns
one into the other; the engine applies it to every hit and article it
makes, so nothing that leaves `search/` carries an absolute path.

The sources' names are the ones the writer records beside the index
(`index.writer.recorded_source_names`), re-read when that file changes
(looked at twice a second, and whenever the engine opens a new generation). A
path under no known source (an index built from values, a source forgotten
since) is shown by its file name alone. This module never returns an
absolute path and never writes anything.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from index.sources import source_key
from index.writer import SOURCES_FILE, recorded_source_names

#: How often, at most, the sources file is looked at for a change (seconds).
RECHECK_SECONDS = 0.5


class Places:
    """Shows the articles' files of one index directory (None: an in-RAM index)."""

    def __init__(self, index_dir: Path | None) -> None:
        self._dir = Path(index_dir) if index_dir is not None else None
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._names: dict[str, str] = {}
        self._next_check = 0.0

    def invalidate(self) -> None:
        """Look at the sources file again on next use (a new index generation:
        the writer recorded its sources' names before committing it)."""
        self._next_check = 0.0

    def shown(self, source: str) -> str:
        """`source` (an absolute path) as a reader may see it: `name/relative/path`."""
        if not source:
            return ""
        return source_key(source, self._current()) or os.path.basename(source)

    def _current(self) -> dict[str, str]:
        if self._dir is None or time.monotonic() < self._next_check:
            return self._names
        with self._lock:
            self._next_check = time.monotonic() + RECHECK_SECONDS
            try:
                st = os.stat(self._dir / SOURCES_FILE)
                stamp = (st.st_mtime_ns, st.st_size)
            except OSError:
                stamp = None
            if stamp != self._stamp:
                self._names = recorded_source_names(self._dir) if stamp else {}
                self._stamp = stamp
        return self._names
