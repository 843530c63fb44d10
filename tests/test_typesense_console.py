"""The console and the write side's guarantees against a real Typesense cluster.

The console (the real Flask app, signed in through its form) indexes a
generated corpus into the session's 3-node cluster with ENGINE=typesense;
its health page must show what reading the folder directly says (brute
force), each node's count, and that optimizing does not apply. The write
side's guarantees follow: a reader's version token changes as soon as a
write begins, the analysis version recorded with a collection decides a
rebuild, the vocabulary kept in the cluster answers prefixes when the
articles are not read, and two indexers never write at once.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from index.article import Article
from index.embedded.schema import SCHEMA_VERSION
from index.folder import LockTimeout
from index.formats import reader_for
from index.sources import load, walk
from index.typesense_client import TypesenseSettings
from index.typesense_store import (
    ClusterLock,
    TypesenseWriteEngine,
    analysis_of,
    meta_name,
    read_vocabulary,
)
from index.writer import IndexOptions, update
from search.request import SearchRequest
from search.typesense import TypesenseEngine
from search.typesense import archive as archive_mod
from tests.cluster import fresh_settings
from tests.console_fixtures import make_console, sign_in, start_reindex, wait_for_job
from tests.webui_fixtures import parse_html

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:typesense.*")
SAMPLE = Path(__file__).resolve().parents[1] / "index" / "sample_archive"


@pytest.fixture
def settings(typesense_cluster) -> TypesenseSettings:
    return fresh_settings(typesense_cluster, "con")


@pytest.fixture
def archive(tmp_path) -> Path:
    folder = tmp_path / "archive"
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns("README.md"))
    return folder


def articles_in(folder: Path) -> list[Article]:
    """Brute force: every article of every file under `folder`, read with the
    format readers alone."""
    found: dict[str, Article] = {}
    for f in walk([folder]):
        loaded = load(f) if f.format is not None else None
        if loaded is None or loaded.text is None:
            continue
        for item in reader_for(loaded.format)(loaded.text):
            if isinstance(item, Article):
                found[item.id] = item
    return list(found.values())


def cluster_config(settings: TypesenseSettings) -> dict:
    return {"ENGINE": "typesense", "TYPESENSE_NODES": ",".join(settings.nodes),
            "TYPESENSE_API_KEY": settings.api_key, "TYPESENSE_COLLECTION": settings.collection}


def on_every_node(settings: TypesenseSettings, doc_id: str, check, timeout: float = 10.0):
    """Wait until every node's copy of the side collection's document `doc_id`
    (None: absent) passes `check` (followers apply a write about half a
    second after the leader)."""
    deadline = time.monotonic() + timeout
    for node in settings.nodes:
        while True:
            request = urllib.request.Request(
                f"{node}/collections/{meta_name(settings.collection)}/documents/{doc_id}",
                headers={"X-TYPESENSE-API-KEY": settings.api_key})
            try:
                with urllib.request.urlopen(request, timeout=2) as answer:
                    doc = json.load(answer)
            except urllib.error.HTTPError:
                doc = None
            if check(doc):
                break
            assert time.monotonic() < deadline, f"{node} did not apply the write"
            time.sleep(0.05)


def figures(page) -> dict[str, str]:
    return {e.get("data-figure"): e.text_content().strip()
            for e in page.xpath("//*[@data-figure]")}


# -- the console -------------------------------------------------------------------------------


def test_the_console_indexes_into_the_cluster_and_shows_its_health(settings, tmp_path):
    console = make_console(tmp_path, files=30, **cluster_config(settings))
    client = console.client
    token = sign_in(client)
    before = parse_html(client.get("/admin/health").data)
    assert "no archive in the cluster yet" in before.text_content()

    assert start_reindex(client, token).status_code == 303
    state = wait_for_job(client)
    assert state["status"] == "done", state
    expected = articles_in(console.src)
    assert state["summary"]["articles"] == state["summary"]["added"] == len(expected)
    assert not (console.index_dir / "CURRENT").exists(), "nothing went to an embedded index"
    engine = TypesenseWriteEngine(settings)
    assert set(engine.node_counts().values()) == {len(expected)}

    response = client.get("/admin/health")
    assert response.status_code == 200
    page = parse_html(response.data)
    shown = figures(page)
    undated = sum(1 for a in expected if a.date is None)
    untagged = sum(1 for a in expected if not a.tags)
    assert (shown["articles"], shown["undated"], shown["untagged"]) == (
        f"{len(expected):,}", f"{undated:,}", f"{untagged:,}")
    assert shown["distinct-tags"] == f"{len({t.key for a in expected for t in a.tags}):,}"
    assert shown["last-write"] != "never"
    years = Counter(str(a.date.year) for a in expected if a.date is not None)
    bars = page.xpath("//svg[contains(@class, 'columns')]//rect")
    assert len(bars) == len(years)
    nodes = [c.text_content()
             for c in page.xpath("//table[@class='nodes']//td[@data-node-articles]")]
    assert nodes == [f"{len(expected):,}"] * len(settings.nodes)
    # Typesense keeps no segments: optimizing is not offered, and refused if posted.
    assert not page.xpath("//form[@action='/admin/optimize']")
    assert "nothing to optimize" in page.xpath("string(//section[@class='optimize'])")
    refused = client.post("/admin/optimize", data={"csrf_token": token})
    assert refused.status_code == 400 and b"nothing to optimize" in refused.data

    # The sources page counts the articles the cluster holds from each folder.
    sources = parse_html(client.get("/admin/").data).text_content()
    assert f"{len(expected):,}" in sources

    # A file removed through the console leaves the cluster too.
    gone = sorted(console.src.iterdir())[0]
    left = [a for a in expected if Path(a.source).name != gone.name]
    removed = client.post("/admin/remove", data={"csrf_token": token, "confirm": "remove",
                                                 "source": str(console.src.resolve()),
                                                 "file": gone.name})
    assert removed.status_code == 303, removed.data[:400]
    assert wait_for_job(client)["status"] == "done"
    assert set(engine.node_counts().values()) == {len(left)}


# -- the version token during a write ---------------------------------------------------------


def test_the_token_changes_as_soon_as_a_write_begins(settings, archive, tmp_path, monkeypatch):
    from index import typesense_store

    writer = TypesenseWriteEngine(settings)
    update(tmp_path / "ix", [archive], engine=writer)
    reader = TypesenseEngine(settings)
    before = reader.version()
    edited = archive / "pages" / "the-tram-line-nobody-wanted.txt"
    edited.write_text(edited.read_text("utf-8").replace("tram", "streetcar"), "utf-8")
    (article,) = [a for a in articles_in(archive) if Path(a.source).name == edited.name]
    seen: list[str | None] = []
    real_flush = typesense_store._TypesenseBatch._flush

    def flush_and_look(batch) -> None:
        sent = bool(batch.pending)
        real_flush(batch)
        if sent and not seen:
            # Mid-write: the edited article is on the reader's node (same count)...
            documents = reader.client.collections[settings.collection].documents
            deadline = time.monotonic() + 10
            while "streetcar" not in documents[article.id].retrieve()["body"]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            # ...and the reader's token already says the archive is changing.
            seen.append(reader.version())

    monkeypatch.setattr(typesense_store._TypesenseBatch, "_flush", flush_and_look)
    summary = update(tmp_path / "ix", [archive], engine=writer)
    assert summary.updated == 1
    after = reader.version()
    assert seen and seen[0] != before
    assert after not in (before, seen[0])


# -- the analysis version -----------------------------------------------------------------------


def test_the_analysis_version_on_the_cluster_decides_a_rebuild(settings, archive, tmp_path):
    engine = TypesenseWriteEngine(settings)
    update(tmp_path / "ix", [archive], engine=engine)
    target = engine.target()
    assert analysis_of(engine.client, target) == SCHEMA_VERSION
    assert engine.rebuild_reason() is None
    meta = engine.client.collections[meta_name(settings.collection)].documents
    meta.upsert({"id": "analysis", "collection": target, "version": SCHEMA_VERSION - 1})
    on_every_node(settings, "analysis", lambda doc: doc.get("version") == SCHEMA_VERSION - 1)
    reason = engine.rebuild_reason()
    assert reason and f"analysis version {SCHEMA_VERSION - 1}" in reason
    again = update(tmp_path / "ix", [archive], engine=engine)
    assert again.rebuilt and again.rebuilt_because == reason
    assert engine.target() != target
    assert analysis_of(engine.client, engine.target()) == SCHEMA_VERSION
    assert engine.rebuild_reason() is None
    meta["analysis"].delete()
    on_every_node(settings, "analysis", lambda doc: doc is None)
    assert "does not record which analysis" in engine.rebuild_reason()


# -- the vocabulary in the cluster --------------------------------------------------------------


def test_prefixes_use_the_stored_vocabulary_when_the_articles_are_not_read(
        settings, archive, tmp_path, monkeypatch):
    engine = TypesenseWriteEngine(settings)
    update(tmp_path / "ix", [archive], engine=engine)
    pages = archive / "pages"
    edited = pages / "the-tram-line-nobody-wanted.txt"
    edited.write_text(edited.read_text("utf-8").replace("tram", "streetcar"), "utf-8")
    (pages / "seed-article.txt").unlink()
    update(tmp_path / "ix", [archive], engine=engine)

    def ids(q: str) -> set[str]:
        r = TypesenseEngine(settings).run(SearchRequest(q=q, per_page=100), snippets=False)
        return {h.id for h in r.hits}

    def snapshot() -> archive_mod.Snapshot:
        reader = TypesenseEngine(settings)
        snap = reader._archive()
        assert snap is not None
        return snap

    # Read from the articles themselves (the stored vocabulary ignored):
    with monkeypatch.context() as m:
        m.setattr(archive_mod, "stored_vocabulary", lambda search, collection: None)
        scanned = snapshot()
        by_scan = {q: ids(q) for q in ("street*", "tra*", "bus*")}
    assert scanned.vocabulary is not None
    # Read from the vocabulary the runs stored, the articles never read:
    monkeypatch.setattr(archive_mod, "MAX_EXPORT", 0)
    stored = snapshot()
    assert stored.vocabulary is not None
    assert by_scan["street*"] and by_scan["bus*"]
    for q, expected in by_scan.items():
        assert ids(q) == expected, q
    # Counted incrementally (an edit and a deletion since the first run), the
    # term counts equal a count over every article.
    assert {t: n for t, n in stored.term_counts.items() if n} == scanned.term_counts
    assert set(scanned.vocabulary.words) <= set(stored.vocabulary.words)
    assert TypesenseEngine(settings).complete("stree")
    header, _ = read_vocabulary(engine.client, engine.target())
    assert header["collection"] == engine.target()


# -- the cluster-wide write lock ----------------------------------------------------------------


def test_two_indexers_never_write_at_once(settings, archive, tmp_path):
    machine_a = TypesenseWriteEngine(settings)
    update(tmp_path / "a", [archive], engine=machine_a)
    held = threading.Event()
    release = threading.Event()
    outcome: dict = {}

    def slow_run() -> None:
        def progress(p) -> None:
            held.set()
            release.wait(30)
        edited = archive / "pages" / "the-tram-line-nobody-wanted.txt"
        edited.write_text(edited.read_text("utf-8").replace("tram", "streetcar"), "utf-8")
        outcome["a"] = update(tmp_path / "a", [archive], engine=machine_a, progress=progress)

    first = threading.Thread(target=slow_run)
    first.start()
    try:
        assert held.wait(30)
        # Another machine (its own index folder, its own engine) waits, then gives up.
        machine_b = TypesenseWriteEngine(settings, lock_timeout=1.0)
        began = time.monotonic()
        with pytest.raises(LockTimeout, match="another indexing run holds the lock on the "
                                              "Typesense collection"):
            update(tmp_path / "b", [archive], engine=machine_b,
                   options=IndexOptions(lock_timeout=1.0))
        assert time.monotonic() - began >= 1.0
        # A third waits long enough: it runs once the first is done, from its state.
        machine_c = TypesenseWriteEngine(settings, lock_timeout=60.0)
        waiting: dict = {}
        third = threading.Thread(target=lambda: waiting.update(
            c=update(tmp_path / "c", [archive], engine=machine_c,
                     options=IndexOptions(lock_timeout=60.0))))
        third.start()
        time.sleep(1.0)
        assert "c" not in waiting, "the third run waited for the first"
    finally:
        release.set()
        first.join()
    third.join()
    assert outcome["a"].updated == 1
    c = waiting["c"]
    assert (c.added, c.updated, c.removed) == (0, 0, 0), "it planned from the first's state"
    on_every_node(settings, "lock", lambda doc: doc is None)  # released: no lease left behind


def test_a_lease_that_is_not_renewed_expires(settings):
    engine = TypesenseWriteEngine(settings)
    from index.typesense_store import ensure_meta

    ensure_meta(engine.client, settings.collection)
    dead = ClusterLock(engine.client, settings.collection, lease=1.0, renew=3600)
    dead.acquire(0)
    dead._stop.set()  # a process killed: nobody renews or releases it
    began = time.monotonic()
    other = ClusterLock(engine.client, settings.collection)
    other.acquire(10)
    assert 0.5 < time.monotonic() - began < 5
    assert not dead.renew() and dead.lost
    other.release()
