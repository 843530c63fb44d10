"""Relevance on Cranfield: Archivist's HTTP API against SQLite FTS5 BM25.

    python -m tests.bench.cranfield_eval [--collection cranfield|cisi|cacm]
                                         [--corpus FOLDER] [--work bench-out]
                                         [--k 10] [--json]
                                         [--base-url http://127.0.0.1:5000]
                                         [--set SEMANTIC_WEIGHT=0.5 ...]

The question this answers is whether Archivist ranks the right articles
first, measured the classic way: the Cranfield 1400 collection
(``../shared/corpora/cranfield``: 1,400 aeronautics abstracts, 225 queries,
graded judgements), nDCG@k and MAP@100 over every query, next to SQLite
FTS5 ranking the same abstracts by BM25.

How the run goes:

1. The abstracts become one JSON Lines file (id ``cran-<n>``, title, body;
   no date, no tags). The body is the ``.W`` text without the title it
   repeats at its start. Two abstracts (471 and 995) are empty and are left
   out of both engines (995 is judged relevant to one query, so neither
   engine can reach it). The file is indexed with ``archivist index`` into
   a folder of the work dir keyed by `SCHEMA_VERSION` and a hash of this
   module's conversion code, once; later runs reuse it.
2. An FTS5 table (``porter unicode61``) with title and body columns is
   built from the same records, ranked by ``bm25(t, 2.0, 1.0)``.
3. Each query is asked in two forms. "OR": its content words (lower-cased
   alphanumeric tokens, minus `search_bench.STOP_WORDS` and one-letter
   tokens, first occurrence kept) joined with ``OR``. "typed": the query as
   written in ``cran.qry`` (whitespace collapsed); FTS5 cannot read a
   sentence, so for FTS5 the typed form is the OR form again.
4. Archivist is asked through ``GET /api/search?q=...&per_page=100&verbatim=1``
   on ``archivist serve`` (one process, a free loopback port), or on the
   server ``--base-url`` names; ``hits[].id`` in order is its ranking. The
   server it starts has the configuration's defaults: `tests.servers` keeps
   a developer's ``ARCHIVIST_*`` variables from it, on purpose, so that only
   the ranking settings (`RANKING_SETTINGS`) reach it, and only when asked:
   ``--set NAME=VALUE`` or an ``ARCHIVIST_<NAME>`` variable in this
   process's environment (``--set`` wins). The report names every setting
   that was passed on.
5. Per query: nDCG@k with gain 5 - code for codes 1..4 (else 0), a log2
   discount and the ideal ranking of all the query's judged documents; and
   average precision over the first 100 (codes 1..4 relevant), divided by
   min(relevant, 100). Query k of the qrels is the k-th query of the file
   (their ``.I`` numbers have gaps).

The table goes to stdout and to ``<work>/<collection>-eval.md``; the
per-query figures to ``<work>/<collection>-eval.json`` (the previous run's
file is kept as ``<collection>-eval.previous.json``, and the run says on how
many queries nDCG moved since). This module never writes outside the work
folder.

**Other collections.** One judged collection invites tuning to its quirks,
so the same run reads two more of the classic test collections in the same
SMART layout, where a reader has a copy (they are not in ``../shared``;
`COLLECTIONS` names their files): CISI (1,460 library-science abstracts,
76 judged queries written as requests and questions) and CACM (3,204
computing abstracts and titles, 52 judged queries). Their judgements are
binary: a judged document is relevant, with the gain of Cranfield's best
code, so nDCG@k is the binary one. Their queries are numbered by ``.I`` in
the judgements, not by position. CACM gives only a title for about half its
records; Archivist wants a body, so such a record's body is its byline
(authors and source line), for both engines alike.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import inspect
import json
import math
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.embedded.schema import SCHEMA_VERSION
from tests.bench.search_bench import STOP_WORDS, fts_match, machine
from tests.servers import free_port, start_archivist, stop_process

REPO = Path(__file__).resolve().parents[2]
DEFAULT_WORK = REPO / "bench-out"
DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "cranfield"
#: Archivist's article id for document n of the collection (any of `COLLECTIONS`).
ID_PREFIX = "cran-"


@dataclass(frozen=True)
class Collection:
    """Where a judged collection's three files are and how to read them."""

    name: str
    title: str
    docs: str
    queries: str
    qrels: str
    graded: bool  # Cranfield's codes 1..4; else every judged pair is relevant
    by_position: bool  # query k of the judgements is the k-th query of the file
    byline_body: bool  # a record with no abstract gets its authors and source


COLLECTIONS = {
    "cranfield": Collection("cranfield", "Cranfield 1400", "cran.all.1400", "cran.qry",
                            "cranqrel", graded=True, by_position=True, byline_body=False),
    "cisi": Collection("cisi", "CISI", "CISI.ALL", "CISI.QRY", "CISI.REL",
                       graded=False, by_position=False, byline_body=False),
    "cacm": Collection("cacm", "CACM", "cacm.all", "query.text", "qrels.text",
                       graded=False, by_position=False, byline_body=True),
}
CRANFIELD = COLLECTIONS["cranfield"]
#: Settings (webui/config.py) that may be passed to the server this module starts.
RANKING_SETTINGS = ("SEMANTIC", "SEMANTIC_WEIGHT", "FEEDBACK")
#: Depth of the ranking read from each engine (the API's largest page) and MAP's cutoff.
DEPTH = 100
FORMS = ("OR", "typed")

#: A field line: ``.I 12``, ``.T``, ``.W``; also CISI's and CACM's ``.X``
#: (citations), ``.N`` (a note), ``.K`` (keywords) and ``.C`` (categories),
#: read so that they do not run on into the abstract.
_FIELD = re.compile(r"^\.([ITABWXNKC])\b ?(.*)$")
_TOKEN = re.compile(r"[a-z0-9]+")


# -- the collection ---------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    """One abstract of cran.all.1400."""

    id: int
    title: str
    author: str
    source: str
    text: str  # the .W field, which starts with the title again


@dataclass(frozen=True)
class Topic:
    """One query of cran.qry: `number` is its position (what the qrels use)."""

    number: int
    file_id: str
    text: str


def _records(text: str) -> Iterator[tuple[str, dict[str, str]]]:
    """(``.I`` value, {field letter: text with whitespace collapsed}) per record."""
    ident, fields, current = None, {}, None
    for line in text.split("\n"):
        m = _FIELD.match(line)
        if m and m.group(1) == "I":
            if ident is not None:
                yield ident, {k: " ".join(" ".join(v).split()) for k, v in fields.items()}
            ident, fields, current = m.group(2).strip(), {}, None
        elif m:
            current = m.group(1)
            fields[current] = [m.group(2)]
        elif current is not None:
            fields[current].append(line)
    if ident is not None:
        yield ident, {k: " ".join(" ".join(v).split()) for k, v in fields.items()}


def parse_docs(path: Path) -> list[Doc]:
    """Every record of a collection's documents file, in file order."""
    return [Doc(int(ident), f.get("T", ""), f.get("A", ""), f.get("B", ""), f.get("W", ""))
            for ident, f in _records(path.read_text(encoding="utf-8"))]


def parse_queries(path: Path, by_position: bool = True) -> list[Topic]:
    """Every query of a queries file, numbered 1.. by position (Cranfield's
    judgements count them so) or, with `by_position` False, by its ``.I``."""
    return [Topic(n if by_position else int(ident), ident, f.get("W", ""))
            for n, (ident, f) in enumerate(_records(path.read_text(encoding="utf-8")), 1)]


def parse_qrels(path: Path, graded: bool = True) -> dict[int, dict[int, int]]:
    """{query number: {doc id: relevance code}}: Cranfield's third column,
    or 1 (the best code) for every pair of a binary collection's file."""
    qrels: dict[int, dict[int, int]] = {}
    for line in path.read_text(encoding="utf-8").split("\n"):
        parts = line.split()
        if len(parts) >= (3 if graded else 2):
            qrels.setdefault(int(parts[0]), {})[int(parts[1])] = (
                int(parts[2]) if graded else 1)
    return qrels


def article_record(doc: Doc, byline_body: bool = False) -> dict | None:
    """The JSON Lines record Archivist indexes for `doc`, or None when it has
    no body (with `byline_body`, a record with no abstract has its authors
    and source line as its body)."""
    body = doc.text
    if doc.title and body.startswith(doc.title):
        body = body[len(doc.title):].strip() or body
    if not body and byline_body:
        body = " ".join(x for x in (doc.author, doc.source) if x)
    if not doc.title or not body:
        return None
    return {"id": f"{ID_PREFIX}{doc.id}", "title": doc.title, "body": body}


def doc_id(article_id: str) -> int | None:
    """The collection's document number of an Archivist article id, or None."""
    if article_id.startswith(ID_PREFIX) and article_id[len(ID_PREFIX):].isdigit():
        return int(article_id[len(ID_PREFIX):])
    return None


# -- the metrics -------------------------------------------------------------------------


def gain(code: int | None) -> int:
    """Graded gain of a relevance code: 4 for code 1 (best) .. 1 for code 4; else 0."""
    return 5 - code if code is not None and 1 <= code <= 4 else 0


def dcg(gains: Iterable[float]) -> float:
    """Discounted cumulative gain: the gain at rank r divided by log2(r + 1)."""
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, 1))


def _unique(ranking: Iterable[int]) -> list[int]:
    seen: set[int] = set()
    return [d for d in ranking if not (d in seen or seen.add(d))]


def ndcg_at(ranking: Sequence[int], codes: Mapping[int, int], k: int) -> float:
    """nDCG@k of `ranking` against the query's judged `codes` (0 if none is relevant)."""
    ideal = dcg(sorted((gain(c) for c in codes.values()), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg(gain(codes.get(d)) for d in _unique(ranking)[:k]) / ideal


def average_precision_at(ranking: Sequence[int], codes: Mapping[int, int], k: int) -> float:
    """Average precision over the first k, codes 1..4 relevant, over min(relevant, k)."""
    relevant = {d for d, c in codes.items() if gain(c) > 0}
    if not relevant:
        return 0.0
    found, total = 0, 0.0
    for rank, d in enumerate(_unique(ranking)[:k], 1):
        if d in relevant:
            found += 1
            total += found / rank
    return total / min(len(relevant), k)


# -- the query forms ---------------------------------------------------------------------


def content_words(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens, minus stop words and one-letter tokens, once each."""
    words = [w for w in _TOKEN.findall(text.lower()) if len(w) > 1 and w not in STOP_WORDS]
    return list(dict.fromkeys(words))


def or_query(text: str) -> str:
    return " OR ".join(content_words(text))


def typed_query(text: str) -> str:
    return " ".join(text.split())


# -- the work folder ---------------------------------------------------------------------


def code_hash() -> str:
    """A short hash of the code that turns the collection into what both engines read."""
    parts = [inspect.getsource(f) for f in (_records, parse_docs, article_record, build_fts)]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Workspace:
    folder: Path
    jsonl: Path
    index: Path
    fts: Path
    articles: int
    skipped: list[int]


def _archivist_command() -> list[str]:
    script = Path(sys.executable).parent / "archivist"
    return [str(script)] if script.exists() else [sys.executable, "-m", "webui.cli"]


def prepare(work: Path, docs: Sequence[Doc], with_index: bool = True,
            say=print, collection: Collection = CRANFIELD) -> Workspace:
    """The JSON Lines file, FTS5 database and (unless not wanted) index, cached in `work`."""
    folder = work / f"{collection.name}-schema{SCHEMA_VERSION}-{code_hash()}"
    jsonl = folder / f"{collection.name}.jsonl"
    index, fts = folder / "index", folder / "fts5.sqlite"
    ready = folder / "ready.json"
    records = [(d, article_record(d, collection.byline_body)) for d in docs]
    kept = [r for _, r in records if r is not None]
    skipped = [d.id for d, r in records if r is None]
    ws = Workspace(folder, jsonl, index, fts, len(kept), skipped)
    if ready.exists():
        say(f"reusing {folder}")
        return ws
    if not (jsonl.exists() and fts.exists()):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        partial = jsonl.with_suffix(".partial")
        partial.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept),
                           encoding="utf-8")
        partial.replace(jsonl)
        partial = fts.with_suffix(".partial")
        build_fts(partial, kept)
        partial.replace(fts)
        say(f"wrote {len(kept):,} records and their FTS5 table to {folder} "
            f"(left out empty abstracts {', '.join(map(str, skipped)) or 'none'})")
    if not with_index:
        return ws
    shutil.rmtree(index, ignore_errors=True)
    t0 = time.perf_counter()
    run = subprocess.run([*_archivist_command(), "--index-dir", str(index), "index", "--json",
                          "--quiet", str(jsonl)], cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if run.returncode != 0:
        raise SystemExit(f"archivist index failed ({run.returncode}):\n{run.stderr}{run.stdout}")
    summary = json.loads(run.stdout)
    say(f"indexed {jsonl.name} in {seconds:.1f}s: {summary.get('added')} added, "
        f"{summary.get('failed')} failed")
    if summary.get("added") != len(kept) or summary.get("failed"):
        raise SystemExit(f"archivist index did not add all {len(kept)} records:\n{run.stdout}")
    ready.write_text(json.dumps({"schema": SCHEMA_VERSION, "articles": len(kept),
                                 "skipped": skipped, "index_seconds": round(seconds, 1)},
                                indent=2), encoding="utf-8")
    return ws


# -- the engines -------------------------------------------------------------------------


def build_fts(path: Path, records: Iterable[Mapping[str, str]]) -> int:
    """An FTS5 table of the records at `path`, rowid = the collection's document number."""
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize = 'porter unicode61')")
        n = 0
        for r in records:
            db.execute("INSERT INTO t (rowid, title, body) VALUES (?, ?, ?)",
                       (doc_id(r["id"]), r["title"], r["body"]))
            n += 1
        db.execute("INSERT INTO t (t) VALUES ('optimize')")
        db.commit()
        return n
    finally:
        db.close()


def fts_ranking(db: sqlite3.Connection, words: Sequence[str], depth: int = DEPTH) -> list[int]:
    """FTS5's top `depth` document numbers for any of `words`, best first."""
    if not words:
        return []
    match = " OR ".join(fts_match([w]) for w in words)
    return [r for (r,) in db.execute(
        "SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t, 2.0, 1.0), rowid LIMIT ?",
        (match, depth))]


@dataclass
class ApiAnswer:
    ranking: list[int]
    total: int
    unmapped: int  # hit ids that are no document of the collection


def api_search(base_url: str, q: str, depth: int = DEPTH) -> ApiAnswer:
    """Archivist's ranking for `q`, read from ``GET /api/search`` as a reader's client would."""
    params = urllib.parse.urlencode({"q": q, "per_page": depth, "verbatim": 1})
    with urllib.request.urlopen(f"{base_url.rstrip('/')}/api/search?{params}", timeout=60) as r:
        doc = json.loads(r.read())
    ids = [doc_id(str(h.get("id", ""))) for h in doc.get("hits", [])]
    return ApiAnswer([d for d in ids if d is not None], int(doc.get("total", 0)),
                     sum(1 for d in ids if d is None))


def server_settings(environ: Mapping[str, str], sets: Sequence[str]) -> dict[str, str]:
    """The ``ARCHIVIST_*`` variables for the server: the ranking settings
    found in `environ`, then each ``NAME=VALUE`` of `sets` (which win).
    Raises ValueError for anything else, so a typo is not a silent no-op."""
    out = {f"ARCHIVIST_{name}": environ[f"ARCHIVIST_{name}"] for name in RANKING_SETTINGS
           if environ.get(f"ARCHIVIST_{name}")}
    for item in sets:
        name, sep, value = item.partition("=")
        name = name.strip().upper().removeprefix("ARCHIVIST_")
        if not sep or name not in RANKING_SETTINGS or not value.strip():
            raise ValueError(f"--set {item!r}: expected NAME=VALUE with NAME one of "
                             f"{', '.join(RANKING_SETTINGS)}")
        out[f"ARCHIVIST_{name}"] = value.strip()
    return out


# -- the evaluation ----------------------------------------------------------------------


ROWS = (("SQLite FTS5 BM25", "OR", "SQLite FTS5 BM25 (OR)"),
        ("Archivist", "OR", "Archivist (OR)"),
        ("SQLite FTS5 BM25", "typed", "SQLite FTS5 BM25 (typed → OR)"),
        ("Archivist", "typed", "Archivist (typed)"))


def evaluate(topics: Sequence[Topic], qrels: Mapping[int, Mapping[int, int]],
             fts_path: Path, base_url: str, k: int) -> list[dict]:
    """One record per query: its forms and, per engine and form, nDCG@k, AP@100, hits."""
    db = sqlite3.connect(fts_path)
    out = []
    try:
        for t in topics:
            codes = qrels.get(t.number, {})
            words = content_words(t.text)
            forms = {"OR": or_query(t.text), "typed": typed_query(t.text)}
            rec: dict = {"number": t.number, "file_id": t.file_id, "forms": forms,
                         "relevant": sum(1 for c in codes.values() if gain(c) > 0)}
            fts_ranked = fts_ranking(db, words)
            for form, q in forms.items():
                answer = api_search(base_url, q)
                for engine, ranking, hits, unmapped in (
                        ("SQLite FTS5 BM25", fts_ranked, len(fts_ranked), 0),
                        ("Archivist", answer.ranking, answer.total, answer.unmapped)):
                    rec[f"{engine} ({form})"] = {
                        "ndcg": round(ndcg_at(ranking, codes, k), 6),
                        "ap": round(average_precision_at(ranking, codes, DEPTH), 6),
                        "hits": hits, "unmapped": unmapped, "top10": ranking[:10],
                    }
            out.append(rec)
    finally:
        db.close()
    return out


def summarize(per_query: Sequence[dict], k: int) -> list[dict]:
    rows = []
    for engine, form, label in ROWS:
        key = f"{engine} ({form})"
        figures = [q[key] for q in per_query]
        rows.append({"row": label, "engine": engine, "form": form,
                     f"ndcg@{k}": statistics.fmean(f["ndcg"] for f in figures),
                     "map@100": statistics.fmean(f["ap"] for f in figures),
                     "zero_hits": sum(1 for f in figures if f["hits"] == 0),
                     "unmapped_ids": sum(f["unmapped"] for f in figures)})
    fts = {r["form"]: r[f"ndcg@{k}"] for r in rows if r["engine"] != "Archivist"}
    peer = {r["form"]: f"{r['engine']} ({r['form']})" for r in rows if r["engine"] != "Archivist"}
    for r in rows:
        r["ratio"] = r[f"ndcg@{k}"] / fts[r["form"]] if fts[r["form"]] else None
        r["gain"] = r["gain_se"] = None
        if r["engine"] == "Archivist" and len(per_query) > 1:
            key = f"{r['engine']} ({r['form']})"
            d = [q[key]["ndcg"] - q[peer[r["form"]]]["ndcg"] for q in per_query]
            r["gain"] = statistics.fmean(d)
            r["gain_se"] = statistics.stdev(d) / math.sqrt(len(d))
    return rows


def table(rows: Sequence[dict], k: int) -> str:
    lines = [f"| run | nDCG@{k} | MAP@100 | nDCG@{k} / FTS5's (same form) | "
             f"nDCG@{k} − FTS5's, per query (± 1 s.e.) | queries with 0 hits |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.3f}"
        gain = ("—" if r.get("gain") is None
                else f"{r['gain']:+.4f} ± {r['gain_se']:.4f}")
        lines.append(f"| {r['row']} | {r[f'ndcg@{k}']:.4f} | {r['map@100']:.4f} | {ratio} | "
                     f"{gain} | {r['zero_hits']} |")
    return "\n".join(lines)


def compare_previous(previous: dict, per_query: Sequence[dict], k: int) -> list[str]:
    """One line per row: on how many queries nDCG went up or down since the last run."""
    if previous.get("k") != k:
        return []
    before = {q["number"]: q for q in previous.get("per_query", [])}
    lines = []
    for _, _, label in ROWS:
        key = label.replace(" → OR", "")
        pairs = [(before[q["number"]][key]["ndcg"], q[key]["ndcg"])
                 for q in per_query if q["number"] in before and key in before[q["number"]]]
        if pairs:
            up = sum(1 for a, b in pairs if b > a + 1e-9)
            down = sum(1 for a, b in pairs if b < a - 1e-9)
            lines.append(f"- {label}: nDCG@{k} up on {up} queries, down on {down}, "
                         f"the same on {len(pairs) - up - down}")
    return lines


def report(rows: Sequence[dict], k: int, ws: Workspace, topics: int, judged: int,
           started: dt.datetime, wall: float, server: str, changes: Sequence[str],
           collection: Collection = CRANFIELD) -> str:
    unmapped = sum(r["unmapped_ids"] for r in rows)
    total = ws.articles + len(ws.skipped)
    judging = (f"nDCG@{k}: gain 5 - code for codes 1..4, log2 discount, ideal from all "
               "judged documents. MAP@100: codes 1..4 relevant, AP over min(relevant, 100)."
               if collection.graded else
               f"Judgements are binary: nDCG@{k} with gain 1 for a judged document, log2 "
               "discount, ideal from all judged documents; MAP@100 over min(relevant, 100).")
    return "\n".join([
        f"# Relevance on {collection.title}",
        "",
        f"{topics} queries ({judged} with a relevant document) over {ws.articles:,} of the "
        f"{total:,} {collection.title} records (left out, with no text: "
        f"{', '.join(map(str, ws.skipped)) or 'none'}). {judging} "
        "Archivist is read through GET /api/search "
        f"(per_page=100, verbatim=1) on {server}; SQLite FTS5 ranks title and body by "
        "bm25(t, 2.0, 1.0) with the porter unicode61 tokenizer, and answers the typed form "
        "with its content words OR'd.",
        "",
        f"Run {started:%Y-%m-%d %H:%M} on {machine()}; {wall:.1f} s in all.",
        "",
        table(rows, k),
        "",
        *([f"Hit ids that were no {collection.title} document: {unmapped}.", ""]
          if unmapped else []),
        *(["Since the previous run:", *changes, ""] if changes else []),
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.cranfield_eval",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK,
                    help="folder to build and cache the index and results in (default: bench-out)")
    ap.add_argument("--collection", choices=sorted(COLLECTIONS), default="cranfield",
                    help="which judged collection (default: cranfield)")
    ap.add_argument("--corpus", type=Path,
                    help="the collection's folder (default: ../shared/corpora/<collection>)")
    ap.add_argument("--k", type=int, default=10, help="nDCG cutoff (default: 10)")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument("--base-url", help="evaluate this running server (it must serve the "
                    "collection's index built by this module) instead of starting one")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a ranking setting for the server started here, one of "
                    f"{', '.join(RANKING_SETTINGS)} (repeatable; ARCHIVIST_<NAME> in the "
                    "environment is passed on too)")
    args = ap.parse_args(argv)
    try:
        settings = server_settings(os.environ, args.set)
    except ValueError as e:
        ap.error(str(e))
    if settings and args.base_url:
        ap.error("settings apply to the server started here, not to --base-url's")
    if not 1 <= args.k <= DEPTH:
        ap.error(f"--k must be between 1 and {DEPTH}")
    collection = COLLECTIONS[args.collection]
    corpus = (args.corpus or DEFAULT_CORPUS.with_name(collection.name)).resolve()
    missing = [f for f in (collection.docs, collection.queries, collection.qrels)
               if not (corpus / f).exists()]
    if missing:
        ap.error(f"no {collection.title} collection at {corpus} (missing {', '.join(missing)})")

    t0 = time.perf_counter()
    started = dt.datetime.now()
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if args.json else print
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    docs = parse_docs(corpus / collection.docs)
    topics = parse_queries(corpus / collection.queries, collection.by_position)
    qrels = parse_qrels(corpus / collection.qrels, collection.graded)
    if not collection.by_position:
        topics = [t for t in topics if t.number in qrels]  # unjudged queries tell nothing
    ws = prepare(work, docs, with_index=args.base_url is None, say=say,
                 collection=collection)

    server = proc = None
    log = ws.folder / "serve.log"
    try:
        if args.base_url:
            base_url, server = args.base_url.rstrip("/"), args.base_url
        else:
            port = free_port()
            proc = start_archivist(ws.index, port, log, "--threads", "1", "--workers", "1",
                                   env=settings)
            base_url = f"http://127.0.0.1:{port}"
            server = "`archivist serve` (one process, one thread)" + "".join(
                f", {k}={v}" for k, v in sorted(settings.items()))
        served = api_search(base_url, "", depth=1).total
        if served != ws.articles:
            say(f"warning: the server holds {served:,} articles, not {ws.articles:,}")
        say(f"asking {len(topics)} queries x {len(FORMS)} forms ...")
        per_query = evaluate(topics, qrels, ws.fts, base_url, args.k)
    finally:
        if proc is not None:
            stop_process(proc)
            errors = log.read_text("utf-8", "replace")
            if "Traceback" in errors:
                say(f"the server logged errors, see {log}")

    rows = summarize(per_query, args.k)
    wall = time.perf_counter() - t0
    results = work / f"{collection.name}-eval.json"
    previous = results.with_name(f"{collection.name}-eval.previous.json")
    changes: list[str] = []
    if results.exists():
        try:
            before = json.loads(results.read_text(encoding="utf-8"))
            changes = compare_previous(before, per_query, args.k)
        except (ValueError, KeyError, TypeError):
            changes = []
        results.replace(previous)
    judged = sum(1 for t in topics if any(gain(c) for c in qrels.get(t.number, {}).values()))
    summary = {
        "collection": collection.name,
        "date": started.isoformat(timespec="seconds"), "machine": machine(), "k": args.k,
        "server": server, "settings": settings, "schema": SCHEMA_VERSION,
        "workspace": str(ws.folder), "articles": ws.articles, "skipped": ws.skipped,
        "queries": len(topics), "wall_seconds": round(wall, 1), "rows": rows,
    }
    results.write_text(json.dumps({**summary, "per_query": per_query}, indent=1),
                       encoding="utf-8")
    text = report(rows, args.k, ws, len(topics), judged, started, wall, server, changes,
                  collection)
    (work / f"{collection.name}-eval.md").write_text(text, encoding="utf-8")
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print()
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
