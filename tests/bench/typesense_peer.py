"""A Typesense cluster kept in the search benchmark's work folder.

`search_bench` measures Archivist's Typesense engine on a real 3-node
cluster on this machine's loopback (`tests.cluster`, server 0.24.1). Indexing
190,000 articles into it takes many minutes, so the cluster's data stays in
the size's cache folder, next to the Whoosh index it is compared with
(``<work>/<cache key>/typesense/``, so a new `SCHEMA_VERSION` means a new
cluster too), and a later run starts the nodes again on that data. The
nodes must come back on the ports they were made with (each node's Raft
state names its peers by address), so the ports and the API key are kept
in ``cluster.json``; if one of those ports is taken by then, the data is
dropped and the articles are indexed again.

Whether the data can be reused is asked of the cluster itself: every node
must hold the collection with as many articles as the page dumps gave the
Whoosh index (``ready.json`` says how many, and how long the indexing run
took), and the write side must not want it rebuilt (`rebuild_reason`: a
field or an analysis version this Archivist writes differently).
Otherwise the articles are written the way an operator writes them,
through `index.writer.update` with `TypesenseWriteEngine`, a from-scratch
run that is done when every node holds them all.

This module never touches a cluster it did not start, never binds anything
but 127.0.0.1, and never writes outside the folder it is given. Nothing is
imported from the Typesense side at import time: without the server binary
or the client the benchmark still runs its other engines (`unavailable`).
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from index.writer import IndexOptions, update

NODES = 3
COLLECTION = "archivist"
#: A node restarted on kept data replays or loads all of it before it reports
#: healthy: many times the seconds an empty node needs.
START_TIMEOUT = 1800.0
#: Seconds the nodes' counts may stand still below the kept count before the
#: data is taken as incomplete.
COUNT_TIMEOUT = 60.0


@dataclass(frozen=True)
class TypesenseSet:
    """A running cluster holding one size's articles, and how they got there."""

    settings: object  # index.typesense_client.TypesenseSettings
    articles: int
    index_seconds: float
    jobs: int | None
    built: str  # when the indexing run that is reported happened
    reused: bool
    start_seconds: float  # how long the nodes took to become healthy this time


def unavailable() -> str | None:
    """Why Archivist cannot run a Typesense cluster here, or None if it can."""
    try:
        import typesense  # noqa: F401  -- the client the engine speaks through

        from tests.cluster import server_binary

        path = server_binary()
    except Exception as e:  # noqa: BLE001 -- any reason is reported, none is fatal
        return f"{type(e).__name__}: {e}"
    if not path.is_file():
        return f"the server binary {path} is missing"
    return None


def _free(port: int) -> bool:
    """True when nothing listens on `port` (connections of the last run that
    are still closing, in TIME_WAIT, do not count: the servers reuse the port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _layout(folder: Path, say: Callable[[str], None]) -> dict:
    """The ports and key the nodes in `folder` were made with (new ones for a new folder)."""
    from tests.servers import free_ports

    config_file = folder / "cluster.json"
    if config_file.exists():
        layout = json.loads(config_file.read_text(encoding="utf-8"))
        busy = [p for p in layout["api_ports"] + layout["peering_ports"] if not _free(p)]
        if not busy:
            return layout
        say(f"ports {busy} of the kept Typesense cluster are taken now; its data is dropped")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ports = free_ports(2 * NODES)
    layout = {"api_ports": ports[:NODES], "peering_ports": ports[NODES:],
              "api_key": secrets.token_hex(16)}
    config_file.write_text(json.dumps(layout, indent=2), encoding="utf-8")
    return layout


@contextmanager
def running(folder: Path, pages: Path, articles: int, jobs: int, label: str,
            say: Callable[[str], None] = print) -> Iterator[TypesenseSet]:
    """A cluster in `folder` holding the `articles` articles of `pages`.

    Starts the kept nodes (or new ones), indexes the page dumps unless every
    node already holds `articles` of them, and stops the nodes on leaving
    the block; their data stays for the next run. Raises
    `tests.cluster.ClusterError` when the nodes will not become healthy.
    """
    from index.typesense_client import TypesenseSettings
    from index.typesense_store import TypesenseWriteEngine
    from tests.cluster import Cluster

    layout = _layout(folder, say)
    cluster = Cluster(folder / "nodes", size=NODES, api_key=layout["api_key"],
                      api_ports=layout["api_ports"], peering_ports=layout["peering_ports"])
    began = time.monotonic()
    cluster.start(timeout=START_TIMEOUT)
    try:
        start_s = time.monotonic() - began
        settings = TypesenseSettings(nodes=tuple(n.url for n in cluster.nodes),
                                     api_key=cluster.api_key, collection=COLLECTION)
        writer = TypesenseWriteEngine(settings)
        ready = folder / "ready.json"
        facts = json.loads(ready.read_text(encoding="utf-8")) if ready.exists() else None
        # Kept data is replayed after the nodes say they are healthy; a rebuild
        # sent meanwhile was refused ("Not Ready or Lagging"), so wait it out.
        held = _settled_counts(writer, articles) if facts or writer.exists() else {}
        # The write side says when the kept collection is not what it writes now
        # (fields, analysis version): then it is indexed again, as an operator's would be.
        whole = bool(facts) and facts.get("articles") == articles \
            and set(held.values()) == {articles}
        stale = writer.rebuild_reason() if whole else None
        if whole and stale is None:
            say(f"{label}: Typesense nodes healthy after {start_s:.0f}s, reusing "
                f"{articles:,} articles on each")
            yield TypesenseSet(settings, articles, facts["index_seconds"], facts.get("jobs"),
                               facts["built"], True, start_s)
            return
        if stale:
            say(f"{label}: indexing into Typesense again: {stale}")
        elif facts:
            say(f"{label}: Typesense nodes hold {held} articles, not {articles:,}; indexing again")
        # ``ready.json`` stays until the new run commits: a run stopped half way
        # leaves the alias on the collection it describes (the swap comes last).
        say(f"{label}: Typesense nodes healthy after {start_s:.0f}s; indexing {articles:,} "
            f"articles into them ({jobs} parsing processes) ...")
        summary = update(folder / "state", [pages], rebuild=True,
                         options=IndexOptions(jobs=jobs), engine=writer)
        if summary.articles != articles or summary.failed:
            raise RuntimeError(f"Typesense indexing wrote {summary.articles:,} articles "
                               f"({summary.failed} failures), the Whoosh index {articles:,}")
        facts = {"articles": summary.articles, "index_seconds": round(summary.seconds, 1),
                 "jobs": jobs, "built": time.strftime("%Y-%m-%d %H:%M")}
        ready.write_text(json.dumps(facts, indent=2), encoding="utf-8")
        say(f"{label}: indexed {summary.articles:,} articles into Typesense in "
            f"{summary.seconds:.0f}s")
        yield TypesenseSet(settings, articles, facts["index_seconds"], jobs, facts["built"],
                           False, start_s)
    finally:
        cluster.stop()


def _settled_counts(writer, articles: int) -> dict[str, int | None]:
    """Each node's count, once all show `articles` or the counts stop moving.

    A node restarted on kept data says it is healthy before it has replayed
    all of its log (190,000 articles took minutes more): its count still
    rises, so it is waited for until no count has moved for `COUNT_TIMEOUT`.
    """
    deadline = time.monotonic() + START_TIMEOUT
    last: dict[str, int | None] = {}
    moved = time.monotonic()
    while True:
        counts = writer.node_counts()
        if set(counts.values()) == {articles}:
            return counts
        now = time.monotonic()
        if counts != last:
            last, moved = counts, now
        elif now - moved > COUNT_TIMEOUT or now > deadline:
            return counts
        time.sleep(2.0)
