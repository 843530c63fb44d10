"""Bringing the index up to date with the librarian's folders.

`update` is one indexing run: walk the roots, skip files whose bytes hash the
same as when they were indexed, parse the rest, replace their articles, drop
the articles of files that disappeared, and commit once at the end. The
outcome is a `RunSummary`: counts per article plus every file or line that
could not be read, with its reason.

The run is split as `index.protocol` declares: this module walks and parses,
`protocol.Planner` decides (pure: from the engine's state and each file's
hashes) and a `WriteEngine` applies. Two engines exist: the Whoosh index
below (`WhooshWriteEngine`, the default) and a Typesense cluster
(`index.typesense_store.TypesenseWriteEngine`); `write_engine` picks the
configured one. The index folder keeps the roots, their names, the last
run's summary and the write lock whichever engine holds the articles.

Crash safety comes from the order of events. Nothing a run does is visible
until Whoosh commits, and a commit becomes visible by an atomic rename of
the index's table of contents; a rebuild goes further and writes a whole new
generation that `store.make_current` swaps in afterwards. A run killed at
any instant therefore leaves the previous committed index, and the next run
(which compares hashes again) does the remaining work.

With `jobs` above one, a fresh generation is written by worker processes,
each parsing files and writing its own segment (`index.segments`); this
process decides, file by file in the walk's order, which articles go in,
and commits the segments together. An incremental run's files are parsed in
worker processes and written here.

This module, with `index.segments` for its workers' segments, is the only
one that writes to the Whoosh index. It never imports the search side.
"""
from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import os
import queue
import shutil
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.index import Index

from index import embedding, protocol, segments, store, vocabulary, whoosh_speed
from index.analysis import surface_words
from index.article import Article, ReadError
from index.document import to_document
from index.formats import reader_for
from index.protocol import (
    Audit,
    Failure,
    FileChanges,
    FileOutcome,
    IndexedFile,
    IndexedState,
    OptimizeResult,
    Planner,
    Progress,
    RunSummary,
    WriteEngine,
)
from index.schema import SCHEMA_VERSION
from index.sources import (
    DEFAULT_MAX_BYTES,
    FoundFile,
    LoadedFile,
    load,
    source_key,
    source_names,
    walk,
)

whoosh_speed.install()

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
class _Parsed:
    loaded: LoadedFile
    articles: list[Article]
    errors: list[ReadError]
    unchanged: bool = False
    #: The articles' meaning vectors (`index.embedding`), made where they
    #: were parsed (in parallel with --jobs); empty without a model.
    vectors: list[bytes] = field(default_factory=list)

    def document(self, i: int) -> dict:
        """The Whoosh document of article `i`."""
        vector = self.vectors[i] if i < len(self.vectors) else None
        return to_document(self.articles[i], self.loaded.sha, vector)

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

    def outline(self) -> _Parsed:
        """This outcome without the text: what deciding which articles go
        into the index (`_apply`) reads, cheap to send between processes."""
        loaded = self.loaded
        text = loaded.text and dataclasses.replace(loaded.text, text="", data=b"")
        return dataclasses.replace(
            self, loaded=dataclasses.replace(loaded, text=text), vectors=[],
            articles=[dataclasses.replace(a, title="", body="") for a in self.articles])


@dataclass(frozen=True)
class _Batch:
    """Files parsed together (`None` for a file of no known type)."""

    files: list[_Parsed | None]
    #: Their articles' words as written, for the vocabulary (`index.vocabulary`).
    words: set[str]


def write_articles(ix: Index, articles: Iterable[Article], source_hash: str = "") -> int:
    """Add or replace `articles` (by id) in `ix` and commit; return how many.

    The small, direct path for tests and tools that already hold `Article`
    values; `update` is the librarians' incremental run over files.
    """
    articles = list(articles)
    made = embedding.vectors([embedding.article_text(a.title, a.body) for a in articles])
    with ix.writer() as w:
        for i, article in enumerate(articles):
            vector = embedding.to_bytes(made[i]) if made is not None else None
            w.update_document(**to_document(article, source_hash, vector))
    return len(articles)


def known_roots(index_dir: Path) -> list[str]:
    """The folders and files earlier runs indexed, in the order first seen."""
    return list(store.read_json(index_dir, SOURCES_FILE, {}).get("roots", {}))


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
    data = store.read_json(index_dir, SOURCES_FILE, {})
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
    Raises `store.LockTimeout` when another run holds the lock too long, and
    lets `KeyboardInterrupt` through after abandoning the uncommitted work.
    """
    started = time.monotonic()
    index_dir = Path(index_dir)
    engine = engine if engine is not None else WhooshWriteEngine(index_dir)
    root_paths = [str(Path(r).resolve()) for r in roots] or known_roots(index_dir)
    with store.write_lock(index_dir, options.lock_timeout), _rare_full_collections():
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
    before = engine.indexed() if exists else {}
    if rebuild:
        # Everything not under the rebuilt roots is dropped with the old index.
        roots = sorted(set(roots) | set(known_roots(index_dir)))
    fresh = rebuild or not exists

    recorded = store.read_json(index_dir, SOURCES_FILE, {}).get("names", {})
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

    def decide(parsed: _Parsed | None) -> FileChanges:
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


class WhooshWriteEngine:
    """The embedded Whoosh index in an index folder, as a `WriteEngine`.

    Its state names files by their paths (the `source` column); a fresh
    index is a new generation made current at commit (`index.store`).
    """

    keyed = False

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)

    def describe(self) -> str:
        return str(self.index_dir)

    def exists(self) -> bool:
        gen = store.current_generation(self.index_dir)
        return gen is not None and whoosh_index.exists_in(str(gen))

    def rebuild_reason(self) -> str | None:
        version = store.schema_version(self.index_dir)
        if version is not None and version < SCHEMA_VERSION:
            # Terms made by an older analyzer cannot be mixed with new ones.
            return (f"the index was written with schema version {version}; this version of "
                    f"Archivist writes version {SCHEMA_VERSION}, so it was rebuilt")
        return None

    def indexed(self) -> IndexedState:
        ix = store.open_current(self.index_dir)
        if ix is None:
            return {}
        try:
            return _read_state(ix)
        finally:
            ix.close()

    def begin(self, fresh: bool, options: IndexOptions,
              before: IndexedState | None = None) -> _WhooshBatch:
        return _WhooshBatch(self.index_dir, fresh, options)

    def audit(self) -> Audit:
        from index.check import audit_whoosh

        return audit_whoosh(self.index_dir)

    def records(self) -> Iterator[dict]:
        from index.export import whoosh_records

        return whoosh_records(self.index_dir)

    def optimize(self, lock_timeout: float) -> OptimizeResult:
        from index.health import optimize

        return optimize(self.index_dir, lock_timeout)


class _WhooshBatch:
    """One run's writes to the Whoosh index: into its current generation,
    or (fresh) into a new generation, written by `jobs` processes when there
    are many files (`write_in_workers`), made current at commit."""

    writes_in_workers = True

    def __init__(self, index_dir: Path, fresh: bool, options: IndexOptions) -> None:
        self.index_dir = index_dir
        self.options = options
        self.fresh = fresh
        if fresh:
            self.gen, self.ix = store.new_generation(index_dir)
        else:
            self.gen, self.ix = None, store.open_current(index_dir)
        self.writer = self.ix.writer(limitmb=options.limitmb)
        self.workers: _Workers | None = None
        self.written: list = []
        self.vocabulary: vocabulary.VocabularyData | None = None

    def write_in_workers(self, found: list[FoundFile],
                         decide: Callable[[_Parsed | None], FileChanges],
                         words: set[str]) -> None:
        self.workers = _Workers(self.gen, self.options)
        self.written, self.vocabulary = self.workers.run(found, decide, words)

    def apply(self, parsed: _Parsed, changes: FileChanges) -> None:
        writer = self.writer
        for src in changes.deleted:
            writer.delete_by_term("source", src)
        for i in changes.added:
            writer.add_document(**parsed.document(i))

    def remove(self, sources: Sequence[str]) -> None:
        for src in sources:
            self.writer.delete_by_term("source", src)

    def commit(self, words: set[str], changed: bool) -> int:
        if self.workers is not None:
            segments.commit(self.writer, self.written)
        else:
            self.writer.commit()
        gen = self.gen if self.gen is not None else store.current_generation(self.index_dir)
        _write_vocabulary(gen, self.ix, changed=changed, words=words, fresh=self.fresh,
                          data=self.vocabulary)
        if self.gen is not None:
            store.make_current(self.index_dir, self.gen)
        with self.ix.searcher() as s:
            return s.doc_count()

    def abandon(self) -> None:
        if self.workers is not None:
            self.workers.stop()
        if not self.writer.is_closed:
            self.writer.cancel()
        if self.gen is not None:
            shutil.rmtree(self.gen, ignore_errors=True)


def _write_vocabulary(gen_dir: Path | None, ix: Index, changed: bool,
                      words: set[str] | None = None, fresh: bool = False,
                      data: vocabulary.VocabularyData | None = None) -> None:
    """Leave the readers' vocabulary of the committed index beside it
    (`data`, when the run worked it out before the commit).

    A failure here loses nothing (readers build it from the index), so it is
    not allowed to fail the run."""
    if gen_dir is None:
        return
    try:
        if changed or not vocabulary.carry_over(gen_dir, ix):
            vocabulary.write(gen_dir, ix, words, fresh, data)
    except OSError:
        pass


def _parse_all(found: list[FoundFile], skip_hashes: dict[str, str], options: IndexOptions
               ) -> Iterator[_Batch]:
    """Yield, in the order of `found`, batches of a `_Parsed` per file (None
    for unknown types).

    A file whose hash equals `skip_hashes[path]` is not parsed: its `_Parsed`
    is marked `unchanged`. With `options.jobs > 1` files are read and parsed
    in worker processes while this one writes the index.
    """
    batches = _batches(found, skip_hashes, options)
    if options.jobs > 1 and len(found) > PARALLEL_MIN_FILES:
        with ProcessPoolExecutor(options.jobs) as pool:
            yield from pool.map(_parse_batch, batches)
    else:
        for batch in batches:
            yield _parse_batch(batch)


def _batches(found: list[FoundFile], skip_hashes: dict[str, str], options: IndexOptions
             ) -> list[list[tuple]]:
    """`found` cut into `PARSE_BATCH`es of `_parse_one` arguments."""
    args = [(f, skip_hashes.get(f.path), options.max_bytes) for f in found]
    return [args[i:i + PARSE_BATCH] for i in range(0, len(args), PARSE_BATCH)]


#: Files parsed together: the meaning vectors of all their articles are made
#: in one call, since the embedding model costs far more per call than per text.
PARSE_BATCH = 32
#: Fewer files than this are not worth starting worker processes for.
PARALLEL_MIN_FILES = 50


def _parse_batch(batch: list[tuple]) -> _Batch:
    """`_parse_one` for each file of `batch`, with the vectors made at once."""
    parsed = [_parse_one(*a) for a in batch]
    articles = [a for p in parsed if p is not None for a in p.articles]
    made = embedding.vectors([embedding.article_text(a.title, a.body) for a in articles])
    vectors = iter(embedding.to_bytes(v) for v in made) if made is not None else None
    files = [p if p is None or not p.articles or vectors is None else dataclasses.replace(
                 p, vectors=[next(vectors) for _ in p.articles])
             for p in parsed]
    return _Batch(files, surface_words(*(t for a in articles for t in (a.title, a.body))))


def _parse_one(found: FoundFile, known_sha: str | None, max_bytes: int) -> _Parsed | None:
    if found.format is None and found.refused is None:
        return None
    loaded = load(found, max_bytes, known_sha)
    if known_sha is not None and loaded.sha == known_sha:
        return _Parsed(loaded, [], [], unchanged=True)
    if loaded.error is not None:
        return _Parsed(loaded, [], [loaded.error])
    articles: list[Article] = []
    errors: list[ReadError] = []
    try:
        for item in reader_for(loaded.format)(loaded.text):
            (errors if isinstance(item, ReadError) else articles).append(item)
    except Exception as e:  # noqa: BLE001 -- a reader bug must not stop the run
        errors.append(ReadError(found.path, f"reader failed: {type(e).__name__}: {e}"))
    return _Parsed(loaded, articles, errors)


class _Workers:
    """Worker processes that parse files and write a segment each.

    Work goes out a batch of files at a time to whichever worker has room.
    A worker parses the batch (vectors and vocabulary words included) and
    sends back its outline (`_Parsed.outline`); this process decides, in the
    walk's order, which articles go in (`_apply`) and tells the worker,
    which adds them to its segment. At the end each worker sends the words
    it read and how many of its documents hold each term of the word fields
    (`segments.document_counts`), then writes out its segment
    (`segments.finish`) and sends it, for this process to commit
    (`segments.commit`). Meanwhile this process works out the vocabulary
    (`vocabulary.assemble`), which would otherwise follow the commit.

    Messages, as tuples: to a worker `("parse", k, batch)`, `("add", k,
    added)` (the article indexes to add, per file of batch k), `("finish",)`
    and `("stop",)`; from a worker `("parsed", k, outlines)`, `("words",
    words, counts, languages)`, `("finished", segment)` and `("failed",
    traceback)`. Messages to a worker go through a queue, whose sending
    thread never blocks this process: it always reads what the workers
    send, so neither side waits on the other with a full pipe.
    """

    #: Batches a worker may hold parsed but not yet added: enough that a
    #: worker rarely waits for the other's batch to be decided first.
    AHEAD = 4

    def __init__(self, gen: Path, options: IndexOptions) -> None:
        self.options = options
        self.inboxes: list = []
        self.conns: list[Connection] = []
        self.processes: list[multiprocessing.Process] = []
        for _ in range(options.jobs):
            inbox = multiprocessing.Queue()
            here, there = multiprocessing.Pipe(duplex=False)
            process = multiprocessing.Process(target=_segment_worker, daemon=True,
                                              args=(inbox, there, str(gen), options.limitmb))
            process.start()
            there.close()
            self.inboxes.append(inbox)
            self.conns.append(here)
            self.processes.append(process)

    def run(self, found: list[FoundFile], decide: Callable[[_Parsed | None], FileChanges],
            words: set[str]) -> tuple[list, vocabulary.VocabularyData | None]:
        """Index `found` (a fresh generation: nothing is skipped by hash),
        `decide` answering for each file in order; add the batches' words to
        `words` and return the written segments and the new index's
        vocabulary (None when a worker could not count its terms)."""
        batches = _batches(found, {}, self.options)
        held = [0] * len(self.conns)  # batches given out and not yet added
        owner: dict[int, int] = {}
        outlines: dict[int, list] = {}
        sent = decided = 0
        while decided < len(batches):
            while sent < len(batches):
                w = min(range(len(held)), key=held.__getitem__)  # the least busy
                if held[w] >= self.AHEAD:
                    break
                self.inboxes[w].put(("parse", sent, batches[sent]))
                owner[sent] = w
                held[w] += 1
                sent += 1
            while decided not in outlines:
                for conn in wait(self.conns):
                    _, k, files = self._receive(conn, "parsed")
                    outlines[k] = files
            added = [decide(parsed).added for parsed in outlines.pop(decided)]
            w = owner.pop(decided)
            self.inboxes[w].put(("add", decided, added))
            held[w] -= 1
            decided += 1
        for inbox in self.inboxes:
            inbox.put(("finish",))
        counts: dict[str, int] | None = defaultdict(int)
        languages: set[bytes] = set()
        for conn in self.conns:
            _, found_words, found_counts, found_languages = self._receive(conn, "words")
            words |= found_words
            if counts is None or found_counts is None or found_languages is None:
                counts = None
                continue
            for term, n in found_counts.items():
                counts[term] += n
            languages |= found_languages
        known = None
        if counts is not None:
            # The languages in the order of the index's lexicon (by their bytes).
            known = vocabulary.assemble(words, counts,
                                        tuple(t.decode("utf-8") for t in sorted(languages)))
        written = [self._receive(conn, "finished")[1] for conn in self.conns]
        for inbox, process in zip(self.inboxes, self.processes, strict=True):
            inbox.close()
            process.join()
        return written, known

    def _receive(self, conn: Connection, kind: str) -> tuple:
        try:
            message = conn.recv()
        except EOFError:
            raise RuntimeError("an indexing worker process stopped unexpectedly") from None
        if message[0] == "failed":
            raise RuntimeError(f"an indexing worker process failed:\n{message[1]}")
        assert message[0] == kind, message[0]
        return message

    def stop(self) -> None:
        """Make every worker abandon its segment and end."""
        for inbox in self.inboxes:
            inbox.put(("stop",))
            inbox.close()
            inbox.cancel_join_thread()  # a worker that is gone reads nothing
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()


def _segment_worker(inbox, conn: Connection, gen: str, limitmb: int) -> None:
    """A `_Workers` process: parse batches, add what it is told, write a segment."""
    young, middle, old = gc.get_threshold()  # see `_rare_full_collections`
    gc.set_threshold(young, middle, max(old, FULL_COLLECTION_THRESHOLD))
    writer = segments.segment_writer(whoosh_index.open_dir(gen), limitmb)
    parsed: dict[int, _Batch] = {}
    words: set[str] = set()
    try:
        while True:
            message = _next_message(inbox)
            if message[0] == "parse":
                _, k, batch = message
                parsed[k] = _parse_batch(batch)
                words |= parsed[k].words
                conn.send(("parsed", k, [p and p.outline() for p in parsed[k].files]))
            elif message[0] == "add":
                _, k, added = message
                for p, chosen in zip(parsed.pop(k).files, added, strict=True):
                    for i in chosen:
                        writer.add_document(**p.document(i))
            elif message[0] == "finish":
                counts = _word_counts(writer)
                languages = segments.document_counts(writer, "language")
                conn.send(("words", words, counts, None if languages is None else set(languages)))
                conn.send(("finished", segments.finish(writer)))
                conn.close()
                # Done: end without freeing the segment's millions of postings
                # one by one (the operating system takes the memory back at once).
                os._exit(0)
            else:  # "stop"
                segments.abandon(writer)
                return
    except (EOFError, BrokenPipeError, KeyboardInterrupt):  # the run stopped, or is gone
        segments.abandon(writer)
    except Exception:  # noqa: BLE001 -- reported to the run, which stops
        segments.abandon(writer)
        try:
            conn.send(("failed", traceback.format_exc()))
        except OSError:
            pass


#: How often a waiting worker makes sure its run's process is still there.
PARENT_CHECK_SECONDS = 1.0


def _next_message(inbox) -> tuple:
    """The next message to a worker; EOFError when the run's process is gone
    (killed: a worker inherits the queue's both ends, so it sees no end of file)."""
    parent = multiprocessing.parent_process()
    while True:
        try:
            return inbox.get(timeout=PARENT_CHECK_SECONDS)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                raise EOFError("the indexing run's process is gone") from None


def _word_counts(writer) -> dict[str, int] | None:
    """Documents per term of the word fields (`vocabulary.WORD_FIELDS`) of
    the segment `writer` is writing, as the vocabulary counts them."""
    counts: dict[str, int] = defaultdict(int)
    for fieldname in vocabulary.WORD_FIELDS:
        found = segments.document_counts(writer, fieldname)
        if found is None:
            return None
        for tbytes, n in found.items():
            counts[tbytes.decode("utf-8")] += n
    return counts


def count_change(counts, before: Mapping[str, str], article: Article) -> None:
    """`index.protocol.count_change` for an `Article` (the console's upload preview)."""
    protocol.count_change(counts, before, article.id, article.content_hash)


def _read_state(ix: Index) -> IndexedState:
    """source -> (file hash, {id: content hash}), read from columns only."""
    state: IndexedState = {}
    with ix.reader() as r:
        if r.doc_count_all() == 0:
            return state
        ids = r.column_reader("id")
        sources = r.column_reader("source")
        shas = r.column_reader("source_hash")
        hashes = r.column_reader("content_hash")
        for docnum in r.all_doc_ids():
            src = _text(sources[docnum])
            entry = state.get(src)
            if entry is None:
                entry = state[src] = IndexedFile(_text(shas[docnum]), {})
            entry.articles[_text(ids[docnum])] = _text(hashes[docnum])
    return state


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _record_names(index_dir: Path, names: dict[str, str]) -> None:
    """Record the sources' names before the run commits, so readers never
    see an article whose source's name is not known yet."""
    data = store.read_json(index_dir, SOURCES_FILE, {"roots": {}})
    if any(data.get("names", {}).get(r) != n for r, n in names.items()):
        data["names"] = {**data.get("names", {}), **names}
        store.write_json(index_dir, SOURCES_FILE, data)


def _remember(index_dir: Path, roots: list[str], summary: RunSummary) -> None:
    """Record the roots and this run's summary beside the index."""
    data = store.read_json(index_dir, SOURCES_FILE, {"roots": {}})
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    for r in roots:
        data.setdefault("roots", {})[r] = {"last_run": now}
    store.write_json(index_dir, SOURCES_FILE, data)
    store.write_json(index_dir, LAST_RUN_FILE, {"finished": now, **summary.to_json()})
