"""The ranking steps on small in-RAM indexes: BM25's rarity, feedback (RM3),
proximity, their explanations, and the settings that switch them."""

from __future__ import annotations

import datetime as dt
import inspect
import math

import numpy as np
import pytest
from whoosh import query
from whoosh.filedb.filestore import RamStorage

from index.article import Article
from index.embedded.engine import write_articles
from index.embedded.schema import make_schema
from search import feedback
from search.embedded import scoring
from search.embedded.columns import Columns
from search.embedded.engine import Engine
from search.request import SearchRequest
from tests.bench import cranfield_eval
from tests.explanations import unbalanced
from webui.config import DEFAULTS

DAY = dt.date(2020, 1, 1)


def _index(articles: list[tuple[str, str, int]]):
    """A RAM index of (title, body, days after DAY) articles, ids a0, a1, ..."""
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, [Article(id=f"a{i}", source=f"/s/{i}", title=title, body=body,
                                date=DAY + dt.timedelta(days=days))
                        for i, (title, body, days) in enumerate(articles)])
    return ix


def _ids(engine: Engine, q: str, **request) -> list[str]:
    return [h.id for h in engine.run(SearchRequest(q=q, per_page=50, **request)).hits]


# -- BM25 ------------------------------------------------------------------------------


def test_idf_is_bm25s_and_never_negative():
    n = 1000
    assert scoring.idf(10, n) == pytest.approx(math.log(1 + (n - 10 + 0.5) / (10 + 0.5)))
    values = [scoring.idf(df, n) for df in (1, 10, 100, 500, 999, 1000, 1500)]
    assert values == sorted(values, reverse=True)  # rarer is worth more
    assert all(v > 0 for v in values)
    # No floor of 1: a word in half the archive weighs a tenth of the rarest.
    assert scoring.idf(n // 2, n) < 0.11 * scoring.idf(1, n)


def test_bm25f_at_some_documents_equals_the_whole_archive_evaluation():
    ix = _index([(f"wing {i % 3}", "wing lift " * (i % 4) + "drag body text", i)
                 for i in range(30)])
    with ix.searcher() as s:
        cols = Columns.build(s.reader())
        docnums = np.array([0, 3, 4, 17, 29], dtype=np.int64)
        for term in ("wing", "lift", "drag", "absent"):
            whole = scoring.evaluate(scoring.FieldsOr(
                [query.Term("title", term), query.Term("body", term)]), cols, s).score
            got = scoring.bm25f_at(term, ("title", "body"), cols, s, docnums)
            assert np.allclose(got, whole[docnums], rtol=1e-5), term


# -- feedback (RM3) --------------------------------------------------------------------


def test_document_model_counts_every_term_but_keeps_only_subject_words():
    model = feedback.document_model(["wing", "wing", "lift", "2.5", "7", "of"])
    assert model == {"wing": 2 / 6, "lift": 1 / 6}


def test_article_weights_follow_exp_of_the_score_gap_relative_to_the_best():
    # SHARPNESS 0.1 and a best score of 10: temperature 1, so the weights are
    # e^0 : e^-1 : e^-3, whatever the scores' scale (x 3 gives the same).
    expected = [1.0, math.exp(-1), math.exp(-3)]
    expected = [w / sum(expected) for w in expected]
    assert feedback.article_weights([10.0, 9.0, 7.0]) == pytest.approx(expected)
    assert feedback.article_weights([30.0, 27.0, 21.0]) == pytest.approx(expected)
    # Shares of the scores would have given the third 7/26 of the vote.
    assert feedback.article_weights([10.0, 9.0, 7.0])[2] < 0.05
    assert feedback.article_weights([5.0, 0.0, -1.0]) == [1.0, 0.0, 0.0]
    assert feedback.article_weights([0.0, 0.0]) == [0.0, 0.0]


def test_relevance_model_weighs_articles_by_score_and_keeps_the_querys_words():
    docs = [{"wing": 0.5, "lift": 0.5}, {"wing": 0.5, "drag": 0.5},
            {"lift": 0.5, "drag": 0.5}]
    w = feedback.article_weights([3.0, 2.9, 2.8])
    assert w[0] > w[1] > w[2] > 0
    model = dict(feedback.relevance_model(docs, [3.0, 2.9, 2.8], count=3))
    assert sum(model.values()) == pytest.approx(1.0)  # each voter's words sum to 1
    assert model["wing"] == pytest.approx(0.5 * (w[0] + w[1]))
    assert model["lift"] == pytest.approx(0.5 * (w[0] + w[2]))
    assert model["drag"] == pytest.approx(0.5 * (w[1] + w[2]))
    assert [t for t, _ in feedback.relevance_model(docs, [3.0, 2.9, 2.8], count=1)] == ["wing"]
    assert feedback.relevance_model(docs, [0.0, 0.0, 0.0]) == []


def test_a_word_only_one_voter_holds_is_not_in_the_model():
    docs = [{"wing": 0.4, "r408": 0.6}, {"wing": 0.5, "lift": 0.5}, {"lift": 1.0}]
    model = dict(feedback.relevance_model(docs, [3.0, 2.9, 2.0]))
    assert "r408" not in model and set(model) == {"wing", "lift"}
    # A voter with no score does not count as a holder.
    assert dict(feedback.relevance_model(docs, [3.0, 2.9, 0.0])) == {"wing": 1.0}


def test_boosts_keep_the_query_on_its_own_scale():
    # λ = 0.5 and 4 query words: (1 - λ)/λ · n · P(t|R) = 4 · P(t|R).
    assert feedback.boosts([("wing", 0.5), ("lift", 0.25)], 4, 0.5) == [
        ("wing", 2.0), ("lift", 1.0)]
    assert feedback.boosts([("wing", 1.0)], 1, 0.75) == [("wing", pytest.approx(1 / 3))]


@pytest.fixture(scope="module")
def wings():
    """Twelve articles on wings, lift and airfoils (a0..a11); two on drag of
    the same length and drag count, a12 sharing the wing articles' words and
    a13 (newer) words as rare in the archive but no other result's (a12's
    and a13's words are each in 13 articles); and articles on neither."""
    articles = [(f"Wing study {i}", f"The wing lift of an airfoil at angle {i}. "
                 "Airfoil lift grows with the wing angle.", i) for i in range(12)]
    articles.append(("Drag note", "Drag of the airfoil: lift and drag measured.", 20))
    articles.append(("Drag note", "Drag of the harbour: fish and drag measured.", 30))
    articles += [(f"Port report {i}", f"The harbour fish catch {i} was landed.", i)
                 for i in range(12)]
    articles += [(f"Grain report {i}", f"The grain export price {i} rose.", i)
                 for i in range(30)]
    return _index(articles)


def test_feedback_lifts_the_article_that_shares_the_best_articles_words(wings):
    off = Engine(None, _ix=wings, feedback=False, semantic=False)
    on = Engine(None, _ix=wings, feedback=True, semantic=False)
    before, after = _ids(off, "wing OR drag"), _ids(on, "wing OR drag")
    assert set(before) == set(after)  # feedback reorders; it never adds or removes
    # Without feedback the two drag articles tie and the newer comes first.
    assert before.index("a13") < before.index("a12")
    assert after.index("a12") < after.index("a13")


def test_feedback_is_explained_and_the_parts_add_up(wings):
    engine = Engine(None, _ix=wings, feedback=True, semantic=True)
    r = engine.run(SearchRequest(q="wing OR drag", per_page=20), explain=True)
    texts = ["\n".join(h.explanation.lines()) for h in r.hits]
    assert any("pseudo-relevance feedback" in t for t in texts)
    for h in r.hits:
        assert h.explanation.value == pytest.approx(h.score, rel=1e-4, abs=1e-5)
        assert not unbalanced(h.explanation), unbalanced(h.explanation)


# -- proximity -------------------------------------------------------------------------


_FILLER = "the panel was tested in the tunnel with care and then measured again"


def _near_and_apart(near: str, apart: str, q: str):
    """`q` asked of two articles alike but for where its words stand: `near`
    (a0) and `apart` (a1, newer, so it would win a tie); with explanations."""
    engine = Engine(None, _ix=_index([("Report", f"{near} {_FILLER} twice.", 0),
                                      ("Report", f"{apart} {_FILLER} twice {q.split()[-1]}.",
                                       5)]))
    return engine.run(SearchRequest(q=q), explain=True)


def test_the_words_side_by_side_rank_above_the_same_words_apart():
    # The same words, counts and lengths: only their distance differs.
    r = _near_and_apart("heat transfer on a panel.", "heat on a panel.", "heat transfer")
    assert [h.id for h in r.hits] == ["a0", "a1"]
    assert r.hits[0].score > r.hits[1].score
    assert "proximity" in "\n".join(r.hits[0].explanation.lines())
    assert "proximity" not in "\n".join(r.hits[1].explanation.lines())


def test_the_query_as_a_phrase_in_the_title_ranks_above_its_words_apart_there():
    body = "a study of panels in the wind tunnel"
    # The same title words; the newer article would win a tie.
    engine = Engine(None, _ix=_index([("Heat transfer in panels", body, 0),
                                      ("Heat in panels transfer", body, 5)]))
    assert _ids(engine, "heat transfer") == ["a0", "a1"]


def test_a_punctuated_word_stands_close_to_the_next_word_from_its_last_part():
    """ "three-dimensional flow" is said in a row when "dimensional" (the
    last part) comes just before "flow"; the hyphenated word takes part in
    proximity like any other word."""
    # The same words (the same meaning vector), counts and lengths.
    r = _near_and_apart("a three-dimensional flow panel.", "a three-dimensional panel.",
                        "three-dimensional flow")
    assert [h.id for h in r.hits] == ["a0", "a1"]
    lines = "\n".join(r.hits[0].explanation.lines())
    assert "proximity" in lines and "“three-dimensional”" in lines


# -- settings --------------------------------------------------------------------------


def test_the_engines_defaults_are_the_configurations():
    params = inspect.signature(Engine.__init__).parameters
    assert params["feedback"].default is DEFAULTS["FEEDBACK"] is True
    assert params["semantic"].default is DEFAULTS["SEMANTIC"]
    assert params["semantic_weight"].default == DEFAULTS["SEMANTIC_WEIGHT"]
    assert params["half_life_days"].default == DEFAULTS["RECENCY_HALF_LIFE_DAYS"]


def test_the_eval_passes_ranking_settings_to_its_server_and_nothing_else():
    environ = {"ARCHIVIST_SEMANTIC_WEIGHT": "0.5", "ARCHIVIST_INDEX_DIR": "/elsewhere",
               "ARCHIVIST_FEEDBACK": ""}
    assert cranfield_eval.server_settings(environ, []) == {"ARCHIVIST_SEMANTIC_WEIGHT": "0.5"}
    assert cranfield_eval.server_settings(environ, ["semantic_weight=0.3", "FEEDBACK=0"]) == {
        "ARCHIVIST_SEMANTIC_WEIGHT": "0.3", "ARCHIVIST_FEEDBACK": "0"}
    for bad in ("INDEX_DIR=/tmp", "SEMANTIC_WEIGHT", "FEEDBACK="):
        with pytest.raises(ValueError):
            cranfield_eval.server_settings({}, [bad])
