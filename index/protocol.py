"""The write side's seam: what an indexing run decides, and what an engine applies.

An indexing run (`index.writer.update`) has two halves. *Planning* is pure:
given what the engine holds (`IndexedState`: per source file, its content
hash and its articles' ids and content hashes) and what each file looked
like this time (`FileOutcome`), decide which articles are added, updated,
unchanged or removed and which files failed (`Planner`, `plan`). *Applying*
is the engine's: a `WriteEngine` reports its state, opens a `WriteBatch`
that deletes and adds articles, and makes the result visible at once on
`commit` (or never, on `abandon`, for a fresh index).

Two engines implement it: the embedded Whoosh index (`index.embedded.engine`,
generations swapped under a file lock) and a Typesense cluster
(`index.typesense_store`, collections swapped under an alias, the state kept
in the cluster itself). An engine names a file in its state either by its
path on this machine (`keyed = False`) or by its key in its source
(`index.sources.source_key`, `keyed = True`), which is the same on every
machine that indexes the same folders.

Besides indexing, an engine answers the maintenance commands with plain
records: `Audit` (what `archivist check` compares with the folders),
export records (`index.export`'s JSON Lines objects) and `OptimizeResult`.

This module holds data and rules only: it never reads a file, opens an
index or talks to a server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Failure:
    """A file, or one line of a file, that could not be indexed, and why."""

    path: str
    reason: str
    line: int | None = None


@dataclass(frozen=True)
class Progress:
    """Where a run is: files looked at so far out of the total."""

    done: int
    total: int
    path: str


@dataclass
class RunSummary:
    """What one indexing run changed, counted in articles, plus what failed."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failures: list[Failure] = field(default_factory=list)
    #: Files read with a fallback encoding, or kept at their previous version.
    warnings: list[Failure] = field(default_factory=list)
    #: Files under the roots that are not article files (unknown type).
    skipped: list[str] = field(default_factory=list)
    files: int = 0
    #: Files actually parsed (the rest were skipped as unchanged by hash).
    files_parsed: int = 0
    seconds: float = 0.0
    rebuilt: bool = False
    articles: int = 0
    #: Why a run asked to be incremental rebuilt the index instead.
    rebuilt_because: str | None = None

    @property
    def failed(self) -> int:
        return len(self.failures)

    def line(self) -> str:
        """The one-line account printed at the end of a run."""
        return (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"removed {self.removed}, failed {self.failed}"
        )

    def to_json(self) -> dict:
        """The summary as JSON-ready data (the CLI's `--json` output)."""
        data = asdict(self)
        data["failed"] = self.failed
        return data


@dataclass
class IndexedFile:
    """What the engine holds for one source file."""

    #: The file's content hash when it was indexed (`index.sources.file_hash`);
    #: empty when its articles disagree (a run stopped half way through it).
    sha: str
    articles: dict[str, str]  # id -> content hash


#: The engine's state: source (a path or a key, see `WriteEngine.keyed`) -> what it holds.
IndexedState = dict[str, IndexedFile]


@dataclass(frozen=True)
class FileOutcome:
    """What planning reads of one file once it was looked at: never its text."""

    #: The file as the engine's state names it (its path, or its key).
    source: str
    #: Its path, for the messages a librarian reads.
    path: str
    #: Its bytes hash as indexed: it was not parsed.
    unchanged: bool = False
    #: Its bytes were decoded (it counts as parsed).
    read: bool = False
    #: The encoding it was decoded with (None when not decoded).
    encoding: str | None = None
    #: (id, content hash) of each article read from it, in the file's order.
    articles: tuple[tuple[str, str], ...] = ()
    errors: tuple[Failure, ...] = ()


@dataclass
class FileChanges:
    """What one file changes: the sources whose articles are deleted, and
    which of its articles (indexes into `FileOutcome.articles`) are added."""

    deleted: list[str] = field(default_factory=list)
    added: list[int] = field(default_factory=list)


@dataclass
class Plan:
    """A whole run's decisions (`plan`): per file, then the sources that left."""

    files: list[FileChanges]
    #: Sources no longer found whose articles are deleted (none for a fresh index).
    removed: list[str]
    summary: RunSummary


def count_change(counts, before: Mapping[str, str], article_id: str, content_hash: str) -> None:
    """Add one to `counts.added`, `.updated` or `.unchanged`: how an article
    compares with the content hashes `before` holds by id. The run and the
    console's upload preview count with this one rule, so they agree."""
    if article_id not in before:
        counts.added += 1
    elif before[article_id] != content_hash:
        counts.updated += 1
    else:
        counts.unchanged += 1


class Planner:
    """Decides, file by file in the walk's order, what a run changes.

    `before` is the engine's state; `alive` the sources this run found (and
    may read); `fresh` says the run writes a new, empty index (a rebuild, or
    a first run), so nothing is deleted and nothing is skipped by hash.
    `in_scope(source)` says whether a source lies under the run's roots (a
    source not found is removed only then); `exists(source)` whether its file
    is still somewhere on disk. Counts and failures go into `summary`.

    Incremental, so that a run can write each file's articles as soon as it
    is decided (the Whoosh writer's workers wait for the answer); `plan`
    runs it over a whole list.
    """

    def __init__(self, before: IndexedState, *, alive: set[str], fresh: bool,
                 in_scope: Callable[[str], bool], exists: Callable[[str], bool],
                 summary: RunSummary | None = None) -> None:
        self.before = before
        self.alive = alive
        self.fresh = fresh
        self.in_scope = in_scope
        self.exists = exists
        self.summary = summary if summary is not None else RunSummary()
        self.owner = {aid: src for src, st in before.items() for aid in st.articles}
        #: Sources gone from disk whose articles came back under another
        #: name (the archive moved: same ids, new place); deleted once.
        self.gone: set[str] = set()

    def decide(self, outcome: FileOutcome) -> FileChanges:
        """Fold one file's outcome into the summary; return what it changes."""
        summary, before, fresh = self.summary, self.before, self.fresh
        changes = FileChanges()
        src, path = outcome.source, outcome.path
        old = before.get(src)
        if outcome.unchanged and old is not None:
            summary.unchanged += len(old.articles)
            return changes
        if outcome.read:
            summary.files_parsed += 1
        summary.failures.extend(outcome.errors)
        if not outcome.articles:
            if old is not None and not fresh and src in self.alive:
                # Lose nothing: an unreadable new version keeps the old articles.
                summary.warnings.append(Failure(path, "kept the previously indexed version"))
            return changes
        if outcome.encoding is not None and outcome.encoding not in ("utf-8", "binary"):
            summary.warnings.append(Failure(path, f"not UTF-8; decoded as {outcome.encoding}"))
        if old is not None and not fresh:
            changes.deleted.append(src)
        old_articles = dict(old.articles) if old else {}
        new_ids: set[str] = set()
        for i, (article_id, content_hash) in enumerate(outcome.articles):
            holder = self.owner.get(article_id)
            if (holder not in (None, src) and holder not in self.alive
                    and holder not in self.gone and not fresh and holder in before
                    and not self.exists(holder)):
                # Its old copy is compared with it (unchanged, not added) and leaves.
                changes.deleted.append(holder)
                self.gone.add(holder)
                old_articles.update(before[holder].articles)
            if article_id in new_ids or (holder not in (None, src) and holder in self.alive):
                summary.failures.append(Failure(
                    path, f"duplicate id {article_id!r}, already used by {holder or path}"))
                continue
            self.owner[article_id] = src
            new_ids.add(article_id)
            changes.added.append(i)
            count_change(summary, old_articles, article_id, content_hash)
        summary.removed += len(set(old_articles) - new_ids)
        return changes

    def removals(self) -> list[str]:
        """After the last file: the sources that left, counted as removed.

        A fresh index never held them, so none is returned to delete then."""
        removed = []
        for src, state in self.before.items():
            if src not in self.alive and src not in self.gone and (
                    self.fresh or self.in_scope(src)):
                if not self.fresh:
                    removed.append(src)
                self.summary.removed += len(state.articles)
        return removed


def plan(outcomes: Iterable[FileOutcome], before: IndexedState, *, alive: set[str],
         fresh: bool = False, in_scope: Callable[[str], bool] = lambda _: True,
         exists: Callable[[str], bool] = lambda _: False) -> Plan:
    """A whole run's plan, from every file's outcome (see `Planner`)."""
    planner = Planner(before, alive=alive, fresh=fresh, in_scope=in_scope, exists=exists)
    files = [planner.decide(o) for o in outcomes]
    return Plan(files, planner.removals(), planner.summary)


# -- what an engine offers ---------------------------------------------------------------


@dataclass
class Audit:
    """What an engine holds, as `archivist check` compares it with the folders."""

    articles: int = 0
    #: source -> the content hash of the file its articles were read from.
    files: dict[str, str] = field(default_factory=dict)
    #: Stored articles that cannot be read back whole.
    unreadable: list[Failure] = field(default_factory=list)
    #: A cluster's document count per node (empty for an embedded index).
    nodes: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class OptimizeResult:
    """What merging the segments did."""

    segments_before: int
    segments_after: int
    bytes_before: int
    bytes_after: int
    seconds: float


class ParsedFile(Protocol):
    """One parsed file as a batch receives it (`index.writer`'s outcome)."""

    articles: list
    #: The articles' meaning vectors (`index.embedding.to_bytes`), or empty.
    vectors: list[bytes]

    @property
    def sha(self) -> str: ...

    @property
    def key(self) -> str: ...


class WriteBatch(Protocol):
    """One run's writes; nothing is visible to readers of a fresh index before
    `commit`, and `abandon` throws a fresh index away."""

    #: The batch can have worker processes write parts of the index
    #: themselves (Whoosh segments); otherwise this process writes.
    writes_in_workers: bool

    def apply(self, parsed: ParsedFile, changes: FileChanges) -> None:
        """Delete `changes.deleted` sources' articles, add the chosen ones."""

    def remove(self, sources: Sequence[str]) -> None:
        """Delete the articles of `sources` (files that left)."""

    def commit(self, words: set[str], changed: bool) -> int:
        """Make the run visible (`words`: the articles' words for the
        readers' vocabulary); return how many articles the index holds."""

    def abandon(self) -> None:
        """Stop, leaving the index as the last commit left it."""


class WriteEngine(Protocol):
    """Where articles are written: an embedded index or a cluster."""

    #: Sources are named by their key (True) or by their path here (False).
    keyed: bool

    def exists(self) -> bool:
        """Whether there is an index to update (else a run writes a fresh one)."""

    def rebuild_reason(self) -> str | None:
        """Why the existing index cannot take an incremental run, if it cannot."""

    def indexed(self, lock_timeout: float | None = None) -> IndexedState:
        """The state: source -> file hash and articles. An engine whose
        writers may run on several machines takes its shared write lock here,
        waiting at most `lock_timeout` seconds (None: its own default)."""

    def state(self) -> IndexedState:
        """The same state as `indexed`, without taking any lock: for a
        preview (the upload dry run, the console's sources), never for a run."""

    def begin(self, fresh: bool, options, before: IndexedState) -> WriteBatch:
        """Start a run's writes (`fresh`: into a new, empty index swapped in at
        commit; `before`: the state the run planned against)."""

    def audit(self) -> Audit:
        """Read every stored article back (for `archivist check`)."""

    def records(self) -> Iterator[dict]:
        """Every article as an export record (`index.export`), in id order."""

    def optimize(self, lock_timeout: float) -> OptimizeResult | None:
        """Compact the index; None when the engine has nothing to compact."""

    def describe(self) -> str:
        """Where the index is, for messages (a folder, a cluster's collection)."""
