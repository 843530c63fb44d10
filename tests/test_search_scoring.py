"""Scoring shortcuts give exactly what the general vector evaluation gives."""

from __future__ import annotations

import random

import numpy as np
import pytest
from whoosh import query
from whoosh.filedb.filestore import RamStorage

from index.article import Article
from index.normalize import normalize_tags
from index.schema import make_schema
from index.writer import write_articles
from search import scoring
from search.columns import Columns
from search.compiler import Compiler
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
    if type(q) is query.Or and all(type(c) is query.Term for c in q.subqueries):
        yield q
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
