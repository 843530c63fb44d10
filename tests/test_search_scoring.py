"""Scoring shortcuts give exactly what the general vector evaluation gives."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from whoosh import query
from whoosh.filedb.filestore import RamStorage

from index.article import Article
from index.embedded.engine import write_articles
from index.embedded.schema import make_schema
from index.normalize import normalize_tags
from search.embedded import scoring
from search.embedded.columns import Columns
from search.embedded.compiler import Compiler
from search.embedded.scoring import FieldsOr
from search.plan import plan
from search.vocabulary import Vocabulary

WORDS = "oil wheat harbour tariff grain bank export price crude ministry".split()


@pytest.fixture(scope="module")
def searcher():
    rng = random.Random(11)
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, [
        Article(id=f"a{i}", source=f"/s/{i}", title=" ".join(rng.sample(WORDS, 2)),
                body=" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 40))),
                tags=normalize_tags(rng.sample(WORDS, 1)))
        for i in range(300)
    ])
    with ix.searcher() as s:
        yield s


def _ors_of_terms(q):
    if type(q) in (query.Or, FieldsOr) and all(type(c) is query.Term for c in q.subqueries):
        yield query.Or(q.subqueries, boost=q.boost)
    elif not q.is_leaf():
        for c in q.children():
            yield from _ors_of_terms(c)


@pytest.mark.parametrize("text", ["oil", "oil wheat", "crude oil price", "tariff -bank",
                                  "grain OR export", "ministry title:harbour"])
def test_or_of_terms_equals_the_general_or(searcher, text):
    cols = Columns.build(searcher.reader())
    compiler = Compiler(Vocabulary.from_reader(searcher.reader()), cols.tag_keys_folded,
                        cols.tag_keys_prefixed)
    q = compiler.compile(plan(text).root).query
    loose = compiler.compile(plan(text).root, most=True).query
    found = list(_ors_of_terms(q)) + list(_ors_of_terms(loose))
    scaled = query.Or(found[0].subqueries, scale=0.9, boost=2.0)  # coordination and boost too
    assert found
    for orq in [*found, scaled]:
        fast = scoring._or_of_terms(orq, cols, searcher)
        general = scoring._or(orq, cols, searcher)
        assert fast.mask.any()
        assert np.array_equal(fast.mask, general.mask)
        assert np.array_equal(fast.score, general.score)


def test_the_postings_budget_leaves_out_the_most_common_words(searcher):
    cols = Columns.build(searcher.reader())
    compiler = Compiler(Vocabulary.from_reader(searcher.reader()), cols.tag_keys_folded,
                        cols.tag_keys_prefixed)
    counts = {"oil": 70_000, "wheat": 30_000, "harbour": 5}
    text = "oil wheat harbour"
    plain = compiler.compile(plan(text).root)
    assert not plain.notes
    held = compiler.compile(plan(text).root, frequency=lambda t: counts.get(t, 1))
    assert held.notes and "oil" in held.notes[0] and "wheat" not in held.notes[0]
    terms = {t.text for t in held.query.leaves() if isinstance(t, query.Term)}
    assert "oil" not in terms and {"wheat", "harbour"} <= terms
    # The rarest word always stays, even when it alone is over the budget.
    alone = compiler.compile(plan("oil wheat").root, frequency=lambda t: 10**6)
    assert {t.text for t in alone.query.leaves()} & {"oil", "wheat"}
    # Words under NOT or OR are left out the same way; nothing is left out below it.
    either = compiler.compile(plan("oil OR wheat OR harbour").root,
                              frequency=lambda t: counts.get(t, 1))
    assert "oil" not in {t.text for t in either.query.leaves()}
    small = compiler.compile(plan(text).root, frequency=lambda t: 10)
    assert not small.notes


def test_bm25f_against_a_per_document_computation(searcher):
    """A word looked up in title, body and tags is scored as BM25F: worked out
    here document by document from each field's term frequency and length."""
    cols = Columns.build(searcher.reader())
    reader = searcher.reader()
    for word in ("oil", "harbour", "grain"):
        q = FieldsOr([query.Term("title", word), query.Term("body", word),
                      query.Term("tags", word)])
        got = scoring._bm25f(q, cols, searcher)
        tf = {}
        for f in ("title", "body", "tags"):
            if (f, word.encode()) not in reader:
                continue
            m = reader.postings(f, word)
            b, w = scoring.FIELD_B[f], scoring.FIELD_WEIGHT[f]
            avg = cols.avg_length[f]
            while m.is_active():
                d = m.id()
                raw = m.weight() / scoring._STORED_BOOST[f]
                norm = (1 - b) + b * cols.lengths[f][d] / avg
                tf[d] = tf.get(d, 0.0) + w * raw / norm
                m.next()
        n, df = cols.doc_count, len(tf)
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))  # BM25's, as Lucene writes it
        want = np.zeros(cols.n)
        for d, t in tf.items():
            want[d] = idf * t * (scoring.K1 + 1) / (t + scoring.K1)
        assert set(np.flatnonzero(got.mask)) == set(tf)
        assert np.allclose(got.score, want, rtol=1e-5)


SPELLINGS = ["three-dimensional", "three dimensional", "Three-Dimensional", "three", "dimensional",
             "dimensional three", "al-Qaeda", "al Qaeda", "U.S.", "wing", "flow"]


@pytest.fixture(scope="module")
def punctuated():
    rng = random.Random(5)
    ix = RamStorage().create_index(make_schema())
    articles = [Article(id=f"p{i}", source=f"/p/{i}",
                        title=" ".join(rng.sample(SPELLINGS, 2)),
                        body=" lift ".join(rng.choice(SPELLINGS)
                                           for _ in range(rng.randint(1, 12))))
                for i in range(200)]
    write_articles(ix, articles)
    with ix.searcher() as s:
        yield s, {a.id: a for a in articles}


@pytest.mark.parametrize(("typed", "pattern"), [
    ("three-dimensional", r"three[- ]dimensional"),
    ("al-Qaeda", r"al[- ]qaeda"),
])
def test_a_punctuated_word_counts_once_however_it_is_written(punctuated, typed, pattern):
    """A punctuated word is one word of the query: its BM25F frequency in a
    field is how many times the text says it, hyphenated or spaced (counted
    here with a regular expression over the article's own text), not the
    compound's count added to its parts' phrase."""
    import re

    searcher, articles = punctuated
    cols = Columns.build(searcher.reader())
    compiler = Compiler(Vocabulary.from_reader(searcher.reader()), cols.tag_keys_folded,
                        cols.tag_keys_prefixed)
    q = compiler.compile(plan(typed).root).query
    assert isinstance(q, FieldsOr) and any(isinstance(c, query.Phrase) for c in q.subqueries)
    got = scoring._bm25f(q, cols, searcher)
    tf = {}
    for d in range(cols.n):
        article = articles[searcher.stored_fields(d)["id"]]
        for f, text in (("title", article.title), ("body", article.body)):
            raw = len(re.findall(pattern, text, flags=re.IGNORECASE))
            if raw:
                b = scoring.FIELD_B[f]
                norm = (1 - b) + b * cols.lengths[f][d] / cols.avg_length[f]
                tf[d] = tf.get(d, 0.0) + scoring.FIELD_WEIGHT[f] * raw / norm
    n, df = cols.doc_count, len(tf)
    assert 0 < df < n
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    want = np.zeros(cols.n)
    for d, t in tf.items():
        want[d] = idf * t * (scoring.K1 + 1) / (t + scoring.K1)
    assert set(np.flatnonzero(got.mask)) == set(tf)
    assert np.allclose(got.score, want, rtol=1e-5)
