"""`archivist export --format jsonl` gives back, through `archivist index`, the same index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from index.embedded import store
from tests.corpus import write_corpus
from webui.cli import main
from webui.cli_admin import register

register(main)

FIXTURES = Path(__file__).parent / "fixtures"
#: Every stored value a reader sees, plus the columns that fingerprint them.
COMPARED = ("id", "title", "body", "date", "tags", "tag_labels", "kind", "url", "language",
            "publication", "author", "pages")


def run(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def snapshot(index_dir: Path) -> dict[str, dict]:
    """id -> the article's stored fields and content hash."""
    ix = store.open_current(index_dir)
    assert ix is not None
    with ix.searcher() as s:
        r = s.reader()
        hashes = r.column_reader("content_hash")
        out = {}
        for docnum in r.all_doc_ids():
            fields = s.stored_fields(docnum)
            record = {k: fields.get(k) for k in COMPARED}
            record["content_hash"] = hashes[docnum]
            out[fields["id"]] = record
    return out


def test_export_then_index_gives_an_identical_index(tmp_path):
    src = tmp_path / "src"
    write_corpus(src / "dumps", 25)
    shutil.copytree(FIXTURES / "html", src / "html")
    shutil.copytree(FIXTURES / "jsonl", src / "jsonl")
    shutil.copy(FIXTURES / "seed-article.txt", src / "seed-article.txt")
    shutil.copy(FIXTURES / "hostile" / "xss.jsonl", src / "xss.jsonl")
    shutil.copytree(FIXTURES.parent.parent / "index" / "sample_archive" / "reports",
                    src / "reports")
    run("--index-dir", str(tmp_path / "a"), "index", "-q", str(src))
    original = snapshot(tmp_path / "a")
    assert len(original) > 30
    assert any(r["pages"] for r in original.values()), "paged PDF reports are covered"
    assert any(r["publication"] for r in original.values()), "publications are covered"
    assert any(r["language"] == "fa" for r in original.values()), "Persian text is covered"
    assert any(r["date"] is None for r in original.values()), "undated articles are covered"

    export = tmp_path / "out" / "archive.jsonl"
    export.parent.mkdir()
    exported = run("--index-dir", str(tmp_path / "a"), "export", "--format", "jsonl",
                   "--output", str(export))
    assert f"exported {len(original)} articles" in exported.stderr
    assert "note:" not in exported.stderr, "every record reads back unchanged"

    summary = run("--index-dir", str(tmp_path / "b"), "index", "-q", str(export))
    n = len(original)
    assert summary.stdout.strip() == f"added {n}, updated 0, unchanged 0, removed 0, failed 0"
    assert snapshot(tmp_path / "b") == original

    # Exported again, the copy gives the same records; only where they came from differs.
    again = run("--index-dir", str(tmp_path / "b"), "export").stdout.splitlines()
    first = export.read_text("utf-8").splitlines()
    assert [without_source(line) for line in again] == [without_source(line) for line in first]
    assert {json.loads(line)["source"] for line in again} == {str(export.resolve())}


def without_source(line: str) -> dict:
    record = json.loads(line)
    record.pop("source")
    return record


def test_export_to_stdout_of_an_empty_folder_fails_clearly(tmp_path):
    result = CliRunner().invoke(main, ["--index-dir", str(tmp_path / "none"), "export"])
    assert result.exit_code == 1
    assert "there is no index" in result.stderr
