"""An `Article` as the fields of one Whoosh document, and back.

The only place that knows how an article's values are spelled inside the
index (tags joined by commas, labels by a unit separator, the date as a
datetime, the `dated` flag, page offsets as a list): `to_document` writes
them, `from_stored` reads a document's stored fields back as a
`StoredArticle` (`index.article`), and every reader of stored fields (the
search side's hits and columns, `index.embedded.contents`' export records
and audit, `index.embedded.health`) goes through it, so none of them
disagrees.
"""

from __future__ import annotations

import datetime as dt

from index import embedding
from index.analysis import LanguageText
from index.article import Article, StoredArticle, Tag

#: Joins tag labels in the stored `tag_labels` field (never appears in a tag).
LABEL_SEPARATOR = "\x1f"
DATED = "1"
UNDATED = "0"


def to_document(article: Article, source_hash: str, vector: bytes | None = None) -> dict:
    """The field values to pass to `writer.add_document` for `article`.

    `vector` is the article's stored meaning vector; when None it is made
    here (the indexer makes them in its parsing processes, in batches)."""
    doc = {
        "id": article.id,
        # The analyzer stems by the article's language; the stored copies are plain.
        "title": LanguageText(article.title, article.language),
        "_stored_title": article.title,
        "body": LanguageText(article.body, article.language),
        "_stored_body": article.body,
        "tags": ",".join(t.key for t in article.tags),  # keys hold no commas (tag_key)
        "tag_labels": LABEL_SEPARATOR.join(t.label for t in article.tags),
        "dated": DATED if article.date else UNDATED,
        "source": article.source,
        "source_hash": source_hash,
        "content_hash": article.content_hash,
    }
    if article.date is not None:
        doc["date"] = dt.datetime(article.date.year, article.date.month, article.date.day)
    if article.kind:
        doc["kind"] = article.kind
    if article.language:
        doc["language"] = article.language
    if article.url:
        doc["url"] = article.url
    if article.publication:
        doc["publication"] = article.publication
    if article.author:
        doc["author"] = article.author
    if article.pages:
        doc["pages"] = list(article.pages)
    if vector is None:
        made = embedding.article_vectors([(article.title, article.body)])
        vector = embedding.to_bytes(made[0]) if made is not None else None
    if vector is not None:
        doc["vector"] = vector
    return doc


def split_labels(stored: str | None) -> list[str]:
    """The tag labels from a stored `tag_labels` value."""
    return [s for s in (stored or "").split(LABEL_SEPARATOR) if s]


def from_stored(fields: dict) -> StoredArticle:
    """Decode a Whoosh document's stored fields (missing ones are empty).

    Labels are paired with keys by position; when their counts disagree (an
    index written before labels were stored) the keys stand in as labels.
    """
    keys = [k.strip() for k in (fields.get("tags") or "").split(",") if k.strip()]
    labels = split_labels(fields.get("tag_labels"))
    if len(labels) != len(keys):
        labels = keys
    date = fields.get("date")
    if isinstance(date, dt.datetime):
        date = date.date()
    elif not isinstance(date, dt.date):
        date = None
    return StoredArticle(
        id=fields.get("id") or "",
        title=fields.get("title") or "",
        body=fields.get("body") or "",
        date=date,
        tags=tuple(Tag(k, lab) for k, lab in zip(keys, labels, strict=True)),
        kind=fields.get("kind") or None,
        language=fields.get("language") or None,
        url=fields.get("url") or None,
        publication=fields.get("publication") or None,
        author=fields.get("author") or None,
        pages=tuple(fields.get("pages") or ()),
        source=fields.get("source") or "",
    )
