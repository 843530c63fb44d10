"""The index's health as the librarians see it.

`health` gathers the figures of the console's health page: how many
articles, how many per year, the most used tags, how many have no date or
no tag, which files failed in the last run, and what the index costs on
disk (bytes and segments). `sources_overview` counts the articles under each
source folder. The last run's failures and the roots come from the index
folder (`index.folder`); the figures are the embedded index's
(`index.embedded.health`, which also offers `optimize`).

Nothing here parses article files or answers searches.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from index import folder
from index.writer import LAST_RUN_FILE, SOURCES_FILE, Failure, known_roots


@dataclass(frozen=True)
class Count:
    """A value and how many articles have it (a year, a tag)."""

    label: str
    count: int


@dataclass
class Health:
    """Figures about the index, for the console's health page."""

    articles: int = 0
    undated: int = 0
    untagged: int = 0
    distinct_tags: int = 0
    years: list[Count] = field(default_factory=list)
    top_tags: list[Count] = field(default_factory=list)
    size_bytes: int = 0
    segments: int = 0
    deleted: int = 0
    generation: str | None = None
    #: The last indexing run's summary as recorded beside the index (None before any).
    last_run: dict | None = None
    last_failures: list[Failure] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return self.generation is not None


@dataclass(frozen=True)
class SourceInfo:
    """One source folder (or file): where it is, what it holds in the index."""

    path: str
    configured: bool
    exists: bool
    is_dir: bool
    articles: int
    last_run: str | None


def health(index_dir: Path, top: int = 15) -> Health:
    """The health figures of the index in `index_dir` (all zero when there is none)."""
    index_dir = Path(index_dir)
    report = Health()
    read_last_run(report, index_dir)
    from index.embedded.health import index_figures

    index_figures(index_dir, report, top)
    return report


def read_last_run(report: Health, index_dir: Path) -> None:
    """Fill `report`'s last run and its failures from the summary every
    indexing run leaves in `index_dir` (whatever the engine)."""
    last = folder.read_json(Path(index_dir), LAST_RUN_FILE, None)
    if isinstance(last, dict):
        report.last_run = last
        report.last_failures = [
            Failure(f.get("path", ""), f.get("reason", ""), f.get("line"))
            for f in last.get("failures", []) if isinstance(f, dict)
        ]


def sources_overview(index_dir: Path, configured: list[str],
                     count_under: Callable[[str], int] | None = None) -> list[SourceInfo]:
    """The configured source folders, then any other folder earlier runs indexed.

    Each comes with the number of indexed articles whose file lies under it
    (`count_under(folder path)`; default: counted in the embedded index) and
    the time of the last run that indexed it.
    """
    index_dir = Path(index_dir)
    runs = folder.read_json(index_dir, SOURCES_FILE, {}).get("roots", {})
    paths: dict[str, bool] = {}
    for p in configured:
        paths.setdefault(str(Path(p).expanduser().resolve()), True)
    for p in known_roots(index_dir):
        paths.setdefault(p, False)
    if count_under is None:
        count_under = _embedded_counter(index_dir)
    infos = []
    for path, is_configured in paths.items():
        p = Path(path)
        infos.append(SourceInfo(
            path=path, configured=is_configured, exists=p.exists(), is_dir=p.is_dir(),
            articles=count_under(path), last_run=(runs.get(path) or {}).get("last_run"),
        ))
    return infos


def _embedded_counter(index_dir: Path) -> Callable[[str], int]:
    """Articles under a folder, from the embedded index's per-file counts."""
    from index.embedded.contents import articles_per_source

    per_source = articles_per_source(index_dir)

    def count(path: str) -> int:
        prefix = path.rstrip(os.sep) + os.sep
        return sum(n for src, n in per_source.items() if src == path or src.startswith(prefix))

    return count
