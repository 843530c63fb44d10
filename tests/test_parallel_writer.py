"""A fresh index written by worker processes (`IndexOptions(jobs=2)`).

Each worker parses files and writes a segment of its own; the run's process
decides which articles go in and commits the segments together. The index
must be the one a single process writes, article for article, posting for
posting, with the same vocabulary file and the same account of the run;
and killing any process of the run must leave the previous index as it was.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.embedded import store, vocabulary
from index.vocabulary import VocabularyData
from index.writer import PARALLEL_MIN_FILES, IndexOptions, update
from tests.corpus import write_corpus
from tests.index_contents import contents, differences

ROOT = Path(__file__).resolve().parents[1]


def _archive(folder: Path) -> Path:
    """More files than it takes to start workers, with duplicate ids across
    files, a bad line and a file that is not text."""
    write_corpus(folder, PARALLEL_MIN_FILES + 70)
    records = [{"id": f"shared-{i}", "title": f"Shared {i}",
                "body": f"Ledger entry {i} of the port."} for i in range(5)]
    (folder / "exports-a.jsonl").write_text(
        "\n".join(json.dumps(r) for r in records) + "\n{not json}\n", "utf-8")
    (folder / "exports-b.jsonl").write_text(
        "\n".join(json.dumps(r) for r in records[2:]), "utf-8")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 8)
    return folder


def _vocabulary(index_dir: Path) -> VocabularyData | None:
    ix = store.open_current(index_dir)
    try:
        return vocabulary.load(store.current_generation(index_dir), ix.latest_generation())
    finally:
        ix.close()


def _account(summary) -> dict:
    data = summary.to_json()
    data.pop("seconds")
    return data


def test_workers_write_the_index_one_process_writes(tmp_path):
    archive = _archive(tmp_path / "archive")
    one = update(tmp_path / "one", [archive])
    two = update(tmp_path / "two", [archive], options=IndexOptions(jobs=2))
    assert _account(one) == _account(two)
    # Three ids used again by the second export, its bad line, the binary file.
    assert one.failed == 5
    ix_one, ix_two = store.open_current(tmp_path / "one"), store.open_current(tmp_path / "two")
    try:
        assert differences(contents(ix_one), contents(ix_two)) == []
        assert len(ix_two.reader().leaf_readers()) == 2, "a segment per worker"
    finally:
        ix_one.close()
        ix_two.close()
    assert _vocabulary(tmp_path / "one") == _vocabulary(tmp_path / "two") is not None


def test_a_rebuild_with_workers_replaces_the_index(tmp_path):
    archive = _archive(tmp_path / "archive")
    update(tmp_path / "ix", [archive])
    (archive / "article-000003.txt").unlink()
    rebuilt = update(tmp_path / "ix", [archive], rebuild=True, options=IndexOptions(jobs=2))
    assert rebuilt.removed == 1 and rebuilt.rebuilt
    update(tmp_path / "fresh", [archive])
    a, b = store.open_current(tmp_path / "ix"), store.open_current(tmp_path / "fresh")
    try:
        assert differences(contents(a), contents(b)) == []
    finally:
        a.close()
        b.close()


# The child: a rebuild with two workers that, at file N, SIGKILLs either its
# own process or one of its workers, after saying which processes those are.
CHILD = r"""
import json, multiprocessing, os, signal, sys
from pathlib import Path
from index.writer import IndexOptions, update

index_dir, corpus, kill_at, victim = json.loads(sys.argv[1])

def progress(p):
    if p.done == kill_at:
        workers = [c.pid for c in multiprocessing.active_children()]
        print("workers", *workers, flush=True)
        os.kill(os.getpid() if victim == "run" else workers[0], signal.SIGKILL)

try:
    update(Path(index_dir), [Path(corpus)], rebuild=True, options=IndexOptions(jobs=2),
           progress=progress)
    print("committed", flush=True)
except RuntimeError as e:
    print("failed", flush=True)
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] in ("Z", "X")  # ended, not reaped
    except FileNotFoundError:
        return True


def _kill_run(tmp_path: Path, victim: str) -> subprocess.CompletedProcess:
    """Index an archive, then run the child on it with more files, killing
    `victim` ("run" or "worker") at file 60; the previous index must be
    intact and no worker left running."""
    archive = _archive(tmp_path / "archive")
    index_dir = tmp_path / "ix"
    update(index_dir, [archive])
    ix = store.open_current(index_dir)
    before = contents(ix)
    ix.close()
    write_corpus(archive, 10, start=1000)  # the killed run has new work to lose
    args = json.dumps([str(index_dir), str(archive), 60, victim])
    proc = subprocess.run([sys.executable, "-c", CHILD, args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    said = proc.stdout.split()
    assert said[0] == "workers", proc.stderr
    workers = [int(p) for p in said[1:3]]
    deadline = time.monotonic() + 10
    while not all(_gone(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_gone(p) for p in workers), "no worker outlives its run"
    ix = store.open_current(index_dir)
    try:
        after = contents(ix)
    finally:
        ix.close()
    assert differences(before, after) == [], "the previous index is intact"
    return proc


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_killing_the_run_leaves_the_previous_index_and_no_workers(tmp_path):
    proc = _kill_run(tmp_path, "run")
    assert proc.returncode == -signal.SIGKILL
    # The next run finishes the work, and the half-written generation goes.
    summary = update(tmp_path / "ix", [tmp_path / "archive"], rebuild=True,
                     options=IndexOptions(jobs=2))
    assert summary.added == 10
    assert sorted(p.name for p in (tmp_path / "ix").glob("gen-*")) == [
        "gen-000001", "gen-000003"]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_a_killed_worker_fails_the_run_and_leaves_the_previous_index(tmp_path):
    proc = _kill_run(tmp_path, "worker")
    assert proc.stdout.split()[-1] == "failed", proc.stderr
    # Nothing of the failed run is left behind.
    assert sorted(p.name for p in (tmp_path / "ix").glob("gen-*")) == ["gen-000001"]
    assert os.listdir(tmp_path / "ix" / "gen-000001")
