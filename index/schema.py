"""The Whoosh schema: the one place the index's fields are declared.

Read it as the index's table definition. The analyzer comes from
`index.analysis`, so the query side parses text exactly as it was indexed.
Changing a field here means a rebuild (`archivist index --rebuild`).
"""

from __future__ import annotations

from whoosh.columns import FixedBytesColumn
from whoosh.fields import COLUMN, DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from index.analysis import ANALYZER
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
#:    indexer writes the vocabulary file from the words it reads).
SCHEMA_VERSION = 5
#: Prefix of the fields that held the words of a text field as written in
#: indexes of schema versions 2 to 4 (read only to rebuild such an index).
SPELL_PREFIX = "spell_"


class ArticleText(TEXT):
    """A text field stemmed by its article's language.

    The value Whoosh hands over is an `analysis.LanguageText`; its language
    goes to the analyzer. Indexes of schema versions 2 to 4 pickled this
    class with `spelling` on: for them it still collects the words as
    written (the analyzer's `surface` set) into `spell_<field>` postings.
    New indexes keep no such postings: they were half of all postings, and
    the indexer writes the vocabulary file from the words it reads instead
    (`index.vocabulary`).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._last: tuple[str, set[str]] | None = None

    def separate_spelling(self) -> bool:
        return bool(getattr(self, "spelling", False))

    def index(self, value, **kwargs):
        language = getattr(value, "language", None)  # an `analysis.LanguageText`
        if not self.separate_spelling():
            return super().index(value, language=language, **kwargs)
        words: set[str] = set()
        self._last = (value, words)
        return super().index(value, surface=words, language=language, **kwargs)

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


def make_schema() -> Schema:
    """A fresh schema instance (Whoosh schemas are mutable; never share one)."""
    return Schema(
        # Stable article id: the JSON Lines record's own id, else derived from the
        # file's place in its source (source name + relative path), never its absolute path.
        id=ID(stored=True, unique=True, sortable=True),
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
        date=DATETIME(stored=True, sortable=True),
        dated=ID(stored=False),
        kind=ID(stored=True, sortable=True),
        # ISO 639-1 code ("en", "fa"); absent when neither declared nor detected.
        language=ID(stored=True, sortable=True),
        url=STORED(),
        publication=STORED(),
        author=STORED(),
        # Character offsets in `body` where each page starts (paged sources only).
        pages=STORED(),
        # The file the article came from (absolute: readers are shown its
        # source's name and relative path, `search.places`); indexed so a
        # changed or deleted file's articles can be found and removed by term.
        source=ID(stored=True, sortable=True),
        # Hash of the whole source file (unchanged file => skip) and of the
        # article's own fields. Columns, so an incremental run reads them for
        # every document without loading any stored text.
        source_hash=ID(sortable=True),
        content_hash=ID(sortable=True),
        # The article's meaning vector (`index.embedding`), a column read
        # for every document at once; all zeros when there is none.
        vector=COLUMN(FixedBytesColumn(VECTOR_BYTES)),
    )
