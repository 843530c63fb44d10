"""Index jobs started from the console: progress over HTTP, one at a time, readers unaffected."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from index import folder, history
from index.embedded import store
from index.jobs import INTERRUPTED, JOB_FILE, JobBusy, JobRunner, index_work
from index.writer import Progress
from tests.console_fixtures import (
    figure,
    make_console,
    rows,
    sign_in,
    start_reindex,
    wait_for_job,
)
from tests.corpus import write_corpus
from tests.webui_fixtures import LiveServer, parse_html

ROOT = Path(__file__).resolve().parents[1]


def test_a_reindex_is_observed_from_start_to_summary(tmp_path):
    console = make_console(tmp_path, files=600)
    (console.src / "empty.txt").write_text("")
    (console.src / "binary.txt").write_bytes(b"\x00\x01\x02" * 50)
    client = console.client
    token = sign_in(client)
    started = start_reindex(client, token)
    assert started.status_code == 303 and started.headers["Location"] == "/admin/job"

    seen = []
    while True:
        state = client.get("/admin/job.json").get_json()
        seen.append(state)
        if state["status"] != "running":
            break
        time.sleep(0.05)
    running = [s for s in seen if s["status"] == "running"]
    midway = [s for s in running if 0 < s["done"] < s["total"]]
    assert midway, "progress was seen part way through"
    assert all(s["total"] == 602 for s in midway)
    assert any(s["rate"] > 0 and s["eta"] is not None for s in midway)
    dones = [s["done"] for s in running]
    assert dones == sorted(dones), "files done only ever grows"

    final = seen[-1]
    assert final["status"] == "done" and final["percent"] == 100
    summary = final["summary"]
    assert (summary["added"], summary["failed"]) == (600, 2)
    reasons = {Path(f["path"]).name: f["reason"] for f in summary["failures"]}
    assert reasons == {"empty.txt": "empty file", "binary.txt": "not a text file (binary content)"}

    page = parse_html(client.get("/admin/job").data)
    assert figure(page, "added") == "600"
    assert figure(page, "failed") == "2"
    assert any("empty.txt" in r and "empty file" in r for r in rows(page, "failures"))
    panel = page.xpath("//*[@id='job-panel']")[0]
    assert panel.get("hx-trigger") is None, "a finished job is no longer polled"

    entry = history.recent(console.index_dir, 1)[0]
    assert (entry.kind, entry.status, entry.added, entry.failed) == ("reindex", "done", 600, 2)
    assert entry.who.startswith("Ann (")


def test_the_job_panel_polls_while_running_and_a_second_job_is_refused(tmp_path):
    console = make_console(tmp_path, files=500)
    client = console.client
    token = sign_in(client)
    assert start_reindex(client, token).status_code == 303
    fragment = client.get("/admin/job", headers={"HX-Request": "true", "HX-Target": "job-panel"})
    state = client.get("/admin/job.json").get_json()
    if state["status"] == "running":
        html = fragment.data.decode()
        assert html.lstrip().startswith("<section id=\"job-panel\"")
        assert "<html" not in html and 'hx-trigger="every 1s"' in html
        assert "<progress" in html
        second = start_reindex(client, token, mode="rebuild")
        assert second.status_code == 409
        assert b"already running" in second.data
        optimize = client.post("/admin/optimize", data={"csrf_token": token})
        assert optimize.status_code == 409
    assert wait_for_job(client)["summary"]["added"] == 500
    assert fragment.headers.get("Vary") and "HX-Target" in fragment.headers["Vary"]
    kinds = [e.kind for e in history.recent(console.index_dir)]
    assert kinds == ["reindex"], "the refused jobs never ran"


def test_searching_keeps_working_during_a_reindex(tmp_path):
    console = make_console(tmp_path, files=40)
    client = console.client
    token = sign_in(client)
    start_reindex(client, token)
    assert wait_for_job(client)["summary"]["added"] == 40
    write_corpus(console.src, 700, start=1000)

    with LiveServer(console.app) as live:
        def search(q: str) -> dict:
            with urllib.request.urlopen(f"{live.url}/api/search?q={q}", timeout=30) as r:
                assert r.status == 200
                return json.loads(r.read())

        assert search("Marker5")["total"] == 1
        errors: list[BaseException] = []
        totals: list[int] = []
        stop = threading.Event()

        def reader() -> None:
            try:
                while not stop.is_set():
                    totals.append(search("")["total"])
                    time.sleep(0.02)
            except BaseException as e:  # noqa: BLE001 -- reported by the assertion below
                errors.append(e)

        thread = threading.Thread(target=reader)
        thread.start()
        assert start_reindex(client, token).status_code == 303
        final = wait_for_job(client)
        time.sleep(1.2)  # the engine looks for a new commit about once a second
        stop.set()
        thread.join(30)
        assert not errors, errors
        assert final["summary"]["added"] == 700
        assert len(totals) > 10, "searches ran throughout the job"
        assert min(totals) >= 40, "readers always saw at least the committed articles"
        assert search("Marker1500")["total"] == 1, "new articles are found after the commit"
        assert search("Marker5")["total"] == 1


_KILLED_RUN = """
import sys, time
from pathlib import Path
from index.jobs import JobRunner, index_work
runner = JobRunner(Path(sys.argv[1]), Path(sys.argv[3]))
runner.start("reindex", "Reindex all sources", index_work(Path(sys.argv[1]), [Path(sys.argv[2])]),
             who="test")
time.sleep(600)
"""


def test_a_job_killed_with_its_server_is_reported_interrupted(tmp_path):
    src, index_dir, instance = tmp_path / "src", tmp_path / "index", tmp_path / "instance"
    write_corpus(src, 30)
    runner = JobRunner(index_dir, instance)
    runner.start("reindex", "first", index_work(index_dir, [src]))
    runner.wait(60)
    before = _count(index_dir)
    assert before == 30
    write_corpus(src, 1500, start=100)

    proc = subprocess.Popen([sys.executable, "-c", _KILLED_RUN, str(index_dir), str(src),
                             str(instance)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = folder.read_json(index_dir, JOB_FILE, {})
            if state.get("label") == "Reindex all sources" and state.get("done", 0) > 20:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the job never got going")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)

    assert folder.read_json(index_dir, JOB_FILE, {})["status"] == "running"
    restarted = JobRunner(index_dir, instance)
    state = restarted.state()
    assert state is not None and state.status == INTERRUPTED
    assert "last commit" in (state.error or "")
    assert folder.read_json(index_dir, JOB_FILE, {})["status"] == INTERRUPTED
    assert _count(index_dir) == before, "the index stays at its last commit"
    entry = history.recent(instance, 1)[0]
    assert (entry.status, entry.label) == (INTERRUPTED, "Reindex all sources")

    # The console shows it so, and running again finishes the work.
    from tests.console_fixtures import make_app
    app = make_app(tmp_path, [src])
    client = app.test_client()
    token = sign_in(client)
    page = parse_html(client.get("/admin/job").data)
    assert page.xpath("//*[@data-status='interrupted']")
    assert "start the job again" in page.text_content()
    start_reindex(client, token)
    assert wait_for_job(client)["summary"]["added"] == 1500
    assert _count(index_dir) == 1530


def test_rebuild_and_optimize_from_the_console(tmp_path):
    console = make_console(tmp_path, files=30)
    client = console.client
    token = sign_in(client)
    source = str(console.src.resolve())
    for start in (100, 200, 300):
        write_corpus(console.src, 5, start=start)
        start_reindex(client, token, source=source)
        assert wait_for_job(client)["status"] == "done"
    health = parse_html(client.get("/admin/health").data)
    segments = int(figure(health, "segments"))
    assert segments > 1
    assert client.post("/admin/optimize", data={"csrf_token": token}).status_code == 303
    final = wait_for_job(client)
    assert final["status"] == "done"
    assert final["summary"]["segments_before"] == segments
    assert final["summary"]["segments_after"] == 1
    health = parse_html(client.get("/admin/health").data)
    assert figure(health, "segments") == "1"

    gen_before = store.current_generation(console.index_dir)
    start_reindex(client, token, source=source, mode="rebuild")
    rebuilt = wait_for_job(client)
    assert rebuilt["summary"]["rebuilt"] is True and rebuilt["summary"]["articles"] == 45
    assert store.current_generation(console.index_dir) != gen_before

    sources = parse_html(client.get("/admin/").data)
    row = rows(sources, "sources")[0]
    assert source in row and "45" in row
    kinds = [e.kind for e in history.recent(console.index_dir)]
    assert kinds[:2] == ["rebuild", "optimize"]
    history_page = client.get("/admin/history").data.decode()
    assert "Optimize the index" in history_page and "Ann (" in history_page


def _count(index_dir: Path) -> int:
    ix = store.open_current(index_dir)
    assert ix is not None
    with ix.searcher() as s:
        return s.doc_count()


def test_runners_in_different_workers_agree_on_the_running_job(tmp_path):
    """Two runners over one folder stand for two worker processes of one server."""
    release = threading.Event()

    def slow(progress):
        progress(Progress(1, 2, "a"))
        release.wait(10)
        progress(Progress(2, 2, "b"))
        return {"added": 2}

    first = JobRunner(tmp_path / "ix", tmp_path)
    second = JobRunner(tmp_path / "ix", tmp_path)
    first.start("reindex", "Reindex all sources", slow, who="Ann")
    seen = second.state()
    assert seen.running and seen.label == "Reindex all sources"
    with pytest.raises(JobBusy):
        second.start("reindex", "again", slow)
    release.set()
    first.wait(10)
    done = second.state()
    assert done.status == "done" and done.summary == {"added": 2}
    # Finished cleanly: nobody reports it as interrupted.
    assert JobRunner(tmp_path / "ix", tmp_path).state().status == "done"
