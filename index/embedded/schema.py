"""The Whoosh schema: the one place the index's fields are declared.

Read it as the index's table definition. The analyzer comes from
`index.analysis`, so the query side parses text exactly as it was indexed.
Changing a field here means a rebuild (`archivist index --rebuild`).

Whoosh pickles the schema into every index's table of contents, naming
each field class by its module path. Archivist's field classes keep the
name they were first written under (`PICKLED_MODULE`), whichever module
defines them, so moving code never changes the files on disk: an index
written by an earlier version opens with this one, and the other way round.
"""

from __future__ import annotations

from pickle import dumps

from whoosh.analysis import IDTokenizer
from whoosh.columns import FixedBytesColumn
from whoosh.fields import COLUMN, DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.formats import Characters
from whoosh.system import pack_uint

from index.analysis import ANALYZER, term_occurrences
from index.embedding import VECTOR_BYTES

#: Ranking weight of a title match relative to a body match (BM25F field boost).
TITLE_BOOST = 3.0
#: Ranking weight of a tag match relative to a body match.
TAGS_BOOST = 2.0

#: Bumped whenever the schema or analyzer changes in a way that needs a rebuild.
#: 2: punctuated words (compounds) and the spelling vocabulary (`spell_*`).
#: 3: meaning vectors (`vector`).
#: 4: ids from the file's place in its source, not its absolute path (a
#:    rebuild re-derives them, so moving the archive keeps every id).
#: 5: text stemmed by each article's language (Snowball), language and kind
#:    facets, publication, author and page offsets; no `spell_*` fields (the
#:    indexer writes the vocabulary file from the words it reads); dates kept as
#:    a column and a stored value, without postings (`DayColumn`).
#: 6: an article's meaning vector is half its title's and half its body's
#:    (`index.embedding.article_vectors`); vectors of both kinds in one index
#:    would not compare alike.
SCHEMA_VERSION = 6
#: Prefix of the fields that held the words of a text field as written in
#: indexes of schema versions 2 to 4 (read only to rebuild such an index).
SPELL_PREFIX = "spell_"
#: The module path the field classes are pickled under (their `__module__`):
#: where they were defined when indexes of schema version 5 were first
#: written. `index.schema` gives pickle that name and nothing else.
PICKLED_MODULE = "index.schema"


class ArticleText(TEXT):
    """A text field stemmed by its article's language.

    The value Whoosh hands over is an `analysis.LanguageText`; its language
    goes to the analyzer. Indexes of schema versions 2 to 4 pickled this
    class with `spelling` on: for them it still collects the words as
    written (the analyzer's `surface` set) into `spell_<field>` postings.
    New indexes keep no such postings: they were half of all postings, and
    the indexer writes the vocabulary file from the words it reads instead
    (`index.embedded.vocabulary`).
    """

    __module__ = PICKLED_MODULE

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._last: tuple[str, set[str]] | None = None

    def separate_spelling(self) -> bool:
        return bool(getattr(self, "spelling", False))

    def index(self, value, **kwargs):
        language = getattr(value, "language", None)  # an `analysis.LanguageText`
        if not self.separate_spelling():
            if kwargs or not isinstance(value, str) or type(self.format) is not Characters:
                return super().index(value, language=language, **kwargs)
            return self._postings(value, language)
        words: set[str] = set()
        self._last = (value, words)
        return super().index(value, surface=words, language=language, **kwargs)

    def _postings(self, value: str, language: str | None):
        """What `TEXT.index` yields for `value`: (term bytes, frequency,
        weight, encoded positions and characters) per term, with the terms
        grouped by `analysis.term_occurrences` instead of a token at a time."""
        fmt = self.format
        boost = fmt.field_boost
        for term, occurrences in term_occurrences(value, language).items():
            if len(occurrences) == 1:
                # `Characters.encode` of one occurrence, most terms' case.
                pos, start, end = occurrences[0]
                encoded = _ONE + dumps([(pos, start, end - start)], 2)
            else:
                encoded = fmt.encode(occurrences)
            # Whoosh adds each token's boost (1.0) and multiplies by the field's.
            yield (term.encode("utf-8"), len(occurrences), float(len(occurrences)) * boost,
                   encoded)

    def spellable_words(self, value):
        last = self._last
        if last is not None and last[0] is value:
            return sorted(last[1])
        words: set[str] = set()
        for _ in self.analyzer(value, surface=words, language=getattr(value, "language", None)):
            pass
        return sorted(words)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_last"] = None
        return state


_ONE = pack_uint(1)


class Key(ID):
    """An `ID` field: its whole value is its one term.

    Whoosh finds that term by running the value through a tokenizer, a
    filter and a set, a dozen calls per field of every document; this
    field makes the same (term, frequency, weight, value) directly.
    """

    __module__ = PICKLED_MODULE

    def index(self, value, **kwargs):
        if kwargs or not isinstance(value, str) or type(self.analyzer) is not IDTokenizer:
            return super().index(value, **kwargs)
        return [(value.encode("utf-8"), 1, self.format.field_boost, b"")]


class DayColumn(DATETIME):
    """A date kept as a stored value and a column, with no postings.

    Whoosh indexes a `DATETIME` as eight terms per value (one per 8-bit
    shift, for range queries over postings), as many as a short article's
    words. Archivist never reads them: date filters, the date facet and
    sorting read the column (`search.embedded.scoring`,
    `search.embedded.columns`). The stored value and the column are those
    of a `DATETIME`.
    """

    __module__ = PICKLED_MODULE

    indexed = False


def make_schema() -> Schema:
    """A fresh schema instance (Whoosh schemas are mutable; never share one)."""
    return Schema(
        # Stable article id: the JSON Lines record's own id, else derived from the
        # file's place in its source (source name + relative path), never its absolute path.
        id=Key(stored=True, unique=True, sortable=True),
        title=ArticleText(analyzer=ANALYZER, stored=True, field_boost=TITLE_BOOST, chars=True),
        # chars=True stores each term's character offsets, so snippets are cut
        # from the stored text without re-analyzing whole documents.
        body=ArticleText(analyzer=ANALYZER, stored=True, chars=True),
        # Lowercased tag keys, comma separated: "top news" stays one term.
        tags=KEYWORD(
            stored=True, commas=True, lowercase=True, scorable=True, sortable=True,
            field_boost=TAGS_BOOST,
        ),
        # The tags as the source spelled them, "\x1f"-joined, for display.
        tag_labels=STORED(),
        # Absent for undated articles; `dated` makes "undated" filterable.
        date=DayColumn(stored=True, sortable=True),
        dated=Key(stored=False),
        kind=Key(stored=True, sortable=True),
        # ISO 639-1 code ("en", "fa"); absent when neither declared nor detected.
        language=Key(stored=True, sortable=True),
        url=STORED(),
        publication=STORED(),
        author=STORED(),
        # Character offsets in `body` where each page starts (paged sources only).
        pages=STORED(),
        # The file the article came from (absolute: readers are shown its
        # source's name and relative path, `search.places`); indexed so a
        # changed or deleted file's articles can be found and removed by term.
        source=Key(stored=True, sortable=True),
        # Hash of the whole source file (unchanged file => skip) and of the
        # article's own fields. Columns, so an incremental run reads them for
        # every document without loading any stored text.
        source_hash=Key(sortable=True),
        content_hash=Key(sortable=True),
        # The article's meaning vector (`index.embedding`), a column read
        # for every document at once; all zeros when there is none.
        vector=COLUMN(FixedBytesColumn(VECTOR_BYTES)),
    )
