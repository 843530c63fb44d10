"""`kill -9` of the indexer at twenty points, and the index survives every one.

One archive lives through twenty rounds. Each round changes its files (new
articles, edited ones, deleted ones), then starts an indexing run in a child
process and kills it with SIGKILL somewhere in the middle:

- at a chosen file of an incremental run (the child's progress callback kills
  its own process, so the point is exact and repeatable),
- at a chosen file of a rebuild (a new generation half written),
- during the commit (a timed kill after the last file, while Whoosh writes
  and merges segments and swaps its table of contents),
- during an optimize after a run (Whoosh merging every segment into one).

After each kill the index must open, and both what it stores and what the
search engine finds must be the last committed state: the state before the
run, or, for a timed kill that landed after the commit, the state the run
was making. Then a normal run finishes the work, and the index must equal
one built from scratch over the same files: the same ids with the same
stored fields, and no deleted documents left over in the counts.

The kill points come from a seeded random generator, so a failure names a
round that reruns identically.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index import folder
from index.embedded import store
from index.writer import update
from search.embedded.engine import Engine
from search.request import SearchRequest
from tests.corpus import page_dump, write_corpus

ROOT = Path(__file__).resolve().parents[1]
SEED = 20_578
KILLS = {"file": 9, "rebuild": 3, "commit": 5, "optimize": 3}
START_FILES = 80

# The child: one indexing run (optionally a rebuild, optionally followed by
# an optimize) that SIGKILLs itself when its progress reaches file N, and
# says on stdout when it reaches the commit and the optimize, so the parent
# can time a kill into them.
CHILD = r"""
import json, os, signal, sys
from pathlib import Path
from index import folder
from index.embedded import store
from index.writer import update

index_dir, corpus, kill_at, rebuild, optimize = json.loads(sys.argv[1])

def progress(p):
    if p.done == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    if p.done == p.total:
        print("committing", flush=True)

update(Path(index_dir), [Path(corpus)], rebuild=rebuild, progress=progress)
print("committed", flush=True)
if optimize:
    with folder.write_lock(Path(index_dir)):
        ix = store.open_current(Path(index_dir))
        print("optimizing", flush=True)
        ix.optimize()
        ix.close()
print("done", flush=True)
"""


def snapshot(index_dir: Path) -> dict[str, dict]:
    """Every stored article of the current generation, by id (the index must open)."""
    ix = store.open_current(index_dir)
    assert ix is not None, "the index must always open"
    try:
        with ix.searcher() as s:
            docs = {f["id"]: f for f in s.all_stored_fields()}
            assert s.doc_count() == len(docs), "an id is stored twice"
    finally:
        ix.close()
    return docs


def found_by_engine(index_dir: Path, word: str | None = None) -> set[str]:
    """The ids the search engine answers for `word` (or for browsing everything)."""
    engine = Engine(index_dir)
    try:
        ids: set[str] = set()
        page = 1
        while True:
            results = engine.run(SearchRequest(q=word or "", per_page=100, page=page))
            ids |= {hit.id for hit in results.hits}
            if page >= results.pages:
                return ids
            page += 1
    finally:
        engine.close()


def assert_searchable_as(index_dir: Path, expected: dict[str, dict], revision: int) -> None:
    """The engine finds exactly the expected articles, and their current text."""
    assert found_by_engine(index_dir) == set(expected)
    word = f"revision{revision}"
    with_word = {i for i, f in expected.items() if word in f.get("body", "")}
    assert found_by_engine(index_dir, word) == with_word


class Archive:
    """The folder of page dumps the rounds change, with its own seeded history."""

    def __init__(self, folder: Path, rng: random.Random) -> None:
        self.folder = folder
        self.rng = rng
        self.next_number = START_FILES
        write_corpus(folder, START_FILES)

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("*.txt"))

    def change(self, revision: int) -> None:
        """Add, edit and delete a few files; edits carry the word revisionN."""
        rng = self.rng
        files = self.files()
        for path in rng.sample(files, rng.randint(2, 5)):
            path.unlink()
            files.remove(path)
        for path in rng.sample(files, rng.randint(2, 6)):
            number = int(path.stem.split("-")[1])
            text = page_dump(number, random.Random(revision * 7919 + number))
            path.write_text(text.replace("\n\n", f" revision{revision}.\n\n", 3), "utf-8")
        write_corpus(self.folder, rng.randint(3, 10), seed=revision, start=self.next_number)
        self.next_number += 10


def reference(corpus: Path, where: Path) -> dict[str, dict]:
    """The state an index built from scratch over `corpus` has."""
    update(where, [corpus])
    return snapshot(where)


def kill_run(index_dir: Path, corpus: Path, kind: str, rng: random.Random, total: int) -> str:
    """Run the child, kill it at a point of `kind`; return the last thing it said."""
    kill_at = rng.randint(1, total) if kind in ("file", "rebuild") else -1
    args = json.dumps([str(index_dir), str(corpus), kill_at, kind == "rebuild",
                       kind == "optimize"])
    proc = subprocess.Popen([sys.executable, "-c", CHILD, args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    said = ""
    if kind in ("commit", "optimize"):
        wait_for = "committing" if kind == "commit" else "optimizing"
        for line in proc.stdout:
            said = line.strip()
            if said == wait_for:
                # Here a commit takes about 40 ms and an optimize about 200:
                # most kills land inside, some just after; both must be safe.
                time.sleep(rng.uniform(0.0, 0.04 if kind == "commit" else 0.2))
                break
        proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    lines = [said, *out.split()]
    assert proc.returncode == -signal.SIGKILL or lines[-1] == "done", err
    return [x for x in lines if x][-1] if any(lines) else ""


def test_kill_9_at_twenty_points_never_loses_the_last_commit(tmp_path):
    rng = random.Random(SEED)
    corpus, index_dir = tmp_path / "archive", tmp_path / "ix"
    archive = Archive(corpus, rng)
    update(index_dir, [corpus])
    committed = snapshot(index_dir)
    assert len(committed) == START_FILES

    kinds = [k for k, n in KILLS.items() for _ in range(n)]
    rng.shuffle(kinds)
    landed = {"before the commit": 0, "after the commit": 0}
    for revision, kind in enumerate(kinds, 1):
        archive.change(revision)
        wanted = reference(corpus, tmp_path / f"scratch-{revision}")
        said = kill_run(index_dir, corpus, kind, rng, len(archive.files()))

        state = snapshot(index_dir)
        where = f"round {revision} ({kind} kill; the child last said {said!r})"
        if state != committed:
            # Only a timed kill may land after the commit; then the run's
            # whole work must be there, never part of it.
            assert kind in ("commit", "optimize"), where
            assert state == wanted, where
            landed["after the commit"] += 1
            assert_searchable_as(index_dir, wanted, revision)
        else:
            landed["before the commit"] += 1
            assert_searchable_as(index_dir, committed, revision - 1)

        summary = update(index_dir, [corpus])
        assert summary.failed == 0, where
        committed = snapshot(index_dir)
        assert committed == wanted, where
        assert_searchable_as(index_dir, wanted, revision)

    assert sum(landed.values()) == len(kinds) == 20
    assert landed["before the commit"] >= 12, landed

    # A last optimize (uninterrupted) changes nothing a reader sees.
    with folder.write_lock(index_dir):
        ix = store.open_current(index_dir)
        ix.optimize()
        ix.close()
    assert snapshot(index_dir) == reference(corpus, tmp_path / "scratch-final")


@pytest.mark.parametrize("kill_at", [1, 40])
def test_a_killed_first_run_leaves_no_index_and_the_next_run_builds_it(tmp_path, kill_at):
    # With nothing committed yet, "the last committed state" is no index at
    # all: nothing half-built may be taken for one.
    corpus = tmp_path / "archive"
    write_corpus(corpus, 40)
    args = json.dumps([str(tmp_path / "ix"), str(corpus), kill_at, False, False])
    run = subprocess.run([sys.executable, "-c", CHILD, args], cwd=ROOT, capture_output=True,
                         timeout=120)
    assert run.returncode == -signal.SIGKILL
    assert store.open_current(tmp_path / "ix") is None
    assert found_by_engine(tmp_path / "ix") == set()
    update(tmp_path / "ix", [corpus])
    assert snapshot(tmp_path / "ix") == reference(corpus, tmp_path / "scratch")
