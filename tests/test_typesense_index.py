"""Indexing into a Typesense cluster: the write side of issue 14, on a real cluster.

The bundled sample archive (page dumps, HTML pages, a JSON Lines export and
PDF reports) is copied to a folder and indexed into the session's 3-node
cluster (`typesense_cluster`) through `index.writer.update` and through the
`archivist` command line with `ENGINE=typesense`. After every run the
cluster's documents (ids with content hashes, files with hashes) must equal
what reading every file of the folder directly says (brute force), on every
node. The plan itself (`index.protocol.plan`) is tested alone, without any
engine.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from index.article import Article
from index.export import records as export_records
from index.formats import reader_for
from index.protocol import FileOutcome, IndexedFile, plan
from index.sources import load, walk
from index.typesense_client import TypesenseSettings
from index.typesense_store import TypesenseWriteEngine, serial
from index.writer import update
from tests.cluster import fresh_settings
from webui.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:typesense.*")
SAMPLE = Path(__file__).resolve().parents[1] / "index" / "sample_archive"


# -- the plan, without an engine -------------------------------------------------------------


def test_the_plan_decides_from_hashes_alone():
    before = {
        "news/same.txt": IndexedFile("s1", {"a": "h-a"}),
        "news/edited.txt": IndexedFile("e1", {"b": "h-b", "c": "h-c"}),
        "news/broken.txt": IndexedFile("k1", {"d": "h-d"}),
        "news/gone.txt": IndexedFile("g1", {"e": "h-e", "f": "h-f"}),
        "other/elsewhere.txt": IndexedFile("o1", {"g": "h-g"}),
    }
    outcomes = [
        FileOutcome("news/same.txt", "/x/news/same.txt", unchanged=True),
        FileOutcome("news/edited.txt", "/x/news/edited.txt", read=True, encoding="cp1252",
                    articles=(("b", "h-b2"), ("c", "h-c"), ("n", "h-n"))),
        FileOutcome("news/broken.txt", "/x/news/broken.txt", read=True),
        FileOutcome("news/new.txt", "/x/news/new.txt", read=True, encoding="utf-8",
                    articles=(("m", "h-m"), ("m", "h-m"), ("a", "h-a"))),
    ]
    alive = {o.source for o in outcomes}
    made = plan(outcomes, before, alive=alive, in_scope=lambda s: s.startswith("news/"))
    s = made.summary
    assert (s.added, s.updated, s.unchanged, s.removed) == (2, 1, 2, 2)
    assert s.files_parsed == 3
    # Unchanged and unreadable files change nothing; an edited file is replaced.
    assert made.files[0].deleted == made.files[0].added == []
    assert made.files[1].deleted == ["news/edited.txt"] and made.files[1].added == [0, 1, 2]
    assert made.files[2].deleted == made.files[2].added == []
    # A repeated id, and an id another live file holds, are failures, not writes.
    assert made.files[3].added == [0]
    assert sorted(f.reason.split(",")[0] for f in s.failures) == [
        "duplicate id 'a'", "duplicate id 'm'"]
    assert {w.path: w.reason for w in s.warnings} == {
        "/x/news/edited.txt": "not UTF-8; decoded as cp1252",
        "/x/news/broken.txt": "kept the previously indexed version"}
    # Only what left from under the run's roots is removed.
    assert made.removed == ["news/gone.txt"]


def test_a_fresh_plan_deletes_nothing_and_counts_against_the_old_index():
    before = {"news/a.txt": IndexedFile("s", {"a": "h"}),
              "news/b.txt": IndexedFile("t", {"b": "h"})}
    made = plan([FileOutcome("news/a.txt", "/a", read=True, articles=(("a", "h2"),))],
                before, alive={"news/a.txt"}, fresh=True)
    assert made.files[0].deleted == [] and made.removed == []
    assert (made.summary.updated, made.summary.removed) == (1, 1)


def test_an_archive_moved_within_its_source_keeps_its_ids():
    before = {"news/old.jsonl": IndexedFile("s", {"a": "h", "b": "h"})}
    made = plan([FileOutcome("news/new.jsonl", "/n", read=True,
                             articles=(("a", "h"), ("b", "h2")))],
                before, alive={"news/new.jsonl"}, exists=lambda _: False)
    assert made.files[0].deleted == ["news/old.jsonl"]
    s = made.summary
    assert (s.added, s.updated, s.unchanged, s.removed) == (0, 1, 1, 0)
    assert made.removed == []


# -- the cluster -------------------------------------------------------------------------------




@pytest.fixture
def settings(typesense_cluster) -> TypesenseSettings:
    """Settings for a collection name no other test uses."""
    return fresh_settings(typesense_cluster, "ix")


@pytest.fixture
def archive(tmp_path) -> Path:
    folder = tmp_path / "archive"
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns("README.md"))
    return folder


def read_folder(folder: Path) -> dict[str, dict]:
    """Brute force: every article of every file under `folder`, by id, read
    with the format readers alone (no writer, no plan, no engine)."""
    found: dict[str, dict] = {}
    for f in walk([folder]):
        if f.format is None:
            continue
        loaded = load(f)
        if loaded.text is None:
            continue
        for item in reader_for(loaded.format)(loaded.text):
            if isinstance(item, Article):
                found[item.id] = {"content_hash": item.content_hash, "source_key": f.key,
                                  "source_hash": loaded.sha}
    return found


def cluster_documents(engine: TypesenseWriteEngine) -> dict[str, dict]:
    target = engine.target()
    return {d["id"]: {k: d.get(k) for k in ("content_hash", "source_key", "source_hash")}
            for d in engine._export(target, {"include_fields":
                                             "id,content_hash,source_key,source_hash"})}


def assert_matches_folder(engine: TypesenseWriteEngine, folder: Path) -> None:
    expected = read_folder(folder)
    assert cluster_documents(engine) == expected
    # Every node holds them all as soon as the run says it is done.
    assert set(engine.node_counts().values()) == {len(expected)}


def run(engine: TypesenseWriteEngine, index_dir: Path, folder: Path, **kw):
    return update(index_dir, [folder], engine=engine, **kw)


def test_incremental_runs_follow_the_folder(settings, archive, tmp_path):
    engine = TypesenseWriteEngine(settings)
    first = run(engine, tmp_path / "ix", archive)
    articles = len(read_folder(archive))
    assert (first.added, first.failed, first.articles) == (articles, 0, articles)
    assert engine.target().startswith(settings.collection + "_")  # an alias from the start
    assert_matches_folder(engine, archive)

    pages = archive / "pages"
    edited = pages / "the-tram-line-nobody-wanted.txt"
    edited.write_text(edited.read_text("utf-8").replace("tram", "streetcar"), "utf-8")
    (pages / "seed-article.txt").unlink()
    shutil.copy(SAMPLE / "pages" / "seed-article.txt", pages / "seed-article-copy.txt")
    before_serial = serial(engine.client, settings.collection)
    second = run(engine, tmp_path / "ix", archive)
    assert (second.added, second.updated, second.removed, second.failed) == (1, 1, 1, 0)
    assert second.unchanged == articles - 2
    assert second.files_parsed == 2
    assert serial(engine.client, settings.collection) > before_serial
    assert_matches_folder(engine, archive)


def test_a_second_machine_continues_where_the_first_stopped(settings, archive, tmp_path):
    run(TypesenseWriteEngine(settings), tmp_path / "machine-a", archive)
    # Elsewhere: the same folders under another path, a fresh index folder.
    moved = tmp_path / "elsewhere" / "archive"
    shutil.copytree(archive, moved)
    engine = TypesenseWriteEngine(settings)
    mark = serial(engine.client, settings.collection)
    again = run(engine, tmp_path / "machine-b", moved)
    assert (again.added, again.updated, again.removed, again.files_parsed) == (0, 0, 0, 0)
    assert again.unchanged == len(read_folder(moved))
    assert serial(engine.client, settings.collection) == mark  # nothing was sent
    (moved / "html" / "lockdown-emptied-the-buses.html").unlink()
    gone = run(engine, tmp_path / "machine-b", moved)
    assert (gone.removed, gone.added) == (1, 0)
    assert_matches_folder(engine, moved)


def test_rebuild_swaps_the_alias_and_readers_never_see_an_empty_collection(
        settings, archive, tmp_path, typesense_cluster):
    engine = TypesenseWriteEngine(settings)
    run(engine, tmp_path / "ix", archive)
    old = engine.target()
    articles = len(read_folder(archive))
    seen: list[int | str] = []
    stop = threading.Event()

    def reader(node_url: str) -> None:
        # Each reader asks one node, as a reader behind a load balancer would.
        while not stop.is_set():
            request = urllib.request.Request(
                f"{node_url}/collections/{settings.collection}/documents/search"
                "?q=*&query_by=title_terms&per_page=1",
                headers={"X-TYPESENSE-API-KEY": settings.api_key})
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    seen.append(json.load(answer)["found"])
            except OSError as e:
                seen.append(f"failed: {e}")

    readers = [threading.Thread(target=reader, args=(n.url,)) for n in typesense_cluster.nodes]
    for t in readers:
        t.start()
    try:
        rebuilt = run(engine, tmp_path / "ix", archive, rebuild=True)
    finally:
        time.sleep(0.3)
        stop.set()
        for t in readers:
            t.join()
    assert rebuilt.rebuilt and rebuilt.articles == articles
    assert (rebuilt.unchanged, rebuilt.added, rebuilt.removed) == (articles, 0, 0)
    new = engine.target()
    assert new != old and new.startswith(settings.collection + "_")
    names = {c["name"] for c in engine.client.collections.retrieve()}
    assert old not in names and new in names
    assert len(seen) > 10 and set(seen) == {articles}, sorted(set(map(str, seen)))
    assert_matches_folder(engine, archive)


def test_a_collection_under_the_name_itself_becomes_an_alias_on_rebuild(settings, archive,
                                                                         tmp_path):
    from index.typesense_store import ensure_collection, upsert_articles

    engine = TypesenseWriteEngine(settings)
    ensure_collection(engine.client, settings.collection)  # as the first cut made them
    upsert_articles(engine.client, settings.collection, [Article(
        id="stray", title="A stray", body="Written before aliases.", source="/x/stray.txt")])
    assert engine.target() == settings.collection
    summary = run(engine, tmp_path / "ix", archive, rebuild=True)
    assert summary.removed == 1
    assert engine.target() != settings.collection
    assert_matches_folder(engine, archive)


def cli(settings: TypesenseSettings, index_dir: Path, *args: str):
    env = {"ARCHIVIST_ENGINE": "typesense",
           "ARCHIVIST_TYPESENSE_NODES": ",".join(settings.nodes),
           "ARCHIVIST_TYPESENSE_API_KEY": settings.api_key,
           "ARCHIVIST_TYPESENSE_COLLECTION": settings.collection}
    return CliRunner().invoke(main, ["--index-dir", str(index_dir), *args], env=env)


def test_the_commands_work_against_the_cluster(settings, archive, tmp_path):
    articles = len(read_folder(archive))
    index_dir = tmp_path / "ix"
    first = cli(settings, index_dir, "index", "--json", "--jobs", "2", str(archive))
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert (summary["added"], summary["failed"], summary["articles"]) == (articles, 0, articles)
    assert not (index_dir / "CURRENT").exists()  # nothing went to a Whoosh index

    checked = cli(settings, index_dir, "check", "--json")
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.stdout)
    assert report["ok"] and report["articles"] == articles
    assert set(report["nodes"].values()) == {articles}
    edited = archive / "pages" / "fa-gozaresh-otobus-barghi.txt"
    edited.write_text(edited.read_text("utf-8") + "\nOne more line.\n", "utf-8")
    stale = cli(settings, index_dir, "check")
    assert stale.exit_code == 1 and f"stale (changed since indexed): {edited}" in stale.output

    optimized = cli(settings, index_dir, "optimize")
    assert optimized.exit_code == 0 and "nothing to optimize" in optimized.output

    exported = cli(settings, index_dir, "export", "-o", str(tmp_path / "out.jsonl"))
    assert exported.exit_code == 0, exported.output
    lines = (tmp_path / "out.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == articles


def test_export_has_the_whoosh_records_and_round_trips(settings, archive, tmp_path):
    engine = TypesenseWriteEngine(settings)
    run(engine, tmp_path / "ix", archive)
    update(tmp_path / "whoosh", [archive])
    from_cluster = list(export_records(tmp_path / "ix", engine))
    from_whoosh = list(export_records(tmp_path / "whoosh"))

    def without_source(records):
        return [{k: v for k, v in r.items() if k != "source"} for r in records]

    assert without_source(from_cluster) == without_source(from_whoosh)
    # Indexing the export again gives the same articles (same ids and content hashes).
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "all.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in from_cluster), "utf-8")
    copy = TypesenseWriteEngine(TypesenseSettings(settings.nodes, settings.api_key,
                                                  settings.collection + "_copy"))
    run(copy, tmp_path / "ix-copy", folder)
    documents = cluster_documents(engine)
    assert {i: d["content_hash"] for i, d in cluster_documents(copy).items()} == {
        i: d["content_hash"] for i, d in documents.items()}
