"""The Whoosh schema: the one place the index's fields are declared.

Read it as the index's table definition. The analyzer comes from
`index.analysis`, so the query side parses text exactly as it was indexed.
Changing a field here means a rebuild (`archivist index --rebuild`).
"""

from __future__ import annotations

from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from index.analysis import ANALYZER

#: Ranking weight of a title match relative to a body match (BM25F field boost).
TITLE_BOOST = 3.0
#: Ranking weight of a tag match relative to a body match.
TAGS_BOOST = 2.0

#: Bumped whenever the schema or analyzer changes in a way that needs a rebuild.
SCHEMA_VERSION = 1


def make_schema() -> Schema:
    """A fresh schema instance (Whoosh schemas are mutable; never share one)."""
    return Schema(
        # Stable article id: the JSON Lines record's own id, else derived from the path.
        id=ID(stored=True, unique=True, sortable=True),
        title=TEXT(analyzer=ANALYZER, stored=True, field_boost=TITLE_BOOST, chars=True),
        # chars=True stores each term's character offsets, so snippets are cut
        # from the stored text without re-analyzing whole documents.
        body=TEXT(analyzer=ANALYZER, stored=True, chars=True),
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
        language=ID(stored=True),
        url=STORED(),
        # The file the article came from; indexed so a changed or deleted
        # file's articles can be found and removed by term.
        source=ID(stored=True, sortable=True),
        # Hash of the whole source file (unchanged file => skip) and of the
        # article's own fields. Columns, so an incremental run reads them for
        # every document without loading any stored text.
        source_hash=ID(sortable=True),
        content_hash=ID(sortable=True),
    )
