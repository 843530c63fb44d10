"""The name the schema's field classes are pickled under in every index.

Whoosh pickles an index's schema into its table of contents and names each
field class by module path: `index.schema.ArticleText`, `index.schema.Key`
and `index.schema.DayColumn`, where they were defined when indexes of
schema version 5 were first written. They are defined in
`index.embedded.schema` now and keep that name (`PICKLED_MODULE`), so the
files on disk are the same whichever version of Archivist wrote them.

This module exists only so that pickle finds them by that name, when it
reads a table of contents and when it writes one. Code imports the schema
from `index.embedded.schema`, never from here.
"""

from index.embedded.schema import ArticleText, DayColumn, Key

__all__ = ["ArticleText", "DayColumn", "Key"]
