"""Postings read block by block (and through the block cache) equal Whoosh's own.

The engine reads Whoosh's W3 posting blocks directly: ids and weights for
scoring, character offsets for highlighting, bisecting inside a block and
keeping decoded blocks per generation. Here an index of two segments, with
deleted documents and terms spanning many blocks, is read both ways.
"""

from __future__ import annotations

import random

import numpy as np
from whoosh.filedb.filestore import RamStorage

from index.article import Article
from index.embedded.document import to_document
from index.embedded.schema import make_schema
from search.embedded.columns import BlockCache, Columns, leaf_postings, read_postings
from search.embedded.engine import Engine
from search.embedded.hits import char_spans

WORDS = ["harbour", "wheat", "tariff", "ministry", "river", "grain", "export", "bank"]


def _index():
    rng = random.Random(5)
    ix = RamStorage().create_index(make_schema())
    for segment in range(2):  # two commits without merging: two segments
        w = ix.writer()
        for i in range(segment * 400, segment * 400 + 400):
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30)))
            w.add_document(**to_document(Article(id=f"a{i}", source=f"/s/{i}",
                                                 title=f"Note {i} {rng.choice(WORDS)}",
                                                 body=body), ""))
        w.commit(merge=False)
    w = ix.writer()
    for i in range(0, 800, 7):  # deletions in both segments
        w.delete_by_term("id", f"a{i}")
    w.commit(merge=False)
    return ix


def _whoosh_postings(reader, field, term):
    """Whoosh's own reading: live documents only."""
    ids, weights = [], []
    for segreader, base in reader.leaf_readers():
        try:
            m = segreader.postings(field, term)
        except Exception:  # noqa: BLE001  absent from this segment
            continue
        while m.is_active():
            ids.append(m.id() + base)
            weights.append(m.weight())
            m.next()
    return ids, weights


def test_block_reads_equal_whoosh():
    ix = _index()
    with ix.searcher() as s:
        reader = s.reader()
        assert len(list(reader.leaf_readers())) == 2
        for field in ("body", "title"):
            for word in WORDS:
                term = _stem(word)
                ids, weights = _whoosh_postings(reader, field, term)
                p = read_postings(reader, field, term)  # deleted docs included
                live = np.array([not reader.is_deleted(int(d)) for d in p.ids], dtype=bool)
                assert len(p.ids) > len(ids)  # the deleted documents were read too
                assert p.ids[live].tolist() == ids
                assert np.allclose(p.weights[live], weights)


def test_posting_values_are_exactly_whooshs_through_a_small_cache():
    ix = _index()
    with ix.searcher() as s:
        reader = s.reader()
        cols = Columns.build(reader)
        cols.blocks = BlockCache(size=2, directories=1)  # entries evicted and read again
        for word in ("harbour", "bank"):
            term = _stem(word)
            values = {}  # stepping through every posting, deleted documents included
            for segreader, base in reader.leaf_readers():
                m = leaf_postings(segreader, "body", term)
                while m.is_active():
                    values[m.id() + base] = m.value()
                    m.next()
            assert len(values) > 128  # several blocks
            for step in (3, 1, 7):
                docs = list(range(0, reader.doc_count_all(), step))
                for _round in range(2):
                    found = dict(cols.values(reader, "body", term, docs))
                    assert found == {d: v for d, v in values.items() if d % step == 0}
        assert len(cols.blocks) == 2


def test_highlight_offsets_equal_whoosh_matchers():
    ix = _index()
    engine = Engine.from_index(ix)
    with ix.searcher() as s:
        cols = engine._open()[0].columns
        docs = sorted(d for d in s.reader().all_doc_ids())[::9]
        terms = {_stem(w) for w in ("harbour", "tariff", "grain")}
        for _ in range(2):  # the second time from the block cache
            spans = char_spans(s, cols, "body", terms, docs)
            for d in docs:
                expected = []
                for ti, term in enumerate(sorted(terms)):
                    m = s.postings("body", term)
                    if m.is_active():
                        m.skip_to(d)
                    if m.is_active() and m.id() == d:
                        expected += [(a, b, ti) for _p, a, b in m.value_as("characters")]
                assert spans.get(d, []) == expected
    engine.close()


def _stem(word: str) -> bytes:
    from index.analysis import terms

    return terms(word)[0].encode()


def test_common_terms_outlive_a_stream_of_rare_ones(monkeypatch):
    import search.embedded.columns as columns

    monkeypatch.setattr(columns, "_TERM_CACHE_SIZE", 4)
    ix = _index()
    with ix.searcher() as s:
        r = s.reader()
        cols = columns.Columns.build(r)
        common = cols.term(r, "body", b"wheat")  # in most of 800 documents
        assert len(common.ids) >= columns.COMMON_POSTINGS
        for i in range(0, 800, 3):  # rare terms: each title number is in one document
            cols.term(r, "title", str(i).encode())
        assert cols.term(r, "body", b"wheat") is common  # not evicted, not re-read
        rare = cols.term(r, "title", b"401")
        assert 0 < len(rare.ids) < columns.COMMON_POSTINGS
        for i in range(402, 410):
            cols.term(r, "title", str(i).encode())
        assert cols.term(r, "title", b"401") is not rare  # the small LRU let it go
        assert cols._common_bytes == common.ids.nbytes + common.weights.nbytes


def test_common_terms_stay_within_their_budget(monkeypatch):
    import search.embedded.columns as columns

    ix = _index()
    with ix.searcher() as s:
        r = s.reader()
        cols = columns.Columns.build(r)
        first = cols.term(r, "body", b"wheat")
        monkeypatch.setattr(columns, "COMMON_BUDGET", cols._common_bytes + 100)
        second = cols.term(r, "body", b"grain")  # common too, but over the budget
        assert len(second.ids) >= columns.COMMON_POSTINGS
        assert list(cols._common) == [("body", b"wheat")]
        assert cols.term(r, "body", b"grain") is second  # still cached, in the LRU
        assert cols.term(r, "body", b"wheat") is first
