"""What the Typesense engine knows about one version of the archive.

Prefixes, fuzzy words, spelling corrections and search-box completions
need the archive's words as written (folded, not stemmed) with how many
articles hold each one's term, titles newest first and tags with their
labels; `search.embedded` reads those from files beside its index. The
cluster holds stems only, so `load` reads every article's title, body,
language, terms and tags once per version token (`documents/export`, the
fields it needs only) and builds the same `search.vocabulary.Vocabulary`
and `search.autocomplete.CompletionIndex` the Whoosh engine uses.

**Bounded cost.** The export is read only for archives of at most
`MAX_EXPORT` articles; a larger archive gets tags and languages from facets
(`Snapshot.vocabulary` None: prefixes and fuzzy words are searched as
written, and there are no word, phrase or title completions) until the
write side keeps the vocabulary in the cluster.

This module reads the cluster; it never writes to it and makes no HTML.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass

from index.analysis import surface_words
from index.typesense_store import (
    TAG_PAIR,
    VOCABULARY_ID,
    chunk_ids,
    meta_name,
    usable_header,
    vocabulary_from,
)
from index.vocabulary import VocabularyData, assemble
from search import plan as p
from search.autocomplete import CompletionIndex
from search.typesense.query import Archive
from search.vocabulary import Vocabulary

#: Largest archive whose words are read for prefixes, fuzzy words and completions.
MAX_EXPORT = 20_000
#: Facet values asked for: every tag, year and month of an archive.
MAX_FACET_VALUES = 10_000
#: Vocabulary documents asked for per search (each holds up to half a megabyte).
CHUNKS_PER_SEARCH = 16


@dataclass
class Snapshot:
    """One archive version's words, tags and languages."""

    archive: Archive
    #: Tag key → label (the commonest label of the key).
    labels: dict[str, str]
    #: Tag key → articles.
    tag_counts: dict[str, int]
    completions: CompletionIndex | None = None
    #: Term → articles holding it (title and body counted apart, as Whoosh does).
    term_counts: dict[str, int] | None = None

    @property
    def vocabulary(self) -> Vocabulary | None:
        return self.archive.vocabulary


def pair_labels(counts: dict[str, int]) -> tuple[dict[str, str], dict[str, int]]:
    """Tag key → label and key → articles, from `tag_pairs` facet counts."""
    best: dict[str, tuple[int, str]] = {}
    totals: Counter[str] = Counter()
    for pair, count in counts.items():
        key, _, label = pair.partition(TAG_PAIR)
        totals[key] += count
        if key not in best or count > best[key][0]:
            best[key] = (count, label)
    return {k: label for k, (_, label) in best.items()}, dict(totals)


def load(search, export, num_documents: int) -> Snapshot:
    """The snapshot of the archive now: `search(params)` runs one search,
    `export(params)` returns the JSON lines of `documents/export`."""
    answer = search({"q": "*", "per_page": 0, "facet_by": "tag_pairs,language",
                     "max_facet_values": MAX_FACET_VALUES})
    pairs, langs = {}, []
    for f in answer.get("facet_counts", []):
        values = {c["value"]: c["count"] for c in f["counts"]}
        if f["field_name"] == "tag_pairs":
            pairs = values
        elif f["field_name"] == "language":
            langs = sorted(v for v, n in values.items() if n)
    labels, tag_counts = pair_labels(pairs)
    folds = {k: p.fold_tag(k) for k in labels}
    collection = (answer.get("request_params") or {}).get("collection_name")
    stored = stored_vocabulary(search, collection) if collection else None
    if stored is None and num_documents > MAX_EXPORT:
        return Snapshot(Archive(None, folds, tuple(langs)), labels, tag_counts)
    rows = []
    if stored is not None:
        data = stored
        for line in export({"include_fields": "id,title,date"}).splitlines():
            if line.strip():
                doc = json.loads(line)
                rows.append((-int(doc.get("date", -1)), doc["id"], doc.get("title") or ""))
    else:
        words: set[str] = set()
        counts: dict[str, int] = defaultdict(int)
        for line in export({"include_fields": "id,title,body,title_terms,body_terms,date"}
                           ).splitlines():
            if not line.strip():
                continue
            doc = json.loads(line)
            words |= surface_words(doc.get("title") or "", doc.get("body") or "")
            for fieldname in ("title_terms", "body_terms"):
                for term in set((doc.get(fieldname) or "").split()):
                    counts[term.replace("~", "-")] += 1
            rows.append((-int(doc.get("date", -1)), doc["id"], doc.get("title") or ""))
        data = assemble(words, dict(counts), tuple(langs))
    rows.sort()
    vocabulary = Vocabulary(data)
    completions = CompletionIndex.build(
        ((article_id, title) for _d, article_id, title in rows),
        ((k, labels[k], tag_counts.get(k, 0)) for k in sorted(labels)))
    return Snapshot(Archive(vocabulary, folds, tuple(langs)), labels, tag_counts,
                    completions, dict(data.term_counts))


def stored_vocabulary(search, collection: str) -> VocabularyData | None:
    """The vocabulary an indexing run stored for `collection` (its own name,
    not an alias), read through `search` from the side collection; None when
    there is none that describes it, or it cannot be read whole."""
    meta = {"collection": meta_name(collection), "q": "*", "query_by": "kind"}
    try:
        found = search({**meta, "filter_by": f"id:[{VOCABULARY_ID}]", "per_page": 1})
    except RuntimeError:  # no side collection: a collection made by hand
        return None
    hits = found.get("hits") or []
    header = hits[0]["document"] if hits else None
    if not usable_header(header, collection):
        return None
    ids = chunk_ids(header)
    chunks: dict[str, str] = {}
    for i in range(0, len(ids), CHUNKS_PER_SEARCH):
        part = ids[i:i + CHUNKS_PER_SEARCH]
        try:
            answer = search({**meta, "filter_by": f"id:[{','.join(part)}]",
                             "per_page": len(part)})
        except RuntimeError:
            return None
        chunks.update((h["document"]["id"], h["document"].get("data", ""))
                      for h in answer.get("hits") or [])
    if len(chunks) != len(ids):
        return None  # replaced meanwhile by the next run's: read the articles this time
    try:
        return vocabulary_from([chunks[i] for i in ids])
    except ValueError:
        return None
