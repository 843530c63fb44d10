"""Bringing the index up to date with the librarian's folders.

`update` is one indexing run: walk the roots, skip files whose bytes hash the
same as when they were indexed, parse the rest, replace their articles, drop
the articles of files that disappeared, and commit once at the end. The
outcome is a `RunSummary`: counts per article plus every file or line that
could not be read, with its reason.

The run is split as `index.protocol` declares: this module walks and parses,
`protocol.Planner` decides (pure: from the engine's state and each file's
hashes) and a `WriteEngine` applies. Two engines exist: the embedded index
(`index.embedded.engine.WhooshWriteEngine`, the default) and a Typesense
cluster (`index.typesense_store.TypesenseWriteEngine`); `write_engine` picks
the configured one. The index folder keeps the roots, their names, the last
run's summary and the write lock (`index.folder`) whichever engine holds the
articles.

Crash safety comes from the order of events. Nothing a run does is visible
until the engine commits; an engine that rebuilds writes the whole new index
beside the old one and swaps it in afterwards. A run killed at any instant
therefore leaves the previous committed index, and the next run (which
compares hashes again) does the remaining work.

Files are parsed here, in worker processes with `jobs` above one
(`parse_batch`, a `ParsedBatch` of `Parsed` files at a time); an engine
whose batch `writes_in_workers` may instead have its own processes parse
and write a fresh index (`WriteBatch.write_in_workers`), asking this
module's planner, file by file in the walk's order, which articles go in.

This module knows no engine's internals and never imports the search side.
"""
from __future__ import annotations

import dataclasses
import gc
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from index import embedding, folder, protocol
from index.analysis import surface_words
from index.article import Article, ReadError
from index.formats import reader_for
from index.protocol import (
    Failure,
    FileChanges,
    FileOutcome,
    Planner,
    Progress,
    RunSummary,
    WriteEngine,
)
from index.sources import (
    DEFAULT_MAX_BYTES,
    FoundFile,
    LoadedFile,
    load,
    source_key,
    source_names,
    walk,
)

SOURCES_FILE = "sources.json"
LAST_RUN_FILE = "last-run.json"


@dataclass(frozen=True)
class IndexOptions:
    """Knobs of an indexing run."""

    max_bytes: int = DEFAULT_MAX_BYTES
    #: Seconds to wait for another run's write lock before giving up.
    lock_timeout: float = 10.0
    #: Processes that read and parse files. A fresh generation is written by
    #: that many processes, a segment each; other runs write from this one.
    jobs: int = 1
    #: Memory Whoosh may use for the segment a process is writing before it
    #: spills postings to disk, MB (by its own estimate of their size).
    #: Spilling writes sorted runs to disk and merges them back, much slower
    #: than keeping them in memory; the limit is per writing process, so
    #: `jobs` processes may use `jobs` times as much.
    limitmb: int = 512


ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True)
class Parsed:
    loaded: LoadedFile
    articles: list[Article]
    errors: list[ReadError]
    unchanged: bool = False
    #: The articles' meaning vectors (`index.embedding`), made where they
    #: were parsed (in parallel with --jobs); empty without a model.
    vectors: list[bytes] = field(default_factory=list)

    @property
    def sha(self) -> str:
        return self.loaded.sha

    @property
    def key(self) -> str:
        """The file's key in its source (`index.sources.source_key`)."""
        return self.loaded.text.key if self.loaded.text is not None else ""

    def outcome(self, source_of: Mapping[str, str] | None = None) -> FileOutcome:
        """What planning reads of this file; `source_of` maps paths to the
        names the engine's state uses (None: the paths themselves)."""
        loaded = self.loaded
        path = loaded.path
        return FileOutcome(
            source=path if source_of is None else source_of.get(path, path), path=path,
            unchanged=self.unchanged, read=loaded.text is not None,
            encoding=loaded.text.encoding if loaded.text is not None else None,
            articles=tuple((a.id, a.content_hash) for a in self.articles),
            errors=tuple(Failure(e.source, e.reason, e.line) for e in self.errors))

    def outline(self) -> Parsed:
        """This outcome without the text: what deciding which articles go
        into the index (`_apply`) reads, cheap to send between processes."""
        loaded = self.loaded
        text = loaded.text and dataclasses.replace(loaded.text, text="", data=b"")
        return dataclasses.replace(
            self, loaded=dataclasses.replace(loaded, text=text), vectors=[],
            articles=[dataclasses.replace(a, title="", body="") for a in self.articles])


@dataclass(frozen=True)
class ParsedBatch:
    """Files parsed together (`None` for a file of no known type)."""

    files: list[Parsed | None]
    #: Their articles' words as written, for the vocabulary (`index.vocabulary`).
    words: set[str]


def known_roots(index_dir: Path) -> list[str]:
    """The folders and files earlier runs indexed, in the order first seen."""
    return list(folder.read_json(index_dir, SOURCES_FILE, {}).get("roots", {}))


def source_names_for(index_dir: Path, roots: Iterable[str] = ()) -> dict[str, str]:
    """The names the next run over `roots` (resolved paths) gives each source
    it can see: those roots and the known ones that exist (`source_names`)."""
    everything = dict.fromkeys([*roots, *known_roots(index_dir)])
    return source_names(r for r in everything if os.path.exists(r))


def source_key_for(index_dir: Path, path: str | Path, root: str | Path) -> str:
    """The key (`index.sources.source_key`) the next run over `root` gives the
    file `path`, from which its articles' ids derive (for a preview of a run)."""
    names = source_names_for(index_dir, [str(Path(root).resolve())])
    return source_key(str(Path(path).resolve()), names) or ""


def recorded_source_names(index_dir: Path) -> dict[str, str]:
    """Each known root's source name as the indexed articles were keyed with it.

    Runs record the names they used (`names` in the sources file); a root
    indexed before names were recorded is named as a run would name it.
    Readers are shown an article's file by these names, never by its path.
    """
    data = folder.read_json(index_dir, SOURCES_FILE, {})
    recorded = data.get("names", {})
    return {**source_names(data.get("roots", {})), **recorded}


def update(
    index_dir: Path,
    roots: Sequence[Path] = (),
    *,
    rebuild: bool = False,
    options: IndexOptions = IndexOptions(),
    progress: ProgressFn | None = None,
    engine: WriteEngine | None = None,
) -> RunSummary:
    """Run one incremental (or, with `rebuild`, from-scratch) indexing pass.

    With no `roots`, the roots of earlier runs are indexed again. The
    articles go to `engine` (default: the Whoosh index in `index_dir`;
    `write_engine` makes the configured one); `index_dir` keeps the roots,
    their names, the last run's summary and the write lock either way.
    Raises `folder.LockTimeout` when another run holds the lock too long, and
    lets `KeyboardInterrupt` through after abandoning the uncommitted work.
    """
    started = time.monotonic()
    index_dir = Path(index_dir)
    if engine is None:
        from index.embedded.engine import WhooshWriteEngine

        engine = WhooshWriteEngine(index_dir)
    root_paths = [str(Path(r).resolve()) for r in roots] or known_roots(index_dir)
    with folder.write_lock(index_dir, options.lock_timeout), _rare_full_collections():
        summary = _run(engine, index_dir, root_paths, rebuild, options, progress)
        summary.seconds = round(time.monotonic() - started, 3)
        _remember(index_dir, root_paths, summary)
    return summary


def write_engine(config: Mapping, index_dir: Path | None = None) -> WriteEngine:
    """The write-side engine a configuration names (`ENGINE`): the Whoosh
    index in `index_dir` (default: `INDEX_DIR`), or the Typesense cluster
    of `TYPESENSE_NODES`. The CLI and the console get theirs here."""
    name = str(config.get("ENGINE") or "whoosh").lower()
    if name == "whoosh":
        from index.embedded.engine import WhooshWriteEngine

        return WhooshWriteEngine(Path(index_dir or config["INDEX_DIR"]))
    if name == "typesense":
        from index.typesense_client import settings_from
        from index.typesense_store import TypesenseWriteEngine

        return TypesenseWriteEngine(settings_from(config))
    raise ValueError(f"unknown engine {name!r}: choose whoosh or typesense")


@contextmanager
def _rare_full_collections() -> Iterator[None]:
    """Let Python's garbage collector walk all objects only rarely meanwhile.

    Whoosh's pool holds every posting of the segment being written, millions
    of objects, until the commit; each full collection walks them all, and
    they came every few seconds. Indexing makes no garbage cycles worth
    that: young objects are still collected.
    """
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, max(old, FULL_COLLECTION_THRESHOLD))
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)


#: `gc.set_threshold`'s third value while indexing (Python's default is 10).
FULL_COLLECTION_THRESHOLD = 1000


def _run(
    engine: WriteEngine,
    index_dir: Path,
    roots: list[str],
    rebuild: bool,
    options: IndexOptions,
    progress: ProgressFn | None,
) -> RunSummary:
    summary = RunSummary(rebuilt=rebuild)
    exists = engine.exists()
    reason = engine.rebuild_reason() if exists and not rebuild else None
    if reason is not None:
        rebuild = summary.rebuilt = True
        summary.rebuilt_because = reason
    before = engine.indexed(options.lock_timeout) if exists else {}
    if rebuild:
        # Everything not under the rebuilt roots is dropped with the old index.
        roots = sorted(set(roots) | set(known_roots(index_dir)))
    fresh = rebuild or not exists

    recorded = folder.read_json(index_dir, SOURCES_FILE, {}).get("names", {})
    names = source_names_for(index_dir, roots)
    # A source renamed because another of the same name came or went: its
    # files' keys, hence its articles' ids, change, so it is read again now.
    roots = roots + [r for r, n in names.items() if r not in roots and recorded.get(r, n) != n]
    found = list(walk((Path(r) for r in roots), names))
    summary.files = len(found)
    keyed = engine.keyed
    # A link leading outside its source is reported, never read, and what an
    # earlier version of Archivist read through it is removed.
    alive = {(f.key if keyed else f.path) for f in found if f.refused is None}
    if keyed:
        source_of = {f.path: f.key for f in found}
        in_scope, on_disk = _key_scope(roots, names)
    else:
        source_of = None
        in_scope, on_disk = (lambda src: _under(src, roots)), os.path.lexists
    planner = Planner(before, alive=alive, fresh=fresh, in_scope=in_scope, exists=on_disk,
                      summary=summary)
    # A fresh index must receive every file, so nothing is skipped by hash.
    if fresh:
        skip_hashes = {}
    elif keyed:
        skip_hashes = {f.path: before[f.key].sha for f in found if f.key in before}
    else:
        skip_hashes = {src: st.sha for src, st in before.items()}
    batch = engine.begin(fresh, options, before)
    # A fresh Whoosh index has nothing to delete, so its documents can be
    # written by `jobs` processes, a segment each (left unmerged: `archivist
    # optimize` merges them).
    in_workers = (fresh and batch.writes_in_workers and options.jobs > 1
                  and len(found) > PARALLEL_MIN_FILES)
    words: set[str] = set()
    done = 0

    def decide(parsed: Parsed | None) -> FileChanges:
        nonlocal done
        done += 1
        changes = _NO_CHANGES
        if parsed is not None:
            changes = planner.decide(parsed.outcome(source_of))
        if progress:
            progress(Progress(done, len(found), found[done - 1].path))
        return changes

    try:
        if in_workers:
            batch.write_in_workers(found, decide, words)
        else:
            for parse_batch in _parse_all(found, skip_hashes, options):
                words |= parse_batch.words
                for parsed in parse_batch.files:
                    changes = decide(parsed)
                    if changes.deleted or changes.added:
                        batch.apply(parsed, changes)
        summary.skipped = [f.path for f in found if f.format is None and f.refused is None]
        batch.remove(planner.removals())
        _record_names(index_dir, names)
        summary.articles = batch.commit(
            words, changed=bool(summary.added or summary.updated or summary.removed))
    except BaseException:
        batch.abandon()
        raise
    return summary


#: What a file of no known type, or one left as it is, changes.
_NO_CHANGES = FileChanges()


def _key_scope(roots: list[str], names: Mapping[str, str]
               ) -> tuple[Callable[[str], bool], Callable[[str], bool]]:
    """For an engine whose state names files by key: whether a key lies under
    `roots` (a folder: its source name's keys; a file: its own key), and
    whether the file a key names still exists here."""
    prefixes = []
    exact = set()
    for r in roots:
        if os.path.isfile(r):
            exact.add(source_key(r, names))
        elif r in names:
            prefixes.append(names[r] + "/")
    folders = {n: r for r, n in names.items() if not os.path.isfile(r)}

    def in_scope(key: str) -> bool:
        return key in exact or key.startswith(tuple(prefixes))

    def exists(key: str) -> bool:
        name, _, relative = key.rpartition("/")
        while name:
            if name in folders:
                return os.path.lexists(os.path.join(folders[name], *relative.split("/")))
            name, _, head = name.rpartition("/")
            relative = f"{head}/{relative}"
        # Its source is not one this machine knows: treat the file as still there.
        return True

    return in_scope, exists


def _parse_all(found: list[FoundFile], skip_hashes: dict[str, str], options: IndexOptions
               ) -> Iterator[ParsedBatch]:
    """Yield, in the order of `found`, batches of a `Parsed` per file (None
    for unknown types).

    A file whose hash equals `skip_hashes[path]` is not parsed: its `Parsed`
    is marked `unchanged`. With `options.jobs > 1` files are read and parsed
    in worker processes while this one writes the index.
    """
    batches = parse_batches(found, skip_hashes, options)
    if options.jobs > 1 and len(found) > PARALLEL_MIN_FILES:
        with ProcessPoolExecutor(options.jobs) as pool:
            yield from pool.map(parse_batch, batches)
    else:
        for batch in batches:
            yield parse_batch(batch)


def parse_batches(found: list[FoundFile], skip_hashes: dict[str, str], options: IndexOptions
             ) -> list[list[tuple]]:
    """`found` cut into `PARSE_BATCH`es of `_parse_one` arguments."""
    args = [(f, skip_hashes.get(f.path), options.max_bytes) for f in found]
    return [args[i:i + PARSE_BATCH] for i in range(0, len(args), PARSE_BATCH)]


#: Files parsed together: the meaning vectors of all their articles are made
#: in one call, since the embedding model costs far more per call than per text.
PARSE_BATCH = 32
#: Fewer files than this are not worth starting worker processes for.
PARALLEL_MIN_FILES = 50


def parse_batch(batch: list[tuple]) -> ParsedBatch:
    """`_parse_one` for each file of `batch`, with the vectors made at once."""
    parsed = [_parse_one(*a) for a in batch]
    articles = [a for p in parsed if p is not None for a in p.articles]
    made = embedding.article_vectors([(a.title, a.body) for a in articles])
    vectors = iter(embedding.to_bytes(v) for v in made) if made is not None else None
    files = [p if p is None or not p.articles or vectors is None else dataclasses.replace(
                 p, vectors=[next(vectors) for _ in p.articles])
             for p in parsed]
    return ParsedBatch(files, surface_words(*(t for a in articles for t in (a.title, a.body))))


def _parse_one(found: FoundFile, known_sha: str | None, max_bytes: int) -> Parsed | None:
    if found.format is None and found.refused is None:
        return None
    loaded = load(found, max_bytes, known_sha)
    if known_sha is not None and loaded.sha == known_sha:
        return Parsed(loaded, [], [], unchanged=True)
    if loaded.error is not None:
        return Parsed(loaded, [], [loaded.error])
    articles: list[Article] = []
    errors: list[ReadError] = []
    try:
        for item in reader_for(loaded.format)(loaded.text):
            (errors if isinstance(item, ReadError) else articles).append(item)
    except Exception as e:  # noqa: BLE001 -- a reader bug must not stop the run
        errors.append(ReadError(found.path, f"reader failed: {type(e).__name__}: {e}"))
    return Parsed(loaded, articles, errors)


def count_change(counts, before: Mapping[str, str], article: Article) -> None:
    """`index.protocol.count_change` for an `Article` (the console's upload preview)."""
    protocol.count_change(counts, before, article.id, article.content_hash)


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _record_names(index_dir: Path, names: dict[str, str]) -> None:
    """Record the sources' names before the run commits, so readers never
    see an article whose source's name is not known yet."""
    data = folder.read_json(index_dir, SOURCES_FILE, {"roots": {}})
    if any(data.get("names", {}).get(r) != n for r, n in names.items()):
        data["names"] = {**data.get("names", {}), **names}
        folder.write_json(index_dir, SOURCES_FILE, data)


def _remember(index_dir: Path, roots: list[str], summary: RunSummary) -> None:
    """Record the roots and this run's summary beside the index."""
    data = folder.read_json(index_dir, SOURCES_FILE, {"roots": {}})
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    for r in roots:
        data.setdefault("roots", {})[r] = {"last_run": now}
    folder.write_json(index_dir, SOURCES_FILE, data)
    folder.write_json(index_dir, LAST_RUN_FILE, {"finished": now, **summary.to_json()})
