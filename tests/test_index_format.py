"""The embedded index's files stay readable across versions of Archivist.

Whoosh pickles an index's schema into its table of contents, naming each
field class by module path. An index written before the write side became
`index/embedded/` (`tests/fixtures/index-before-embedded`, made by that
version's own code) must open, search, and take an incremental run with
this version; and an index written now must name its field classes as
that version did, so the files on disk do not depend on where the code is.
"""

from __future__ import annotations

import datetime as dt
import pickle
import shutil
from pathlib import Path

from index.article import Article
from index.embedded import store
from index.embedded.document import from_stored
from index.embedded.engine import WhooshWriteEngine, write_articles
from index.embedded.schema import PICKLED_MODULE, ArticleText, DayColumn, Key, make_schema
from search.embedded.engine import Engine
from search.request import SearchRequest

BEFORE = Path(__file__).parent / "fixtures" / "index-before-embedded"


def _copy(tmp_path: Path) -> Path:
    index_dir = tmp_path / "index"
    shutil.copytree(BEFORE, index_dir, ignore=shutil.ignore_patterns("README.md"))
    return index_dir


def _toc(index_dir: Path) -> bytes:
    gen = store.current_generation(index_dir)
    assert gen is not None
    newest = max(gen.glob("_MAIN_*.toc"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    return newest.read_bytes()


def _request(q: str) -> SearchRequest:
    request, problems = SearchRequest.from_args({"q": [q]})
    assert not problems
    return request


def test_the_fixture_names_the_field_classes_as_they_were_pickled():
    toc = _toc(BEFORE)
    for name in ("ArticleText", "Key", "DayColumn"):
        assert b"index.schema" in toc and name.encode() in toc
    assert b"index.embedded" not in toc


def test_an_index_written_before_the_move_opens_and_reads_back(tmp_path):
    index_dir = _copy(tmp_path)
    ix = store.open_current(index_dir)
    assert ix is not None
    try:
        assert type(ix.schema["title"]) is ArticleText
        assert type(ix.schema["id"]) is Key
        assert type(ix.schema["date"]) is DayColumn
        with ix.searcher() as s:
            stored = {a.id: a for a in (from_stored(f) for f in s.all_stored_fields())}
    finally:
        ix.close()
    assert set(stored) == {"pre-move-1", "pre-move-2"}
    oil = stored["pre-move-1"]
    assert oil.date == dt.date(1987, 3, 2)
    assert [(t.key, t.label) for t in oil.tags] == [("oil gas", "Oil, Gas")]
    assert stored["pre-move-2"].date is None


def test_an_index_written_before_the_move_is_searched(tmp_path):
    engine = Engine(_copy(tmp_path))
    try:
        assert [h.id for h in engine.run(_request("prices")).hits] == ["pre-move-1"]
        assert [h.id for h in engine.run(_request("harvest")).hits] == ["pre-move-2"]
    finally:
        engine.close()


def test_an_index_written_before_the_move_takes_an_incremental_run(tmp_path):
    index_dir = _copy(tmp_path)
    engine = WhooshWriteEngine(index_dir)
    # The fixture is schema version 5, older than today's meaning vectors: that,
    # and never the move, is the only reason a librarian's run rebuilds it.
    reason = engine.rebuild_reason()
    assert engine.exists() and reason is not None and "schema version 5" in reason
    assert set(engine.indexed()["/archive/a.jsonl"].articles) == {"pre-move-1", "pre-move-2"}
    ix = store.open_current(index_dir)
    try:
        write_articles(ix, [Article(id="post-move-1", source="/archive/b.jsonl",
                                    title="Barley exports", body="Barley exports doubled.")])
    finally:
        ix.close()
    assert set(engine.indexed()) == {"/archive/a.jsonl", "/archive/b.jsonl"}
    assert b"index.embedded" not in _toc(index_dir), "the commit kept the pickled names"


def test_a_new_index_pickles_the_field_classes_under_their_old_names(tmp_path):
    gen, ix = store.new_generation(tmp_path)
    try:
        write_articles(ix, [Article(id="a1", source="/s/a.txt", title="Wheat", body="Wheat.")])
    finally:
        ix.close()
    store.make_current(tmp_path, gen)
    toc = _toc(tmp_path)
    assert PICKLED_MODULE.encode() in toc and b"index.embedded" not in toc
    schema = pickle.loads(pickle.dumps(make_schema(), 2))
    assert type(schema["body"]) is ArticleText
