"""The archive's vocabulary, worked out by the indexer for the readers.

Prefixes (`negotiat*`), fuzzy words (`desalinaton~`) and spelling
corrections are matched against the words articles contain *as written*
(folded, not stemmed: the `spell_title` and `spell_body` fields), each with
how many articles hold its index term, so that a prefix can be cut to its
most frequent words. Reading that from Whoosh's lexicons takes about half a
second on the 19k Reuters archive: too much for the first reader who types a
`*` after each commit. So the indexer, which has just written the index,
writes the vocabulary beside it, one file per committed Whoosh generation
(`vocabulary-<generation>.pickle`), and a reader loads it in milliseconds.
A reader that finds no file for its generation (an index written by an
older version, a run killed between its commit and this file) builds the
same data from the index itself (`build`), so the file is a cache, never a
source of truth.

This module never parses queries and never imports `search/`.
"""

from __future__ import annotations

import os
import pickle
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from index.analysis import stem
from index.schema import SPELL_PREFIX

WORD_FIELDS = ("title", "body")
_PREFIX = "vocabulary-"
_SUFFIX = ".pickle"
#: Bumped when the file's layout changes (older files are then ignored).
FORMAT = 2
_JOINERS = set("-.&/',")


def index_term(word: str, language: str | None = None) -> str:
    """The index term of a folded word or joined compound (stemmed for
    `language`, the default stemmer when None)."""
    return word if any(c in _JOINERS for c in word) else stem(word, language)


@dataclass
class VocabularyData:
    """Sorted words as written, their index terms, and articles per term.

    A word's term is its stem in whichever of the archive's `languages`
    gives the term most articles hold (`casa` is Spanish `cas` in a Spanish
    archive, whatever English would make of it)."""

    words: list[str]
    terms: list[str]
    term_counts: dict[str, int]
    languages: tuple[str, ...] = ()


def best_term(word: str, counts: dict[str, int], languages: tuple[str, ...]) -> str:
    """The index term of `word` held by most articles among its stems in
    `languages` and the default stemmer's."""
    best = index_term(word)
    for lang in languages:
        term = index_term(word, lang)
        if counts.get(term, 0) > counts.get(best, 0):
            best = term
    return best


def build(reader) -> VocabularyData:
    """Read the vocabulary of a Whoosh reader (see the module docstring)."""
    counts: dict[str, int] = defaultdict(int)
    for fieldname in WORD_FIELDS:
        if fieldname not in reader.schema:
            continue
        for btext, info in reader.iter_field(fieldname):
            term = btext.decode("utf-8") if isinstance(btext, bytes) else btext
            counts[term] += info.doc_frequency()
    words: set[str] = set()
    for fieldname in WORD_FIELDS:
        spell = SPELL_PREFIX + fieldname
        if spell in reader.schema:
            words.update(t.decode("utf-8") if isinstance(t, bytes) else t
                         for t in reader.lexicon(spell))
    if not words:  # an index from before spelling fields: stems stand in for words
        words = set(counts)
    ordered = sorted(words)
    languages: tuple[str, ...] = ()
    if "language" in reader.schema:
        languages = tuple(t.decode("utf-8") if isinstance(t, bytes) else t
                          for t in reader.lexicon("language"))
    return VocabularyData(ordered, [best_term(w, counts, languages) for w in ordered],
                          dict(counts), languages)


def path_for(gen_dir: Path, generation: int) -> Path:
    """Where the vocabulary of Whoosh generation `generation` is kept."""
    return Path(gen_dir) / f"{_PREFIX}{generation}{_SUFFIX}"


def write(gen_dir: Path, ix) -> Path:
    """Write the vocabulary of `ix`'s latest generation into `gen_dir`
    (atomically), and delete the files of older generations."""
    generation = ix.latest_generation()
    with ix.reader() as reader:
        data = build(reader)
    target = path_for(gen_dir, generation)
    tmp = target.with_name(f".{target.name}.{os.getpid()}")
    with open(tmp, "wb") as f:
        pickle.dump((FORMAT, data), f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, target)
    for old in Path(gen_dir).glob(f"{_PREFIX}*{_SUFFIX}"):
        if old != target:
            old.unlink(missing_ok=True)
    return target


def carry_over(gen_dir: Path, ix) -> bool:
    """Rename the newest vocabulary file to `ix`'s latest generation, for a
    commit that changed no article (its words are the same). False when
    there is no file to carry."""
    files = sorted(Path(gen_dir).glob(f"{_PREFIX}*{_SUFFIX}"),
                   key=lambda p: _generation_of(p))
    if not files:
        return False
    os.replace(files[-1], path_for(gen_dir, ix.latest_generation()))
    return True


def _generation_of(path: Path) -> int:
    try:
        return int(path.name[len(_PREFIX):-len(_SUFFIX)])
    except ValueError:
        return -1


def load(gen_dir: Path | None, generation: int) -> VocabularyData | None:
    """The vocabulary the indexer wrote for `generation`, or None."""
    if gen_dir is None:
        return None
    try:
        with open(path_for(gen_dir, generation), "rb") as f:
            version, data = pickle.load(f)  # written by our own indexer, beside the index
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError):
        return None
    return data if version == FORMAT and isinstance(data, VocabularyData) else None
