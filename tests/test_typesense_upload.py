"""The console's upload preview asks the engine the files would go to.

With ENGINE=typesense the articles live in the session's 3-node cluster,
keyed by source key, and the local Whoosh index is empty: a preview that
read it would call every article new. Here a folder is indexed into the
cluster through the console, then an upload of one unchanged file, one
changed file and one new file is previewed. Its figures must be what
reading the folder and the upload directly says (brute force), the same as
the same preview over a Whoosh index of that folder, and the same as the
run the go-ahead then starts; the preview must not wait for the cluster's
write lock.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from index import upload
from index.article import Article
from index.formats import reader_for
from index.sources import load, walk
from index.typesense_client import TypesenseSettings
from index.typesense_store import ClusterLock, TypesenseWriteEngine
from index.writer import update
from tests.cluster import fresh_settings
from tests.console_fixtures import (
    figure,
    make_console,
    post_upload,
    sign_in,
    start_reindex,
    wait_for_job,
)
from tests.webui_fixtures import parse_html

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:typesense.*")
FIGURES = ("added", "updated", "unchanged", "removed", "failed")


@pytest.fixture
def settings(typesense_cluster) -> TypesenseSettings:
    return fresh_settings(typesense_cluster, "upl")


def cluster_config(settings: TypesenseSettings) -> dict:
    return {"ENGINE": "typesense", "TYPESENSE_NODES": ",".join(settings.nodes),
            "TYPESENSE_API_KEY": settings.api_key, "TYPESENSE_COLLECTION": settings.collection}


def _jsonl(*articles: tuple[str, str]) -> str:
    return "".join(json.dumps({"id": i, "title": f"Feed {i}", "body": body}) + "\n"
                   for i, body in articles)


def articles_by_file(folder: Path) -> dict[str, dict[str, str]]:
    """Brute force: file name relative to `folder` -> {id: content hash} of its
    articles, read with the format readers alone."""
    found: dict[str, dict[str, str]] = {}
    for f in walk([folder]):
        loaded = load(f) if f.format is not None else None
        if loaded is None or loaded.text is None:
            continue
        name = Path(f.path).relative_to(folder).as_posix()
        found[name] = {a.id: a.content_hash for a in reader_for(loaded.format)(loaded.text)
                       if isinstance(a, Article)}
    return found


def expected_plan(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]],
                  uploaded: list[str]) -> dict[str, tuple[int, ...]]:
    """Per uploaded file: (added, updated, unchanged, removed, failed), by comparing
    the folder's articles before and after the upload lands."""
    plan = {}
    for name in uploaded:
        old, new = before.get(name, {}), after[name]
        elsewhere = {i for other, held in before.items() if other != name for i in held}
        assert not elsewhere & set(new), "the upload reuses no other file's id"
        plan[name] = (len(new.keys() - old.keys()),
                      sum(1 for i in new.keys() & old.keys() if new[i] != old[i]),
                      sum(1 for i in new.keys() & old.keys() if new[i] == old[i]),
                      len(old.keys() - new.keys()), 0)
    return plan


def totals(plan: dict[str, tuple[int, ...]]) -> dict[str, int]:
    return {what: sum(p[n] for p in plan.values()) for n, what in enumerate(FIGURES)}


def per_file(report: upload.DryRun) -> dict[str, tuple[int, ...]]:
    return {f.name: (f.added, f.updated, f.unchanged, f.removed, len(f.failures))
            for f in report.files}


def test_the_preview_of_an_upload_asks_the_cluster(settings, tmp_path):
    console = make_console(tmp_path, files=12, **cluster_config(settings))
    src = console.src.resolve()
    (src / "feed.jsonl").write_text(_jsonl(("f-1", "Grain prices rose."),
                                           ("f-2", "The port reopened."),
                                           ("f-3", "A strike ended."),
                                           ("f-4", "Rain came late.")))
    client = console.client
    token = sign_in(client)
    assert start_reindex(client, token).status_code == 303
    indexed = wait_for_job(client)
    assert indexed["status"] == "done", indexed
    assert not (console.index_dir / "CURRENT").exists(), "nothing went to an embedded index"

    # Unchanged: a file's own bytes. Changed: the feed loses f-4, edits f-2,
    # gains f-5. New: a file the folder does not hold.
    files = [
        ("article-000003.txt", (src / "article-000003.txt").read_bytes()),
        ("feed.jsonl", _jsonl(("f-1", "Grain prices rose."), ("f-2", "The port reopened late."),
                              ("f-3", "A strike ended."), ("f-5", "Snow fell.")).encode()),
        ("new.jsonl", _jsonl(("n-1", "A new bridge."), ("n-2", "A new road.")).encode()),
    ]
    before = articles_by_file(src)
    landed = tmp_path / "after" / src.name  # same folder name: same keys, same ids
    shutil.copytree(src, landed)
    for name, data in files:
        (landed / name).write_bytes(data)
    want = expected_plan(before, articles_by_file(landed), [name for name, _ in files])
    assert totals(want) == {"added": 3, "updated": 1, "unchanged": 3, "removed": 1, "failed": 0}

    # The preview through the console, while another machine's run holds the
    # cluster's write lock: a preview reads the state without taking it.
    other_run = ClusterLock(settings.client(), settings.collection)
    other_run.acquire(timeout=10)
    try:
        response = post_upload(client, token, files, src, dry_run=True)
        assert response.status_code == 303
        review_url = response.headers["Location"]
        started = time.monotonic()
        review = client.get(review_url)
        assert time.monotonic() - started < 5, "the preview waited for the write lock"
    finally:
        other_run.release()
    assert review.status_code == 200
    page = parse_html(review.data)
    assert {what: figure(page, what) for what in FIGURES} == {
        what: f"{n:,}" for what, n in totals(want).items()}
    shown = {}
    for row in page.xpath("//table[contains(@class, 'plan')]/tbody/tr"):
        cells = [c.text_content().strip() for c in row.xpath("td")]
        shown[cells[0]] = (cells[1], *(int(c) for c in cells[2:6]))
    assert shown == {
        "article-000003.txt": ("same as the file there", *want["article-000003.txt"][:4]),
        "feed.jsonl": ("replaces a file", *want["feed.jsonl"][:4]),
        "new.jsonl": ("new file", *want["new.jsonl"][:4]),
    }

    # The library's preview on each engine: the cluster's, and a Whoosh
    # index of the same folder, give the same plan, file by file.
    prepared = upload.prepare(files)
    on_cluster = upload.dry_run(console.index_dir, src, prepared,
                                engine=TypesenseWriteEngine(settings))
    assert per_file(on_cluster) == want
    whoosh_dir = tmp_path / "whoosh-index"
    update(whoosh_dir, [src])
    assert per_file(upload.dry_run(whoosh_dir, src, prepared)) == want

    # The go-ahead: the run the preview foretold.
    go = client.post(review_url, data={"csrf_token": token, "decision": "index"})
    assert go.status_code == 303
    ran = wait_for_job(client)
    assert ran["status"] == "done", ran
    summary, expected = ran["summary"], totals(want)
    assert (summary["added"], summary["updated"], summary["removed"], summary["failed"]) == (
        expected["added"], expected["updated"], expected["removed"], expected["failed"])
    untouched = sum(len(held) for name, held in before.items()
                    if name not in {n for n, _ in files})
    assert summary["unchanged"] == expected["unchanged"] + untouched


def test_a_preview_on_an_empty_cluster_calls_every_article_new(settings, tmp_path):
    console = make_console(tmp_path, files=2, **cluster_config(settings))
    src = console.src.resolve()
    prepared = upload.prepare([("article-000001.txt", (src / "article-000001.txt").read_bytes()),
                               ("new.jsonl", _jsonl(("n-1", "A new bridge.")).encode())])
    report = upload.dry_run(console.index_dir, src, prepared,
                            engine=TypesenseWriteEngine(settings))
    assert per_file(report) == {"article-000001.txt": (1, 0, 0, 0, 0), "new.jsonl": (1, 0, 0, 0, 0)}
    assert [f.action for f in report.files] == ["same", "new"]
