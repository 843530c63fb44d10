"""Did-you-mean: the closest spelling the archive uses, and never for prefix words."""

from __future__ import annotations

import datetime as dt

from whoosh.filedb.filestore import RamStorage

from index.article import Article
from index.embedded.engine import write_articles
from index.embedded.schema import make_schema
from search.embedded.engine import Engine
from search.request import SearchRequest


def _engine() -> Engine:
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, [
        Article(id="a", source="a", title="Rivers", date=dt.date(2021, 1, 1),
                body="The waters of the river rose. Water policy is slow. A deal was struck."),
        Article(id="b", source="b", title="Desalination plants",
                body="Desalination turns sea water into drinking water."),
    ])
    return Engine.from_index(ix)


def _run(engine: Engine, q: str):
    req, _ = SearchRequest.from_args({"q": [q]})
    return engine.run(req)


def test_suggestion_uses_the_written_form_closest_to_the_typo():
    # The stem "water" is written "waters" first in the archive; "wter" means "water".
    assert _run(_engine(), "wter").suggestion == "water"


def test_no_suggestion_for_a_prefix_word_that_matched():
    results = _run(_engine(), "desal*")
    assert results.total == 1
    assert results.suggestion is None


def test_automatic_correction_needs_a_word_several_articles_hold():
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, [Article(id=f"w{i}", source=f"w{i}", title="Grain", body="The wheat crop.")
                        for i in range(3)] + [
        Article(id="s", source="s", title="Talks", body="A summit of ministers.")])
    engine = Engine.from_index(ix)
    common = _run(engine, "wheet")
    assert common.corrected == "wheat" and common.total == 3
    rare = _run(engine, "submit")  # absent; "summit" is one edit away but in one article only
    assert rare.corrected is None and rare.total == 0
    assert rare.suggestion == "summit"  # offered, not imposed
