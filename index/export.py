"""Writing every indexed article out as JSON Lines that Archivist reads back.

An export is the archive's portable copy: one JSON object per line, in the
shape `index.formats.jsonl` reads (`id`, `title`, `body`, `date`, `tags`,
`kind`, `url`, `language`, `publication`, `author`, and a paged source's
`pages`). Indexing the export again gives the same
articles: same ids, titles, bodies, dates, tag labels, kinds, urls and
languages, hence the same content hashes. A `source` key records where each
article came from; the reader ignores it.

Articles are written in id order, so two exports of the same index are
byte-identical. The records come from the write-side engine
(`index.protocol.WriteEngine.records`): the Whoosh index
(`index.embedded.contents.records`), or a Typesense cluster, in the same
shape. This module reads the index and never writes to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from index.formats.jsonl import ID_PATTERN
from index.protocol import WriteEngine


@dataclass
class ExportResult:
    """How many articles were written, and which would not read back as they are."""

    articles: int = 0
    #: "id: reason" for records the JSON Lines reader would refuse or change.
    warnings: list[str] = field(default_factory=list)


def records(index_dir: Path, engine: WriteEngine | None = None) -> Iterator[dict]:
    """Every indexed article as a JSON-ready dict, in id order, from
    `engine` (default: the Whoosh index in `index_dir`)."""
    if engine is None:
        from index.embedded.engine import WhooshWriteEngine

        engine = WhooshWriteEngine(index_dir)
    return engine.records()


def export_jsonl(index_dir: Path, out: TextIO, engine: WriteEngine | None = None
                 ) -> ExportResult:
    """Write every article of the index (`engine`; default: the Whoosh index
    in `index_dir`) to `out`, one JSON object a line."""
    result = ExportResult()
    for record in records(index_dir, engine):
        problem = _problem(record)
        if problem:
            result.warnings.append(f"{record['id']}: {problem}")
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        result.articles += 1
    return result


def record_of(a) -> dict:
    """The export record of a stored article (`index.article.StoredArticle`,
    or anything with the same attributes): the one place its shape is made."""
    record = {
        "id": a.id,
        "title": a.title,
        "date": a.date.isoformat() if a.date else None,
        "tags": [t.label for t in a.tags],
        "kind": a.kind,
        "url": a.url,
        "language": a.language,
        "publication": a.publication,
        "author": a.author,
        "pages": list(a.pages) or None,
        "body": a.body,
        "source": a.source,
    }
    return {k: v for k, v in record.items() if v not in (None, "")}


def _problem(record: dict) -> str | None:
    """Why the JSON Lines reader would not give this record back unchanged, if it would not."""
    if not ID_PATTERN.fullmatch(str(record.get("id", ""))):
        return "its id is not one the JSON Lines reader accepts"
    title = record.get("title", "")
    if not title or " ".join(title.split()) != title:
        return "its title is empty or has whitespace the reader collapses"
    body = record.get("body", "")
    if not body or body.strip() != body:
        return "its body is empty or starts or ends with whitespace"
    return None

