"""A real 3-node Typesense cluster: replication, and a leader killed under load.

These tests prove two things the engine's Typesense side will rely on. The
harness (`tests.cluster`, session fixture `typesense_cluster`) starts a real
cluster on loopback ports, and the Python client settings in
`tests.cluster.FAILOVER_SETTINGS` keep reads and writes going when the
leader dies: the client's defaults (a node marked unhealthy is not retried
for 60 s, three retries a second apart) kept writes failing for about 45 s;
with a 2 s health-check interval, 0.2 s between retries and 5 retries they
come back right after the election.

The leader test kills the leader with SIGKILL while a thread searches
without pause, writes documents through the election (retrying each until
the cluster acknowledges it), then starts the dead node again on its old
data. It asserts that no read failed, that every acknowledged document is on
every node, and that the restarted node catches up; it prints the figures
(failed reads, seconds until writes succeeded again, catch-up time) and
leaves them in pytest's closing summary.

Every wait here is bounded: a cluster that never recovers fails the test
within a minute or two instead of hanging CI.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
import typesense
from typesense.exceptions import TypesenseClientError

from index.article import Article
from tests.cluster import LEADER, Cluster, Node
from tests.webui_fixtures import corpus

# The client announces deprecations of endpoints of servers newer than 0.24
# (analytics, overrides, synonyms) whenever it is built; none is used here.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:typesense.*")

#: What a failed request through the client can raise once its own retries are
#: spent: the client's errors (an HTTP error status), or httpx's (no answer).
CLIENT_FAILURES = (TypesenseClientError, httpx.HTTPError)

SCHEMA_FIELDS = [
    {"name": "title", "type": "string"},
    {"name": "body", "type": "string"},
    {"name": "tags", "type": "string[]", "facet": True},
    {"name": "kind", "type": "string", "facet": True},
    {"name": "year", "type": "int32", "facet": True, "optional": True},
]
#: Replication on one machine takes well under a second; this is the bound
#: after which a follower that has not caught up is a failure.
REPLICATION_TIMEOUT = 15.0


def document(article: Article) -> dict:
    """An article as a Typesense document (undated ones have no year)."""
    doc = {"id": article.id, "title": article.title, "body": article.body,
           "tags": [t.key for t in article.tags], "kind": article.kind or ""}
    if article.date:
        doc["year"] = article.date.year
    return doc


def create_collection(cluster: Cluster, name: str) -> typesense.Client:
    """A new collection `name` (an old one of that name is dropped), and a client
    that reaches the whole cluster with the failover settings."""
    client = typesense.Client(cluster.client_config())
    try:
        client.collections[name].delete()
    except typesense.exceptions.ObjectNotFound:
        pass
    client.collections.create({"name": name, "fields": SCHEMA_FIELDS})
    return client


def node_client(cluster: Cluster, node: Node) -> typesense.Client:
    """A client that asks `node` alone and never retries: what that node answers."""
    return typesense.Client(cluster.client_config([node], num_retries=0))


def count_on(cluster: Cluster, node: Node, collection: str) -> int | None:
    """How many documents `node` holds in `collection`, or None while it cannot say."""
    try:
        answer = cluster.request(node, f"/collections/{collection}")
    except OSError:
        return None
    return answer.get("num_documents")


def wait_for_count(cluster: Cluster, node: Node, collection: str, expected: int,
                   since: float | None = None, timeout: float = REPLICATION_TIMEOUT) -> float:
    """Wait until `node` holds `expected` documents; the seconds from `since`
    (a `time.monotonic()` reading; default: now) until it did.

    Fails the test when `timeout` seconds pass first.
    """
    began = time.monotonic() if since is None else since
    while (seen := count_on(cluster, node, collection)) != expected:
        if time.monotonic() - began > timeout:
            pytest.fail(f"{node.name} holds {seen} documents of {expected} after {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - began


def ids_on(cluster: Cluster, node: Node, collection: str) -> set[str]:
    """The ids of every document `node` holds, from its own export."""
    exported = node_client(cluster, node).collections[collection].documents.export()
    return {json.loads(line)["id"] for line in exported.splitlines() if line.strip()}


# -- replication -----------------------------------------------------------------------


def test_every_node_answers_the_same_search_after_replication(typesense_cluster, figures):
    cluster = typesense_cluster
    articles = corpus()
    client = create_collection(cluster, "replication")
    results = client.collections["replication"].documents.import_(
        [document(a) for a in articles], {"action": "create"})
    imported = time.monotonic()
    assert all(r["success"] for r in results), [r for r in results if not r["success"]]

    lag = {n.name: wait_for_count(cluster, n, "replication", len(articles), since=imported)
           for n in cluster.nodes}

    # What the corpus says the answers are: every article that has the word
    # "harbour" (any case), and how many carry each tag.
    harbour = {a.id for a in articles
               if re.search(r"\bharbour\b", f"{a.title} {a.body}", re.IGNORECASE)}
    tags = Counter(t.key for a in articles for t in a.tags)
    assert harbour and tags  # the corpus has something to find

    search = {"q": "harbour", "query_by": "title,body", "num_typos": 0, "prefix": False,
              "per_page": 250, "facet_by": "tags", "max_facet_values": 100}
    answers = {}
    for node in cluster.nodes:
        answer = node_client(cluster, node).collections["replication"].documents.search(search)
        everything = node_client(cluster, node).collections["replication"].documents.search(
            {"q": "*", "per_page": 0, "facet_by": "tags", "max_facet_values": 100})
        answers[node.name] = answer
        assert {h["document"]["id"] for h in answer["hits"]} == harbour, node.name
        assert answer["found"] == len(harbour), node.name
        assert everything["found"] == len(articles), node.name
        facet = {c["value"]: c["count"] for c in everything["facet_counts"][0]["counts"]}
        assert facet == dict(tags), node.name
    first, *others = answers.values()
    for other in others:
        assert [h["document"]["id"] for h in other["hits"]] == \
            [h["document"]["id"] for h in first["hits"]], "every node ranks alike"

    slowest = max(lag.values())
    figures(f"typesense replication: {len(articles)} documents on all "
            f"{len(cluster.nodes)} nodes within {slowest:.2f} s of the import returning")


# -- the leader dies -------------------------------------------------------------------


@dataclass
class Reads:
    """A thread that searches through the failover client until told to stop."""

    client: typesense.Client
    collection: str
    deadline: float
    done: int = 0
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, name="reads", daemon=True)

    def _run(self) -> None:
        documents = self.client.collections[self.collection].documents
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            try:
                answer = documents.search({"q": "harbour", "query_by": "title,body"})
            except CLIENT_FAILURES as error:
                self.failures.append(f"{type(error).__name__}: {error}"[:200])
            else:
                if answer["found"] == 0:
                    self.failures.append("no hits")
                self.done += 1
            time.sleep(0.01)

    def __enter__(self) -> Reads:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


class Election:
    """A thread that notes when a running node first reports itself leader."""

    def __init__(self, cluster: Cluster, since: float, timeout: float = 60.0) -> None:
        self.seconds = float("nan")
        self.thread = threading.Thread(target=self._watch, args=(cluster, since, timeout),
                                       name="election", daemon=True)
        self.thread.start()

    def _watch(self, cluster: Cluster, since: float, timeout: float) -> None:
        while time.monotonic() - since < timeout:
            if any(cluster.state(n) == LEADER for n in cluster.running_nodes()):
                self.seconds = time.monotonic() - since
                return
            time.sleep(0.05)


def write_until_acknowledged(client: typesense.Client, collection: str, doc: dict,
                             deadline: float) -> int:
    """Upsert `doc` until the cluster acknowledges it; the attempts that failed.

    An upsert is safe to repeat: a write that failed from here but reached
    the leader before it died is the same document when written again.
    """
    failed = 0
    documents = client.collections[collection].documents
    while True:
        try:
            documents.upsert(doc)
            return failed
        except CLIENT_FAILURES:
            failed += 1
            if time.monotonic() > deadline:
                raise


def test_a_leader_killed_mid_traffic_loses_no_read_and_no_write(typesense_cluster, figures):
    cluster = typesense_cluster
    articles = corpus()
    writer = create_collection(cluster, "failover")
    writer.collections["failover"].documents.import_([document(a) for a in articles],
                                                    {"action": "create"})
    for node in cluster.nodes:
        wait_for_count(cluster, node, "failover", len(articles))

    victim = cluster.leader()
    reader = typesense.Client(cluster.client_config())
    extra = [{"id": f"during-{i:02d}", "title": f"Harbour note {i} written in the election",
              "body": "Cranes idle at the quay.", "tags": ["election"], "kind": "Note"}
             for i in range(30)]
    try:
        with Reads(reader, "failover", deadline=time.monotonic() + 100) as reads:
            warm = time.monotonic() + 30
            while reads.done < 20 and time.monotonic() < warm:  # reads flow before the kill
                time.sleep(0.01)
            assert reads.done >= 20, reads.failures[:5]
            killed_at = time.monotonic()
            cluster.kill(victim)
            elected = Election(cluster, since=killed_at)

            deadline = killed_at + 60
            first = extra[0]
            failed_writes = write_until_acknowledged(writer, "failover", first, deadline)
            writes_back = time.monotonic() - killed_at
            for doc in extra[1:]:
                failed_writes += write_until_acknowledged(writer, "failover", doc, deadline)
            new_leader = cluster.leader()
            assert new_leader is not victim
            elected.thread.join(timeout=30)

            cluster.restart(victim)
            expected = len(articles) + len(extra)
            catch_up = wait_for_count(cluster, victim, "failover", expected, timeout=60)
            reads_during = reads.done + len(reads.failures)
    finally:
        if not victim.running:
            cluster.restart(victim)
        cluster.wait_healthy()

    wanted = {a.id for a in articles} | {d["id"] for d in extra}
    held = {n.name: ids_on(cluster, n, "failover") for n in cluster.nodes}
    missing = {name: sorted(wanted - ids) for name, ids in held.items() if wanted - ids}
    lost = {doc_id for ids in missing.values() for doc_id in ids}
    figures(f"typesense failover: {len(reads.failures)} failed reads of {reads_during}; "
            f"new leader {new_leader.name} elected {elected.seconds:.1f} s after kill -9 of "
            f"the leader, writes accepted again after {writes_back:.1f} s "
            f"({failed_writes} failed attempts); "
            f"restarted {victim.name} caught up in {catch_up:.1f} s from its restart; "
            f"{len(lost)} of {len(wanted)} acknowledged documents lost "
            f"({len(extra)} written during the election)")
    assert reads.failures == [], reads.failures[:5]
    assert not missing, f"documents missing after the failover: {missing}"
    assert all(ids == wanted for ids in held.values()), "no node holds extra documents"
    assert writes_back < 30, f"writes failed for {writes_back:.1f} s after the leader died"
