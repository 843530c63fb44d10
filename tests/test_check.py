"""`archivist check`: the index opens, every article reads, and it agrees with the sources."""

from __future__ import annotations

import json

from click.testing import CliRunner

from index.check import check
from index.embedded import store
from index.writer import update
from tests.corpus import write_corpus
from webui.cli import main
from webui.cli_admin import register

register(main)


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_a_fresh_index_checks_clean(tmp_path):
    write_corpus(tmp_path / "src", 12)
    (tmp_path / "src" / "empty.txt").write_text("")
    update(tmp_path / "index", [tmp_path / "src"])
    report = check(tmp_path / "index")
    assert report.ok and report.articles == 12 and report.files == 13
    assert report.known_failures == [str((tmp_path / "src" / "empty.txt").resolve())]
    result = run("--index-dir", str(tmp_path / "index"), "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("OK")
    assert "the last run could not read" in result.stderr


def test_missing_extra_and_stale_files_are_found(tmp_path):
    src = tmp_path / "src"
    paths = write_corpus(src, 6)
    update(tmp_path / "index", [src])
    paths[0].unlink()
    paths[1].write_text(paths[1].read_text() + "\nA late paragraph.\n")
    write_corpus(src, 1, start=50)
    report = check(tmp_path / "index")
    assert not report.ok
    assert report.extra == [str(paths[0].resolve())]
    assert report.stale == [str(paths[1].resolve())]
    assert report.missing == [str((src / "article-000050.txt").resolve())]

    result = run("--index-dir", str(tmp_path / "index"), "check")
    assert result.exit_code == 1
    assert f"extra (indexed, not on disk): {paths[0].resolve()}" in result.stderr
    assert "1 missing, 1 extra, 1 stale" in result.stdout
    as_json = json.loads(run("--index-dir", str(tmp_path / "index"), "check", "--json").stdout)
    assert as_json["ok"] is False and len(as_json["stale"]) == 1

    update(tmp_path / "index", [src])
    assert check(tmp_path / "index").ok, "a reindex makes it agree again"


def test_configured_sources_are_checked_too(tmp_path):
    write_corpus(tmp_path / "a", 2)
    update(tmp_path / "index", [tmp_path / "a"])
    write_corpus(tmp_path / "b", 3)
    report = check(tmp_path / "index", [tmp_path / "b"])
    assert len(report.missing) == 3 and len(report.roots) == 2


def test_an_index_that_cannot_be_opened_exits_2(tmp_path):
    result = run("--index-dir", str(tmp_path / "nothing"), "check")
    assert result.exit_code == 2
    assert "nothing has been indexed yet" in result.stderr
    write_corpus(tmp_path / "src", 2)
    update(tmp_path / "index", [tmp_path / "src"])
    gen = store.current_generation(tmp_path / "index")
    for toc in gen.glob("_MAIN_*.toc"):
        toc.write_bytes(b"garbage")
    broken = run("--index-dir", str(tmp_path / "index"), "check")
    assert broken.exit_code == 2
    assert "cannot open the index" in broken.stderr


def test_an_unreadable_stored_article_is_reported(tmp_path):
    from index.article import Article
    from tests.webui_fixtures import build_index

    build_index(tmp_path / "index", [
        Article(id="ok", source="/x/ok.txt", title="Fine", body="Body"),
        Article(id="no-body", source="/x/nb.txt", title="No body", body=""),
    ])
    report = check(tmp_path / "index")
    assert [(f.path, f.reason) for f in report.unreadable] == [("no-body", "no body")]
    assert not report.ok
