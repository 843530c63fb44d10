"""The vocabulary file the indexer leaves beside each generation: the words
articles contain as written, which prefixes, fuzzy words and spelling use.

The index keeps stems only, so these words exist nowhere else; each test
checks the file against the words of the articles written, computed here
from their text with a regular expression, not with the analyzer.
"""

from __future__ import annotations

import re
from pathlib import Path

from index import vocabulary as index_vocabulary
from index.embedded import store
from index.embedded import vocabulary as embedded_vocabulary
from index.embedded.health import optimize
from index.writer import update
from search.embedded.engine import Engine
from search.request import SearchRequest


def _write(folder: Path, name: str, title: str, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(f"{title}\n\n2024/01/02 | Energy\n\n{body}\n", encoding="utf-8")


def _words(text: str) -> set[str]:
    return {w.casefold() for w in re.findall(r"[A-Za-z]{2,}", text)}


def _file_words(index_dir: Path) -> set[str]:
    gen = store.current_generation(index_dir)
    ix = store.open_current(index_dir)
    data = embedded_vocabulary.load(gen, ix.latest_generation())
    ix.close()
    assert data is not None, "the indexer wrote the vocabulary of the current generation"
    return set(data.words)


def test_the_indexer_writes_the_words_as_written_and_adds_new_ones(tmp_path):
    src, ix = tmp_path / "src", tmp_path / "ix"
    _write(src, "a.txt", "Negotiations resume", "Negotiators met the desalination engineers.")
    update(ix, [src])
    first = _file_words(ix)
    assert {"negotiations", "negotiators", "desalination", "engineers"} <= first
    assert "negoti" not in first  # stems are not words

    _write(src, "b.txt", "Hydropower", "Turbines and reservoirs were inspected.")
    update(ix, [src])
    second = _file_words(ix)
    assert first | _words("Hydropower Turbines and reservoirs were inspected") - {"and"} <= second

    engine = Engine(ix)
    try:
        got = engine.run(SearchRequest(q="reservo*"))
        assert [h.title for h in got.hits] == ["Hydropower"]
        fixed = engine.run(SearchRequest(q="turbnes"))
        assert fixed.suggestion == "turbines"  # (one article: offered, not applied)
    finally:
        engine.close()


def test_optimize_keeps_the_vocabulary_for_the_merged_generation(tmp_path):
    src, ix = tmp_path / "src", tmp_path / "ix"
    _write(src, "a.txt", "First", "Electrolysers in the harbour.")
    update(ix, [src])
    _write(src, "b.txt", "Second", "Interconnectors across the strait.")
    update(ix, [src])
    before = _file_words(ix)
    optimize(ix)
    assert _file_words(ix) == before
    assert {"electrolysers", "interconnectors"} <= before


def test_without_the_file_the_words_are_read_from_the_stored_text(tmp_path):
    src, ix = tmp_path / "src", tmp_path / "ix"
    _write(src, "a.txt", "Caspian swap", "The Turkmen gas swap stalled again.")
    update(ix, [src])
    written = _file_words(ix)
    for f in store.current_generation(ix).glob("vocabulary-*.pickle"):
        f.unlink()
    ix_ = store.open_current(ix)
    with ix_.reader() as reader:
        rebuilt = embedded_vocabulary.build(reader)
    ix_.close()
    assert set(rebuilt.words) == written


def test_a_commit_that_left_no_vocabulary_is_not_forgotten_by_the_next_run(tmp_path):
    # A run killed between its commit and its vocabulary file: the next
    # run must not build on an older file that misses that commit's words.
    src, ix = tmp_path / "src", tmp_path / "ix"
    _write(src, "a.txt", "First", "Electrolysers in the harbour.")
    update(ix, [src])
    _write(src, "b.txt", "Second", "Interconnectors across the strait.")
    update(ix, [src])
    gen = store.current_generation(ix)
    newest = max(gen.glob("vocabulary-*.pickle"))
    newest.unlink()  # as if killed after the commit
    _write(src, "c.txt", "Third", "Flywheels store little.")
    update(ix, [src])
    assert {"electrolysers", "interconnectors", "flywheels"} <= _file_words(ix)
    update(ix, [src])  # nothing changed: the file is carried over, still whole
    assert {"electrolysers", "interconnectors", "flywheels"} <= _file_words(ix)


def test_a_word_term_is_chosen_as_if_every_language_were_tried():
    """`best_term` skips languages whose stemmer it already tried for a word;
    the term must be the one trying all of them in order gives."""
    from index.analysis import surface_words

    def every_language(word, counts, languages):
        best = index_vocabulary.index_term(word)
        for lang in languages:
            term = index_vocabulary.index_term(word, lang)
            if counts.get(term, 0) > counts.get(best, 0):
                best = term
        return best

    words = sorted(surface_words(
        "nations national nationally running runners corría corrió casas casa maisons "
        "Москва москвы Ελλάδα ελληνικά کتاب‌ها كتب U.S. al-Qaeda 1986/87 información"))
    languages = ("en", "es", "fr", "ru", "el", "ar", "fa", "pcm")
    for counts in ({}, {"nation": 3, "nacion": 5}, {"cas": 9, "casa": 1, "maison": 4},
                   {"москв": 2, "کتابها": 1}):
        for i in range(len(languages)):
            chosen = languages[i:] + languages[:i]
            for word in words:
                assert index_vocabulary.best_term(word, counts, chosen) == every_language(
                    word, counts, chosen), (word, counts, chosen)
