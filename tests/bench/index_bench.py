"""Indexing throughput: articles per second, one process against two.

    python -m tests.bench.index_bench [--out bench-out] [--limit N]

Converts the Reuters-21578 corpus from ../shared into page dumps (or, where
the corpus is absent, writes a deterministic generated corpus of the same
order of size), then times a from-scratch `archivist index` run with
`--jobs 1` and `--jobs 2` into fresh index folders, and an incremental run
over the unchanged files. Prints a Markdown table, with the figures measured
before the speed work of issue 16 beside them.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from index.writer import IndexOptions, update
from tests.bench import reuters
from tests.corpus import write_corpus

CORPUS = reuters.DEFAULT_CORPUS

#: The figures issue 16 measured before the speed work (Reuters page dumps, this
#: 2-core machine), printed beside each run so a regression shows at a glance.
#: Only comparable when the corpus is Reuters.
EARLIER = {"full index, --jobs 1": "256", "full index, --jobs 2": "578",
           "incremental, nothing changed": "7,187"}


def prepare(out: Path) -> tuple[Path, str]:
    """Page dumps to index, and a name for where they came from."""
    pages = out / "pages"
    if pages.exists():
        shutil.rmtree(pages)
    if CORPUS.exists():
        n = reuters.convert(CORPUS, pages)
        return pages, f"Reuters-21578 as page dumps ({n:,} files)"
    write_corpus(pages, 19_000)
    return pages, "generated corpus (19,000 files; Reuters corpus absent)"


def timed_run(pages: Path, index_dir: Path, jobs: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    summary = update(index_dir, [pages], options=IndexOptions(jobs=jobs))
    return time.perf_counter() - t0, summary.added + summary.unchanged + summary.updated


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="work folder (default: a temp dir)")
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="archivist-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    pages, what = prepare(out)
    rows = []
    for jobs in (1, 2):
        ix = out / f"ix-jobs{jobs}"
        shutil.rmtree(ix, ignore_errors=True)
        seconds, n = timed_run(pages, ix, jobs)
        rows.append((f"full index, --jobs {jobs}", n, seconds))
    seconds, n = timed_run(pages, out / "ix-jobs1", 1)
    rows.append(("incremental, nothing changed", n, seconds))
    print(f"\nIndexing throughput: {what}\n")
    print("| run | articles | seconds | articles/s | before issue 16 |")
    print("|---|---:|---:|---:|---:|")
    for name, n, s in rows:
        earlier = EARLIER[name] if what.startswith("Reuters") else "n/a"
        print(f"| {name} | {n:,} | {s:.1f} | {n / s:,.0f} | {earlier} |")
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
