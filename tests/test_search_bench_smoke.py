"""The search benchmark's own parts, run small: a 300-article generated corpus.

The benchmark is only worth its numbers if both engines answer the same
question, so the main check here is that Archivist and the FTS5 peer find
the same number of articles for every query, filters included.
"""

from __future__ import annotations

import sqlite3

import pytest

from tests.bench import search_bench as sb

QUERIES = 10


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    work = tmp_path_factory.mktemp("search-bench")
    corpus = sb.Corpus("generated", generated_base=300)
    said: list[str] = []
    bench = sb.prepare(work, corpus, 1, jobs=1, say=said.append)
    queries = sb.pick_queries(sb.read_articles(bench.pages), count=QUERIES)
    return work, corpus, bench, queries, said


def test_builds_once_then_reuses_the_cache(small):
    work, corpus, bench, _, said = small
    assert bench.articles == 300
    assert (work / sb.cache_key(corpus, 1) / "ready.json").exists()
    assert not any("reusing" in line for line in said)
    again: list[str] = []
    reused = sb.prepare(work, corpus, 1, jobs=1, say=again.append)
    assert reused == bench
    assert any("reusing" in line for line in again)
    assert not any("indexed" in line for line in again)


def test_queries_are_deterministic_short_and_free_of_stop_words(small):
    _, _, bench, queries, _ = small
    assert len(queries) == QUERIES
    assert sb.pick_queries(sb.read_articles(bench.pages), count=QUERIES) == queries
    assert sum(1 for q in queries if q.tag) == 1
    assert sum(1 for q in queries if q.month) == 1
    for q in queries:
        assert 1 <= len(q.words) <= 3
        assert not set(q.words) & sb.STOP_WORDS


def test_both_engines_find_the_same_articles(small):
    _, _, bench, queries, _ = small
    totals = sb.compare_totals(bench, queries)
    assert len(totals) == QUERIES
    for query, ours, theirs in totals:
        assert ours == theirs, query.describe()
    # Not every query matches everything, or agreement would prove little.
    assert any(ours < bench.articles for _, ours, _ in totals)


def test_fts_page_has_hits_snippets_and_facets(small):
    _, _, bench, queries, _ = small
    fts = sb.FtsEngine(bench.fts)
    try:
        page = fts.run(next(q for q in queries if not q.tag and not q.month))
    finally:
        fts.close()
    assert len(page.hits) == sb.HITS
    assert all("<mark>" in snippet for _, snippet, _, _ in page.hits)
    assert page.tags and page.months and page.years
    assert sum(n for _, n in page.years) == page.total


def test_match_quoting_keeps_fts5_syntax_inert():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE fts USING fts5(body)")
    db.execute("INSERT INTO fts VALUES ('near the \"quoted\" column: body AND more')")
    for words in (["NEAR"], ["body:", "AND"], ['"quoted"'], ["column:"]):
        rows = db.execute("SELECT count(*) FROM fts WHERE fts MATCH ?",
                          [sb.fts_match(words)]).fetchone()
        assert rows == (1,), words
    # Every word is required: read as syntax, OR would let "more" match alone.
    for words in (["near", "absent"], ["absent", "OR", "more"]):
        rows = db.execute("SELECT count(*) FROM fts WHERE fts MATCH ?",
                          [sb.fts_match(words)]).fetchone()
        assert rows == (0,), words


def test_measure_and_table(small):
    _, corpus, bench, queries, _ = small
    timings = sb.measure(bench, queries, passes=1)
    assert [t.engine for t in timings] == ["Archivist", "SQLite FTS5"]
    for t in timings:
        assert 0 < t.p50 <= t.p95
        assert t.articles == 300
    text = sb.report(corpus, timings, queries, 1)
    rows = [line for line in text.splitlines() if line.startswith("| 1x |")]
    assert len(rows) == 2
    assert "SQLite " + sqlite3.sqlite_version in text
    assert "Whoosh" in text


def test_percentile_interpolates():
    assert sb.percentile([1, 2, 3, 4, 5], 50) == 3
    assert sb.percentile([10, 20], 95) == pytest.approx(19.5)
    with pytest.raises(ValueError):
        sb.percentile([], 50)
