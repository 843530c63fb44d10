"""The incremental writer on a real on-disk index: add, update, remove, fail, rebuild."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from whoosh.qparser import QueryParser

from index.embedded import store
from index.writer import IndexOptions, update

FIXTURES = Path(__file__).parent / "fixtures"


def dump(title: str, date: str = "2021/03/04", tags: str = "alpha, Beta", body: str = "") -> str:
    body = body or f"The body of {title} talks about harbours and shipping lanes."
    return f"{title}\n\n{date} | {tags}\n\n{body}\n"


def ids_and_titles(index_dir: Path) -> dict[str, str]:
    ix = store.open_current(index_dir)
    assert ix is not None
    with ix.searcher() as s:
        return {f["id"]: f["title"] for f in s.all_stored_fields()}


def hits(index_dir: Path, text: str, field: str = "body") -> list[str]:
    ix = store.open_current(index_dir)
    with ix.searcher() as s:
        q = QueryParser(field, ix.schema).parse(text)
        return sorted(h["title"] for h in s.search(q, limit=None))


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "one.txt").write_text(dump("First report"), "utf-8")
    (folder / "two.txt").write_text(dump("Second report", "2020/01/02", "gamma"), "utf-8")
    (folder / "nested").mkdir()
    (folder / "nested" / "three.txt").write_text(dump("Third report", tags=""), "utf-8")
    return folder


def test_first_run_adds_everything_and_second_run_skips_it(tmp_path, archive):
    ix_dir = tmp_path / "ix"
    first = update(ix_dir, [archive])
    assert (first.added, first.updated, first.unchanged, first.removed, first.failed) == (
        3, 0, 0, 0, 0)
    assert first.line() == "added 3, updated 0, unchanged 0, removed 0, failed 0"
    assert sorted(ids_and_titles(ix_dir).values()) == ["First report", "Second report",
                                                       "Third report"]
    second = update(ix_dir, [archive])
    assert (second.added, second.updated, second.unchanged, second.removed) == (0, 0, 3, 0)


def test_change_is_by_content_hash_not_mtime(tmp_path, archive):
    ix_dir = tmp_path / "ix"
    update(ix_dir, [archive])
    one = archive / "one.txt"
    one.touch()  # new mtime, same bytes: nothing to do
    assert update(ix_dir, [archive]).unchanged == 3
    one.write_text(dump("First report, revised", body="Now about airports."), "utf-8")
    run = update(ix_dir, [archive])
    assert (run.added, run.updated, run.unchanged, run.removed) == (0, 1, 2, 0)
    assert hits(ix_dir, "airports") == ["First report, revised"]
    assert "First report" not in ids_and_titles(ix_dir).values()


def test_deleted_file_is_removed_but_only_under_indexed_roots(tmp_path, archive):
    ix_dir = tmp_path / "ix"
    other = tmp_path / "other"
    other.mkdir()
    (other / "four.txt").write_text(dump("Fourth report"), "utf-8")
    update(ix_dir, [archive])
    update(ix_dir, [other])
    (archive / "two.txt").unlink()
    run = update(ix_dir, [archive])
    assert (run.removed, run.unchanged) == (1, 2)
    assert sorted(ids_and_titles(ix_dir).values()) == ["First report", "Fourth report",
                                                       "Third report"]


def test_no_paths_reindexes_the_roots_of_earlier_runs(tmp_path, archive):
    ix_dir = tmp_path / "ix"
    update(ix_dir, [archive])
    (archive / "five.txt").write_text(dump("Fifth report"), "utf-8")
    run = update(ix_dir, [])
    assert (run.added, run.unchanged) == (1, 3)


def test_bad_files_are_named_with_reasons_and_the_run_goes_on(tmp_path, archive):
    (archive / "empty.txt").write_bytes(b"")
    (archive / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (archive / "big.txt").write_text(dump("Big one", body="word " * 5000), "utf-8")
    (archive / "latin.txt").write_bytes(dump("Caf\xe9 society", body="Cr\xe8me br\xfbl\xe9e "
                                             "\u201cquoted\u201d text.").encode("cp1252"))
    (archive / "notes.docx").write_bytes(b"PK\x03\x04")  # a type no reader reads
    run = update(tmp_path / "ix", [archive], options=IndexOptions(max_bytes=10_000))
    reasons = {Path(f.path).name: f.reason for f in run.failures}
    assert reasons == {
        "empty.txt": "empty file",
        "binary.txt": "not a text file (binary content)",
        "big.txt": reasons["big.txt"],
    }
    assert reasons["big.txt"].startswith("file too large")
    assert run.added == 4  # three good ones and the cp1252 one
    warnings = {Path(w.path).name: w.reason for w in run.warnings}
    assert warnings["latin.txt"] == "not UTF-8; decoded as cp1252"
    assert [Path(p).name for p in run.skipped] == ["notes.docx"]
    assert hits(tmp_path / "ix", "\u201cquoted\u201d") == ["Caf\u00e9 society"]


def test_a_file_that_turns_unreadable_keeps_its_previous_articles(tmp_path, archive):
    ix_dir = tmp_path / "ix"
    update(ix_dir, [archive])
    (archive / "one.txt").write_bytes(b"\x00\x00garbage")
    run = update(ix_dir, [archive])
    assert run.failed == 1 and run.removed == 0
    assert "First report" in ids_and_titles(ix_dir).values()
    assert any("previously indexed" in w.reason for w in run.warnings)


def test_undated_article_is_indexed_as_undated(tmp_path):
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "u.txt").write_text("No date here\n\nJust a body paragraph about rivers.\n", "utf-8")
    update(tmp_path / "ix", [folder])
    ix = store.open_current(tmp_path / "ix")
    with ix.searcher() as s:
        (fields,) = list(s.all_stored_fields())
        assert "date" not in fields
        assert [h["title"] for h in s.search(QueryParser("dated", ix.schema).parse("0"))] == [
            "No date here"]


def test_rebuild_swaps_in_a_new_generation_with_the_same_content(tmp_path, archive):
    ix_dir = tmp_path / "ix"
    update(ix_dir, [archive])
    before = ids_and_titles(ix_dir)
    gen1 = store.current_generation(ix_dir)
    run = update(ix_dir, [], rebuild=True)
    gen2 = store.current_generation(ix_dir)
    assert gen1 != gen2 and gen1.exists(), "the previous generation stays for open readers"
    assert run.rebuilt and (run.added, run.unchanged) == (0, 3)
    assert ids_and_titles(ix_dir) == before
    update(ix_dir, [], rebuild=True)
    assert not gen1.exists(), "generations older than the previous one are deleted"


def test_jobs_give_the_same_index_as_one_process(tmp_path):
    from tests.corpus import write_corpus

    write_corpus(tmp_path / "c", 120)
    one = update(tmp_path / "ix1", [tmp_path / "c"])
    two = update(tmp_path / "ix2", [tmp_path / "c"], options=IndexOptions(jobs=2))
    assert one.added == two.added == 120
    assert ids_and_titles(tmp_path / "ix1") == ids_and_titles(tmp_path / "ix2")


def test_seed_article_is_indexed_without_its_site_chrome(tmp_path):
    folder = tmp_path / "seed"
    folder.mkdir()
    shutil.copy(FIXTURES / "seed-article.txt", folder)
    update(tmp_path / "ix", [folder])
    assert hits(tmp_path / "ix", "Morocco") == [
        "An Analysis of Anti-ISIS Global Coalition Meeting in Morocco"]
    assert hits(tmp_path / "ix", "tariff") == []
    assert hits(tmp_path / "ix", "Netanyahu") == []


def test_summary_json_lists_failures(tmp_path, archive):
    (archive / "empty.txt").write_bytes(b"")
    data = update(tmp_path / "ix", [archive]).to_json()
    json.dumps(data)
    assert data["failed"] == 1
    assert data["failures"][0]["path"].endswith("empty.txt")
    assert data["failures"][0]["reason"] == "empty file"


def test_upgraded_readers_reread_files_whose_bytes_did_not_change(tmp_path, archive, monkeypatch):
    from index import formats

    ix_dir = tmp_path / "ix"
    update(ix_dir, [archive])
    assert update(ix_dir, [archive]).files_parsed == 0
    monkeypatch.setattr(formats, "READERS_VERSION", formats.READERS_VERSION + 1)
    run = update(ix_dir, [archive])
    # Every file is read again; the articles themselves did not change.
    assert run.files_parsed == 3
    assert (run.added, run.updated, run.unchanged, run.removed) == (0, 0, 3, 0)
    assert update(ix_dir, [archive]).files_parsed == 0


def test_the_date_is_a_column_and_a_stored_value_without_postings(tmp_path):
    from whoosh.fields import DATETIME

    from index.embedded.schema import DayColumn

    day = dt.datetime(2021, 3, 4)
    whoosh_date, day_column = DATETIME(stored=True, sortable=True), DayColumn(stored=True,
                                                                               sortable=True)
    # What a DATETIME would store and keep in its column, without its postings.
    assert day_column.to_column_value(day) == whoosh_date.to_column_value(day)
    assert day_column.column_type.__class__ is whoosh_date.column_type.__class__
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "a.txt").write_text(dump("Dated"), "utf-8")
    update(tmp_path / "ix", [folder])
    ix = store.open_current(tmp_path / "ix")
    with ix.reader() as r:
        assert r.stored_fields(0)["date"] == day
        assert r.column_reader("date", translate=False)[0] == whoosh_date.to_column_value(day)
        assert "date" not in r.indexed_field_names()
