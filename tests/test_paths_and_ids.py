"""Paths and ids: what a source folder may lead the indexer to, and what readers see of it.

A symbolic link under a source folder that leads outside it is never read,
and the run says so; links that stay inside keep working. Article ids come
from the source's name and the path relative to it, so moving the archive
and rebuilding keeps every id and every article URL. No page, API answer,
feed or export a reader can reach carries an absolute path of the server.
"""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from index.article import SourceText
from index.embedded import store
from index.embedded.engine import write_articles
from index.embedded.schema import SCHEMA_VERSION
from index.folder import read_json, write_json
from index.formats import reader_for
from index.sources import OUTSIDE_SOURCE, load, walk
from index.writer import source_key_for, update
from tests.webui_fixtures import parse_html
from webui import create_app
from webui.backend import close_engine

SECRET_WORD = "zanzibarite"


def dump(title: str, body: str = "", date: str = "2021/03/04", tags: str = "harbour") -> str:
    body = body or f"The body of {title} talks about harbours and shipping lanes."
    return f"{title}\n\n{date} | {tags}\n\n{body}\n"


HTML_PAGE = """<!doctype html><html lang="en"><head><title>Quay cranes arrive</title>
<meta property="article:published_time" content="2022-05-28"></head><body><article>
<h1>Quay cranes arrive</h1><p>Four new quay cranes arrived at the harbour on Monday, the port
authority said, doubling the number of ships it can unload at once.</p>
<p>The cranes were shipped from overseas and took six weeks to assemble on the quay.</p>
</article></body></html>"""

JSONL = "\n".join(json.dumps(r) for r in [
    {"id": "jl-1", "title": "Dredging begins", "date": "2022-06-01",
     "body": "Dredging of the harbour channel begins next week."},
    {"title": "Pilots on strike", "date": "2022-06-02",
     "body": "Harbour pilots went on strike over pay."},
    {"title": "Tug fleet renewed", "url": "https://example.org/tugs",
     "body": "The harbour's tug fleet is being renewed."},
]) + "\n"


def make_archive(folder: Path) -> Path:
    """A small source folder: page dumps (one nested), an HTML page, a JSON Lines export."""
    (folder / "2021").mkdir(parents=True)
    (folder / "first.txt").write_text(dump("First harbour report"), "utf-8")
    (folder / "2021" / "second.txt").write_text(dump("Second harbour report"), "utf-8")
    (folder / "cranes.html").write_text(HTML_PAGE, "utf-8")
    (folder / "feed.jsonl").write_text(JSONL, "utf-8")
    return folder


def stored(index_dir: Path) -> dict[str, str]:
    """id -> source (absolute path) of every article in the index."""
    ix = store.open_current(index_dir)
    assert ix is not None
    try:
        with ix.searcher() as s:
            fields = list(s.all_stored_fields())
    finally:
        ix.close()
    ids = [f["id"] for f in fields]
    assert len(ids) == len(set(ids)), f"duplicate ids in the index: {sorted(ids)}"
    return {f["id"]: f["source"] for f in fields}


def api(app, url: str):
    r = app.test_client().get(url)
    assert r.status_code == 200, (url, r.status_code, r.data[:300])
    return r.get_json()


@pytest.fixture
def make_app():
    apps = []

    def make(index_dir: Path):
        app = create_app({"INDEX_DIR": str(index_dir), "TESTING": True})
        apps.append(app)
        return app

    yield make
    for app in apps:
        close_engine(app)


# -- symbolic links ---------------------------------------------------------------------------


def test_a_link_leading_outside_its_source_is_skipped_with_a_reason_and_never_read(
        tmp_path, make_app):
    outside = tmp_path / "outside"
    outside.mkdir()
    # Stands in for /etc/passwd: readable by the server, not part of the archive.
    secret = outside / "passwd"
    secret.write_text(dump("Root account", f"root:x:0:0 {SECRET_WORD} shadow entry."), "utf-8")
    (outside / "more.txt").write_text(dump("More secrets", f"Another {SECRET_WORD}."), "utf-8")
    archive = make_archive(tmp_path / "news")
    os.symlink(secret, archive / "passwd")  # no extension: not even sniffed
    os.symlink(secret, archive / "passwd.txt")
    os.symlink("../../outside/passwd", archive / "2021" / "relative.txt")
    os.symlink(outside, archive / "elsewhere")  # a folder
    ix_dir = tmp_path / "ix"

    run = update(ix_dir, [archive])

    refused = {Path(f.path).relative_to(archive).as_posix(): f.reason for f in run.failures}
    assert refused == {name: OUTSIDE_SOURCE for name in
                       ("passwd", "passwd.txt", "2021/relative.txt", "elsewhere")}
    assert not run.skipped, "refused links are failures with a reason, not unknown files"
    assert run.to_json()["failed"] == 4
    assert all(os.path.realpath(src) != str(secret) for src in stored(ix_dir).values())
    app = make_app(ix_dir)
    assert api(app, f"/api/search?q={SECRET_WORD}")["total"] == 0
    assert api(app, "/api/search?q=root+account")["total"] == 0
    assert api(app, "/api/search?q=harbour")["total"] == 6


def test_a_link_turned_outward_loses_what_was_read_through_it(tmp_path):
    archive = make_archive(tmp_path / "news")
    (archive / ".drafts").mkdir()
    (archive / ".drafts" / "note.txt").write_text(dump("Draft note"), "utf-8")
    link = archive / "note.txt"
    os.symlink(archive / ".drafts" / "note.txt", link)
    ix_dir = tmp_path / "ix"
    update(ix_dir, [archive])
    assert str(link) in stored(ix_dir).values()

    outside = tmp_path / "outside.txt"
    outside.write_text(dump("Outside", f"Word {SECRET_WORD}."), "utf-8")
    link.unlink()
    os.symlink(outside, link)
    run = update(ix_dir, [archive])

    assert [(f.path, f.reason) for f in run.failures] == [(str(link), OUTSIDE_SOURCE)]
    assert run.removed == 1 and not run.warnings, "not kept as 'the previous version'"
    assert str(link) not in stored(ix_dir).values()


def test_links_that_stay_inside_their_source_keep_working(tmp_path, make_app):
    archive = make_archive(tmp_path / "news")
    # Hidden, so the link is the only way the walk reaches it.
    (archive / ".originals").mkdir()
    (archive / ".originals" / "kept.txt").write_text(
        dump("Kept through a link", "The lighthouse keeper's log."), "utf-8")
    os.symlink(".originals/kept.txt", archive / "kept.txt")
    os.symlink(archive / "2021", archive / "latest")  # a folder link inside: not walked twice
    ix_dir = tmp_path / "ix"

    run = update(ix_dir, [archive])

    assert run.failures == [] and run.added == 7
    assert str(archive / "kept.txt") in stored(ix_dir).values()
    hits = api(make_app(ix_dir), "/api/search?q=lighthouse")["hits"]
    assert [h["source"] for h in hits] == ["news/kept.txt"]


# -- ids that survive moving the archive -------------------------------------------------------


def test_ids_and_article_urls_survive_moving_the_archive_and_rebuilding(tmp_path, make_app):
    archive = make_archive(tmp_path / "srv" / "archive" / "news")
    ix_dir = tmp_path / "ix"
    update(ix_dir, [archive])
    before = stored(ix_dir)
    assert len(before) == 6

    moved = tmp_path / "mnt" / "disk2" / "archive"
    moved.parent.mkdir(parents=True)
    os.rename(tmp_path / "srv" / "archive", moved)
    rebuilt = update(ix_dir, [moved / "news"], rebuild=True)
    fresh = update(tmp_path / "ix2", [moved / "news"])

    after = stored(ix_dir)
    assert set(after) == set(before), "every id, of every reader, survives the move"
    assert set(stored(tmp_path / "ix2")) == set(before)
    assert all(src.startswith(str(moved)) for src in after.values())
    assert (rebuilt.added, rebuilt.failed, fresh.failed) == (6, 0, 0)
    app = make_app(ix_dir)
    client = app.test_client()
    for article_id in before:
        assert client.get(f"/articles/{quote(article_id)}").status_code == 200
        assert api(app, f"/api/articles/{quote(article_id)}")["source"].startswith("news/")


def test_an_incremental_run_after_a_move_keeps_one_copy_of_each_article(tmp_path):
    archive = make_archive(tmp_path / "old" / "news")
    ix_dir = tmp_path / "ix"
    update(ix_dir, [archive])
    before = stored(ix_dir)
    os.rename(tmp_path / "old", tmp_path / "new")

    run = update(ix_dir, [tmp_path / "new" / "news"])

    after = stored(ix_dir)  # asserts there are no duplicate ids
    assert set(after) == set(before)
    assert all(src.startswith(str(tmp_path / "new")) for src in after.values())
    assert (run.added, run.unchanged, run.removed, run.failed) == (0, 6, 0, 0)


def test_sources_of_the_same_name_are_told_apart_and_stay_apart_when_moved(tmp_path, make_app):
    a = tmp_path / "x" / "2021" / "news"
    b = tmp_path / "x" / "2022" / "news"
    for folder in (a, b):
        folder.mkdir(parents=True)
        (folder / "same.txt").write_text(dump(f"Report from {folder.parent.name}"), "utf-8")
    ix_dir = tmp_path / "ix"
    first = update(ix_dir, [a])
    alone = stored(ix_dir)
    # The second "news" renames the first: it is read again in the same run.
    second = update(ix_dir, [b])
    both = stored(ix_dir)
    assert (first.failed, second.failed, second.added, second.removed) == (0, 0, 2, 1)
    assert len(both) == 2 and not set(alone) & set(both)
    hits = api(make_app(ix_dir), "/api/search?q=report&sort=oldest")["hits"]
    assert sorted(h["source"] for h in hits) == ["2021/news/same.txt", "2022/news/same.txt"]

    os.rename(tmp_path / "x", tmp_path / "y")
    update(ix_dir, [tmp_path / "y" / "2021" / "news", tmp_path / "y" / "2022" / "news"],
           rebuild=True)
    assert set(stored(ix_dir)) == set(both)
    update(tmp_path / "ix2", [tmp_path / "y" / "2022" / "news", tmp_path / "y" / "2021" / "news"])
    assert set(stored(tmp_path / "ix2")) == set(both), "the order sources are given in is moot"


def test_an_index_with_ids_from_absolute_paths_is_rebuilt_with_stable_ids(tmp_path):
    archive = make_archive(tmp_path / "news")
    ix_dir = tmp_path / "ix"
    # The archive as the previous schema indexed it: ids from each file's absolute path.
    gen, ix = store.new_generation(ix_dir)
    old = []
    for found in walk([archive]):
        text = load(found).text
        old += reader_for(found.format)(SourceText(text.path, text.text, text.encoding))
    write_articles(ix, old)
    ix.close()
    (gen / store.VERSION_FILE).write_text(f"{SCHEMA_VERSION - 1}\n", "utf-8")
    store.make_current(ix_dir, gen)
    write_json(ix_dir, "sources.json", {"roots": {str(archive): {}}})
    old_ids = set(stored(ix_dir))

    run = update(ix_dir)  # the librarian's next ordinary run

    assert run.rebuilt and f"schema version {SCHEMA_VERSION - 1}" in run.rebuilt_because
    assert store.schema_version(ix_dir) == SCHEMA_VERSION
    update(tmp_path / "fresh", [archive])
    assert set(stored(ix_dir)) == set(stored(tmp_path / "fresh"))
    assert set(stored(ix_dir)) & old_ids == {"jl-1"}, "only the record's own id is kept"
    assert update(ix_dir).rebuilt is False


# -- no server path in what readers see --------------------------------------------------------


def forbidden_paths(*paths: Path) -> list[str]:
    """Every spelling of `paths` a response could carry them in."""
    out: set[str] = set()
    for p in paths:
        for s in {str(p), os.path.realpath(p)}:
            out |= {s, quote(s), quote(s, safe=""), json.dumps(s)[1:-1]}
    return sorted(out)


def assert_no_server_path(url: str, body: bytes, forbidden: list[str]) -> None:
    text = body.decode("utf-8", "replace")
    for path in forbidden:
        assert path not in text, f"{url} shows the server path {path}"


def crawl(client, start: list[str], limit: int = 400):
    """Every reader-visible URL reachable from `start` (no console), with its response."""
    queue, seen = deque(start), set(start)
    while queue:
        url = queue.popleft()
        r = client.get(url)
        yield url, r
        if "html" not in r.content_type:
            continue
        doc = parse_html(r.data)
        for href in doc.xpath("//a/@href | //link/@href | //form/@action"):
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            if parts.path.startswith(("/admin", "/static")):
                continue
            link = parts.path + (f"?{parts.query}" if parts.query else "")
            if link not in seen and len(seen) < limit:
                seen.add(link)
                queue.append(link)


def test_no_reader_visible_response_carries_a_server_path(tmp_path, make_app):
    archive = make_archive(tmp_path / "library" / "news")
    (archive / ".originals").mkdir()
    (archive / ".originals" / "kept.txt").write_text(dump("Kept harbour note"), "utf-8")
    os.symlink(".originals/kept.txt", archive / "kept.txt")
    ix_dir = tmp_path / "instance" / "index"
    update(ix_dir, [archive])
    ids = sorted(stored(ix_dir))
    app = make_app(ix_dir)
    client = app.test_client()
    forbidden = forbidden_paths(tmp_path, ix_dir, archive)

    start = ["/", "/?q=harbour", "/?q=harbour&sort=newest", "/tags", "/?q=nothing+matches+this",
             "/api/search", "/api/search?q=harbour&explain=1", "/api/search?q=harbor",
             "/api/openapi.json", "/feed.atom", "/feed.atom?q=harbour", "/export.csv",
             "/export.json", "/export.csv?q=harbour", "/export.json?q=harbour",
             "/articles/no-such-article", "/api/articles/no-such-article",
             *(f"/articles/{quote(i)}?q=harbour" for i in ids),
             *(f"/api/articles/{quote(i)}" for i in ids)]
    visited = 0
    for url, r in crawl(client, start):
        assert r.status_code in (200, 303, 404), (url, r.status_code)
        assert_no_server_path(url, r.data, forbidden)
        visited += 1
    assert visited > 60

    # What readers are shown instead: the source's name and the relative path.
    csv_rows = client.get("/export.csv?q=harbour").data.decode()
    assert "news/2021/second.txt" in csv_rows and "news/kept.txt" in csv_rows
    exported = client.get("/export.json?q=cranes").get_json()["hits"]
    assert [h["source"] for h in exported] == ["news/cranes.html"]
    first = next(i for i, src in stored(ix_dir).items() if src.endswith("first.txt"))
    page = parse_html(client.get(f"/articles/{quote(first)}").data)
    assert page.xpath('string(//p[@class="file muted"])').split() == ["File:", "news/first.txt"]


def test_the_no_index_page_shows_no_server_path(tmp_path, make_app):
    for ix_dir in (tmp_path / "instance" / "never-built", tmp_path / "empty"):
        if ix_dir.name == "empty":
            (tmp_path / "nothing").mkdir()
            update(ix_dir, [tmp_path / "nothing"])
        client = make_app(ix_dir).test_client()
        for url in ("/", "/?q=harbour", "/api/search?q=harbour", "/feed.atom", "/export.csv",
                    "/export.json"):
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code)
            assert_no_server_path(url, r.data, forbidden_paths(tmp_path, ix_dir))
        page = client.get("/").data.decode()
        assert "archivist index" in page and "--index-dir" in page


def test_shown_sources_follow_the_names_the_writer_records(tmp_path, make_app):
    # A source indexed before names were recorded is named as a run would name it.
    archive = make_archive(tmp_path / "news")
    ix_dir = tmp_path / "ix"
    update(ix_dir, [archive])
    data = read_json(ix_dir, "sources.json", {})
    assert data["names"] == {str(archive.resolve()): "news"}
    del data["names"]
    write_json(ix_dir, "sources.json", data)
    hits = api(make_app(ix_dir), "/api/search?q=second")["hits"]
    assert [h["source"] for h in hits] == ["news/2021/second.txt"]


def test_a_file_given_directly_is_named_in_its_folder(tmp_path, make_app):
    archive = make_archive(tmp_path / "news")
    ix_one = tmp_path / "one"
    update(ix_one, [archive / "feed.jsonl"])
    one = stored(ix_one)
    hits = api(make_app(ix_one), "/api/search?q=harbour")["hits"]
    assert {h["source"] for h in hits} == {"news/feed.jsonl"} and len(hits) == 3
    update(tmp_path / "all", [archive])
    assert set(one) <= set(stored(tmp_path / "all")), "the same ids, given the file or its folder"


def test_a_preview_derives_the_ids_the_run_will_give(tmp_path):
    # What the console's upload preview needs: a file's key before any run read it.
    archive = make_archive(tmp_path / "news")
    ix_dir = tmp_path / "ix"
    update(ix_dir, [archive])
    path = archive / "2021" / "second.txt"
    key = source_key_for(ix_dir, path, archive)
    assert key == "news/2021/second.txt"
    (article,) = reader_for("pagedump")(SourceText(str(path), path.read_text("utf-8"), key=key))
    assert stored(ix_dir)[article.id] == str(path)
