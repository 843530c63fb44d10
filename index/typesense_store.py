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

This module never searches and never makes HTML.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from pathlib import PurePath

import typesense
from typesense.exceptions import ObjectAlreadyExists, ObjectNotFound

from index.analysis import terms
from index.article import Article

#: Punctuation that stays inside a token (see the module docstring; `~` is the hyphen).
SYMBOLS = ["~", ".", "&", "/", "'", ",", "_"]
#: Articles sent per import request.
BATCH = 200
#: Undated articles' `date`: before every day ordinal, so newest-first puts them last.
UNDATED = -1
#: Undated articles' `oldest_key`: after every day, so oldest-first puts them last too.
UNDATED_LAST = 10**9
_META_ID = "version"

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
    {"name": "source_hash", "type": "string"},
    {"name": "content_hash", "type": "string"},
    {"name": "publication", "type": "string", "index": False, "optional": True},
    {"name": "author", "type": "string", "index": False, "optional": True},
    {"name": "pages", "type": "int32[]", "index": False, "optional": True},
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
    schema = {"name": name, "fields": FIELDS, "symbols_to_index": SYMBOLS,
              "token_separators": [], "default_sorting_field": "date"}
    for made in (schema, {"name": meta_name(name),
                          "fields": [{"name": "serial", "type": "int64"}]}):
        try:
            client.collections.create(made)
        except ObjectAlreadyExists:
            pass


def document(article: Article, shown: Callable[[str], str] | None = None) -> dict:
    """`article` as a Typesense document; `shown(source)` is how its file is
    shown to readers (default: the file's name), never a server path."""
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
    for key in ("kind", "language", "url", "publication", "author"):
        value = getattr(article, key)
        if value:
            doc[key] = value
    if article.pages:
        doc["pages"] = list(article.pages)
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
    """The write serial of `name` (0 before the first write)."""
    try:
        return int(client.collections[meta_name(name)].documents[_META_ID].retrieve()["serial"])
    except ObjectNotFound:
        return 0


def _bump(client: typesense.Client, name: str) -> None:
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
