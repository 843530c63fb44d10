"""What hostile requests cost `archivist serve`, and what they do to other readers.

    python -m tests.bench.hostile_bench [--articles N] [--repeats 5] [--duration 30]

The hostile requests are those of `tests/test_hostile_requests.py` (a fuzzy
`~9` on a 30-letter word, leading and repeated `*`, 4,000 characters of
words, 400 nested brackets, 300 quote marks, page 1,000,000,000, per_page
100,000, 1,000 tags, 1,000 NOTs, `title:` 500 times, 2,000 distinct words,
...). The server is the real thing: `archivist serve` in its own process (one
process, its default 8 threads) on a free 127.0.0.1 port, over Reuters-21578
as page dumps when ``../shared/corpora/reuters21578`` is there, else over a
generated corpus of 19,000 articles; ``--articles N`` asks for a generated
corpus of N articles instead. Pages and index are built once into
``bench-out/hostile-<corpus>-schema<V>/`` and reused (``ready.json`` is
written last). The server runs with ``MAX_QUERY_CHARS`` raised to 4,000 (what
`SearchRequest` keeps at most; the default 500 hides the plan's own bounds;
``--max-query-chars`` changes it).

Two measurements:

1. **CPU per request.** Each hostile request is sent alone, one at a time,
   `--repeats` times on every reader's route; the server's CPU time (all its
   threads, from ``/proc/<pid>/task/*/schedstat``, nanoseconds; the coarser
   ``/proc/<pid>/stat`` utime+stime, in clock ticks, is summed over the run as
   a cross-check) is read before and after each. Every repeat is a request
   the engine has not seen: the search text's words are separated by a
   different run of spaces (a single word gets trailing `the`s, a stop word),
   which changes the request and so misses both the answer cache and the
   suggestion cache, while the plan searched is the same. The 30 ordinary
   searches of part 2 give the yardstick row, measured the same way.
2. **Latency of ordinary searches.** Four client threads send ordinary 1-3
   word searches (whole result pages, `/?q=...`, each cache-busted the same
   way) without pause; in alternating windows, a fifth thread sends the
   hostile requests back to back on every route. p50/p95 of the ordinary
   searches are compared between the windows with and without it.

Output is Markdown on stdout (progress on stderr). Only loopback is
contacted; nothing outside the work folder is written. Exit status 1 when any
answer was not 200 or the server logged a traceback.
"""

from __future__ import annotations

import argparse
import glob
import http.client
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from index.embedded.schema import SCHEMA_VERSION
from tests.bench import reuters
from tests.bench.loadtest import load_average, percentile
from tests.corpus import write_corpus
from tests.servers import free_port, start_archivist, stop_process
from tests.test_hostile_requests import HOSTILE

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "bench-out"
GENERATED = 19_000
#: CPU ms above which a request is flagged in the table.
FLAG_MS = 100.0

#: Ordinary searches a reader makes: words common to Reuters and the generated corpus.
ORDINARY = [
    "oil", "oil price", "gas", "energy market", "trade", "tariff", "export", "import",
    "bank rate", "inflation", "budget", "minister", "wheat", "grain harvest", "shipping",
    "port", "copper", "gold price", "steel industry", "strike", "dollar", "currency",
    "growth", "recession", "mining", "election", "union strike", "trade policy",
    "oil export price", "interest rate",
]

#: Route name -> path (the article path is filled in once the server answers).
ROUTES = {
    "/": "/",
    "/api/search": "/api/search",
    "/feed.atom": "/feed.atom",
    "/export.csv": "/export.csv",
    "/export.json": "/export.json",
    "/articles/ID": "/articles/{id}",
    "/tags": "/tags",
}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- corpus and index --------------------------------------------------------------------


@dataclass(frozen=True)
class Workspace:
    corpus: str
    folder: Path
    index_dir: Path
    articles: int


def prepare(work: Path, articles: int | None) -> Workspace:
    """The page dumps and their index, built on the first run and reused after."""
    reuters_there = reuters.DEFAULT_CORPUS.is_dir() and any(
        reuters.DEFAULT_CORPUS.glob("reut2-*.sgm.gz"))
    if articles is None and reuters_there:
        name = "reuters21578"
    else:
        name = f"generated-{articles or GENERATED}"
    folder = work / f"hostile-{name}-schema{SCHEMA_VERSION}"
    pages, index_dir, ready = folder / "pages", folder / "index", folder / "ready.json"
    if ready.exists() and (index_dir / "CURRENT").exists():
        facts = json.loads(ready.read_text("utf-8"))
        say(f"reusing {folder} ({facts['articles']:,} articles)")
        return Workspace(name, folder, index_dir, facts["articles"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    t0 = time.monotonic()
    if name == "reuters21578":
        files = reuters.convert(reuters.DEFAULT_CORPUS, pages)
    else:
        files = len(write_corpus(pages, articles or GENERATED))
    say(f"wrote {files:,} page dumps in {time.monotonic() - t0:.0f} s; indexing (once)...")
    t0 = time.monotonic()
    jobs = str(min(2, os.cpu_count() or 1))
    run = subprocess.run(
        [sys.executable, "-m", "webui.cli", "--index-dir", str(index_dir), "index", "--quiet",
         "--json", "--jobs", jobs, str(pages)],
        cwd=ROOT, capture_output=True, text=True,
    )
    if run.returncode != 0:
        raise SystemExit(f"indexing failed:\n{run.stderr}")
    summary = json.loads(run.stdout)
    count = summary.get("articles") or summary.get("added") or files
    say(f"indexed {count:,} articles in {time.monotonic() - t0:.0f} s")
    ready.write_text(json.dumps({"corpus": name, "articles": count, "files": files,
                                 "index_seconds": round(time.monotonic() - t0, 1)}), "utf-8")
    return Workspace(name, folder, index_dir, count)


# -- the server ---------------------------------------------------------------------------


def get(port: int, path: str, conn: http.client.HTTPConnection | None = None):
    """(status, body) of GET `path`; on a connection given, kept alive."""
    own = conn is None
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        if own:
            c.close()


def cpu_ns(pid: int) -> int:
    """CPU time of all the server's threads so far, in ns (schedstat)."""
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            total += int(Path(path).read_text().split()[0])
        except (OSError, ValueError, IndexError):  # a thread that just ended
            pass
    return total


def cpu_ticks(pid: int) -> int:
    """utime + stime of the server process, in clock ticks (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


# -- cache-busting -------------------------------------------------------------------------


#: Every request of a run gets its own variant number (`next` on a count is atomic).
_VARIANTS = itertools.count(1)
#: A search text has at least this many gaps, so 16 ** GAPS variants exist.
GAPS = 4


def busted(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`params` with the search text's gaps widened by the next variant number:
    a request the answer and suggestion caches have never seen, the same plan.

    The number is written in base 16 over the gaps (each 1 to 16 spaces), so
    the text grows by a few dozen characters at most; a text with fewer than
    `GAPS` gaps first gets trailing `the`s (a stop word, left out of the plan).
    """
    variant = next(_VARIANTS)
    out = []
    for k, v in params:
        if k == "q":
            words = [w for w in v.split(" ") if w] or [v]
            while len(words) < GAPS + 1:
                words.append("the")
            gaps, n = [], variant
            for _ in range(len(words) - 1):
                gaps.append(" " * (1 + n % 16))
                n //= 16
            v = words[0] + "".join(g + w for g, w in zip(gaps, words[1:], strict=True))
        out.append((k, v))
    return out


# -- part 1: CPU per request -------------------------------------------------------------


@dataclass
class Cost:
    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)


def measure(port: int, pid: int, path: str, conn: http.client.HTTPConnection,
            cost: Cost) -> None:
    c0 = cpu_ns(pid)
    t0 = time.perf_counter()
    status, body = get(port, path, conn)
    wall = time.perf_counter() - t0
    # The response is sent before the request's thread is done with it; let
    # its last few microseconds land before reading the clock again.
    time.sleep(0.002)
    cost.cpu_ms.append((cpu_ns(pid) - c0) / 1e6)
    cost.wall_ms.append(wall * 1000)
    if status != 200:
        cost.bad.append(f"{status} {path[:120]}")


def cpu_table(port: int, pid: int, article: str,
              repeats: int) -> tuple[str, list[str], list[str]]:
    rows: dict[str, dict[str, Cost]] = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    ticks0, ns0 = cpu_ticks(pid), cpu_ns(pid)
    names = ["ordinary searches (30)"] + list(HOSTILE)
    for name in names:
        say(f"  {name}")
        rows[name] = {}
        for route, template in ROUTES.items():
            cost = rows[name].setdefault(route, Cost())
            path = template.format(id=article)
            if name.startswith("ordinary"):
                for q in ORDINARY:
                    measure(port, pid, path + "?" + urlencode(busted([("q", q)])), conn, cost)
                continue
            for _ in range(repeats):
                qs = urlencode(busted(HOSTILE[name].params))
                measure(port, pid, f"{path}?{qs}", conn, cost)
    conn.close()
    tick_ms = (cpu_ticks(pid) - ticks0) * 1000 / os.sysconf("SC_CLK_TCK")
    ns_ms = (cpu_ns(pid) - ns0) / 1e6
    lines = ["| request | " + " | ".join(ROUTES) + " |",
             "|---|" + "---:|" * len(ROUTES)]
    worst = []
    bad: list[str] = []
    for name, by_route in rows.items():
        cells = []
        for route, cost in by_route.items():
            med, top = statistics.median(cost.cpu_ms), max(cost.cpu_ms)
            cell = f"{med:.0f} / {top:.0f}"
            if top > FLAG_MS:
                cell = f"**{cell}**"
                worst.append(f"{name} on {route}: median {med:.0f} ms, max {top:.0f} ms CPU "
                             f"(wall median {statistics.median(cost.wall_ms):.0f} ms)")
            cells.append(cell)
            bad += cost.bad
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    note = (f"CPU summed over this part: {ns_ms:,.0f} ms from schedstat, {tick_ms:,.0f} ms "
            f"from /proc/<pid>/stat utime+stime")
    return "\n".join(lines), worst + [note], bad


# -- part 2: latency of ordinary searches --------------------------------------------------


class Clients:
    """Four readers and one attacker, sending requests back to back.

    Readers send while `running` is set; the attacker while `hostile_on` is
    set too. A reader's request counts for the window it started and ended
    in; `attacker_idle` lets a window without the attacker wait for its last
    request to end first.
    """

    def __init__(self, port: int, article: str) -> None:
        self.port = port
        self.article = article
        self.running = threading.Event()
        self.stop = threading.Event()
        self.hostile_on = threading.Event()
        self.attacker_idle = threading.Event()
        self.attacker_idle.set()
        self.lock = threading.Lock()
        self.ordinary: dict[str, list[float]] = {"alone": [], "hostile": []}
        self.hostile: list[float] = []
        self.bad: list[str] = []

    def _mode(self) -> str | None:
        if not self.running.is_set():
            return None
        return "hostile" if self.hostile_on.is_set() else "alone"

    def _send(self, conn, path: str):
        t0 = time.perf_counter()
        try:
            status, _ = get(self.port, path, conn)
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            status = f"{type(e).__name__}"
        elapsed = (time.perf_counter() - t0) * 1000
        if status != 200:
            with self.lock:
                self.bad.append(f"{status} {path[:120]}")
        return conn, elapsed

    def reader(self, number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        i = number
        while not self.stop.is_set():
            if not self.running.wait(0.1):
                continue
            mode = self._mode()
            q = ORDINARY[i % len(ORDINARY)]
            i += 7
            conn, ms = self._send(conn, "/?" + urlencode(busted([("q", q)])))
            if mode is not None and self._mode() == mode:
                with self.lock:
                    self.ordinary[mode].append(ms)
        conn.close()

    def attacker(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        pairs = [(name, path) for name in HOSTILE for path in ROUTES.values()]
        i = 0
        while not self.stop.is_set():
            if not (self.running.is_set() and self.hostile_on.is_set()):
                time.sleep(0.02)
                continue
            name, template = pairs[i % len(pairs)]
            i += 1
            qs = urlencode(busted(HOSTILE[name].params))
            self.attacker_idle.clear()
            conn, ms = self._send(conn, template.format(id=self.article) + "?" + qs)
            self.attacker_idle.set()
            with self.lock:
                self.hostile.append(ms)
        conn.close()


def latency(port: int, pid: int, article: str, duration: float, rounds: int):
    clients = Clients(port, article)
    threads = [threading.Thread(target=clients.reader, args=(n,), daemon=True)
               for n in range(4)]
    threads.append(threading.Thread(target=clients.attacker, daemon=True))
    for t in threads:
        t.start()
    cpu = {"alone": 0.0, "hostile": 0.0}
    window = duration / rounds
    for r in range(rounds):
        for mode in ("alone", "hostile"):
            say(f"  round {r + 1}/{rounds}: {mode}, {window:.0f} s")
            if mode == "hostile":
                clients.hostile_on.set()
            else:
                clients.hostile_on.clear()
                clients.attacker_idle.wait(60)
            time.sleep(0.5)  # requests of the previous window drain (not counted)
            c0 = cpu_ns(pid)
            clients.running.set()
            time.sleep(window)
            clients.running.clear()
            cpu[mode] += (cpu_ns(pid) - c0) / 1e9
            time.sleep(0.5)
    clients.stop.set()
    for t in threads:
        t.join(timeout=180)

    def row(label: str, values: list[float], seconds: float, cpu_s: float | None) -> str:
        v = sorted(values)
        cpu_cell = f"{cpu_s / seconds:.0%}" if cpu_s is not None else ""
        return (f"| {label} | {len(v):,} | {len(v) / seconds:.1f} | {percentile(v, 50):.0f} | "
                f"{percentile(v, 95):.0f} | {percentile(v, 99):.0f} | {v[-1]:.0f} | "
                f"{cpu_cell} |")

    seconds = window * rounds
    lines = ["| requests | count | req/s | p50 ms | p95 ms | p99 ms | max ms | "
             "server CPU (of one core) |", "|---|---:|---:|---:|---:|---:|---:|---:|",
             row("ordinary searches, 4 threads alone", clients.ordinary["alone"], seconds,
                 cpu["alone"]),
             row("ordinary searches, 4 threads + 1 hostile thread",
                 clients.ordinary["hostile"], seconds, cpu["hostile"]),
             row("the hostile thread's requests (all routes)", clients.hostile, seconds, None)]
    return "\n".join(lines), clients.bad


# -- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=None,
                    help="use a generated corpus of N articles (default: Reuters-21578 when "
                         f"present, else {GENERATED:,} generated articles)")
    ap.add_argument("--repeats", type=int, default=5,
                    help="times each hostile request is sent on each route (default 5)")
    ap.add_argument("--duration", type=float, default=30.0,
                    help="seconds of ordinary load in each mode, with and without the "
                         "hostile thread (default 30)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating windows per mode (default 3)")
    ap.add_argument("--max-query-chars", type=int, default=4000,
                    help="the server's MAX_QUERY_CHARS (default 4000; the app's default is 500)")
    ap.add_argument("--work", type=Path, default=WORK, help="cache folder (default bench-out)")
    args = ap.parse_args(argv)

    ws = prepare(args.work, args.articles)
    port = free_port()
    log = ws.folder / "serve.log"
    server = start_archivist(ws.index_dir, port, log, "--workers", "1",
                             env={"ARCHIVIST_MAX_QUERY_CHARS": str(args.max_query_chars)})
    try:
        _, body = get(port, "/api/search?q=oil")
        article = json.loads(body)["hits"][0]["id"]
        say("warming up (every route once, a prefix search to read the vocabulary)")
        for q in ORDINARY:
            for template in ROUTES.values():
                get(port, template.format(id=article) + "?"
                    + urlencode(busted([("q", q)])))
        get(port, "/?q=oi*")
        load_before = load_average()
        say("part 1: CPU per request")
        cpu_md, notes, bad1 = cpu_table(port, server.pid, article, args.repeats)
        say("part 2: latency of ordinary searches")
        lat_md, bad2 = latency(port, server.pid, article, args.duration, args.rounds)
        load_after = load_average()
    finally:
        stop_process(server)
    logged = log.read_text("utf-8", "replace")

    print(f"\n### Hostile requests against `archivist serve` ({ws.corpus}, "
          f"{ws.articles:,} articles)\n")
    print(f"- server: one process, 8 threads, `MAX_QUERY_CHARS={args.max_query_chars}`; "
          f"{os.cpu_count()} CPUs; load average before {load_before}, after {load_after}")
    print(f"- CPU ms per request, **median / max** of {args.repeats} cache-busted repeats "
          f"(ordinary: of the 30 searches once each); server threads' CPU from "
          f"/proc/<pid>/task/*/schedstat; bold: max over {FLAG_MS:.0f} ms\n")
    print(cpu_md)
    print()
    for line in notes:
        print(f"- {line}")
    print(f"\n#### Ordinary searches (`/?q=`, whole pages) with and without a hostile "
          f"thread: {args.rounds} alternating windows of {args.duration / args.rounds:.0f} s "
          "per mode\n")
    print(lat_md)
    failures = bad1 + bad2
    if failures:
        print(f"\n{len(failures)} answers were not 200; first ones:")
        for f in failures[:10]:
            print(f"- `{f}`")
    if "Traceback" in logged:
        first = logged[logged.index("Traceback"):][:3000]
        print(f"\nThe server logged errors (see {log}):\n```\n{first}\n```")
    return 1 if failures or "Traceback" in logged else 0


if __name__ == "__main__":
    sys.exit(main())
