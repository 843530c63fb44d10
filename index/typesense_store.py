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
changed. Each write stores a new serial in a one-document side collection
(`<name>_meta`); the read side's `version()` reads it. The serial is the
write's time in nanoseconds, not the last serial plus one: reads may be
answered by a follower that has not applied the last write yet, so a
read-then-increment could go backwards and repeat an old token.

**Indexing.** `TypesenseWriteEngine` is the write side's engine for a
cluster (`index.protocol.WriteEngine`): the incremental state travels with
the documents (`source_key`, `source_hash`, `content_hash`), readers use an
alias that a rebuild swaps to a new `<name>_<timestamp>` collection, and a
run is done when every node has applied its last write.

This module never searches and never makes HTML.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import time
import urllib.request
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
from index.analysis import terms
from index.article import Article, Tag
from index.document import StoredArticle
from index.embedding import DIMENSIONS
from index.protocol import Audit, Failure, IndexedFile, IndexedState

#: Punctuation that stays inside a token (see the module docstring; `~` is the hyphen).
SYMBOLS = ["~", ".", "&", "/", "'", ",", "_"]
#: Articles sent per import request.
BATCH = 200
#: Undated articles' `date`: before every day ordinal, so newest-first puts them last.
UNDATED = -1
#: Undated articles' `oldest_key`: after every day, so oldest-first puts them last too.
UNDATED_LAST = 10**9
_META_ID = "version"
T = TypeVar("T")

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
    """The side collection that holds `name`'s write serial."""
    return f"{name}_meta"


def ensure_collection(client: typesense.Client, name: str) -> None:
    """Create the collection `name` and its side collection unless they exist."""
    for made in (_schema(name), _meta_schema(name)):
        try:
            client.collections.create(made)
        except ObjectAlreadyExists:
            pass


def _schema(name: str) -> dict:
    return {"name": name, "fields": FIELDS, "symbols_to_index": SYMBOLS,
            "token_separators": [], "default_sorting_field": "date"}


def _meta_schema(name: str) -> dict:
    return {"name": meta_name(name), "fields": [{"name": "serial", "type": "int64"}]}


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

    Raises `RuntimeError` naming the first article Typesense refused.
    """
    written = 0
    batch: list[dict] = []

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
    """Delete the articles `ids` (unknown ones are skipped); returns how many went."""
    gone = 0
    for article_id in ids:
        try:
            client.collections[name].documents[article_id].delete()
            gone += 1
        except ObjectNotFound:
            pass
    _bump(client, name)
    return gone


def serial(client: typesense.Client, name: str) -> int:
    """The write serial of the collection `name` (0 before the first write).

    `name` is a collection's own name, not an alias: `_bump` writes the
    serial of the collection an alias points to. The serial is read from
    whichever node `client` asks, and a follower applies a write about half
    a second after the leader: a reader that wants a token that never goes
    back asks one node (`search.typesense.engine` does).
    """
    try:
        return int(client.collections[meta_name(name)].documents[_META_ID].retrieve()["serial"])
    except ObjectNotFound:
        return 0


def _bump(client: typesense.Client, name: str) -> None:
    """Store a new write serial for `name`, in the side collection of the
    collection it stands for when `name` is an alias (readers read the serial
    of the collection an alias points to, so a write through the alias and a
    write to the collection itself bump the same serial)."""
    try:
        own = client.aliases[name].retrieve()["collection_name"]
    except ObjectNotFound:
        own = name
    try:
        client.collections[meta_name(own)].documents.upsert(
            {"id": _META_ID, "serial": time.time_ns()})
    except ObjectNotFound:
        if own == name:
            raise
        client.collections[meta_name(name)].documents.upsert(
            {"id": _META_ID, "serial": time.time_ns()})


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


def _count(node: str, name: str, api_key: str) -> int | None:
    request = urllib.request.Request(f"{node.rstrip('/')}/collections/{name}",
                                     headers={"X-TYPESENSE-API-KEY": api_key})
    try:
        with urllib.request.urlopen(request, timeout=2.0) as answer:
            return int(json.load(answer)["num_documents"])
    except (OSError, ValueError, KeyError):
        return None


def _serial_at(node: str, name: str, api_key: str) -> int | None:
    """The write serial of `name` as one node has applied it."""
    request = urllib.request.Request(
        f"{node.rstrip('/')}/collections/{meta_name(name)}/documents/{_META_ID}",
        headers={"X-TYPESENSE-API-KEY": api_key})
    try:
        with urllib.request.urlopen(request, timeout=2.0) as answer:
            return int(json.load(answer)["serial"])
    except (OSError, ValueError, KeyError):
        return None


def _alias_at(node: str, name: str, api_key: str) -> str | None:
    """The collection the alias `name` points to on one node (None: no such alias)."""
    request = urllib.request.Request(f"{node.rstrip('/')}/aliases/{name}",
                                     headers={"X-TYPESENSE-API-KEY": api_key})
    try:
        with urllib.request.urlopen(request, timeout=2.0) as answer:
            return str(json.load(answer)["collection_name"])
    except (OSError, ValueError, KeyError):
        return None


# -- the write-side engine (`index.protocol.WriteEngine`) ----------------------------------

#: Seconds a run waits for every node to apply its writes before it fails.
REPLICATION_TIMEOUT = 120.0
#: Seconds a write is tried again while the cluster elects a leader (beyond
#: the client's own retries, `index.typesense_client.FAILOVER`).
WRITE_RETRY_SECONDS = 30.0
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
                 replication_timeout: float = REPLICATION_TIMEOUT) -> None:
        self.settings = settings
        self.name = settings.collection
        self.nodes = list(settings.nodes)
        self.api_key = settings.api_key
        self.client = client if client is not None else settings.client()
        self.replication_timeout = replication_timeout
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
        return None

    def indexed(self) -> IndexedState:
        """key -> the file's hash and its articles, read from every document."""
        target = self.target()
        state: IndexedState = {}
        if target is None:
            return state
        mixed: set[str] = set()
        for doc in self._export(target, {"include_fields": _STATE_FIELDS}):
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
        return _TypesenseBatch(self, fresh, before or {})

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
        for doc in self._export(target, {"exclude_fields": _BULKY_FIELDS}):
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
        docs = sorted(self._export(target, {"exclude_fields": _BULKY_FIELDS}),
                      key=lambda d: d["id"])
        for doc in docs:
            yield record_of(stored_article(doc))

    def optimize(self, lock_timeout: float = 10.0) -> None:
        """Nothing to merge: Typesense 0.24 keeps no segments (and its
        database compaction came later), so this says None."""
        return None

    # -- writing ------------------------------------------------------------------------

    def _export(self, collection: str, params: dict) -> list[dict]:
        text = _retrying(lambda: self.client.collections[collection].documents.export(params))
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def _create(self) -> str:
        """A new, empty collection `<name>_<timestamp>` (and the name's side collection)."""
        try:
            self.client.collections.create(_meta_schema(self.name))
        except ObjectAlreadyExists:
            pass
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
    """One run's writes to the cluster (see `TypesenseWriteEngine`)."""

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

    def apply(self, parsed, changes) -> None:
        for src in changes.deleted:
            self.doomed.update(self.before[src].articles)
        vectors = parsed.vectors
        for i in changes.added:
            article = parsed.articles[i]
            self.pending.append(document(article, key=parsed.key, sha=parsed.sha,
                                         vector=vectors[i] if i < len(vectors) else None))
            self.written.add(article.id)
            if len(self.pending) >= BATCH:
                self._flush()

    def remove(self, sources: Sequence[str]) -> None:
        for src in sources:
            self.doomed.update(self.before[src].articles)

    def commit(self, words: set[str], changed: bool) -> int:
        self._flush()
        gone = self.doomed - self.written
        self._delete(sorted(gone))
        engine = self.engine
        # Worked out, not asked: a follower may answer a count it has not caught up to.
        held = set() if self.fresh else {a for f in self.before.values() for a in f.articles}
        count = len((held - gone) | self.written)
        # Every node holds the whole new collection before readers are sent to it.
        engine._wait(lambda node: _count(node, self.collection, engine.api_key) == count)
        if self.fresh:
            engine._swap(self.collection)
        if self.fresh or changed:
            # `_bump` stores the time of the write: no node has applied it while
            # its serial is older than this moment.
            mark = time.time_ns()
            _retrying(lambda: _bump(self.client, engine.name))
            engine._wait(lambda node: (_serial_at(node, engine.name, engine.api_key) or 0)
                         >= mark)
        return count

    def abandon(self) -> None:
        if self.fresh:
            try:
                self.client.collections[self.collection].delete()
            except Exception:  # noqa: BLE001 -- the next rebuild drops it anyway
                pass

    def _flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        documents = self.client.collections[self.collection].documents
        answers = _retrying(lambda: documents.import_(batch, {"action": "upsert"}))
        for doc, answer in zip(batch, answers, strict=True):
            if not answer.get("success"):
                raise RuntimeError(f"article {doc['id']!r} was refused: {answer.get('error')}")

    def _delete(self, ids: list[str]) -> None:
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
