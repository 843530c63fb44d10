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
