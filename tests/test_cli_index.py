"""The `archivist` CLI as a librarian runs it: real subprocesses, real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.embedded import store
from index.folder import write_lock
from tests.corpus import write_corpus

ROOT = Path(__file__).resolve().parents[1]


def archivist(*args: str, index_dir: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "webui.cli", "--index-dir", str(index_dir), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=240, **kw,
    )


def _as_in_a_terminal() -> None:
    # A shell starts background jobs with SIGINT ignored, and a child keeps
    # that; Python then never turns Ctrl-C into KeyboardInterrupt. Give the
    # child the disposition a terminal gives, wherever the tests run from.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(*args: str, index_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "webui.cli", "--index-dir", str(index_dir), *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_as_in_a_terminal,
    )


def indexed_ids(index_dir: Path) -> set[str]:
    ix = store.open_current(index_dir)
    assert ix is not None, "the index must always open"
    with ix.searcher() as s:
        return {f["id"] for f in s.all_stored_fields()}


def test_index_prints_one_summary_line_and_json(tmp_path):
    write_corpus(tmp_path / "c", 5)
    (tmp_path / "c" / "empty.txt").write_text("")
    run = archivist("index", str(tmp_path / "c"), index_dir=tmp_path / "ix")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "added 5, updated 0, unchanged 0, removed 0, failed 1"
    assert "empty.txt: empty file" in run.stderr
    again = archivist("index", "--json", str(tmp_path / "c"), index_dir=tmp_path / "ix")
    data = json.loads(again.stdout)
    assert (data["unchanged"], data["failed"]) == (5, 1)
    assert data["failures"][0]["reason"] == "empty file"


def test_strict_exits_1_when_a_file_failed(tmp_path):
    write_corpus(tmp_path / "c", 2)
    assert archivist("index", "--strict", str(tmp_path / "c"), index_dir=tmp_path / "ix"
                     ).returncode == 0
    (tmp_path / "c" / "junk.txt").write_bytes(b"\x00\xff\x00")
    run = archivist("index", "--strict", str(tmp_path / "c"), index_dir=tmp_path / "ix")
    assert run.returncode == 1
    assert "junk.txt: not a text file" in run.stderr


def test_second_writer_waits_then_gives_a_clear_message(tmp_path):
    write_corpus(tmp_path / "c", 2)
    with write_lock(tmp_path / "ix"):
        t0 = time.monotonic()
        run = archivist("index", "--wait", "1", str(tmp_path / "c"), index_dir=tmp_path / "ix")
        waited = time.monotonic() - t0
    assert run.returncode == 3
    assert "another indexing run holds the lock" in run.stderr
    assert f"pid {os.getpid()}" in run.stderr
    assert "Traceback" not in run.stderr
    assert waited >= 1.0
    assert archivist("index", str(tmp_path / "c"), index_dir=tmp_path / "ix").returncode == 0


def _wait_for_progress(proc: subprocess.Popen, until_done: bool) -> None:
    """Read progress lines until the run is under way (or has read every file)."""
    for line in proc.stderr:
        if not line.startswith("indexed "):
            continue
        done, total = (int(x) for x in line.split()[1].split("/"))
        if not until_done or done == total:
            return
    pytest.fail("the indexing run ended before it could be interrupted")


@pytest.mark.parametrize("moment", ["while parsing", "while committing"])
def test_kill_9_mid_run_keeps_the_last_commit_and_the_next_run_finishes(tmp_path, moment):
    corpus, ix_dir = tmp_path / "c", tmp_path / "ix"
    write_corpus(corpus, 200)
    assert archivist("index", str(corpus), index_dir=ix_dir).returncode == 0
    committed = indexed_ids(ix_dir)
    write_corpus(corpus, 1500, start=200)
    (corpus / "article-000000.txt").unlink()

    proc = start("index", str(corpus), index_dir=ix_dir)
    _wait_for_progress(proc, until_done=moment == "while committing")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    assert indexed_ids(ix_dir) == committed, "a killed run must leave the last commit"
    run = archivist("index", "--json", str(corpus), index_dir=ix_dir)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert (data["added"], data["removed"], data["unchanged"]) == (1500, 1, 199)
    assert len(indexed_ids(ix_dir)) == 1699


def test_ctrl_c_abandons_the_run_cleanly(tmp_path):
    corpus, ix_dir = tmp_path / "c", tmp_path / "ix"
    write_corpus(corpus, 50)
    assert archivist("index", str(corpus), index_dir=ix_dir).returncode == 0
    committed = indexed_ids(ix_dir)
    write_corpus(corpus, 1500, start=50)
    proc = start("index", str(corpus), index_dir=ix_dir)
    _wait_for_progress(proc, until_done=False)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    assert indexed_ids(ix_dir) == committed


def test_rebuild_from_the_cli_swaps_generations(tmp_path):
    write_corpus(tmp_path / "c", 3)
    ix_dir = tmp_path / "ix"
    archivist("index", str(tmp_path / "c"), index_dir=ix_dir)
    gen = store.current_generation(ix_dir)
    run = archivist("index", "--rebuild", index_dir=ix_dir)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "added 0, updated 0, unchanged 3, removed 0, failed 0"
    assert store.current_generation(ix_dir) != gen
    assert len(indexed_ids(ix_dir)) == 3


def test_index_dir_comes_from_the_environment(tmp_path):
    write_corpus(tmp_path / "c", 1)
    env = {**os.environ, "ARCHIVIST_INDEX_DIR": str(tmp_path / "envix")}
    run = subprocess.run([sys.executable, "-m", "webui.cli", "index", str(tmp_path / "c")],
                         cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert len(indexed_ids(tmp_path / "envix")) == 1
