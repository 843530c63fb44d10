"""The embedded Whoosh index as a write-side engine (`index.protocol.WriteEngine`).

`WhooshWriteEngine` is the index in an index folder: its state (file
hashes and article content hashes, read from columns only), a batch that
applies a run's plan (`_WhooshBatch`), and the audit, export records and
optimize that `archivist check`, `export` and `optimize` ask of it. An
incremental run writes into the current generation and commits through
Whoosh; a fresh one writes a new generation that `store.make_current`
swaps in after the commit, so a run killed at any instant leaves the
previous committed index.

A fresh generation of many files is written by worker processes
(`_Workers`), each parsing files and writing its own segment
(`index.embedded.segments`); the run's process decides, file by file in
the walk's order, which articles go in (`index.writer`'s planner), and
commits the segments together. Meanwhile it works out the readers'
vocabulary (`index.embedded.vocabulary`), written beside the generation
after the commit.

This module, with `index.embedded.segments` for its workers' segments and
`index.embedded.health.optimize`, is the only one that writes to the
Whoosh index. It never imports the search side.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import shutil
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.index import Index

from index import embedding
from index.article import Article
from index.embedded import contents, segments, store, vocabulary
from index.embedded.document import to_document
from index.embedded.schema import SCHEMA_VERSION
from index.protocol import Audit, FileChanges, IndexedState, OptimizeResult
from index.sources import FoundFile
from index.vocabulary import WORD_FIELDS, VocabularyData, assemble
from index.writer import (
    FULL_COLLECTION_THRESHOLD,
    IndexOptions,
    Parsed,
    ParsedBatch,
    parse_batch,
    parse_batches,
)


def write_articles(ix: Index, articles: Iterable[Article], source_hash: str = "") -> int:
    """Add or replace `articles` (by id) in `ix` and commit; return how many.

    The small, direct path for tests and tools that already hold `Article`
    values; `index.writer.update` is the librarians' incremental run over files.
    """
    articles = list(articles)
    made = embedding.article_vectors([(a.title, a.body) for a in articles])
    with ix.writer() as w:
        for i, article in enumerate(articles):
            vector = embedding.to_bytes(made[i]) if made is not None else None
            w.update_document(**to_document(article, source_hash, vector))
    return len(articles)


class WhooshWriteEngine:
    """The embedded Whoosh index in an index folder, as a `WriteEngine`.

    Its state names files by their paths (the `source` column); a fresh
    index is a new generation made current at commit (`index.embedded.store`).
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

    def indexed(self, lock_timeout: float | None = None) -> IndexedState:
        # One machine's index: the index folder's lock, taken by the run, is enough.
        return contents.indexed_state(self.index_dir)

    def state(self) -> IndexedState:
        return contents.indexed_state(self.index_dir)

    def begin(self, fresh: bool, options: IndexOptions,
              before: IndexedState | None = None) -> _WhooshBatch:
        return _WhooshBatch(self.index_dir, fresh, options)

    def audit(self) -> Audit:
        return contents.audit(self.index_dir)

    def records(self) -> Iterator[dict]:
        return contents.records(self.index_dir)

    def optimize(self, lock_timeout: float) -> OptimizeResult:
        from index.embedded.health import optimize

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
        self.vocabulary: VocabularyData | None = None
        #: Whether anything was added or deleted: a run that changed nothing
        #: commits nothing, so the index's version (and readers' caches) stay.
        self.touched = False

    def write_in_workers(self, found: list[FoundFile],
                         decide: Callable[[Parsed | None], FileChanges],
                         words: set[str]) -> None:
        self.workers = _Workers(self.gen, self.options)
        self.written, self.vocabulary = self.workers.run(found, decide, words)

    def apply(self, parsed: Parsed, changes: FileChanges) -> None:
        writer = self.writer
        self.touched = self.touched or bool(changes.deleted or changes.added)
        for src in changes.deleted:
            writer.delete_by_term("source", src)
        for i in changes.added:
            writer.add_document(**_document(parsed, i))

    def remove(self, sources: Sequence[str]) -> None:
        self.touched = self.touched or bool(sources)
        for src in sources:
            self.writer.delete_by_term("source", src)

    def commit(self, words: set[str], changed: bool) -> int:
        if self.gen is None and not self.touched:
            # Nothing to write into the current generation: leave it as it is.
            self.writer.cancel()
            _write_vocabulary(store.current_generation(self.index_dir), self.ix, changed=False)
            with self.ix.searcher() as s:
                return s.doc_count()
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
                      data: VocabularyData | None = None) -> None:
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


def _document(parsed: Parsed, i: int) -> dict:
    """The Whoosh document of article `i` of `parsed`."""
    vector = parsed.vectors[i] if i < len(parsed.vectors) else None
    return to_document(parsed.articles[i], parsed.sha, vector)


class _Workers:
    """Worker processes that parse files and write a segment each.

    Work goes out a batch of files at a time to whichever worker has room.
    A worker parses the batch (vectors and vocabulary words included) and
    sends back its outline (`Parsed.outline`); this process decides, in the
    walk's order, which articles go in (`_apply`) and tells the worker,
    which adds them to its segment. At the end each worker sends the words
    it read and how many of its documents hold each term of the word fields
    (`segments.document_counts`), then writes out its segment
    (`segments.finish`) and sends it, for this process to commit
    (`segments.commit`). Meanwhile this process works out the vocabulary
    (`index.vocabulary.assemble`), which would otherwise follow the commit.

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

    def run(self, found: list[FoundFile], decide: Callable[[Parsed | None], FileChanges],
            words: set[str]) -> tuple[list, VocabularyData | None]:
        """Index `found` (a fresh generation: nothing is skipped by hash),
        `decide` answering for each file in order; add the batches' words to
        `words` and return the written segments and the new index's
        vocabulary (None when a worker could not count its terms)."""
        batches = parse_batches(found, {}, self.options)
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
            known = assemble(words, counts,
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
    parsed: dict[int, ParsedBatch] = {}
    words: set[str] = set()
    try:
        while True:
            message = _next_message(inbox)
            if message[0] == "parse":
                _, k, batch = message
                parsed[k] = parse_batch(batch)
                words |= parsed[k].words
                conn.send(("parsed", k, [p and p.outline() for p in parsed[k].files]))
            elif message[0] == "add":
                _, k, added = message
                for p, chosen in zip(parsed.pop(k).files, added, strict=True):
                    for i in chosen:
                        writer.add_document(**_document(p, i))
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
    """Documents per term of the word fields (`WORD_FIELDS`) of
    the segment `writer` is writing, as the vocabulary counts them."""
    counts: dict[str, int] = defaultdict(int)
    for fieldname in WORD_FIELDS:
        found = segments.document_counts(writer, fieldname)
        if found is None:
            return None
        for tbytes, n in found.items():
            counts[tbytes.decode("utf-8")] += n
    return counts
