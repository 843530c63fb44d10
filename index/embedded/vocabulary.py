"""The readers' vocabulary beside each generation of the embedded index.

After each commit the indexer writes the vocabulary (`index.vocabulary`:
the words as written, with the term counts read from the index) beside
the generation: one file per committed Whoosh generation
(`vocabulary-<generation>.pickle`), which a reader loads in milliseconds.
An incremental run adds its new words to the previous file's, so a word
whose last article was deleted stays listed (with no articles) until the
next rebuild; prefixes and suggestions skip such words by their counts.

A reader that finds no file for its generation (an index in RAM, a run
killed between its commit and this file) builds the same data from the
index itself (`build`): from the `spell_*` fields of an index of schema
version 2 to 4, else by reading every stored title and body again, which
is slow on a large archive (seconds per ten thousand articles) but only
happens when the cache is missing. The file is a cache, never a source of
truth.

This module never parses queries and never imports `search/`.
"""

from __future__ import annotations

import os
import pickle
from collections import defaultdict
from pathlib import Path

from index.analysis import surface_words
from index.embedded.schema import SPELL_PREFIX
from index.vocabulary import WORD_FIELDS, VocabularyData, assemble

_PREFIX = "vocabulary-"
_SUFFIX = ".pickle"
#: Bumped when the file's layout changes (older files are then ignored).
FORMAT = 2


def build(reader, words: set[str] | None = None) -> VocabularyData:
    """The vocabulary of a Whoosh reader: its term counts, and `words` (the
    words as written), or the reader's own (see the module docstring)."""
    counts: dict[str, int] = defaultdict(int)
    for fieldname in WORD_FIELDS:
        if fieldname not in reader.schema:
            continue
        # Segment by segment: a multi-segment reader looks every term up in
        # every segment, several times slower than reading each in order.
        for leaf, _ in reader.leaf_readers():
            for btext, info in leaf.iter_field(fieldname):
                term = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                counts[term] += info.doc_frequency()
    if words is None:
        words = written_words(reader)
    languages: tuple[str, ...] = ()
    if "language" in reader.schema:
        languages = tuple(t.decode("utf-8") if isinstance(t, bytes) else t
                          for t in reader.lexicon("language"))
    return assemble(words, counts, languages)


def written_words(reader) -> set[str]:
    """The words as written of every article in `reader`: from the spelling
    fields of an older index, else from the stored titles and bodies."""
    words: set[str] = set()
    for fieldname in WORD_FIELDS:
        spell = SPELL_PREFIX + fieldname
        if spell in reader.schema:
            words.update(t.decode("utf-8") if isinstance(t, bytes) else t
                         for t in reader.lexicon(spell))
    if words:
        return words
    for fields in reader.all_stored_fields():
        for fieldname in WORD_FIELDS:
            words |= surface_words(fields.get(fieldname) or "")
    return words


def path_for(gen_dir: Path, generation: int) -> Path:
    """Where the vocabulary of Whoosh generation `generation` is kept."""
    return Path(gen_dir) / f"{_PREFIX}{generation}{_SUFFIX}"


def write(gen_dir: Path, ix, words: set[str] | None = None,
          fresh: bool = False, data: VocabularyData | None = None) -> Path:
    """Write the vocabulary of `ix`'s latest generation into `gen_dir`
    (atomically), and delete the files of older generations.

    `words` are the words as written of the articles this run indexed; for
    an incremental run (not `fresh`) the newest earlier file's are added.
    Without them (or without an earlier file) the words are read from the
    index (`written_words`). `data`, when given, is the vocabulary already
    worked out (`assemble`) for a `fresh` index."""
    generation = ix.latest_generation()
    if words is not None and not fresh:
        earlier = _previous(gen_dir, generation)
        words = (words | set(earlier.words)) if earlier is not None else None
    if data is None:
        with ix.reader() as reader:
            data = build(reader, words)
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
    """Rename the previous commit's vocabulary file to `ix`'s latest
    generation, for a commit that changed no article (its words are the
    same). False when there is no such file: the commit before this one
    left none (a run killed after its commit), so an older file would miss
    the words that commit added."""
    generation = ix.latest_generation()
    if _previous_path(gen_dir, generation) is None:
        return False
    os.replace(path_for(gen_dir, generation - 1), path_for(gen_dir, generation))
    return True


def _previous_path(gen_dir: Path, generation: int) -> Path | None:
    path = path_for(gen_dir, generation - 1)
    return path if path.exists() else None


def _previous(gen_dir: Path, generation: int) -> VocabularyData | None:
    """The vocabulary of the commit just before `generation`, if it left one."""
    return load(gen_dir, generation - 1) if _previous_path(gen_dir, generation) else None


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
