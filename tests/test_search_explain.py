""""Why this result": every hit's explanation adds up to its score."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from whoosh.filedb.filestore import RamStorage

from index.article import Article
from index.embedded.engine import write_articles
from index.embedded.schema import make_schema
from index.normalize import normalize_tags
from search.embedded.engine import Engine
from search.request import SearchRequest
from tests.explanations import unbalanced

WORDS = ("oil wheat harbour tariff grain bank export price crude ministry policy water "
         "drought heat transfer wing aircraft flow boundary layer").split()


@pytest.fixture(scope="module")
def engine():
    rng = random.Random(5)
    ix = RamStorage().create_index(make_schema())
    arts = []
    for i in range(400):
        date = None if i % 9 == 0 else dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(3000))
        arts.append(Article(
            id=f"a{i}", source=f"/s/{i}", title=" ".join(rng.sample(WORDS, 3)),
            body=" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60))) + ".",
            date=date, tags=normalize_tags(rng.sample(WORDS, 2))))
    write_articles(ix, arts)
    return Engine.from_index(ix)


@pytest.mark.parametrize("sort", ["relevance", "recency"])
@pytest.mark.parametrize("q", ["oil", "oil prices", "heat transfer wing", "oil -wheat",
                               "oil OR grain OR harbour", '"boundary layer" flow',
                               "title:oil water", "what is the heat transfer of an aircraft wing?",
                               "cru*", "drougth~", "grain export tariff policy ministry"])
def test_explanations_add_up_to_the_score(engine, q, sort):
    r = engine.run(SearchRequest(q=q, sort=sort, per_page=20), explain=True)
    assert r.hits
    for h in r.hits:
        assert h.explanation is not None
        assert h.explanation.value == pytest.approx(h.score, rel=1e-4, abs=1e-5)
        assert not unbalanced(h.explanation), unbalanced(h.explanation)


def test_an_explanation_names_the_words_fields_rarity_and_every_step(engine):
    r = engine.run(SearchRequest(q="heat transfer", sort="recency"), explain=True)
    text = "\n".join(r.hits[0].explanation.lines())
    assert "“heat”" in text and "“transfer”" in text
    assert "in the title" in text or "in the text" in text
    assert "rarity" in text and "BM25F" in text
    assert "relevance × recency" in text
    assert "meaning" in text  # the RAM index has meaning vectors
    assert engine.run(SearchRequest(q="heat transfer")).hits[0].explanation is None
