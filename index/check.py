"""Checking that the index is sound and agrees with the files it was built from.

`check` answers three questions a librarian asks before trusting an index:

1. Does it open? (the CURRENT pointer names a generation Whoosh can read;
   the cluster answers for its collection)
2. Can every stored article be read back, with its id, title and body?
   On a cluster, does every node hold as many as were read?
3. Does it agree with the source folders? Each article file under the
   indexed folders should be in the index with the same content hash:
   *missing* files are on disk but not indexed, *extra* ones are indexed but
   gone from disk (or from every folder), *stale* ones changed since they
   were indexed. Files the last run could not read are listed apart: they
   were reported then, and are not the index's fault.

The index is read through its write-side engine (`index.protocol.Audit`;
the embedded index's is `index.embedded.contents.audit`), so the same check
runs against the Whoosh index or a Typesense cluster;
a cluster names files by their keys, so its *extra* files are keys.

The answer is a `CheckReport`; `ok` is False on any problem. This module
reads files and the index and never changes either.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index import folder
from index.protocol import WriteEngine
from index.sources import DEFAULT_MAX_BYTES, file_hash, source_names, walk
from index.writer import LAST_RUN_FILE, Failure, known_roots, recorded_source_names

#: Stored fields every article must have (an engine's audit checks them).
REQUIRED = ("id", "title", "body", "source")


@dataclass
class CheckReport:
    """What `check` found; `ok` says whether anything needs attention."""

    index_dir: str
    opened: bool = False
    open_error: str | None = None
    articles: int = 0
    roots: list[str] = field(default_factory=list)
    files: int = 0
    unreadable: list[Failure] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    #: Files the last run failed to read (not counted as problems).
    known_failures: list[str] = field(default_factory=list)
    #: A cluster's document count per node (empty for an embedded index).
    nodes: dict[str, int | None] = field(default_factory=dict)
    #: Nodes whose count differs from the articles read (behind, or not answering).
    lagging: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.opened and not (self.unreadable or self.missing or self.extra or self.stale
                                    or self.lagging)

    def lines(self) -> list[str]:
        """The report as lines of text, problems first, the verdict last."""
        out: list[str] = []
        if not self.opened:
            out.append(f"cannot open the index in {self.index_dir}: {self.open_error}")
            return out
        for f in self.unreadable:
            out.append(f"unreadable article {f.path}: {f.reason}")
        out += [f"missing (on disk, not indexed): {p}" for p in self.missing]
        out += [f"extra (indexed, not on disk): {p}" for p in self.extra]
        out += [f"stale (changed since indexed): {p}" for p in self.stale]
        out += [f"note: the last run could not read {p}" for p in self.known_failures]
        out += [f"node {n} holds {self.nodes[n]} articles, not {self.articles}"
                if self.nodes[n] is not None else f"node {n} does not answer"
                for n in self.lagging]
        out.append(
            f"{self.articles} articles, {self.files} files under {len(self.roots)} sources: "
            + ("OK" if self.ok else
               f"{len(self.unreadable)} unreadable, {len(self.missing)} missing, "
               f"{len(self.extra)} extra, {len(self.stale)} stale"
               + (f", {len(self.lagging)} nodes behind" if self.lagging else ""))
        )
        return out

    def to_json(self) -> dict:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def check(index_dir: Path, roots: Sequence[str | Path] = (),
          max_bytes: int = DEFAULT_MAX_BYTES, engine: WriteEngine | None = None) -> CheckReport:
    """Check the index (`engine`; default: the Whoosh index in `index_dir`)
    against `roots` plus the roots earlier runs from `index_dir` indexed."""
    index_dir = Path(index_dir)
    if engine is None:
        from index.embedded.engine import WhooshWriteEngine

        engine = WhooshWriteEngine(index_dir)
    report = CheckReport(index_dir=engine.describe())
    try:
        audit = engine.audit()
    except FileNotFoundError:
        report.open_error = "there is no index here (nothing has been indexed yet)"
        return report
    except Exception as e:  # noqa: BLE001 -- any failure to open is the finding itself
        report.open_error = f"{type(e).__name__}: {e}"
        return report
    report.opened = True
    report.articles = audit.articles
    report.unreadable = audit.unreadable
    report.nodes = audit.nodes
    report.lagging = sorted(n for n, count in audit.nodes.items() if count != audit.articles)
    indexed = audit.files

    all_roots = [str(Path(r).resolve()) for r in roots]
    all_roots += [r for r in known_roots(index_dir) if r not in all_roots]
    report.roots = all_roots
    if not all_roots:
        # Built from values, not folders (a test index, a tool): nothing to compare with.
        return report
    failed_last = {
        f.get("path") for f in folder.read_json(index_dir, LAST_RUN_FILE, {}).get("failures", [])
        if isinstance(f, dict) and f.get("line") is None
    }
    on_disk: set[str] = set()
    existing = [r for r in all_roots if os.path.exists(r)]
    # The names the indexed articles were keyed with (file hashes include the key).
    names = {**source_names(existing), **recorded_source_names(index_dir)}
    for found in walk((Path(r) for r in existing), names):
        if found.format is None or found.refused is not None:
            # Not article files; a link leading outside its source is reported by every run.
            continue
        source = found.key if engine.keyed else found.path
        on_disk.add(source)
        report.files += 1
        if source not in indexed:
            (report.known_failures if found.path in failed_last else report.missing).append(
                found.path)
            continue
        sha = _hash(found.path, found.key, max_bytes)
        if sha is not None and sha != indexed[source]:
            report.stale.append(found.path)
    report.extra = sorted(p for p in indexed if p not in on_disk)
    return report


def _hash(path: str, key: str, max_bytes: int) -> str | None:
    """The file's content hash, or None when it cannot be read (the run reported it)."""
    try:
        if os.path.getsize(path) > max_bytes:
            return None
        with open(path, "rb") as f:
            return file_hash(f.read(max_bytes + 1), key)
    except OSError:
        return None
