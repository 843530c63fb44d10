"""The write side of the Typesense engine: articles in, documents out.

Typesense 0.24 cannot stem, so Archivist keeps its own analysis: every
article is analyzed here by `index.analysis.terms` (the same terms the
Whoosh index holds) and the terms are stored space-joined in two hidden
fields, `title_terms` and `body_terms`. Typesense splits those fields on
spaces only, so a query made of the same terms (`search.typesense_engine`)
matches exactly what the Whoosh index would.

**Punctuated terms.** Joined compounds keep their punctuation (`u.s`,
`at&t`, `al-qaeda`, `3,000`, `o'brien`, `foo_bar`). By default Typesense
drops those characters (`at&t` would meet `att`), so the collection lists
them in `symbols_to_index`. The hyphen is the exception: a token starting
with `-` is how a query excludes a word, and with `-` indexed as a symbol
Typesense reads `-wheat` as a token of its own and excludes nothing. So a
hyphen inside a term is stored as `~` (`al~qaeda`), which no term contains
otherwise (`encode_term`); the read side encodes its terms the same way.

**Version.** Upserting an article that is already there leaves the document
count unchanged, so the count cannot tell readers' caches that answers
changed. Each write stores a new serial in the side collection
(`<name>_meta`, shared by the alias and every collection it points to);
the read side's `version()` reads it. A write bumps it before its first
document ("write in progress", `begin_write`) and after its last, so no
answer computed mid-write is cached under the token of before. The serial
is the write's time in nanoseconds, not the last serial plus one: reads may
be answered by a follower that has not applied the last write yet, so a
read-then-increment could go backwards and repeat an old token.

**The side collection** also holds the analysis version the live
collection's terms were made with (`record_analysis`; a different one asks
for a rebuild), the archive's vocabulary for prefixes, fuzzy words and
completions (`write_vocabulary`, read by `search.typesense.archive`), and
the lease that lets one indexer at a time write (`ClusterLock`).

**Indexing.** `TypesenseWriteEngine` is the write side's engine for a
cluster (`index.protocol.WriteEngine`): the incremental state travels with
the documents (`source_key`, `source_hash`, `content_hash`), readers use an
alias that a rebuild swaps to a new `<name>_<timestamp>` collection, and a
run is done when every node has applied its last write.

This module never searches and never makes HTML.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import socket
import threading
import time
import urllib.request
import weakref
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import PurePath
from typing import TypeVar

import typesense
from typesense.exceptions import (
    HTTPStatus0Error,
    ObjectAlreadyExists,
    ObjectNotFound,
    ServerError,
    ServiceUnavailable,
    TypesenseClientError,
)
from typesense.http_backend import backend_errors

from index import embedding
from index.analysis import surface_words, terms
from index.article import Article, StoredArticle, Tag
from index.embedded.schema import SCHEMA_VERSION
from index.embedding import DIMENSIONS
from index.folder import LockTimeout
from index.protocol import Audit, Failure, IndexedFile, IndexedState
from index.vocabulary import VocabularyData, assemble

#: Punctuation that stays inside a token (see the module docstring; `~` is the hyphen).
SYMBOLS = ["~", ".", "&", "/", "'", ",", "_"]
#: Articles sent per import request.
BATCH = 200
#: Undated articles' `date`: before every day ordinal, so newest-first puts them last.
UNDATED = -1
#: Undated articles' `oldest_key`: after every day, so oldest-first puts them last too.
UNDATED_LAST = 10**9
_META_ID = "version"
_ANALYSIS_ID = "analysis"
#: The id of the stored vocabulary's header in the side collection.
VOCABULARY_ID = "vocabulary"
_LOCK_ID = "lock"
T = TypeVar("T")
log = logging.getLogger(__name__)

FIELDS: list[dict] = [
    {"name": "title", "type": "string", "index": False, "optional": True},
    {"name": "body", "type": "string", "index": False, "optional": True},
    {"name": "title_terms", "type": "string"},
    {"name": "body_terms", "type": "string"},
    {"name": "tags", "type": "string[]", "facet": True},
    {"name": "tag_labels", "type": "string[]", "index": False, "optional": True},
    # "key\x1flabel" for each tag: its facet counts tags and names them at once.
    {"name": "tag_pairs", "type": "string[]", "facet": True},
    {"name": "date", "type": "int64", "facet": True},
    {"name": "oldest_key", "type": "int64"},
    {"name": "year", "type": "int32", "facet": True, "optional": True},
    # Months counted from year 0 (year * 12 + month - 1): one value per month of history.
    {"name": "month", "type": "int32", "facet": True, "optional": True},
    {"name": "dated", "type": "bool", "facet": True},
    {"name": "kind", "type": "string", "facet": True, "optional": True},
    {"name": "language", "type": "string", "facet": True, "optional": True},
    {"name": "url", "type": "string", "index": False, "optional": True},
    {"name": "source", "type": "string", "index": False, "optional": True},
    # The incremental state, kept with each article so that an indexer on any
    # machine continues where another stopped: the file's key in its source
    # (`index.sources.source_key`), the file's hash, the article's hash.
    {"name": "source_key", "type": "string", "index": False, "optional": True},
    {"name": "source_hash", "type": "string", "index": False, "optional": True},
    {"name": "content_hash", "type": "string", "index": False, "optional": True},
    {"name": "publication", "type": "string", "index": False, "optional": True},
    {"name": "author", "type": "string", "index": False, "optional": True},
    {"name": "pages", "type": "int32[]", "index": False, "optional": True},
    # The article's meaning vector (`index.embedding`), for related articles.
    {"name": "vector", "type": "float[]", "num_dim": DIMENSIONS, "optional": True},
]
TAG_PAIR = "\x1f"


def encode_term(term: str) -> str:
    """An index term as the collection stores it (a hyphen becomes `~`)."""
    return term.replace("-", "~")


def meta_name(name: str) -> str:
    """The side collection of `name`, an alias or a collection: `<alias>_meta`
    for the alias and for every `<alias>_<timestamp>` collection it has pointed
    to (readers resolve the alias, writers may not), `<name>_meta` otherwise."""
    stamped = _STAMPED.fullmatch(name)
    return f"{stamped.group(1) if stamped else name}_meta"


#: A collection a run made for the alias in group 1 (`TypesenseWriteEngine._create`).
_STAMPED = re.compile(r"(.+)_\d{17}")


def ensure_collection(client: typesense.Client, name: str) -> None:
    """Create the collection `name` and its side collection unless they exist,
    and record the analysis its terms are made with (`record_analysis`)."""
    try:
        client.collections.create(_schema(name))
    except ObjectAlreadyExists:
        pass
    ensure_meta(client, name)
    record_analysis(client, name)


def _schema(name: str) -> dict:
    return {"name": name, "fields": FIELDS, "symbols_to_index": SYMBOLS,
            "token_separators": [], "default_sorting_field": "date"}


#: The side collection's fields: `serial` for the version document, `expires`
#: for the write lock's lease (`ClusterLock`, a filter compares it), `kind` for
#: searching the side collection (a search needs a string field to name).
#: Other values (the vocabulary's chunks, the lock's owner) are stored unindexed.
META_FIELDS: list[dict] = [
    {"name": "serial", "type": "int64", "optional": True},
    {"name": "expires", "type": "int64", "optional": True},
    {"name": "kind", "type": "string", "optional": True},
]


def _meta_schema(name: str) -> dict:
    return {"name": meta_name(name), "fields": META_FIELDS}


def ensure_meta(client: typesense.Client, name: str) -> None:
    """Create the side collection of `name`, or bring one made by an earlier
    version (a required `serial` only) to `META_FIELDS`."""
    meta = meta_name(name)
    try:
        _retrying(lambda: client.collections.create(_meta_schema(name)))
        return
    except ObjectAlreadyExists:
        pass
    have = {f["name"]: f for f in _retrying(lambda: client.collections[meta].retrieve())["fields"]}
    change: list[dict] = []
    for wanted in META_FIELDS:
        field = have.get(wanted["name"])
        if field is not None and field.get("optional"):
            continue
        if field is not None:
            change.append({"name": wanted["name"], "drop": True})
        change.append(wanted)
    if change:
        try:
            _retrying(lambda: client.collections[meta].update({"fields": change}))
        except TypesenseClientError:
            # Another indexer altered it a moment ago (its change may not have
            # reached the node that answered `retrieve` yet).
            pass


def record_analysis(client: typesense.Client, collection: str) -> None:
    """Note in the side collection that `collection`'s terms were made by this
    version's analysis (`SCHEMA_VERSION`); `analysis_of` reads it back."""
    _retrying(lambda: client.collections[meta_name(collection)].documents.upsert(
        {"id": _ANALYSIS_ID, "kind": "analysis", "collection": collection,
         "version": SCHEMA_VERSION}))


def analysis_of(client: typesense.Client, collection: str) -> int | None:
    """The analysis version `collection`'s terms were made with (None: not recorded)."""
    try:
        doc = client.collections[meta_name(collection)].documents[_ANALYSIS_ID].retrieve()
    except ObjectNotFound:
        return None
    if doc.get("collection") != collection:
        return None
    return int(doc.get("version", 0))


def document(article: Article, shown: Callable[[str], str] | None = None, *,
             key: str | None = None, sha: str | None = None,
             vector: bytes | None = None) -> dict:
    """`article` as a Typesense document; `shown(source)` is how its file is
    shown to readers (default: the file's name), never a server path.

    An indexing run gives the file's `key` in its source (then also what
    readers are shown), its `sha` (`index.sources.file_hash`) and the
    article's meaning `vector` (`index.embedding.to_bytes`)."""
    lang = article.language
    doc: dict = {
        "id": article.id, "title": article.title, "body": article.body,
        "title_terms": " ".join(encode_term(t) for t in terms(article.title, lang)),
        "body_terms": " ".join(encode_term(t) for t in terms(article.body, lang)),
        "tags": [t.key for t in article.tags],
        "tag_labels": [t.label for t in article.tags],
        "tag_pairs": [f"{t.key}{TAG_PAIR}{t.label}" for t in article.tags],
        "dated": article.date is not None,
        "source": (shown or (lambda s: PurePath(s).name))(article.source),
        "source_hash": hashlib.blake2b(article.source.encode("utf-8", "surrogatepass"),
                                       digest_size=16).hexdigest(),
        "content_hash": article.content_hash,
    }
    if article.date is not None:
        day = article.date.toordinal()
        doc.update(date=day, oldest_key=day, year=article.date.year,
                   month=article.date.year * 12 + article.date.month - 1)
    else:
        doc.update(date=UNDATED, oldest_key=UNDATED_LAST)
    for name in ("kind", "language", "url", "publication", "author"):
        value = getattr(article, name)
        if value:
            doc[name] = value
    if article.pages:
        doc["pages"] = list(article.pages)
    if key is not None:
        doc["source"] = doc["source_key"] = key
    if sha is not None:
        doc["source_hash"] = sha
    if vector is not None:
        doc["vector"] = embedding.from_bytes(vector)[0].astype(float).tolist()
    return doc


def upsert_articles(client: typesense.Client, name: str, articles: Iterable[Article],
                    shown: Callable[[str], str] | None = None) -> int:
    """Insert or replace `articles` in batches; returns how many were written.

    The serial is bumped before the first document and after the last (see
    `begin_write`), and the stored vocabulary is dropped: it no longer
    describes the archive (readers read the articles instead, and the next
    indexing run counts again). Raises `RuntimeError` naming the first
    article Typesense refused.
    """
    written = 0
    batch: list[dict] = []
    begin_write(client, name)

    def flush() -> None:
        nonlocal written
        if not batch:
            return
        answers = client.collections[name].documents.import_(batch, {"action": "upsert"})
        for doc, answer in zip(batch, answers, strict=True):
            if not answer.get("success"):
                raise RuntimeError(f"article {doc['id']!r} was refused: {answer.get('error')}")
        written += len(batch)
        batch.clear()

    for article in articles:
        batch.append(document(article, shown))
        if len(batch) >= BATCH:
            flush()
    flush()
    _bump(client, name)
    return written


def delete_ids(client: typesense.Client, name: str, ids: Sequence[str]) -> int:
    """Delete the articles `ids` (unknown ones are skipped); returns how many went.
    The serial and the vocabulary as `upsert_articles`."""
    gone = 0
    begin_write(client, name)
    for article_id in ids:
        try:
            client.collections[name].documents[article_id].delete()
            gone += 1
        except ObjectNotFound:
            pass
    _bump(client, name)
    return gone


def begin_write(client: typesense.Client, name: str) -> None:
    """Say that documents of `name` are about to change, before the first one does.

    A reader caches answers under the version token (`serial`). Were the
    serial bumped only after a write, a reader could see the new documents
    for as long as the write takes (and a follower half a second more) under
    the old token, and cache an answer made of them as if nothing had
    changed. With this "write in progress" serial an answer computed mid-write
    is cached under a token that the closing bump retires. Also drops the
    stored vocabulary, since writes outside an indexing run do not keep it.
    """
    _bump(client, name)
    try:
        client.collections[meta_name(name)].documents[VOCABULARY_ID].delete()
    except ObjectNotFound:
        pass


def serial(client: typesense.Client, name: str) -> int:
    """The write serial of the archive `name` (0 before the first write).

    `name` is the alias or the collection it points to: both read the
    alias's side collection (`meta_name`). The serial is read from
    whichever node `client` asks, and a follower applies a write about half
    a second after the leader: a reader that wants a token that never goes
    back asks one node (`search.typesense.engine` does).
    """
    try:
        return int(client.collections[meta_name(name)].documents[_META_ID].retrieve()
                   .get("serial") or 0)
    except ObjectNotFound:
        return 0


def _bump(client: typesense.Client, name: str, value: int | None = None) -> int:
    """Store a new write serial for `name` (`value`, default: now in
    nanoseconds) in its side collection; returns it."""
    value = value or time.time_ns()
    client.collections[meta_name(name)].documents.upsert(
        {"id": _META_ID, "kind": "version", "serial": value})
    return value


def wait_replicated(nodes: Sequence[str], name: str, count: int, api_key: str,
                    timeout: float = 15.0) -> None:
    """Poll every node (base URLs) until each holds `count` documents in `name`.

    Followers apply a write about half a second after the leader; a reader
    sent to one of them before that sees the old answer. Raises
    `TimeoutError` naming the nodes still behind after `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    behind = list(nodes)
    while True:
        behind = [n for n in behind if _count(n, name, api_key) != count]
        if not behind:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"not replicated within {timeout:g} s: {', '.join(behind)}")
        time.sleep(0.1)


def _at_node(node: str, path: str, api_key: str, key: str):
    """Field `key` of what one node answers to `GET path`, asked of that node
    alone (the client would move to another); None when it cannot say."""
    request = urllib.request.Request(f"{node.rstrip('/')}{path}",
                                     headers={"X-TYPESENSE-API-KEY": api_key})
    try:
        with urllib.request.urlopen(request, timeout=2.0) as answer:
            return json.load(answer)[key]
    except (OSError, ValueError, KeyError):
        return None


def _count(node: str, name: str, api_key: str) -> int | None:
    """How many documents one node holds in `name`."""
    found = _at_node(node, f"/collections/{name}", api_key, "num_documents")
    return None if found is None else int(found)


def serial_at(node: str, name: str, api_key: str) -> int | None:
    """The write serial of `name` as one node has applied it."""
    found = _at_node(node, f"/collections/{meta_name(name)}/documents/{_META_ID}", api_key,
                     "serial")
    return None if found is None else int(found)


def _alias_at(node: str, name: str, api_key: str) -> str | None:
    """The collection the alias `name` points to on one node (None: no such alias)."""
    found = _at_node(node, f"/aliases/{name}", api_key, "collection_name")
    return None if found is None else str(found)


# -- the archive's vocabulary, kept in the side collection ----------------------------------

#: Characters of the compressed vocabulary per document of the side collection.
CHUNK_CHARS = 512 * 1024
#: Bumped when the stored vocabulary's layout changes (older ones are then ignored).
VOCABULARY_FORMAT = 1


def vocabulary_chunks(data: VocabularyData) -> list[str]:
    """`data` as the texts of the side collection's vocabulary documents
    (zlib-compressed JSON in base64, cut into `CHUNK_CHARS`)."""
    raw = json.dumps({"words": data.words, "terms": data.terms, "counts": data.term_counts,
                      "languages": list(data.languages)}, ensure_ascii=False,
                     separators=(",", ":")).encode("utf-8")
    text = base64.b64encode(zlib.compress(raw, 6)).decode("ascii")
    return [text[i:i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]


def vocabulary_from(chunks: Sequence[str]) -> VocabularyData:
    """The vocabulary `vocabulary_chunks` stored. Raises ValueError when they do not decode."""
    try:
        raw = json.loads(zlib.decompress(base64.b64decode("".join(chunks))))
        return VocabularyData(list(raw["words"]), list(raw["terms"]), dict(raw["counts"]),
                              tuple(raw["languages"]))
    except (zlib.error, KeyError, TypeError, UnicodeDecodeError) as e:
        raise ValueError(f"the stored vocabulary does not decode: {e}") from None


def chunk_ids(header: dict) -> list[str]:
    """The ids of the documents holding the vocabulary a header names."""
    return [f"{VOCABULARY_ID}.{header['stamp']}.{i}" for i in range(int(header["chunks"]))]


def usable_header(header: dict | None, collection: str) -> bool:
    """Whether a vocabulary header describes `collection` in this format."""
    return (isinstance(header, dict) and header.get("collection") == collection
            and header.get("format") == VOCABULARY_FORMAT and "stamp" in header)


def write_vocabulary(client: typesense.Client, collection: str, data: VocabularyData,
                     at_serial: int) -> None:
    """Store `data` as `collection`'s vocabulary, written by the write that
    sets the serial `at_serial`.

    The chunks go in under a new stamp first, then the header that names
    them, then the previous chunks are deleted: a reader always finds a
    header whose chunks are there (or, in the moment between the last two
    steps, gone: it then reads the articles, `search.typesense.archive`).
    """
    documents = client.collections[meta_name(collection)].documents
    old = _retrieve(documents, VOCABULARY_ID)
    stamp = time.time_ns()
    chunks = vocabulary_chunks(data)
    header = {"id": VOCABULARY_ID, "kind": "vocabulary", "collection": collection,
              "format": VOCABULARY_FORMAT, "stamp": stamp, "chunks": len(chunks),
              "at_serial": at_serial}
    for i, (cid, text) in enumerate(zip(chunk_ids(header), chunks, strict=True)):
        _retrying(lambda cid=cid, text=text, i=i: documents.upsert(
            {"id": cid, "kind": "vocabulary-chunk", "data": text, "part": i}))
    _retrying(lambda: documents.upsert(header))
    if isinstance(old, dict) and "stamp" in old and old["stamp"] != stamp:
        for cid in chunk_ids(old):
            try:
                _retrying(lambda cid=cid: documents[cid].delete())
            except ObjectNotFound:
                pass


def read_vocabulary(client: typesense.Client, collection: str
                    ) -> tuple[dict, VocabularyData] | None:
    """The header and vocabulary stored for `collection` (None: none, or unreadable)."""
    documents = client.collections[meta_name(collection)].documents
    header = _retrieve(documents, VOCABULARY_ID)
    if not usable_header(header, collection):
        return None
    chunks = []
    for cid in chunk_ids(header):
        doc = _retrieve(documents, cid)
        if doc is None:
            return None
        chunks.append(doc.get("data", ""))
    try:
        return header, vocabulary_from(chunks)
    except ValueError:
        return None


def _retrieve(documents, doc_id: str) -> dict | None:
    try:
        return _retrying(lambda: documents[doc_id].retrieve())
    except ObjectNotFound:
        return None


def _field_terms(doc: dict) -> Iterator[str]:
    """Each term of a document once per word field holding it, as the
    vocabulary counts articles (title and body apart), hyphens restored."""
    for fieldname in ("title_terms", "body_terms"):
        for term in set((doc.get(fieldname) or "").split()):
            yield term.replace("~", "-")


# -- the cluster-wide write lock -------------------------------------------------------------

#: Seconds a write lock's lease lasts unless renewed: how long an indexer that
#: died (kill -9, a machine lost) keeps others waiting at most.
LEASE_SECONDS = 60.0
#: A live run renews its lease this often.
RENEW_SECONDS = LEASE_SECONDS / 3


class ClusterLock:
    """The write lock of one archive on the cluster, shared by every machine.

    `index.folder.write_lock` serializes runs on one machine; two indexers on
    different machines share only the cluster. The lock is a lease: one
    document `lock` in the side collection, made only if absent (a second
    `create` is refused, and the cluster orders writes, so one maker wins),
    holding its owner and when it expires. A holder renews it every
    `RENEW_SECONDS` on a thread of its own; a lease past its time is
    deleted by the next one who wants it, with a filter on its expiry
    (`expires:<now`), so a lease renewed meanwhile survives. Releasing
    deletes it only if it still carries the holder's own expiry
    (`expires:=`). A run that lost its lease (paused longer than
    `LEASE_SECONDS`) finds out at its next renewal and fails before its
    commit.

    Time is each machine's clock, in milliseconds: machines that share a
    cluster must keep their clocks within a fraction of `LEASE_SECONDS`.
    """

    def __init__(self, client: typesense.Client, name: str,
                 lease: float = LEASE_SECONDS, renew: float | None = None) -> None:
        self.client = client
        self.name = name
        self.lease = lease
        self.renew_every = renew if renew is not None else lease / 3
        self.owner = f"{socket.gethostname()} pid {os.getpid()} {secrets.token_hex(3)}"
        self._expires: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost: str | None = None

    @property
    def held(self) -> bool:
        return self._expires is not None

    def _documents(self):
        return self.client.collections[meta_name(self.name)].documents

    def acquire(self, timeout: float) -> None:
        """Take the lease, waiting at most `timeout` seconds; `LockTimeout` then."""
        deadline = time.monotonic() + max(0.0, timeout)
        documents = self._documents()
        while True:
            expires = _now_ms() + int(self.lease * 1000)
            try:
                _retrying(lambda expires=expires: documents.create(
                    {"id": _LOCK_ID, "kind": "lock", "owner": self.owner, "expires": expires}))
                break
            except ObjectAlreadyExists:
                holder = _retrieve(documents, _LOCK_ID) or {}
                if holder.get("owner") == self.owner:  # ours: a retried create's answer lost
                    expires = int(holder["expires"])
                    break
            taken = _retrying(lambda: documents.delete(
                {"filter_by": f"id:[{_LOCK_ID}] && expires:<{_now_ms()}"}))
            if taken.get("num_deleted"):
                continue  # an expired lease, now gone: try again at once
            if time.monotonic() >= deadline:
                holder = (_retrieve(documents, _LOCK_ID) or {}).get("owner")
                who = f" ({holder})" if holder else ""
                raise LockTimeout(f"another indexing run holds the lock on the Typesense "
                                  f"collection {self.name!r}{who}; waited {timeout:g} s")
            time.sleep(0.2)
        self._expires = expires
        self.lost = None
        self._stop.clear()
        # The thread holds no reference to an engine: when a run's engine is
        # dropped without a release (a failure before its batch began), the
        # lock is released by `__del__` or, at the worst, expires.
        self._thread = threading.Thread(target=_renewing, args=(weakref.ref(self),
                                        self._stop, self.renew_every),
                                        name=f"archivist-lease-{self.name}", daemon=True)
        self._thread.start()

    def renew(self) -> bool:
        """Extend the lease; False (and `lost` says why) when it is no longer ours."""
        if self._expires is None:
            return False
        documents = self._documents()
        now = _retrieve(documents, _LOCK_ID)
        if now is None or now.get("owner") != self.owner or now.get("expires") != self._expires:
            self.lost = "its lease ran out and another indexer may have taken it"
            self._expires = None
            return False
        expires = _now_ms() + int(self.lease * 1000)
        # Replaced in place: the lock is never absent while it is held. (A
        # holder paused past its lease between the read and this write could
        # overwrite a new holder's lease; the read makes that window one
        # round trip, and the lease's length makes it need a long pause.)
        _retrying(lambda: documents.upsert(
            {"id": _LOCK_ID, "kind": "lock", "owner": self.owner, "expires": expires}))
        self._expires = expires
        return True

    def check(self) -> None:
        """Raise `LockTimeout` when the lease was lost (before a run commits)."""
        if self.lost:
            raise LockTimeout(f"this run lost the lock on the Typesense collection "
                              f"{self.name!r}: {self.lost}; nothing more was written")

    def release(self) -> None:
        """Give the lease back (only if it is still ours)."""
        self._stop.set()
        expires, self._expires = self._expires, None
        if expires is None:
            return
        try:
            _retrying(lambda: self._documents().delete(
                {"filter_by": f"id:[{_LOCK_ID}] && expires:={expires}"}))
        except TypesenseClientError:
            pass  # it expires by itself

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.release()


def _renewing(ref: weakref.ref, stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        lock = ref()
        if lock is None or not lock.held:
            return
        try:
            if not lock.renew():
                return
        except TypesenseClientError as e:
            log.warning("could not renew the write lock's lease: %s", e)
        del lock


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# -- the write-side engine (`index.protocol.WriteEngine`) ----------------------------------

#: Seconds a run waits for every node to apply its writes before it fails.
REPLICATION_TIMEOUT = 120.0
#: Seconds a write is tried again while the cluster elects a leader (beyond
#: the client's own retries, `index.typesense_client.FAILOVER`).
WRITE_RETRY_SECONDS = 30.0
#: Seconds a run waits for the cluster's write lock unless told otherwise
#: (`IndexOptions.lock_timeout`'s default).
LOCK_TIMEOUT = 10.0
#: What reading the state asks of each document.
_STATE_FIELDS = "id,source_key,source_hash,content_hash"
#: What export and check leave out: the analyzed terms and the vector.
_BULKY_FIELDS = "title_terms,body_terms,tag_pairs,vector"


class TypesenseWriteEngine:
    """A Typesense cluster as the write side (`index.protocol.WriteEngine`).

    Readers use the name `settings.collection`. After the first run it is an
    alias for a collection `<name>_<timestamp>`; a rebuild (or a first run)
    writes a new such collection, waits until every node holds it whole,
    points the alias at it and drops the old one, so a reader never meets an
    empty or half-written collection. (A collection made under the name
    itself, as the first cut did, is written to in place until a rebuild
    replaces it by an alias; that one swap leaves the name unanswered for
    the moment between dropping the collection and making the alias: the
    two cannot share a name.)

    An incremental run writes into the live collection: each article is
    upserted whole, so readers see each file's new articles as they arrive,
    and the old ones that left are deleted at the end. A run stopped half way
    leaves some files new and some old, and their articles say which (each
    carries its file's hash): the next run reads again every file whose
    articles disagree, and finishes.

    The state lives in the documents (`source_key`, `source_hash`,
    `content_hash`), so any machine whose folders have the same names
    continues where another stopped. Writes go to the whole cluster through
    the client of `index.typesense_client` (failover settings) and are tried
    again for `WRITE_RETRY_SECONDS` while a leader is elected; a run is done
    when every node has applied its last write (`wait_replicated`).
    """

    keyed = True

    def __init__(self, settings, client: typesense.Client | None = None,
                 replication_timeout: float = REPLICATION_TIMEOUT,
                 lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.settings = settings
        self.name = settings.collection
        self.nodes = list(settings.nodes)
        self.api_key = settings.api_key
        self.client = client if client is not None else settings.client()
        self.replication_timeout = replication_timeout
        #: Seconds a run waits for another machine's run (`ClusterLock`).
        self.lock_timeout = lock_timeout
        self.lock = ClusterLock(self.client, self.name)
        # The client's HTTP library logs every request at INFO, and the
        # embedding model's set-up turns INFO on: a run's output drowned in them.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    def describe(self) -> str:
        return f"Typesense collection {self.name!r} on {', '.join(self.nodes)}"

    # -- where the archive is ---------------------------------------------------------

    def target(self) -> str | None:
        """The collection readers of the name get: the alias's, the one of
        that name, or None on a first run."""
        try:
            return str(self.client.aliases[self.name].retrieve()["collection_name"])
        except ObjectNotFound:
            pass
        try:
            self.client.collections[self.name].retrieve()
            return self.name
        except ObjectNotFound:
            return None

    def exists(self) -> bool:
        return self.target() is not None

    def rebuild_reason(self) -> str | None:
        target = self.target()
        if target is None:
            return None
        have = {f["name"] for f in self.client.collections[target].retrieve()["fields"]}
        lacking = [f["name"] for f in FIELDS if f["name"] not in have]
        if lacking:
            return (f"the collection {target} has no field {', '.join(lacking)} that this "
                    f"version of Archivist writes, so it was rebuilt")
        version = analysis_of(self.client, target)
        if version is None:
            # Terms made by an unknown analyzer cannot be mixed with new ones.
            return (f"the collection {target} does not record which analysis made its "
                    f"terms; this version of Archivist writes version {SCHEMA_VERSION}, so "
                    "it was rebuilt")
        if version != SCHEMA_VERSION:
            return (f"the collection {target} was written with analysis version {version}; "
                    f"this version of Archivist writes version {SCHEMA_VERSION}, so it was "
                    "rebuilt")
        return None

    def indexed(self, lock_timeout: float | None = None) -> IndexedState:
        """key -> the file's hash and its articles, read from every document.

        A run reads this first, so the cluster's write lock is taken here
        (waiting `lock_timeout`), and let go when the run's batch commits or
        is abandoned: the state a run plans from is the state it writes over.
        """
        self._hold(self.lock_timeout if lock_timeout is None else lock_timeout)
        return self.state()

    def state(self) -> IndexedState:
        """`indexed` without the lock (what the console shows per source)."""
        target = self.target()
        state: IndexedState = {}
        if target is None:
            return state
        mixed: set[str] = set()
        for doc in self.export(target, {"include_fields": _STATE_FIELDS}):
            key = doc.get("source_key", "")
            sha = doc.get("source_hash", "")
            entry = state.get(key)
            if entry is None:
                entry = state[key] = IndexedFile(sha, {})
            elif entry.sha != sha:
                mixed.add(key)
            entry.articles[doc["id"]] = doc.get("content_hash", "")
        for key in mixed:
            # Half old, half new: a run stopped in the middle of it; read it again.
            state[key].sha = ""
        return state

    def begin(self, fresh: bool, options=None, before: IndexedState | None = None
              ) -> _TypesenseBatch:
        self._hold(options.lock_timeout if options is not None else self.lock_timeout)
        try:
            return _TypesenseBatch(self, fresh, before or {})
        except BaseException:
            self.lock.release()
            raise

    def _hold(self, timeout: float) -> None:
        """Take the cluster's write lock unless this engine holds it."""
        if not self.lock.held:
            ensure_meta(self.client, self.name)
            self.lock.acquire(timeout)

    # -- maintenance --------------------------------------------------------------------

    def node_counts(self, collection: str | None = None) -> dict[str, int | None]:
        """Each node's document count for the archive (None: it did not answer)."""
        collection = collection or self.target() or self.name
        return {node: _count(node, collection, self.api_key) for node in self.nodes}

    def audit(self) -> Audit:
        target = self.target()
        if target is None:
            raise FileNotFoundError(f"there is no collection or alias {self.name!r}")
        audit = Audit()
        for doc in self.export(target, {"exclude_fields": _BULKY_FIELDS}):
            audit.articles += 1
            absent = [f for f in ("id", "title", "body", "source_key") if not doc.get(f)]
            if absent:
                audit.unreadable.append(Failure(str(doc.get("id") or "?"),
                                                "no " + ", no ".join(absent)))
                continue
            audit.files[doc["source_key"]] = doc.get("source_hash", "")
        audit.nodes = self.node_counts(target)
        return audit

    def records(self) -> Iterator[dict]:
        from index.export import record_of

        target = self.target()
        if target is None:
            raise FileNotFoundError(f"there is no collection or alias {self.name!r}")
        docs = sorted(self.export(target, {"exclude_fields": _BULKY_FIELDS}),
                      key=lambda d: d["id"])
        for doc in docs:
            yield record_of(stored_article(doc))

    def optimize(self, lock_timeout: float = 10.0) -> None:
        """Nothing to merge: Typesense 0.24 keeps no segments (and its
        database compaction came later), so this says None."""
        return None

    # -- writing ------------------------------------------------------------------------

    def export(self, collection: str, params: dict) -> list[dict]:
        """The documents of `collection` (`documents/export` with `params`:
        `include_fields`, `filter_by`...), tried again through an election."""
        text = _retrying(lambda: self.client.collections[collection].documents.export(params))
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    _export = export

    def _create(self) -> str:
        """A new, empty collection `<name>_<timestamp>` (and the name's side collection)."""
        ensure_meta(self.client, self.name)
        while True:
            now = time.time_ns()
            stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now // 10**9))
            made = f"{self.name}_{stamp}{now // 10**6 % 1000:03d}"
            try:
                _retrying(lambda made=made: self.client.collections.create(_schema(made)))
                return made
            except ObjectAlreadyExists:
                time.sleep(0.001)

    def _swap(self, new: str) -> None:
        """Point the name at `new` and drop every other collection it pointed to."""
        old = self.target()
        if old == self.name:
            # A collection under the name itself: it must go before the alias can come.
            _retrying(lambda: self.client.collections[old].delete())
        _retrying(lambda: self.client.aliases.upsert(self.name, {"collection_name": new}))
        self._wait(lambda node: _alias_at(node, self.name, self.api_key) == new)
        for info in self.client.collections.retrieve():
            made = info["name"]
            if made != new and re.fullmatch(rf"{re.escape(self.name)}_\d{{17}}", made):
                try:
                    _retrying(lambda made=made: self.client.collections[made].delete())
                except ObjectNotFound:
                    pass

    def _wait(self, caught_up: Callable[[str], bool]) -> None:
        deadline = time.monotonic() + self.replication_timeout
        behind = list(self.nodes)
        while True:
            behind = [n for n in behind if not caught_up(n)]
            if not behind:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"not replicated within {self.replication_timeout:g} s: "
                                   f"{', '.join(behind)}")
            time.sleep(0.1)


class _TypesenseBatch:
    """One run's writes to the cluster (see `TypesenseWriteEngine`), under its lock.

    Besides the documents, a run keeps the archive's vocabulary
    (`index.vocabulary.VocabularyData`) in the side collection: the words as
    written of every article it parsed, added to the stored ones, and how
    many articles hold each term, counted from the previous figures minus the
    terms of the documents it replaces or deletes (read just before they are)
    plus those of the documents it writes. Stored figures that another write
    has made stale (their `at_serial` is not the serial now: a run that
    died, `upsert_articles`) are counted again from every document first.
    """

    writes_in_workers = False

    def __init__(self, engine: TypesenseWriteEngine, fresh: bool, before: IndexedState) -> None:
        self.engine = engine
        self.client = engine.client
        self.before = before
        self.fresh = fresh or engine.target() is None
        self.collection = engine._create() if self.fresh else engine.target()
        self.pending: list[dict] = []
        #: Ids of articles that left (deleted at commit unless written again).
        self.doomed: set[str] = set()
        self.written: set[str] = set()
        #: Whether the "write in progress" serial was stored (`begin_write`).
        self.begun = False
        # The vocabulary: figures to start from, and this run's changes to them.
        self.held = set() if self.fresh else {a for f in before.values() for a in f.articles}
        #: Whether `base` was counted from the documents (then stored even if nothing changes).
        self.counted = False
        self.base: VocabularyData | None = None if self.fresh else self._base()
        self.plus: Counter[str] = Counter()
        self.minus: Counter[str] = Counter()
        self.languages: set[str] = set()
        #: Held ids whose old terms are counted out (or are about to be: `want_old`).
        self.settled: set[str] = set()
        self.want_old: list[str] = []

    def _base(self) -> VocabularyData:
        """The stored vocabulary if it describes the collection now, else one
        counted from every document (once, for a collection written before,
        or after a write that did not keep it)."""
        stored = read_vocabulary(self.client, self.collection)
        if stored is not None and stored[0].get("at_serial") == serial(self.client,
                                                                        self.collection):
            return stored[1]
        self.counted = True
        words: set[str] = set()
        counts: Counter[str] = Counter()
        languages: set[str] = set()
        for doc in self.engine.export(self.collection, {
                "include_fields": "title,body,title_terms,body_terms,language"}):
            words |= surface_words(doc.get("title") or "", doc.get("body") or "")
            counts.update(_field_terms(doc))
            if doc.get("language"):
                languages.add(doc["language"])
        return assemble(words, dict(counts), tuple(sorted(languages)))

    def apply(self, parsed, changes) -> None:
        for src in changes.deleted:
            ids = self.before[src].articles
            self.doomed.update(ids)
            self._old(ids)
        vectors = parsed.vectors
        for i in changes.added:
            article = parsed.articles[i]
            doc = document(article, key=parsed.key, sha=parsed.sha,
                           vector=vectors[i] if i < len(vectors) else None)
            self._old([article.id])
            self.plus.update(_field_terms(doc))
            if article.language:
                self.languages.add(article.language)
            self.pending.append(doc)
            self.written.add(article.id)
            if len(self.pending) >= BATCH:
                self._flush()

    def remove(self, sources: Sequence[str]) -> None:
        for src in sources:
            ids = self.before[src].articles
            self.doomed.update(ids)
            self._old(ids)

    def commit(self, words: set[str], changed: bool) -> int:
        self.engine.lock.check()
        try:
            return self._commit(words, changed)
        finally:
            self.engine.lock.release()

    def _commit(self, words: set[str], changed: bool) -> int:
        self._flush()
        gone = self.doomed - self.written
        self._delete(sorted(gone))
        engine = self.engine
        # Worked out, not asked: a follower may answer a count it has not caught up to.
        count = len((self.held - gone) | self.written)
        # Every node holds the whole new collection before readers are sent to it.
        engine._wait(lambda node: _count(node, self.collection, engine.api_key) == count)
        if self.fresh:
            engine._swap(self.collection)
        if self.fresh or changed or self.begun:
            # `_bump` stores the time of the write: no node has applied it while
            # its serial is older than this moment.
            mark = time.time_ns()
            _retrying(lambda: record_analysis(self.client, self.collection))
            self._store_vocabulary(words, mark)
            _retrying(lambda: _bump(self.client, engine.name, mark))
            engine._wait(lambda node: (serial_at(node, engine.name, engine.api_key) or 0)
                         >= mark)
        elif self.counted:
            # Nothing written, but the stored vocabulary was missing or stale.
            self._store_vocabulary(words, serial(self.client, self.collection))
        return count

    def abandon(self) -> None:
        try:
            if self.fresh:
                try:
                    self.client.collections[self.collection].delete()
                except Exception:  # noqa: BLE001 -- the next rebuild drops it anyway
                    pass
        finally:
            self.engine.lock.release()

    # -- the vocabulary ------------------------------------------------------------------

    def _old(self, ids: Iterable[str]) -> None:
        """Count out, before they are replaced or deleted, the terms of held
        articles `ids` (each once)."""
        if self.base is None:
            return
        for article_id in ids:
            if article_id in self.held and article_id not in self.settled:
                self.settled.add(article_id)
                self.want_old.append(article_id)

    def _read_old(self) -> None:
        want, self.want_old = self.want_old, []
        if not want:
            return
        plain = [i for i in want if _PLAIN_ID.fullmatch(i)]
        for i in range(0, len(plain), BATCH):
            chunk = ",".join(plain[i:i + BATCH])
            for doc in self.engine.export(self.collection, {
                    "filter_by": f"id:[{chunk}]", "include_fields": "id,title_terms,body_terms"}):
                self.minus.update(_field_terms(doc))
        documents = self.client.collections[self.collection].documents
        for article_id in want:
            if not _PLAIN_ID.fullmatch(article_id):
                doc = _retrieve(documents, article_id)
                if doc is not None:
                    self.minus.update(_field_terms(doc))

    def _store_vocabulary(self, words: set[str], at_serial: int) -> None:
        """Store the archive's vocabulary after this run; a failure is only
        logged (readers then read the articles, and the next run counts again)."""
        try:
            self._read_old()
            base = self.base
            if base is None:
                counts: Counter[str] = self.plus
                everything, languages = set(words), set(self.languages)
            else:
                counts = Counter(base.term_counts)
                counts.update(self.plus)
                counts.subtract(self.minus)
                everything = set(words) | set(base.words)
                languages = set(base.languages) | self.languages
            data = assemble(everything, {t: n for t, n in counts.items() if n > 0},
                            tuple(sorted(languages)))
            write_vocabulary(self.client, self.collection, data, at_serial)
        except (TypesenseClientError, *_TRANSPORT, OSError, ValueError) as e:
            log.warning("the vocabulary was not stored in the cluster: %s", e)

    # -- writing ---------------------------------------------------------------------------

    def _begin_write(self) -> None:
        """Before the first write to the live collection, the "write in
        progress" serial (`begin_write`; the stored vocabulary stays: readers
        keep using it meanwhile, a few words behind)."""
        if not self.fresh and not self.begun:
            _retrying(lambda: _bump(self.client, self.engine.name))
            self.begun = True

    def _flush(self) -> None:
        self._read_old()
        batch, self.pending = self.pending, []
        if not batch:
            return
        self._begin_write()
        documents = self.client.collections[self.collection].documents
        answers = _retrying(lambda: documents.import_(batch, {"action": "upsert"}))
        for doc, answer in zip(batch, answers, strict=True):
            if not answer.get("success"):
                raise RuntimeError(f"article {doc['id']!r} was refused: {answer.get('error')}")

    def _delete(self, ids: list[str]) -> None:
        if not ids:
            return
        self._begin_write()
        documents = self.client.collections[self.collection].documents
        plain = [i for i in ids if _PLAIN_ID.fullmatch(i)]
        for i in range(0, len(plain), BATCH):
            chunk = ",".join(plain[i:i + BATCH])
            _retrying(lambda chunk=chunk: documents.delete({"filter_by": f"id:[{chunk}]"}))
        for article_id in ids:
            if not _PLAIN_ID.fullmatch(article_id):
                try:
                    _retrying(lambda a=article_id: documents[a].delete())
                except ObjectNotFound:
                    pass


#: Answers that mean "no leader to take the write yet", not "this write is wrong".
_TRANSIENT = (ServerError, ServiceUnavailable, HTTPStatus0Error)
#: A node that does not answer at all (the client's HTTP library's errors).
_TRANSPORT = backend_errors("TransportError")
#: Ids a `filter_by` list can hold as they are.
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.~-]+")


def _retrying(call: Callable[[], T]) -> T:
    """`call()`, tried again while the cluster cannot take writes (no leader yet)."""
    deadline = time.monotonic() + WRITE_RETRY_SECONDS
    while True:
        try:
            return call()
        except TypesenseClientError as e:
            # The bare class is the client's "all nodes are unhealthy".
            if not isinstance(e, _TRANSIENT) and type(e) is not TypesenseClientError:
                raise
            if time.monotonic() > deadline:
                raise
        except _TRANSPORT:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def stored_article(doc: dict) -> StoredArticle:
    """A document of the collection as the stored article export and check read."""
    day = doc.get("date", UNDATED)
    keys, labels = doc.get("tags") or [], doc.get("tag_labels") or []
    if len(labels) != len(keys):
        labels = keys
    return StoredArticle(
        id=doc.get("id", ""), title=doc.get("title", ""), body=doc.get("body", ""),
        date=dt.date.fromordinal(day) if isinstance(day, int) and day > 0 else None,
        tags=tuple(Tag(k, lab) for k, lab in zip(keys, labels, strict=True)),
        kind=doc.get("kind") or None, language=doc.get("language") or None,
        url=doc.get("url") or None, publication=doc.get("publication") or None,
        author=doc.get("author") or None, pages=tuple(doc.get("pages") or ()),
        source=doc.get("source_key") or doc.get("source", ""))
