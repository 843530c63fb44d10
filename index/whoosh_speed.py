"""One repair to Whoosh 2.7.4's segment writing, applied once on import.

When Whoosh writes a segment's postings it asks, for every posting, the
length of the document's field (`W3PerDocReader.doc_field_length`). Fields
that keep no lengths (identifiers, the spelling fields) have no length
column, and the reader remembers only the columns it found: for a missing
one it asks the file system again, posting after posting. Profiled on the
Reuters page dumps that was a twelfth of the indexing time, nearly all of
it `os.path.exists`.

The repair remembers a missing column too. A per-document reader belongs
to a segment whose files are complete (it is only opened on a finished
segment), so a column missing once stays missing for that reader's life.
This is the only place Archivist changes a Whoosh method; it keeps the
method's contract and is checked by `tests/test_writer.py`.
"""

from __future__ import annotations

from whoosh.codec import whoosh3

_original = whoosh3.W3PerDocReader._cached_reader


def _cached_reader(self, fieldname, column):
    readers = self._readers
    if fieldname in readers:
        return readers[fieldname]
    reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
    readers[fieldname] = reader
    return reader


def install() -> None:
    """Replace the method (idempotent)."""
    whoosh3.W3PerDocReader._cached_reader = _cached_reader
