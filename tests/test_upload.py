"""Uploads: names made safe, traversal and oversize refused, dry runs, indexing over HTTP."""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile

import pytest

from index import upload
from index.upload import UploadLimits, UploadRefused, prepare
from tests.console_fixtures import (
    ARTICLE,
    figure,
    make_console,
    post_upload,
    rows,
    sign_in,
    wait_for_job,
)
from tests.webui_fixtures import parse_html


def _art(n: int = 1) -> bytes:
    """A readable page dump (uploads are parsed before they are accepted)."""
    return ARTICLE.format(n=n).encode()


def _zip(entries: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buf.getvalue()


def _refusals(prepared) -> dict[str, str]:
    return {r.name: r.reason for r in prepared.refused}


# -- the library ----------------------------------------------------------------------


def test_traversal_and_absolute_names_are_refused_in_forms_and_zips():
    data = _zip({"../../evil.txt": b"x", "/etc/cron.d/evil.txt": b"x", "ok/fine.txt": _art(),
                 "a/../../b.txt": b"x", "C:\\windows\\evil.txt": b"x"},
                links={"link.txt": "/etc/passwd"})
    prepared = prepare([("batch.zip", data), ("../up.txt", b"x"), ("..\\win.txt", b"x")])
    assert [f.name for f in prepared.files] == ["ok/fine.txt"]
    refused = _refusals(prepared)
    for name in ("batch.zip: ../../evil.txt", "batch.zip: /etc/cron.d/evil.txt",
                 "batch.zip: a/../../b.txt", "batch.zip: C:\\windows\\evil.txt", "../up.txt",
                 "..\\win.txt"):
        assert "outside the folder (path traversal)" in refused[name], name
    assert "symbolic link" in refused["batch.zip: link.txt"]


def test_names_are_sanitized_but_keep_their_script():
    page = b"<html><head><title>Report</title></head><body><p>The report.</p></body></html>"
    prepared = prepare([
        ("گزارش بندر.txt", _art()), ("my report (final).html", page), ("CON.txt", _art(2)),
        ("notes.docx", b"x"), (".hidden.txt", b"x"),
        ("script<>.jsonl", b'{"id": "s1", "title": "T", "body": "B"}\n'),
    ])
    names = sorted(f.name for f in prepared.files)
    assert names == ["_CON.txt", "my_report_final.html", "script.jsonl", "گزارش_بندر.txt"]
    refused = _refusals(prepared)
    assert "not an article file (.docx)" in refused["notes.docx"]
    assert "hidden" in refused[".hidden.txt"]


def test_zip_entries_keep_folders_and_leave_out_system_files():
    data = _zip({"2022/a.txt": _art(), "__MACOSX/2022/._a.txt": b"junk", ".DS_Store": b"junk",
                 "inner.zip": _zip({"x.txt": b"x"}), "2022/A.TXT": _art(2)})
    prepared = prepare([("batch.zip", data)])
    assert [f.name for f in prepared.files] == ["2022/a.txt"]
    refused = _refusals(prepared)
    assert "zip inside a zip" in refused["batch.zip: inner.zip"]
    assert "same name" in refused["batch.zip: 2022/A.TXT"]
    assert len(refused) == 2


def test_limits_have_clear_messages():
    with pytest.raises(UploadRefused, match="more than 3 files"):
        prepare([(f"{i}.txt", b"x") for i in range(4)], UploadLimits(max_files=3))
    with pytest.raises(UploadRefused, match="more than 1 KB"):
        prepare([("a.txt", b"x" * 700), ("b.txt", b"x" * 700)], UploadLimits(max_bytes=1024))
    big = prepare([("big.txt", b"x" * 2048), ("z.zip", _zip({"huge.txt": b"y" * 5000}))],
                  UploadLimits(max_file_bytes=1024))
    assert not big.files
    assert all("the limit for one file" in r.reason for r in big.refused)
    with pytest.raises(UploadRefused, match="no files"):
        prepare([])
    assert "not a readable zip" in _refusals(prepare([("bad.zip", b"PK\x03\x04junk")]))["bad.zip"]


def test_save_stays_inside_the_folder_even_through_links(tmp_path):
    folder, outside = tmp_path / "src", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    (folder / "escape").symlink_to(outside, target_is_directory=True)
    (folder / "linked.txt").symlink_to(outside / "target.txt")
    prepared = prepare([("z.zip", _zip({"escape/a.txt": _art(1), "deep/b.txt": _art(2)})),
                        ("linked.txt", _art(3))])
    saved = upload.save(prepared, folder)
    assert saved.paths == [str(folder / "deep" / "b.txt")]
    assert {r.name for r in saved.refused} == {"z.zip: escape/a.txt", "linked.txt"}
    assert list(outside.iterdir()) == []
    assert not [p for p in folder.rglob(".upload-*")], "no temporary file is left behind"


def test_dry_run_tells_what_would_change(tmp_path):
    from index.writer import update

    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "kept.txt").write_text(ARTICLE.format(n=1))
    (folder / "changed.txt").write_text(ARTICLE.format(n=2))
    (folder / "export.jsonl").write_text(json.dumps({"id": "j-1", "title": "T", "body": "B"})
                                         + "\n")
    update(tmp_path / "index", [folder])
    prepared = prepare([
        ("kept.txt", ARTICLE.format(n=1).encode()),
        ("changed.txt", ARTICLE.format(n=3).encode()),
        ("new.txt", ARTICLE.format(n=4).encode()),
        ("empty.txt", b""),
        ("other.jsonl", (json.dumps({"id": "j-1", "title": "T", "body": "B"}) + "\n").encode()),
        ("broken.jsonl", (json.dumps({"id": "j-2", "title": "T", "body": "B"}) + "\n"
                          + json.dumps({"title": "no body"}) + "\n").encode()),
    ])
    # Files no reader accepts never reach the plan: they are refused with the reason.
    refused = {r.name: r.reason for r in prepared.refused}
    assert refused["empty.txt"] == "cannot be read as an article: empty file"
    assert refused["broken.jsonl"] == "cannot be read as an article: line 2: no body"
    report = upload.dry_run(tmp_path / "index", folder, prepared)
    plans = {p.name: p for p in report.files}
    assert set(plans) == {"kept.txt", "changed.txt", "new.txt", "other.jsonl"}
    assert (plans["kept.txt"].action, plans["kept.txt"].unchanged) == ("same", 1)
    assert (plans["changed.txt"].action, plans["changed.txt"].updated) == ("replace", 1)
    assert (plans["new.txt"].action, plans["new.txt"].added) == ("new", 1)
    assert [r.name for r in report.refused] == ["empty.txt", "broken.jsonl"]
    other = plans["other.jsonl"].failures
    assert other == ["duplicate id 'j-1', already used by " + str(folder / "export.jsonl")]
    assert (report.total("added"), report.total("updated"), report.total("failed")) == (1, 1, 1)
    assert sorted(os.listdir(folder)) == ["changed.txt", "export.jsonl", "kept.txt"], \
        "a dry run writes nothing"


# -- over HTTP ------------------------------------------------------------------------------


def test_an_upload_is_saved_indexed_and_found(tmp_path):
    console = make_console(tmp_path, files=3)
    client = console.client
    token = sign_in(client)
    folder = console.src.resolve()
    response = post_upload(client, token, folder=folder, files=[
        ("harbour.txt", ARTICLE.format(n=77).encode()),
        ("batch.zip", _zip({"2023/more.txt": ARTICLE.format(n=78).encode()})),
    ])
    assert response.status_code == 303 and response.headers["Location"] == "/admin/job"
    state = wait_for_job(client)
    assert state["kind"] == "upload" and state["summary"]["added"] == 5
    assert (folder / "harbour.txt").is_file() and (folder / "2023" / "more.txt").is_file()
    found = client.get("/api/search?q=Quayside78").get_json()
    assert found["total"] == 1


def test_traversal_upload_is_refused_with_a_clear_message(tmp_path):
    console = make_console(tmp_path, files=1)
    client = console.client
    token = sign_in(client)
    response = post_upload(client, token, folder=console.src.resolve(), files=[
        ("../../escaped.txt", ARTICLE.format(n=1).encode()),
        ("slip.zip", _zip({"../../../slipped.txt": b"x"})),
    ])
    assert response.status_code == 400
    page = parse_html(response.data)
    text = page.text_content()
    assert "None of the files can be added" in text
    refused = rows(page, "failures")
    assert len(refused) == 2 and all("path traversal" in r for r in refused)
    assert not list(tmp_path.rglob("escaped.txt")) and not list(tmp_path.rglob("slipped.txt"))


def test_oversized_uploads_are_refused_with_a_clear_message(tmp_path):
    console = make_console(tmp_path, files=1, MAX_UPLOAD_BYTES=20_000, MAX_UPLOAD_FILES=3)
    client = console.client
    token = sign_in(client)
    folder = console.src.resolve()
    too_big = post_upload(client, token, [("big.txt", b"x" * 2_000_000)], folder)
    assert too_big.status_code == 413
    assert b"larger than 19.5 KB, the limit for one upload" in too_big.data
    too_many = post_upload(client, token, [(f"{i}.txt", b"x") for i in range(4)], folder)
    assert too_many.status_code == 413
    assert b"more than 3 files" in too_many.data
    assert sorted(p.name for p in folder.iterdir()) == ["article-000000.txt"]


def test_dry_run_then_confirm_or_cancel(tmp_path):
    console = make_console(tmp_path, files=2)
    client = console.client
    token = sign_in(client)
    folder = console.src.resolve()
    response = post_upload(client, token, [("new.txt", ARTICLE.format(n=5).encode()),
                                           ("notes.pdf", b"%PDF")], folder, dry_run=True)
    assert response.status_code == 303
    review_url = response.headers["Location"]
    review = parse_html(client.get(review_url).data)
    assert figure(review, "added") == "1"
    assert any("notes.pdf" in r and ".pdf" in r for r in rows(review, "failures"))
    assert not (folder / "new.txt").exists(), "nothing is saved before the go-ahead"

    go = client.post(review_url, data={"csrf_token": token, "decision": "index"})
    assert go.status_code == 303
    # The folder's two earlier files had never been indexed: the run takes them too.
    assert wait_for_job(client)["summary"]["added"] == 3
    assert (folder / "new.txt").is_file()
    assert client.get(review_url).status_code == 404, "a confirmed upload is not kept"

    again = post_upload(client, token, [("later.txt", _art(6))], folder, dry_run=True)
    later = again.headers["Location"]
    assert client.post(later, data={"csrf_token": token, "decision": "cancel"}).status_code == 303
    assert client.get(later).status_code == 404
    assert not (folder / "later.txt").exists()


def test_large_uploads_always_get_a_dry_run(tmp_path):
    console = make_console(tmp_path, files=1, UPLOAD_DRY_RUN_FILES=2)
    client = console.client
    token = sign_in(client)
    response = post_upload(client, token,
                           [(f"n{i}.txt", ARTICLE.format(n=i).encode()) for i in range(3)],
                           console.src.resolve())
    assert response.status_code == 303 and "/admin/upload/" in response.headers["Location"]
