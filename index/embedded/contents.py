"""What the embedded index holds, read back for the librarians' side.

The write side reads its own index for four things: the indexed state an
incremental run plans from (`indexed_state`: file hashes and article
content hashes, from columns only), `archivist check`'s audit of every
stored article (`audit`), `archivist export`'s records (`records`, in id
order), and the console's figures and upload preview (`articles_per_source`,
`Lookup`). Stored fields are decoded by `index.embedded.document.from_stored`
and nowhere here.

Every function opens the current generation and closes it before it
returns (a generator, when it is exhausted or closed). Nothing here writes
to the index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from whoosh.index import Index

from index.check import REQUIRED
from index.embedded import store
from index.embedded.document import from_stored
from index.export import record_of
from index.protocol import Audit, Failure, IndexedFile, IndexedState


def indexed_state(index_dir: Path) -> IndexedState:
    """source -> (file hash, {id: content hash}) of the index in `index_dir`
    (empty when there is none), read from columns only."""
    ix = store.open_current(index_dir)
    if ix is None:
        return {}
    try:
        return _read_state(ix)
    finally:
        ix.close()


def _read_state(ix: Index) -> IndexedState:
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


def audit(index_dir: Path) -> Audit:
    """Read every stored article of the index in `index_dir` back.

    Raises FileNotFoundError when there is no index, and whatever opening
    it raises when it cannot be opened."""
    ix = store.open_current(index_dir)
    if ix is None:
        raise FileNotFoundError(f"there is no index in {index_dir}")
    found = Audit()
    try:
        with ix.reader() as r:
            found.articles = r.doc_count()
            if r.doc_count_all() == 0:
                return found
            shas = r.column_reader("source_hash")
            for docnum in r.all_doc_ids():
                try:
                    article = from_stored(r.stored_fields(docnum))
                except Exception as e:  # noqa: BLE001 -- a damaged record is a finding
                    found.unreadable.append(Failure(f"#{docnum}", f"{type(e).__name__}: {e}"))
                    continue
                absent = [name for name in REQUIRED if not getattr(article, name)]
                if absent:
                    who = article.id or f"#{docnum}"
                    found.unreadable.append(Failure(str(who), "no " + ", no ".join(absent)))
                    continue
                found.files[article.source] = _text(shas[docnum])
    finally:
        ix.close()
    return found


def records(index_dir: Path) -> Iterator[dict]:
    """Every article of the index in `index_dir` as an export record
    (`index.export.record_of`), in id order."""
    ix = store.open_current(index_dir)
    if ix is None:
        raise FileNotFoundError(f"there is no index in {index_dir}")
    try:
        with ix.reader() as r:
            if r.doc_count_all() == 0:
                return
            ids = r.column_reader("id")
            order = sorted(r.all_doc_ids(), key=lambda d: _text(ids[d]))
            for docnum in order:
                yield record_of(from_stored(r.stored_fields(docnum)))
    finally:
        ix.close()


def articles_per_source(index_dir: Path) -> dict[str, int]:
    """How many live articles each source file has (empty without an index)."""
    ix = store.open_current(index_dir)
    if ix is None:
        return {}
    counts: Counter[str] = Counter()
    try:
        with ix.reader() as r:
            if r.doc_count() == 0:
                return {}
            column = r.column_reader("source")
            for docnum in r.all_doc_ids():
                counts[_text(column[docnum])] += 1
    finally:
        ix.close()
    return dict(counts)


class Lookup:
    """The current generation of `index_dir`, open for the upload preview's
    questions (`index.upload.dry_run`) until `close`; with no index every
    answer is empty."""

    def __init__(self, index_dir: Path) -> None:
        self._ix = store.open_current(index_dir)
        self._searcher = self._ix.searcher() if self._ix is not None else None

    def articles_of(self, source: str) -> dict[str, str]:
        """id -> content hash of the articles the index holds from `source`."""
        searcher = self._searcher
        if searcher is None:
            return {}
        r = searcher.reader()
        if r.doc_count_all() == 0:
            return {}
        ids, hashes = r.column_reader("id"), r.column_reader("content_hash")
        return {_text(ids[d]): _text(hashes[d])
                for d in searcher.document_numbers(source=source)}

    def source_of(self, article_id: str) -> str | None:
        """The file that holds the article `article_id`, if one does."""
        if self._searcher is None:
            return None
        fields = self._searcher.document(id=article_id)
        return fields.get("source") if fields else None

    def close(self) -> None:
        if self._ix is not None:
            if self._searcher is not None:
                self._searcher.close()
            self._ix.close()

    def __enter__(self) -> Lookup:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
