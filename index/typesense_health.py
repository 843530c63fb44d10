"""The archive's health as the librarians see it, when a Typesense cluster holds it.

The console's health page and sources page show the same figures whichever
engine holds the articles: `health` gives `index.health.Health` (articles,
undated, untagged, years, top tags, the last run and its failed files) for
the cluster, plus what only a cluster has (`ClusterHealth`): each node's
document count and whether it has applied the last write, the collection
the alias points to, and when the archive was last written.
`sources_overview` counts the articles under each source folder from the
incremental state the documents carry (`source_key`).

Counts come from facets and from the state fields of every document
(`documents/export` of a few small fields), never from the articles' text.
There is nothing to optimize on Typesense (`TypesenseWriteEngine.optimize`).

This module reads the cluster and the index folder's side files; it never
writes either.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from index import health as index_health
from index.health import Count, Health, SourceInfo
from index.typesense_store import TAG_PAIR, TypesenseWriteEngine, serial, serial_at
from index.writer import recorded_source_names

#: Facet values asked for: every year and every tag of an archive.
MAX_FACET_VALUES = 10_000


@dataclass(frozen=True)
class NodeState:
    """One node of the cluster as the health page shows it."""

    url: str
    #: Documents it holds (None: it did not answer).
    articles: int | None
    #: Whether it has applied the archive's last write.
    current: bool


@dataclass
class ClusterHealth(Health):
    """`Health`, and what a cluster adds to it."""

    collection: str | None = None
    nodes: list[NodeState] = field(default_factory=list)
    #: When the archive was last written (ISO 8601, local time), from its write serial.
    last_write: str | None = None


def health(engine: TypesenseWriteEngine, index_dir: Path, top: int = 15) -> ClusterHealth:
    """The health figures of the archive `engine` writes (zero when there is
    none yet); the last run is read from `index_dir`, where runs record it."""
    report = ClusterHealth()
    index_health.read_last_run(report, Path(index_dir))
    target = engine.target()
    if target is None:
        return report
    report.generation = report.collection = target
    written = serial(engine.client, target)
    if written:
        report.last_write = dt.datetime.fromtimestamp(written / 1e9).astimezone().isoformat(
            timespec="seconds")
    report.nodes = [
        NodeState(node, articles, (serial_at(node, engine.name, engine.api_key) or 0) >= written)
        for node, articles in engine.node_counts(target).items()]
    answers = engine.client.multi_search.perform({"searches": [
        {"collection": target, "q": "*", "query_by": "title_terms", "per_page": 0,
         "facet_by": "year,tag_pairs", "max_facet_values": MAX_FACET_VALUES},
        {"collection": target, "q": "*", "query_by": "title_terms", "per_page": 0,
         "filter_by": "dated:false"},
    ]}, {})["results"]
    for answer in answers:
        if "error" in answer:
            raise RuntimeError(f"Typesense refused a search: {answer['error']}")
    facets, undated = answers
    report.articles = int(facets["found"])
    report.undated = int(undated["found"])
    counts = {f["field_name"]: {c["value"]: c["count"] for c in f["counts"]}
              for f in facets.get("facet_counts", [])}
    report.years = [Count(str(y), n) for y, n in
                    sorted((int(y), n) for y, n in counts.get("year", {}).items())]
    totals: Counter[str] = Counter()
    labels: dict[str, tuple[int, str]] = {}
    for pair, n in counts.get("tag_pairs", {}).items():
        key, _, label = pair.partition(TAG_PAIR)
        totals[key] += n
        if key not in labels or n > labels[key][0]:
            labels[key] = (n, label)
    report.distinct_tags = len(totals)
    best = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    report.top_tags = [Count(labels[key][1], n) for key, n in best]
    # No filter says "no tag" in Typesense 0.24: count the empty tag lists.
    report.untagged = sum(1 for doc in engine.export(target, {"include_fields": "id,tags"})
                          if not doc.get("tags"))
    return report


def sources_overview(engine: TypesenseWriteEngine, index_dir: Path,
                     configured: list[str]) -> list[SourceInfo]:
    """`index.health.sources_overview`, the articles under each folder counted
    from what the cluster holds (its state is keyed by source name)."""
    per_key = {key: len(f.articles) for key, f in engine.state().items()}
    names = recorded_source_names(Path(index_dir))

    def count(path: str) -> int:
        name = names.get(path)
        if name is None:
            return 0
        # A file given as a root is keyed `name/<its file name>`, a folder `name/...`.
        return sum(n for key, n in per_key.items() if key.startswith(name + "/"))

    return index_health.sources_overview(index_dir, configured, count)

