"""Search latency: Archivist against SQLite FTS5 on the same articles.

    python -m tests.bench.search_bench [--work bench-out] [--sizes 1,10] [--passes 5]

The question this answers is the one a reader feels: how long does one whole
results page take, from the request to 10 hits with their snippets, the tag
facet and the date facet? It is measured at the Reuters-21578 corpus's size
(about 19,000 articles) and at ten times that, and every time next to SQLite
FTS5 answering the same page from the same articles, in the same run, so the
ratio says something even on a busy machine.

How the run goes:

1. For each size (``--sizes``, in copies of the corpus), page dumps and an
   Archivist index are built into the work folder, once: a later run with
   the same corpus, copies and `SCHEMA_VERSION` finds ``ready.json`` and
   reuses them, which matters because indexing 190,000 articles takes many
   minutes. Where ``../shared/corpora/reuters21578`` is absent a
   deterministic generated corpus of the same size stands in.
2. An FTS5 database is built from the same page dumps, read by Archivist's
   own page dump reader, so both engines see the same titles, bodies,
   dates and tags.
3. 100 queries of 1 to 3 words are drawn with a fixed seed from the
   smallest size's frequent title words and word pairs (stop words left
   out); a tenth of them also filter on a tag and a tenth on a month. The
   same list is used for every size and both engines.
4. Each engine answers every query once (the "first pass", reported apart),
   then `--passes` times more, the two engines taking turns query by query
   so that load from elsewhere falls on both alike. A query's latency is
   the median of its later passes; p50, p95 and the mean are over the 100
   queries.

The table goes to stdout and to ``<work>/search-bench.md``. This module
never writes outside the work folder and never changes an index it did not
build itself.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import whoosh

from index.article import Article
from index.embedded.schema import SCHEMA_VERSION
from index.formats import pagedump
from index.sources import load, walk
from index.writer import IndexOptions, update
from search.embedded.engine import Engine
from search.request import SearchRequest, date_bounds
from tests.bench import reuters
from tests.corpus import write_corpus

REPO = Path(__file__).resolve().parents[2]
DEFAULT_WORK = REPO / "bench-out"
#: Articles per copy of the generated stand-in (about Reuters' usable count).
GENERATED_BASE = 19_000
QUERY_SEED = 21578
QUERY_COUNT = 100
HITS = 10
#: Bumped when `build_fts` changes, so a cached FTS5 database is rebuilt.
FTS_VERSION = 1

# Common English words, plus the wire's own filler ("says", "sees", "qtr"):
# a reader does not search for these, and the two engines treat stop words
# differently (Archivist drops them, FTS5 keeps them), so a query made of
# them would compare nothing.
STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be
    because been before being below between both but by can could did do does
    doing down during each few for from further had has have having he her
    here hers him his how i if in into is it its itself just me more most my
    no nor not now of off on once only or other our out over own same she
    should so some such than that the their them then there these they this
    those through to too under until up very was we were what when where
    which while who whom why will with would you your
    says said say sees see set sets seen new year years pct mln dlrs dlr cts
    vs qtr shr net inc corp co ltd plc unit units may us usa u s
    """.split()
)
_TITLE_WORD = re.compile(r"[a-z]{3,}")
# Reuters titles name companies with their ticker: "MERRILL LYNCH <MER> ...".
_TICKER = re.compile(r"<[^>]*>")


# -- the corpus at one size ---------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    """Where the articles come from: Reuters-21578, or the generated stand-in."""

    name: str
    reuters_dir: Path | None = None
    generated_base: int = GENERATED_BASE

    @classmethod
    def default(cls) -> Corpus:
        """Reuters when ../shared holds it, else the generated corpus."""
        if reuters.DEFAULT_CORPUS.is_dir() and any(reuters.DEFAULT_CORPUS.glob("reut2-*.sgm.gz")):
            return cls("reuters21578", reuters.DEFAULT_CORPUS)
        return cls("generated")

    def describe(self) -> str:
        if self.reuters_dir is not None:
            return "Reuters-21578 converted to page dumps"
        return f"generated corpus ({self.generated_base:,} articles a copy; Reuters absent)"

    def write_pages(self, out: Path, copies: int) -> int:
        """Write `copies` copies of the corpus as page dumps; return how many."""
        if self.reuters_dir is not None:
            return reuters.convert(self.reuters_dir, out, copies=copies)
        write_corpus(out, self.generated_base * copies)
        return self.generated_base * copies


@dataclass(frozen=True)
class BenchSet:
    """One size, ready to search: its page dumps, index and FTS5 database."""

    copies: int
    articles: int
    pages: Path
    index: Path
    fts: Path

    @property
    def label(self) -> str:
        return f"{self.copies}x"


def cache_key(corpus: Corpus, copies: int) -> str:
    """The folder name a size is cached under; a new schema means a new folder."""
    extra = "" if corpus.reuters_dir is not None else f"-{corpus.generated_base}"
    return f"search-{corpus.name}{extra}-x{copies}-schema{SCHEMA_VERSION}"


def prepare(work: Path, corpus: Corpus, copies: int, jobs: int = 2,
            say: Callable[[str], None] = print) -> BenchSet:
    """The size `copies` of `corpus`, built into `work` unless already there.

    ``ready.json`` is written last, so a run killed half-way is started over
    rather than measured on a half-built index.
    """
    folder = work / cache_key(corpus, copies)
    ready = folder / "ready.json"
    pages, index = folder / "pages", folder / "index"
    fts = folder / f"fts5-v{FTS_VERSION}.sqlite"
    if ready.exists():
        facts = json.loads(ready.read_text(encoding="utf-8"))
        say(f"{copies}x: reusing {folder} ({facts['articles']:,} articles)")
        if not fts.exists():
            _timed_fts(fts, pages, copies, say)
        return BenchSet(copies, facts["articles"], pages, index, fts)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    n = corpus.write_pages(pages, copies)
    say(f"{copies}x: wrote {n:,} page dumps in {time.perf_counter() - t0:.0f}s")
    t0 = time.perf_counter()
    summary = update(index, [pages], options=IndexOptions(jobs=jobs))
    index_s = time.perf_counter() - t0
    say(f"{copies}x: indexed {summary.articles:,} articles in {index_s:.0f}s "
        f"({summary.failed} failures)")
    _timed_fts(fts, pages, copies, say)
    ready.write_text(json.dumps({
        "corpus": corpus.name, "copies": copies, "schema": SCHEMA_VERSION,
        "articles": summary.articles, "index_seconds": round(index_s, 1),
    }, indent=2), encoding="utf-8")
    return BenchSet(copies, summary.articles, pages, index, fts)


def _timed_fts(fts: Path, pages: Path, copies: int, say: Callable[[str], None]) -> None:
    # Written under a temporary name: a half-built database is never reused.
    t0 = time.perf_counter()
    partial = fts.with_suffix(".partial")
    n = build_fts(partial, read_articles(pages))
    partial.replace(fts)
    say(f"{copies}x: built FTS5 of {n:,} articles in {time.perf_counter() - t0:.0f}s")


def read_articles(pages: Path) -> Iterator[Article]:
    """Every article of the page dumps, read exactly as the indexer reads them."""
    for found in walk([pages]):
        loaded = load(found)
        if loaded.text is None:
            continue
        for item in pagedump.read(loaded.text):
            if isinstance(item, Article):
                yield item


# -- the SQLite FTS5 peer ---------------------------------------------------


def build_fts(path: Path, articles: Iterable[Article]) -> int:
    """Write an FTS5 database of `articles` at `path`; return how many.

    Archivist looks a word up in the title, the body and the tags, so the
    FTS5 table has the same three columns, ranked with the same weights
    (3, 1, 2). Dates and tags for facets and filters live in plain tables
    keyed by the FTS5 rowid, indexed the way a careful developer would.
    """
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    try:
        db.executescript("""
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE VIRTUAL TABLE fts USING fts5(
                title, body, tags, tokenize = 'porter unicode61 remove_diacritics 2');
            CREATE TABLE meta (rowid INTEGER PRIMARY KEY, id TEXT, date TEXT, month TEXT);
            CREATE TABLE tag (rowid INTEGER, tag TEXT, label TEXT);
        """)
        n = 0
        for rowid, a in enumerate(articles, 1):
            day = a.date.isoformat() if a.date else None
            db.execute("INSERT INTO fts (rowid, title, body, tags) VALUES (?, ?, ?, ?)",
                       (rowid, a.title, a.body, " ".join(t.label for t in a.tags)))
            db.execute("INSERT INTO meta VALUES (?, ?, ?, ?)",
                       (rowid, a.id, day, day[:7] if day else None))
            db.executemany("INSERT INTO tag VALUES (?, ?, ?)",
                           [(rowid, t.key, t.label) for t in a.tags])
            n += 1
        db.executescript("""
            CREATE INDEX tag_by_tag ON tag (tag, rowid);
            CREATE INDEX tag_by_row ON tag (rowid);
            CREATE INDEX meta_by_date ON meta (date);
            INSERT INTO fts (fts) VALUES ('optimize');
            ANALYZE;
        """)
        db.commit()
        return n
    finally:
        db.close()


def fts_match(words: Sequence[str]) -> str:
    """An FTS5 MATCH expression requiring every word, each quoted as a string.

    Quoting keeps a reader's ``AND``, ``NEAR`` or ``col:`` from being read as
    syntax; a double quote inside a word is doubled, FTS5's escape.
    """
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


@dataclass
class FtsPage:
    """The FTS5 engine's answer to one query: what the results page shows."""

    total: int
    hits: list[tuple[str, str, str | None, list[str]]]  # title, snippet, date, tags
    tags: list[tuple[str, int]]
    months: list[tuple[str, int]]
    years: list[tuple[str, int]]


class FtsEngine:
    """SQLite FTS5 answering the same results page as `Engine.run`."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)

    def close(self) -> None:
        self.db.close()

    def run(self, query: Query) -> FtsPage:
        """Total, top 10 with snippets, tag counts and month/year counts."""
        db = self.db
        where = "fts MATCH ?"
        args: list = [fts_match(query.words)]
        # The unary + keeps a filter a filter: without it SQLite hands the
        # rowid list to FTS5 as a constraint and FTS5 runs the whole MATCH
        # again for every rowid (seconds, for a tag like "usa").
        if query.tag:
            where += " AND +rowid IN (SELECT rowid FROM tag WHERE tag = ?)"
            args.append(query.tag)
        if query.month:
            start, end = date_bounds(query.month)
            where += " AND +rowid IN (SELECT rowid FROM meta WHERE date BETWEEN ? AND ?)"
            args += [start.isoformat(), end.isoformat()]
        matches = f"SELECT rowid FROM fts WHERE {where}"
        total = db.execute(f"SELECT count(*) FROM fts WHERE {where}", args).fetchone()[0]
        top = [r for (r,) in db.execute(
            f"SELECT rowid FROM fts WHERE {where} ORDER BY bm25(fts, 3.0, 1.0, 2.0) LIMIT ?",
            [*args, HITS])]
        hits = []
        if top:
            # Snippets only for the ten shown: in one statement with the ranking,
            # SQLite would cut a snippet for every match before sorting.
            marks = ",".join("?" * len(top))
            rows = {r: (t, s) for r, t, s in db.execute(
                f"SELECT rowid, title, snippet(fts, 1, '<mark>', '</mark>', '…', 24) "
                f"FROM fts WHERE fts MATCH ? AND rowid IN ({marks})", [args[0], *top])}
            dates = dict(db.execute(f"SELECT rowid, date FROM meta WHERE rowid IN ({marks})", top))
            labels = collections.defaultdict(list)
            for r, label in db.execute(
                    f"SELECT rowid, label FROM tag WHERE rowid IN ({marks})", top):
                labels[r].append(label)
            hits = [(*rows[r], dates.get(r), labels[r]) for r in top]
        tags = db.execute(
            f"SELECT tag, count(*) FROM tag WHERE rowid IN ({matches}) "
            "GROUP BY tag ORDER BY 2 DESC, 1 LIMIT 30", args).fetchall()
        months = db.execute(
            f"SELECT month, count(*) FROM meta WHERE rowid IN ({matches}) "
            "GROUP BY month ORDER BY month", args).fetchall()
        years: dict[str, int] = collections.Counter()
        for month, count in months:
            years[(month or "undated")[:4]] += count
        return FtsPage(total, hits, tags, months, sorted(years.items()))


# -- the queries -------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """One benchmark query: 1-3 words, and at most one tag or month filter."""

    words: tuple[str, ...]
    tag: str = ""
    month: str = ""  # "YYYY-MM"

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def request(self) -> SearchRequest:
        """The same query as a reader's Archivist request."""
        args = {"q": self.text}
        if self.tag:
            args["tag"] = self.tag
        if self.month:
            args["from"] = args["to"] = self.month
        return SearchRequest.from_args(args)[0]

    def describe(self) -> str:
        extra = f" tag:{self.tag}" if self.tag else f" month:{self.month}" if self.month else ""
        return self.text + extra


def title_words(title: str) -> list[str]:
    """A title's searchable words, lower-cased, stop words and numbers gone."""
    text = _TICKER.sub(" ", title).lower()
    return [w for w in _TITLE_WORD.findall(text) if w not in STOP_WORDS]


def pick_queries(articles: Iterable[Article], count: int = QUERY_COUNT,
                 seed: int = QUERY_SEED) -> list[Query]:
    """`count` realistic queries, the same for the same articles and seed.

    Words come from titles, because titles are what people remember and
    search for: single words from the 300 most frequent, pairs and triples
    from the most frequent runs of adjacent words (after stop words are
    dropped). A tenth pair a frequent tag with a word frequent in that tag's
    titles (a filter that leaves nothing would measure little), and a tenth
    put a frequent word in a busy month.
    """
    words: collections.Counter[str] = collections.Counter()
    pairs: collections.Counter[tuple[str, ...]] = collections.Counter()
    triples: collections.Counter[tuple[str, ...]] = collections.Counter()
    tags: collections.Counter[str] = collections.Counter()
    words_by_tag: dict[str, collections.Counter[str]] = collections.defaultdict(
        collections.Counter)
    months: collections.Counter[str] = collections.Counter()
    for a in articles:
        ws = title_words(a.title)
        words.update(set(ws))
        pairs.update({tuple(ws[i:i + 2]) for i in range(len(ws) - 1) if ws[i] != ws[i + 1]})
        triples.update({tuple(ws[i:i + 3]) for i in range(len(ws) - 2)
                        if len(set(ws[i:i + 3])) == 3})
        tags.update(t.key for t in a.tags)
        for t in a.tags:
            words_by_tag[t.key].update(set(ws))
        if a.date:
            months[a.date.strftime("%Y-%m")] += 1

    def top(counter, n):
        # Ties are broken by the value itself, so the order never depends on
        # the order the articles were read in.
        return [k for k, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]

    rng = random.Random(seed)
    n_filtered = count // 10
    n_plain = count - 2 * n_filtered
    n_pairs, n_triples = n_plain * 3 // 10, n_plain // 10
    n_single = n_plain - n_pairs - n_triples
    plain = [(w,) for w in rng.sample(top(words, 300), n_single)]
    plain += rng.sample(top(pairs, 150), n_pairs)
    plain += rng.sample(top(triples, 60), n_triples)
    single = top(words, 100)
    queries = [Query(tuple(w)) for w in plain]
    for _ in range(n_filtered):
        tag = rng.choice(top(tags, 15))
        queries.append(Query((rng.choice(top(words_by_tag[tag], 20)),), tag=tag))
    queries += [Query((rng.choice(single),), month=rng.choice(top(months, 6)))
                for _ in range(n_filtered)]
    rng.shuffle(queries)
    return queries


# -- timing ------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """One engine's latencies at one size, in milliseconds."""

    size: str
    articles: int
    engine: str
    p50: float
    p95: float
    mean: float
    first_p95: float  # p95 of the first pass, when each query is new to the engine


def percentile(values: Sequence[float], p: float) -> float:
    """The `p`-th percentile (0-100) by linear interpolation between ranks."""
    xs = sorted(values)
    if not xs:
        raise ValueError("no values")
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def measure(bench: BenchSet, queries: Sequence[Query], passes: int = 5) -> list[Timing]:
    """Archivist's and FTS5's latencies for `queries` on `bench`.

    Both engines are opened with one query outside the list (Archivist
    builds its columns then). The first pass over the list is timed apart:
    it is each query's first sight, paying for postings not yet read and,
    in Archivist, snippets not yet sanitized (later passes reuse both, as a
    server does for a popular query).
    """
    # No answer cache: every pass measures the search itself (snippet HTML and
    # term postings stay cached, as in the server).
    engine, fts = Engine(bench.index), FtsEngine(bench.fts)
    requests = [q.request() for q in queries]
    names = ("Archivist", "SQLite FTS5")
    runs: dict[str, list[list[float]]] = {name: [] for name in names}
    try:
        engine.run(SearchRequest.from_args({"q": "zzzz"})[0])
        fts.run(Query(("zzzz",)))
        for _ in range(1 + passes):
            ours, theirs = [], []
            for q, r in zip(queries, requests, strict=True):
                t0 = time.perf_counter()
                engine.run(r)
                t1 = time.perf_counter()
                fts.run(q)
                t2 = time.perf_counter()
                ours.append((t1 - t0) * 1000)
                theirs.append((t2 - t1) * 1000)
            runs["Archivist"].append(ours)
            runs["SQLite FTS5"].append(theirs)
    finally:
        engine.close()
        fts.close()
    timings = []
    for name in names:
        first, *later = runs[name]
        per_query = [statistics.median(col) for col in zip(*later, strict=True)]
        timings.append(Timing(bench.label, bench.articles, name,
                              percentile(per_query, 50), percentile(per_query, 95),
                              statistics.fmean(per_query), percentile(first, 95)))
    return timings


def compare_totals(bench: BenchSet, queries: Sequence[Query]) -> list[tuple[Query, int, int]]:
    """(query, Archivist total, FTS5 total) for each query: do they agree?"""
    # No answer cache: every pass measures the search itself (snippet HTML and
    # term postings stay cached, as in the server).
    engine, fts = Engine(bench.index), FtsEngine(bench.fts)
    try:
        return [(q, engine.run(q.request()).total, fts.run(q).total) for q in queries]
    finally:
        engine.close()
        fts.close()


# -- reporting ---------------------------------------------------------------


def table(timings: Sequence[Timing]) -> str:
    """The Markdown table; the ratio is Archivist's over FTS5's at that size."""
    fts = {t.size: t for t in timings if t.engine == "SQLite FTS5"}
    lines = ["| size | articles | engine | p50 ms | p95 ms | mean ms | first pass p95 ms "
             "| ratio p50 / p95 |",
             "|---|---:|---|---:|---:|---:|---:|---:|"]
    for t in timings:
        peer = fts.get(t.size)
        ratio = ("1" if t.engine == "SQLite FTS5" or peer is None
                 else f"{t.p50 / peer.p50:.2f} / {t.p95 / peer.p95:.2f}")
        lines.append(f"| {t.size} | {t.articles:,} | {t.engine} | {t.p50:.1f} | "
                     f"{t.p95:.1f} | {t.mean:.1f} | {t.first_p95:.1f} | {ratio} |")
    return "\n".join(lines)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, or "unknown" where there are none."""
    if not hasattr(os, "getloadavg"):
        return "unknown"
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """The machine and versions the numbers belong to."""
    return (f"{os.cpu_count()} cores ({platform.machine()}, {platform.system()}); "
            f"Python {platform.python_version()}, Whoosh {whoosh.versionstring()}, "
            f"SQLite {sqlite3.sqlite_version}")


def report(corpus: Corpus, timings: Sequence[Timing], queries: Sequence[Query],
           passes: int, loads: tuple[str, str] = ("unknown", "unknown")) -> str:
    """The whole Markdown report: what was measured, on what, and the table.

    `loads` are the load averages before and after timing: on a shared
    machine they say how much the numbers were disturbed.
    """
    return "\n".join([
        "# Search latency",
        "",
        f"{len(queries)} queries of 1-3 words ({sum(1 for q in queries if q.tag)} with a tag "
        f"filter, {sum(1 for q in queries if q.month)} with a month), each answered as a "
        f"whole page: {HITS} hits with snippets, tag facet, date facet. {corpus.describe()}. "
        f"Latency per query is the median of {passes} passes after a first pass (whose "
        "p95 is shown apart); the ratio is Archivist's time over SQLite FTS5's.",
        "",
        f"Run {dt.datetime.now():%Y-%m-%d %H:%M} on {machine()}. "
        f"Load average before timing {loads[0]}, after {loads[1]}.",
        "",
        table(timings),
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.search_bench",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK,
                    help="folder to build and cache corpora and indexes in (default: bench-out)")
    ap.add_argument("--sizes", default="1,10",
                    help="comma-separated sizes, in copies of the corpus (default: 1,10)")
    ap.add_argument("--passes", type=int, default=5, help="timed passes per query (default: 5)")
    ap.add_argument("--jobs", type=int, default=2, help="indexing processes (default: 2)")
    ap.add_argument("--build-only", action="store_true", help="build the caches, measure nothing")
    args = ap.parse_args(argv)
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        ap.error("--sizes takes whole numbers, such as 1,10")
    if not sizes or sizes[0] < 1 or args.passes < 1:
        ap.error("sizes and --passes must be at least 1")

    corpus = Corpus.default()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    benches = [prepare(work, corpus, n, jobs=args.jobs) for n in sizes]
    if args.build_only:
        return 0
    # The queries come from the smallest size, so every size answers the same list.
    queries = pick_queries(read_articles(benches[0].pages))
    (work / "search-bench-queries.json").write_text(
        json.dumps([asdict(q) for q in queries], indent=1), encoding="utf-8")
    timings: list[Timing] = []
    before = load_average()
    for bench in benches:
        print(f"{bench.label}: timing {len(queries)} queries x {args.passes} passes ...",
              flush=True)
        timings += measure(bench, queries, args.passes)
    text = report(corpus, timings, queries, args.passes, (before, load_average()))
    (work / "search-bench.md").write_text(text, encoding="utf-8")
    print()
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
