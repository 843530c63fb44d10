"""Bringing the index up to date with the librarian's folders.

`update` is one indexing run: walk the roots, skip files whose bytes hash the
same as when they were indexed, parse the rest, replace their articles, drop
the articles of files that disappeared, and commit once at the end. The
outcome is a `RunSummary`: counts per article plus every file or line that
could not be read, with its reason.

Crash safety comes from the order of events. Nothing a run does is visible
until Whoosh commits, and a commit becomes visible by an atomic rename of
the index's table of contents; a rebuild goes further and writes a whole new
generation that `store.make_current` swaps in afterwards. A run killed at
any instant therefore leaves the previous committed index, and the next run
(which compares hashes again) does the remaining work.

This is the only module that writes to the index. It never imports the
search side.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from whoosh.index import Index

from index import embedding, store, vocabulary, whoosh_speed
from index.analysis import surface_words
from index.article import Article, ReadError
from index.document import to_document
from index.formats import reader_for
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


@dataclass(frozen=True)
class IndexOptions:
    """Knobs of an indexing run."""

    max_bytes: int = DEFAULT_MAX_BYTES
    #: Seconds to wait for another run's write lock before giving up.
    lock_timeout: float = 10.0
    #: Processes that read and parse files (the index itself has one writer).
    jobs: int = 1
    #: Memory Whoosh may use for its in-progress segment before spilling, MB
    #: (its own estimate). Spilling sorts runs to disk and merges them back,
    #: which was a third of the indexing time on the 19k Reuters archive at 256;
    #: at 512 that archive's postings are sorted in memory (peak about 1 GB).
    limitmb: int = 512


ProgressFn = Callable[[Progress], None]


@dataclass
class _Indexed:
    """What the index holds for one source file."""

    sha: str
    articles: dict[str, str]  # id -> content hash


@dataclass(frozen=True)
class _Parsed:
    loaded: LoadedFile
    articles: list[Article]
    errors: list[ReadError]
    unchanged: bool = False
    #: The articles' meaning vectors (`index.embedding`), made where they
    #: were parsed (in parallel with --jobs); empty without a model.
    vectors: list[bytes] = field(default_factory=list)
    #: The articles' words as written, for the vocabulary (`index.vocabulary`).
    words: frozenset[str] = frozenset()


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
) -> RunSummary:
    """Run one incremental (or, with `rebuild`, from-scratch) indexing pass.

    With no `roots`, the roots of earlier runs are indexed again. Raises
    `store.LockTimeout` when another run holds the lock too long, and lets
    `KeyboardInterrupt` through after abandoning the uncommitted work.
    """
    started = time.monotonic()
    index_dir = Path(index_dir)
    root_paths = [str(Path(r).resolve()) for r in roots] or known_roots(index_dir)
    with store.write_lock(index_dir, options.lock_timeout):
        summary = _run(index_dir, root_paths, rebuild, options, progress)
        summary.seconds = round(time.monotonic() - started, 3)
        _remember(index_dir, root_paths, summary)
    return summary


def _run(
    index_dir: Path,
    roots: list[str],
    rebuild: bool,
    options: IndexOptions,
    progress: ProgressFn | None,
) -> RunSummary:
    summary = RunSummary(rebuilt=rebuild)
    old_ix = store.open_current(index_dir)
    version = store.schema_version(index_dir)
    if old_ix is not None and not rebuild and version is not None and version < SCHEMA_VERSION:
        # Terms made by an older analyzer cannot be mixed with new ones.
        rebuild = summary.rebuilt = True
        summary.rebuilt_because = (
            f"the index was written with schema version {version}; this version of "
            f"Archivist writes version {SCHEMA_VERSION}, so it was rebuilt"
        )
    before = _read_state(old_ix) if old_ix is not None else {}
    if rebuild:
        # Everything not under the rebuilt roots is dropped with the old generation.
        roots = sorted(set(roots) | set(known_roots(index_dir)))
    fresh = rebuild or old_ix is None
    if fresh:
        gen, ix = store.new_generation(index_dir)
    else:
        gen, ix = None, old_ix

    recorded = store.read_json(index_dir, SOURCES_FILE, {}).get("names", {})
    names = source_names_for(index_dir, roots)
    # A source renamed because another of the same name came or went: its
    # files' keys, hence its articles' ids, change, so it is read again now.
    roots = roots + [r for r, n in names.items() if r not in roots and recorded.get(r, n) != n]
    found = list(walk((Path(r) for r in roots), names))
    summary.files = len(found)
    # A link leading outside its source is reported, never read, and what an
    # earlier version of Archivist read through it is removed.
    alive = {f.path for f in found if f.refused is None}
    gone: set[str] = set()
    owner = {aid: src for src, st in before.items() for aid in st.articles}
    # A fresh generation must receive every file, so nothing is skipped by hash.
    skip_hashes = {} if fresh else {src: st.sha for src, st in before.items()}
    if fresh and options.jobs > 1:
        # A fresh generation has nothing to delete: Whoosh's multiprocessing
        # writer can analyze documents in `jobs` processes, each writing its
        # own segment (left unmerged; `archivist optimize` merges them).
        writer = ix.writer(procs=options.jobs, limitmb=options.limitmb, multisegment=True)
    else:
        writer = ix.writer(limitmb=options.limitmb)
    words: set[str] = set()
    try:
        for done, parsed in enumerate(_parse_all(found, skip_hashes, options), 1):
            if parsed is not None:
                _apply(writer, parsed, before, owner, alive, fresh, summary, gone)
                words |= parsed.words
            if progress:
                progress(Progress(done, len(found), found[done - 1].path))
        summary.skipped = [f.path for f in found if f.format is None and f.refused is None]
        for src, state in before.items():
            if src not in alive and src not in gone and (fresh or _under(src, roots)):
                if not fresh:
                    writer.delete_by_term("source", src)
                summary.removed += len(state.articles)
        _record_names(index_dir, names)
        writer.commit()
    except BaseException:
        writer.cancel()
        if gen is not None:
            shutil.rmtree(gen, ignore_errors=True)
        raise
    _write_vocabulary(gen if gen is not None else store.current_generation(index_dir), ix,
                      changed=bool(summary.added or summary.updated or summary.removed),
                      words=words, fresh=fresh)
    if gen is not None:
        store.make_current(index_dir, gen)
    with ix.searcher() as s:
        summary.articles = s.doc_count()
    return summary


def _write_vocabulary(gen_dir: Path | None, ix: Index, changed: bool,
                      words: set[str] | None = None, fresh: bool = False) -> None:
    """Leave the readers' vocabulary of the committed index beside it.

    A failure here loses nothing (readers build it from the index), so it is
    not allowed to fail the run."""
    if gen_dir is None:
        return
    try:
        if changed or not vocabulary.carry_over(gen_dir, ix):
            vocabulary.write(gen_dir, ix, words, fresh)
    except OSError:
        pass


def _parse_all(found: list[FoundFile], skip_hashes: dict[str, str], options: IndexOptions):
    """Yield, in the order of `found`, a `_Parsed` per file (None for unknown types).

    A file whose hash equals `skip_hashes[path]` is not parsed: its `_Parsed`
    is marked `unchanged`. With `options.jobs > 1` files are read and parsed
    in worker processes while this one writes the index.
    """
    args = [(f, skip_hashes.get(f.path), options.max_bytes) for f in found]
    batches = [args[i:i + PARSE_BATCH] for i in range(0, len(args), PARSE_BATCH)]
    if options.jobs > 1 and len(found) > 50:
        with ProcessPoolExecutor(options.jobs) as pool:
            for parsed in pool.map(_parse_batch, batches):
                yield from parsed
    else:
        for batch in batches:
            yield from _parse_batch(batch)


#: Files parsed together: the meaning vectors of all their articles are made
#: in one call, since the embedding model costs far more per call than per text.
PARSE_BATCH = 32


def _parse_batch(batch: list[tuple]) -> list[_Parsed | None]:
    """`_parse_one` for each file of `batch`, with the vectors made at once."""
    parsed = [_parse_one(*a) for a in batch]
    articles = [a for p in parsed if p is not None for a in p.articles]
    made = embedding.vectors([embedding.article_text(a.title, a.body) for a in articles])
    vectors = iter(embedding.to_bytes(v) for v in made) if made is not None else None
    return [p if p is None or not p.articles else dataclasses.replace(
                p, vectors=[next(vectors) for _ in p.articles] if vectors else [],
                words=frozenset().union(*(surface_words(a.title) | surface_words(a.body)
                                          for a in p.articles)))
            for p in parsed]


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


def _apply(writer, parsed: _Parsed, before, owner, alive, fresh: bool, summary: RunSummary,
           gone: set[str]):
    """Fold one file's outcome into the writer and the summary.

    `gone` collects the files that are no longer on disk whose articles came
    back under a new path (the archive moved: same ids, new place); their
    old copies are deleted here, once."""
    loaded = parsed.loaded
    path = loaded.path
    old = before.get(path)
    if parsed.unchanged and old is not None:
        summary.unchanged += len(old.articles)
        return
    if loaded.text is not None:
        summary.files_parsed += 1
    for err in parsed.errors:
        summary.failures.append(Failure(err.source, err.reason, err.line))
    if not parsed.articles:
        if old is not None and not fresh and path in alive:
            # Lose nothing: an unreadable new version keeps the old articles.
            summary.warnings.append(Failure(path, "kept the previously indexed version"))
        return
    if loaded.text is not None and loaded.text.encoding not in ("utf-8", "binary"):
        summary.warnings.append(Failure(path, f"not UTF-8; decoded as {loaded.text.encoding}"))
    if old is not None and not fresh:
        writer.delete_by_term("source", path)
    old_articles = dict(old.articles) if old else {}
    new_ids: set[str] = set()
    for i, article in enumerate(parsed.articles):
        holder = owner.get(article.id)
        if (holder not in (None, path) and holder not in alive and holder not in gone
                and not fresh and holder in before and not os.path.lexists(holder)):
            # Its old copy is compared with it (unchanged, not added) and leaves.
            writer.delete_by_term("source", holder)
            gone.add(holder)
            old_articles.update(before[holder].articles)
        if article.id in new_ids or (holder not in (None, path) and holder in alive):
            summary.failures.append(
                Failure(path, f"duplicate id {article.id!r}, already used by {holder or path}")
            )
            continue
        owner[article.id] = path
        new_ids.add(article.id)
        vector = parsed.vectors[i] if i < len(parsed.vectors) else None
        writer.add_document(**to_document(article, loaded.sha, vector))
        count_change(summary, old_articles, article)
    summary.removed += len(set(old_articles) - new_ids)


def count_change(counts, before: Mapping[str, str], article: Article) -> None:
    """Add one to `counts.added`, `.updated` or `.unchanged`: how `article`
    compares with the content hashes `before` holds by id. The run and the
    console's upload preview count with this one rule, so they agree."""
    if article.id not in before:
        counts.added += 1
    elif before[article.id] != article.content_hash:
        counts.updated += 1
    else:
        counts.unchanged += 1


def _read_state(ix: Index) -> dict[str, _Indexed]:
    """source -> (file hash, {id: content hash}), read from columns only."""
    state: dict[str, _Indexed] = {}
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
                entry = state[src] = _Indexed(_text(shas[docnum]), {})
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
