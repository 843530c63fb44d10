"""The answer cache around an engine: repeated requests are served from it,
never stale (it is keyed by the engine's version token)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from index.article import Article
from index.embedded import store
from index.embedded.engine import write_articles
from search.cache import CachedEngine
from search.embedded.engine import Engine
from search.protocol import ReadEngine
from search.request import SearchRequest


def _article(i: int, word: str) -> Article:
    return Article(id=f"a{i}", source=f"/s/{i}.txt", title=f"Report {i} on {word}",
                   body=f"A short note about {word} and the harbour.", date=dt.date(2020, 1, i))


def _served(tmp_path, articles: list[Article], answer_cache: int = 1024):
    """A cached engine over a new current generation holding `articles`, and
    its index (with `answer_cache=0`, the engine alone)."""
    gen, ix = store.new_generation(tmp_path)
    write_articles(ix, articles)
    store.make_current(tmp_path, gen)
    engine = Engine(tmp_path)
    return (CachedEngine(engine, answer_cache) if answer_cache else engine), ix


def _inner(engine) -> Engine:
    return engine.engine if isinstance(engine, CachedEngine) else engine


def _request(q: str) -> SearchRequest:
    req, problems = SearchRequest.from_args({"q": [q]})
    assert not problems
    return req


def test_a_request_that_recurs_is_a_cache_hit_with_an_independent_copy(tmp_path):
    engine, _ix = _served(tmp_path, [_article(1, "wheat"), _article(2, "barley")])
    # Kept the second time it is answered (most requests never recur), then served.
    answers = [engine.run(_request("wheat")) for _ in range(3)]
    assert [a.from_cache for a in answers] == [False, False, True]
    first, third = answers[0], answers[2]
    assert [h.id for h in third.hits] == [h.id for h in first.hits] == ["a1"]
    third.messages.append("added by a caller")
    assert engine.run(_request("wheat")).messages == first.messages
    assert (engine.cache_hits, engine.cache_misses) == (2, 2)
    engine.close()


def test_a_request_asked_once_is_not_kept(tmp_path):
    engine, _ix = _served(tmp_path, [_article(1, "wheat"), _article(2, "barley")])
    for word in ("wheat", "barley", "harbour"):
        engine.run(_request(word))
    assert len(engine._answers._data) == 0
    engine.run(_request("barley"))
    assert len(engine._answers._data) == 1
    engine.close()


def test_a_new_commit_is_never_answered_from_the_old_cache(tmp_path):
    engine, ix = _served(tmp_path, [_article(1, "wheat")])
    assert engine.run(_request("wheat")).total == 1
    version = engine.version()
    write_articles(ix, [_article(3, "wheat")])
    _inner(engine).refresh()  # skip the half-second wait between index checks
    assert engine.version() != version
    again = engine.run(_request("wheat"))
    assert not again.from_cache
    assert again.total == 2
    engine.close()


def test_the_answer_cache_can_be_turned_off(tmp_path):
    engine, _ix = _served(tmp_path, [_article(1, "wheat")], answer_cache=0)
    engine.run(_request("wheat"))
    assert not engine.run(_request("wheat")).from_cache
    engine.close()


def test_cached_answers_are_invisible_to_the_garbage_collector(tmp_path):
    # A thousand cached answers kept as object trees made every full
    # collection walk them all (pauses of up to 150 ms under load); they are
    # kept as bytes, and each hit is a fresh copy a caller may change.
    import gc

    engine, _ix = _served(tmp_path, [_article(i, "wheat") for i in range(1, 6)])
    first = engine.run(_request("wheat"))
    engine.run(_request("wheat"))  # asked again: kept
    stored = list(engine._answers._data.values())
    assert stored and all(isinstance(v, bytes) and not gc.is_tracked(v) for v in stored)
    again = engine.run(_request("wheat"))
    again.hits[0].tags.append("changed by a caller")
    assert engine.run(_request("wheat")).hits[0].tags == first.hits[0].tags
    engine.close()


def test_stored_fields_kept_for_a_generation_never_outlive_it(tmp_path):
    engine, ix = _served(tmp_path, [_article(1, "wheat")], answer_cache=0)
    assert [h.title for h in engine.run(_request("wheat")).hits] == ["Report 1 on wheat"]
    assert len(engine._open()[0].columns._stored) == 1  # kept for the next page
    assert isinstance(engine, ReadEngine)
    write_articles(ix, [dataclasses.replace(_article(1, "wheat"),
                                            title="Report 1 on wheat, revised")])
    ix.optimize()  # one segment again: the revised article is document 0, as the old one was
    engine.refresh()
    assert [h.title for h in engine.run(_request("wheat")).hits] == ["Report 1 on wheat, revised"]
    engine.close()


def test_a_suggestion_is_kept_the_first_time(tmp_path):
    # Cheap to keep (a short string), and each keystroke of a word asks again.
    engine, _ix = _served(tmp_path, [_article(1, "wheat"), _article(2, "barley")])
    asked = dataclasses.replace(_request("wheet"), verbatim=True)  # no automatic correction
    assert engine.run(asked).suggestion == "wheat"
    assert len(_inner(engine)._suggestions._data) == 1
    assert len(engine._answers._data) == 0
    engine.close()


def test_the_factory_gives_the_configured_engine_behind_the_cache(tmp_path):
    from webui.backend import make_engine

    config = {"INDEX_DIR": str(tmp_path), "RECENCY_HALF_LIFE_DAYS": 365.0, "SEMANTIC": False,
              "SEMANTIC_WEIGHT": 0.25, "FEEDBACK": False}
    cached = make_engine(config)
    assert isinstance(cached, CachedEngine) and isinstance(cached.engine, Engine)
    assert cached.version() is None and cached.stats().articles == 0  # nothing indexed yet
    bare = make_engine({**config, "ANSWER_CACHE": 0})
    assert isinstance(bare, Engine)
    with pytest.raises(ValueError, match="unknown engine 'elastic'"):
        make_engine({**config, "ENGINE": "elastic"})
    cached.close()
    bare.close()


def test_a_tag_label_with_a_comma_keeps_its_label_in_the_facet(tmp_path):
    from index.article import Tag
    from index.normalize import tag_key

    label = "Oil, Gas"
    article = dataclasses.replace(_article(1, "wheat"), tags=(Tag(tag_key(label), label),))
    engine, _ix = _served(tmp_path, [article], answer_cache=0)
    facet = engine.run(_request("wheat")).tag_facet.values
    assert [(v.value, v.label) for v in facet] == [("oil gas", "Oil, Gas")]
    engine.close()
