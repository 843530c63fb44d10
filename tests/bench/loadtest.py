"""Load test: concurrent readers against `archivist serve`, every answer checked.

    python -m tests.bench.loadtest [--clients 16] [--duration 60] [--during-reindex]
    python -m tests.bench.loadtest --soak [--duration 600]

The server is the real thing: `archivist serve` in its own process on a free
127.0.0.1 port, over an index of Reuters-21578 as page dumps (or, where the
corpus is absent, a generated corpus of the same size). The index is built
once into `bench-out/loadtest-<corpus>/` at the repository root and reused.

Each client is a thread with its own keep-alive connection that replays a
reader's mix without pausing: searches typed letter by letter (htmx
fragments), whole searches, tag and date facet clicks, paging, article
pages, Atom feeds and the JSON API. Queries are drawn, from a seed, out of
the corpus itself (one to three words of one article, with that article's
tags and month), so the test knows which requests must find something.
Every answer is checked: status 200, the whole document (a page ends with
`</html>`, a fragment carries the results region and its status line, a
feed parses, JSON parses), and results where results must be. Failures are
counted as *errors* (no answer, or not 200), *empty* (a well-formed answer
with nothing where the corpus guarantees a match) or *partial* (a truncated
or malformed answer).

`--during-reindex` runs, while the load goes on, a full `archivist index
--rebuild` and then, after editing and adding a few files, an incremental
`archivist index`; the load lasts until both have finished (and at least
`--duration`). `--soak` (default ten minutes) samples the server's resident
memory (`VmRSS`) and open file descriptors after a warm-up and at the end:
memory must end within 10% of the warm-up figure, descriptors must not grow.

Output is Markdown: requests/s, p50/p95/p99 latency per kind of request and
overall, and the failure counts. The exit status is 1 when any request
failed or a soak verdict failed. Only loopback is ever contacted; nothing
outside `bench-out/` is written.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

from index.analysis import terms
from index.article import stable_id
from index.sources import source_key, source_names
from tests.bench import reuters
from tests.corpus import write_corpus
from tests.servers import free_port, start_archivist, stop_process

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "bench-out"
SEED = 21_578
#: Articles the query plan is drawn from (a deterministic sample of the corpus).
PLAN_SAMPLE = 1500
#: Files the reindex mode edits, and new files it adds, before the incremental run.
EDITED, ADDED = 12, 4
FRAGMENT = {"HX-Request": "true", "HX-Target": "results-region"}
ATOM = "{http://www.w3.org/2005/Atom}"
#: Kinds of request and how often a reader makes each (weights, not percents).
MIX = {
    "fragment: typing": 30,
    "fragment: search": 14,
    "fragment: facet": 14,
    "fragment: paging": 8,
    "page: search": 8,
    "page: article": 10,
    "feed": 4,
    "api: search": 8,
    "api: article": 4,
}
#: Words worth searching for: whole words of four to twelve letters.
_WORD = re.compile(r"\b[a-z]{4,12}\b")


# -- the corpus and its index ------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Workspace:
    """Where the benchmark's corpus and index live."""

    folder: Path
    pages: Path
    index_dir: Path
    corpus: str
    files: int


def prepare(cache: Path = CACHE) -> Workspace:
    """The page dumps and their index, built on the first run and reused after."""
    name = "reuters21578" if reuters.DEFAULT_CORPUS.exists() else "generated"
    folder = cache / f"loadtest-{name}"
    pages, index_dir = folder / "pages", folder / "index"
    ready = folder / "ready.json"
    if ready.exists() and (index_dir / "CURRENT").exists():
        info = json.loads(ready.read_text("utf-8"))
        return Workspace(folder, pages, index_dir, name, info["files"])
    shutil.rmtree(folder, ignore_errors=True)
    print(f"building the {name} corpus and its index in {folder} (once)...", file=sys.stderr)
    if name == "reuters21578":
        files = reuters.convert(reuters.DEFAULT_CORPUS, pages)
    else:
        files = len(write_corpus(pages, 19_000))
    started = time.monotonic()
    run = _archivist(index_dir, "index", "--quiet", str(pages))
    if run.returncode != 0:
        raise SystemExit(f"indexing failed:\n{run.stderr}")
    ready.write_text(json.dumps({"files": files, "index_seconds":
                                 round(time.monotonic() - started, 1)}), "utf-8")
    return Workspace(folder, pages, index_dir, name, files)


def _archivist(index_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "webui.cli", "--index-dir", str(index_dir), *args],
        cwd=ROOT, capture_output=True, text=True,
    )


# -- what readers ask for ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Facts:
    """One article of the corpus, as far as the query plan needs it."""

    id: str
    title: str
    words: tuple[str, ...]
    tags: tuple[str, ...]
    month: str | None


@dataclasses.dataclass
class Plan:
    """Articles to draw requests from, and words common enough to page through."""

    articles: list[Facts]
    common: list[str]


def _facts(path: Path, names: dict[str, str]) -> Facts | None:
    lines = path.read_text("utf-8").split("\n")
    if len(lines) < 5:
        return None
    title, date_line, body = lines[0].strip(), lines[2], " ".join(lines[4:])
    date, _, tag_text = date_line.partition("|")
    tags = tuple(t.strip() for t in tag_text.split(",") if t.strip())
    parts = date.strip().split("/")
    month = f"{parts[0]}-{parts[1]}" if len(parts) == 3 else None
    # Only words the analyzer keeps (no stop words) can be required.
    words = tuple(dict.fromkeys(w for w in _WORD.findall(body.lower()) if terms(w)))
    if not title or not words:
        return None
    # The id the indexer gives a page dump: from its place in its source.
    key = source_key(str(path.resolve()), names) or str(path.resolve())
    return Facts(stable_id(key), title, words, tags, month)


def make_plan(pages: Path, sample: int = PLAN_SAMPLE) -> Plan:
    """Draw the plan from an evenly spread, deterministic sample of the files."""
    files = sorted(pages.rglob("*.txt"))
    files = [f for f in files if "loadtest-extra" not in f.parts]
    step = max(1, len(files) // sample)
    names = source_names([str(pages.resolve())])  # the one source the workspace indexes
    articles = [f for f in (_facts(p, names) for p in files[::step]) if f is not None]
    df = collections.Counter(w for a in articles for w in set(a.words))
    # Found in at least 5% of the sample: many pages of results in the whole corpus.
    common = sorted(w for w, n in df.items() if n >= len(articles) // 20)
    return Plan(articles, common)


@dataclasses.dataclass(frozen=True)
class Request:
    """One request and what a correct answer to it must contain."""

    kind: str
    path: str
    headers: dict
    must_match: bool
    title: str = ""
    article_id: str = ""


def _query(rng: random.Random, facts: Facts) -> str:
    return " ".join(rng.sample(facts.words, min(len(facts.words), rng.randint(1, 3))))


def next_requests(rng: random.Random, plan: Plan) -> list[Request]:
    """A reader's next action: one request, or several for a query being typed."""
    kind = rng.choices(list(MIX), weights=list(MIX.values()))[0]
    facts = rng.choice(plan.articles)
    q = _query(rng, facts)
    if kind == "fragment: typing":
        # What htmx sends as the reader types (after its short delay): the
        # text grows a few letters at a time; only the whole query must match.
        cuts = sorted({rng.randint(2, len(q)) for _ in range(3)} | {len(q)})
        return [Request(kind, "/?" + urlencode({"q": q[:n]}), FRAGMENT, n == len(q))
                for n in cuts]
    if kind == "fragment: search":
        return [Request(kind, "/?" + urlencode({"q": q}), FRAGMENT, True)]
    if kind == "fragment: facet":
        params = [("q", q)]
        if facts.tags and (facts.month is None or rng.random() < 0.6):
            params += [("tag", t) for t in rng.sample(facts.tags, min(2, len(facts.tags)))]
        elif facts.month:
            params += [("from", facts.month), ("to", facts.month)]
        return [Request(kind, "/?" + urlencode(params), FRAGMENT, True)]
    if kind == "fragment: paging":
        word = rng.choice(plan.common)
        params = {"q": word, "page": rng.randint(2, 5)}
        if rng.random() < 0.3:
            params["sort"] = "newest"
        return [Request(kind, "/?" + urlencode(params), FRAGMENT, True)]
    if kind == "page: search":
        return [Request(kind, "/?" + urlencode({"q": q}), {}, True)]
    if kind == "page: article":
        return [Request(kind, f"/articles/{facts.id}?" + urlencode({"q": q}), {}, True,
                        title=facts.title, article_id=facts.id)]
    if kind == "feed":
        return [Request(kind, "/feed.atom?" + urlencode({"q": q}), {}, True)]
    if kind == "api: search":
        params = [("q", q)] + [("tag", t) for t in facts.tags[:1]]
        return [Request(kind, "/api/search?" + urlencode(params), {}, True)]
    return [Request(kind, f"/api/articles/{facts.id}", {}, True, article_id=facts.id)]


# -- checking answers -----------------------------------------------------------------


def check(req: Request, body: bytes) -> str | None:
    """None for a right answer; otherwise "empty" or "partial", with a reason."""
    if not body:
        return "partial: empty body"
    text = body.decode("utf-8", "replace")
    if req.kind.startswith("fragment"):
        if 'id="results-region"' not in text or 'id="status"' not in text \
                or not text.rstrip().endswith("</p>"):
            return "partial: fragment without its region and status"
        if "The archive is empty" in text or "not indexed" in text:
            return "empty: the archive looked empty"
        if req.must_match and 'class="hit"' not in text:
            return "empty: no hits"
        return None
    if req.kind == "page: search":
        if not text.rstrip().endswith("</html>") or 'id="results-region"' not in text:
            return "partial: page cut short"
        if req.must_match and 'class="hit"' not in text:
            return "empty: no hits"
        return None
    if req.kind == "page: article":
        if not text.rstrip().endswith("</html>") or 'id="article-body"' not in text:
            return "partial: article page cut short"
        if "<p dir=\"auto\">" not in text:
            return "empty: article without paragraphs"
        return None
    if req.kind == "feed":
        try:
            root = ET.fromstring(body)
        except ET.ParseError as e:
            return f"partial: feed does not parse ({e})"
        return None if root.findall(f"{ATOM}entry") else "empty: feed without entries"
    try:
        data = json.loads(body)
    except ValueError:
        return "partial: JSON does not parse"
    if req.kind == "api: article":
        return None if data.get("id") == req.article_id and data.get("paragraphs") \
            else "empty: article JSON without its id or paragraphs"
    if data.get("total", 0) <= 0 or not data.get("hits"):
        return "empty: total 0"
    expected = min(data["per_page"], data["total"] - (data["page"] - 1) * data["per_page"])
    return None if len(data["hits"]) == expected else "partial: fewer hits than the total says"


# -- clients ----------------------------------------------------------------------------


@dataclasses.dataclass
class Tally:
    """What one kind of request did: latencies and failures."""

    latencies: list[float] = dataclasses.field(default_factory=list)
    errors: int = 0
    empty: int = 0
    partial: int = 0
    examples: list[str] = dataclasses.field(default_factory=list)

    def failed(self, what: str, req: Request, why: str) -> None:
        setattr(self, what, getattr(self, what) + 1)
        if len(self.examples) < 3:
            self.examples.append(f"{why}: {req.path} (at {time.strftime('%H:%M:%S')})")


class Load:
    """N client threads replaying the mix until told to stop."""

    def __init__(self, port: int, plan: Plan, clients: int, seed: int = SEED) -> None:
        self.port = port
        self.plan = plan
        self.clients = clients
        self.seed = seed
        self.stop = threading.Event()
        self.recording = threading.Event()
        self.lock = threading.Lock()
        self.tallies: dict[str, Tally] = collections.defaultdict(Tally)
        self.threads = [threading.Thread(target=self._client, args=(i,), daemon=True)
                        for i in range(clients)]
        self.started = self.ended = 0.0

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def record(self) -> None:
        """Start counting (everything before was warm-up)."""
        with self.lock:
            self.tallies.clear()
            self.started = time.perf_counter()
        self.recording.set()

    def finish(self) -> None:
        self.ended = time.perf_counter()
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)

    def _client(self, number: int) -> None:
        rng = random.Random(self.seed * 1000 + number)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while not self.stop.is_set():
            for req in next_requests(rng, self.plan):
                if self.stop.is_set():
                    break
                conn = self._one(conn, req)
        conn.close()

    def _one(self, conn: http.client.HTTPConnection, req: Request):
        t0 = time.perf_counter()
        status, body, problem = 0, b"", None
        try:
            conn.request("GET", req.path, headers=req.headers)
            response = conn.getresponse()
            status, body = response.status, response.read()
        except (OSError, http.client.HTTPException) as e:
            problem = f"{type(e).__name__}: {e}"
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        elapsed = time.perf_counter() - t0
        if not self.recording.is_set():
            return conn
        verdict = None if problem or status != 200 else check(req, body)
        with self.lock:
            tally = self.tallies[req.kind]
            tally.latencies.append(elapsed)
            if problem or status != 200:
                tally.failed("errors", req, problem or f"status {status}")
            elif verdict:
                tally.failed(verdict.split(":")[0], req, verdict)
        return conn


# -- the server ------------------------------------------------------------------------------


def resources(pid: int) -> tuple[int, int]:
    """Resident memory in KiB and open file descriptors of the server.

    With several workers the server is the supervisor `pid` and its
    children; the figures are their sums.
    """
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    rss = fds = 0
    for p in (pid, *map(int, children)):
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1])
        fds += len(os.listdir(f"/proc/{p}/fd"))
    return rss, fds


def connections_per_worker(pid: int, port: int) -> list[int]:
    """How many client connections each worker process of the server holds.

    Keep-alive connections stay with the worker that accepted them, and the
    kernel picks that worker by a hash, so 16 clients may well split 10/6;
    the busier worker's queue is then the one that sets the p95. Counted
    from /proc: the workers' socket inodes against established TCP entries
    on the server's port.
    """
    established: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "01":
                established.add(f[9])
    counts = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        n = 0
        for fd in Path(f"/proc/{child}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in established:
                n += 1
        counts.append(n)
    return counts


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process `pid` and its children
    that are still alive (the server's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0.0
    for p in (pid, *map(int, children)):
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def machine_ticks() -> tuple[int, int]:
    """(all, stolen) CPU ticks of the machine so far, from /proc/stat.

    On a virtual machine the host may run other guests on "our" cores;
    that time is counted as steal, and latency figures from a window with
    much of it are not comparable with a quiet run's.
    """
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


def machine_speed() -> float:
    """Milliseconds this machine takes, right now, for a million random
    lookups in a dict of a million entries (best of two).

    A yardstick printed with every report. On a shared virtual machine the
    same code ran up to half again slower from one hour to the next, with no
    CPU time counted as stolen; a search is bound by memory more than by
    arithmetic, and so is this (a loop of additions did not notice).
    """
    rng = random.Random(SEED)
    table = {i: str(i) for i in range(1_000_000)}
    keys = [rng.randrange(1_000_000) for _ in range(1_000_000)]
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        for k in keys:
            table[k]
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# -- reindexing under load -----------------------------------------------------------------


class Reindexer(threading.Thread):
    """A full rebuild, then edits and an incremental run, on the served index."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__(daemon=True)
        self.ws = ws
        self.log: list[tuple[str, float, str]] = []

    def run(self) -> None:
        self._index("rebuild", "--rebuild")
        self._edit()
        self._index("incremental")

    def _index(self, name: str, *extra: str) -> None:
        t0 = time.monotonic()
        done = _archivist(self.ws.index_dir, "index", "--quiet", "--wait", "600", *extra)
        outcome = done.stdout.strip() or done.stderr.strip()[-300:]
        if done.returncode != 0:
            outcome = f"exit {done.returncode}: {outcome}"
        self.log.append((name, time.monotonic() - t0, outcome))

    def _edit(self) -> None:
        """Change a few files and add a few, so the incremental run has work.

        Each edit appends a stamped paragraph to the file's original text
        (kept aside on first use), so repeated runs never grow the corpus.
        """
        originals = self.ws.folder / "originals"
        files = sorted(p for p in self.ws.pages.rglob("*.txt") if "loadtest-extra" not in p.parts)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        for path in random.Random(SEED).sample(files, EDITED):
            keep = originals / path.relative_to(self.ws.pages)
            if not keep.exists():
                keep.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, keep)
            path.write_text(keep.read_text("utf-8").rstrip("\n")
                            + f"\n\nEdited by the load test at {stamp}.\n", "utf-8")
        extra = self.ws.pages / "loadtest-extra"
        extra.mkdir(exist_ok=True)
        for i in range(ADDED):
            (extra / f"added-{i}.txt").write_text(
                f"Load test addition {i}\n\n1987/10/20 | loadtest\n\n"
                f"Written by the load test at {stamp} to give the incremental run work.\n",
                "utf-8")


# -- the report -----------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def table(tallies: dict[str, Tally], seconds: float) -> str:
    rows = ["| request | count | req/s | p50 ms | p95 ms | p99 ms | errors | empty | partial |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def row(name: str, group: list[Tally]) -> str:
        lat = sorted(x for t in group for x in t.latencies)
        errors = sum(t.errors for t in group)
        empty = sum(t.empty for t in group)
        partial = sum(t.partial for t in group)
        return (f"| {name} | {len(lat):,} | {len(lat) / seconds:.1f} | "
                f"{percentile(lat, 50) * 1000:.0f} | {percentile(lat, 95) * 1000:.0f} | "
                f"{percentile(lat, 99) * 1000:.0f} | {errors} | {empty} | {partial} |")

    for kind in MIX:
        if kind in tallies:
            rows.append(row(kind, [tallies[kind]]))
    fragments = [t for k, t in tallies.items() if k.startswith("fragment")]
    rows.append(row("**all fragments**", fragments))
    rows.append(row("**all**", list(tallies.values())))
    return "\n".join(rows)


def failures(tallies: dict[str, Tally]) -> int:
    return sum(t.errors + t.empty + t.partial for t in tallies.values())


# -- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    ap.add_argument("--duration", type=float, default=None,
                    help="seconds of measured load (default 60; 600 with --soak)")
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds of unmeasured load first (default 10; 60 with --soak)")
    ap.add_argument("--threads", type=int, default=1,
                    help="server threads per worker (default 1, as `archivist serve` "
                         "uses with several workers)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="server worker processes (default: one per core)")
    ap.add_argument("--during-reindex", action="store_true",
                    help="rebuild, then incrementally reindex, the served index meanwhile")
    ap.add_argument("--soak", action="store_true",
                    help="long run; check the server's memory and open files")
    args = ap.parse_args(argv)
    duration = args.duration if args.duration is not None else (600.0 if args.soak else 60.0)
    warmup = args.warmup if args.warmup is not None else (60.0 if args.soak else 10.0)

    ws = prepare()
    plan = make_plan(ws.pages)
    port = free_port()
    log = ws.folder / "serve.log"
    server = start_archivist(ws.index_dir, port, log, "--threads", str(args.threads),
                             "--workers", str(args.workers))
    load_before = load_average()
    speed = machine_speed()
    load = Load(port, plan, args.clients)
    samples: list[tuple[float, int, int]] = []
    reindexer = Reindexer(ws) if args.during_reindex else None
    try:
        load.start()
        time.sleep(warmup)
        samples.append((0.0, *resources(server.pid)))
        cpu0 = (cpu_seconds(server.pid), time.process_time(), *machine_ticks())
        load.record()
        if reindexer:
            reindexer.start()
        t0 = time.monotonic()
        next_sample = t0 + 30
        while True:
            now = time.monotonic()
            if now - t0 >= duration and (reindexer is None or not reindexer.is_alive()):
                break
            if args.soak and now >= next_sample:
                samples.append((now - t0, *resources(server.pid)))
                next_sample += 30
            time.sleep(0.2)
        samples.append((time.monotonic() - t0, *resources(server.pid)))
        cpu1 = (cpu_seconds(server.pid), time.process_time(), *machine_ticks())
        spread = connections_per_worker(server.pid, port)
        load.finish()
    finally:
        load.stop.set()
        stop_process(server)
        server_errors = log.read_text("utf-8", "replace")
    seconds = load.ended - load.started
    load_after = load_average()

    mode = "during a rebuild and an incremental reindex" if reindexer else "idle archive"
    if args.soak:
        mode = "soak"
    print(f"\n### Load test: {args.clients} clients, {mode}\n")
    print(f"- corpus: {ws.corpus}, {ws.files:,} files; index `{ws.index_dir}`")
    print(f"- {seconds:.0f} s measured after {warmup:.0f} s warm-up; server: {args.workers} "
          f"worker process(es) x {args.threads} threads; clients without think time; "
          f"{len(plan.articles)} articles drawn on")
    print(f"- load average (1/5/15 min) before: {load_before}; after: {load_after}; "
          f"{os.cpu_count()} CPUs; yardstick (1M random lookups in a 1M-entry dict) "
          f"before the run: {speed:.0f} ms")
    served = sum(len(t.latencies) for t in load.tallies.values())
    if served:
        server_ms = (cpu1[0] - cpu0[0]) / served * 1000
        client_ms = (cpu1[1] - cpu0[1]) / served * 1000
        stolen = (cpu1[3] - cpu0[3]) / max(1, cpu1[2] - cpu0[2])
        print(f"- CPU per request: server {server_ms:.1f} ms, load generator "
              f"{client_ms:.1f} ms (both share the {os.cpu_count()} CPUs); "
              f"CPU time stolen by the host: {stolen:.1%}")
    if len(spread) > 1:
        print(f"- client connections per worker process at the end: "
              f"{', '.join(map(str, spread))}")
    if reindexer:
        for name, secs, outcome in reindexer.log:
            print(f"- {name} reindex: {secs:.0f} s, `{outcome}`")
    print()
    print(table(load.tallies, seconds))
    bad = failures(load.tallies)
    examples = [e for t in load.tallies.values() for e in t.examples]
    if examples:
        print("\nFirst failures:\n" + "\n".join(f"- {e}" for e in examples[:12]))
    queued = server_errors.count("Task queue depth")
    if queued:
        print(f"\nwaitress warned {queued:,} times that requests queued for a thread.")
    if "Traceback" in server_errors:
        first = server_errors[server_errors.index("Traceback"):][:3000]
        print(f"\nThe server logged errors (see {log}):\n```\n{first}\n```")
        bad += 1
    if args.soak:
        print("\n| after s | RSS MB | open fds |\n|---:|---:|---:|")
        for t, rss, fds in samples:
            print(f"| {t:.0f} | {rss / 1024:.1f} | {fds} |")
        (_, rss0, fd0), (_, rss1, fd1) = samples[0], samples[-1]
        rss_ok = abs(rss1 - rss0) <= 0.10 * rss0
        fds_ok = fd1 <= fd0
        print(f"\n- RSS after warm-up {rss0 / 1024:.1f} MB, at the end {rss1 / 1024:.1f} MB "
              f"({(rss1 - rss0) / rss0:+.1%}): {'within' if rss_ok else 'NOT within'} 10%")
        print(f"- open fds after warm-up {fd0}, at the end {fd1}: "
              f"{'no growth' if fds_ok else 'GREW'}")
        bad += (not rss_ok) + (not fds_ok)
    if reindexer and any(o.startswith("exit") for _, _, o in reindexer.log):
        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
