"""One Whoosh index written by several processes, a segment each.

A Whoosh index is a list of segments named by its table of contents, and
a segment can be written by any process that can open the index: only the
commit, which writes a new table of contents, needs the index's lock. So
an indexing run with several processes (`index.embedded.engine`, `--jobs`) gives
each worker process its own `SegmentWriter` for the documents it parses;
each writes its segment's files, and the process holding the lock commits
all the segments at once. Until that commit no segment is part of the
index, so a run killed at any moment leaves the previous index intact.

Whoosh's own multiprocessing writer (`MpWriter`) works the same way, but
has every document pickled from the process that made it to the one that
indexes it. This module is the one place that uses the writer methods
`MpWriter` uses for it, which Whoosh 2.7.4 keeps private; it never decides
what goes into the index.
"""

from __future__ import annotations

from whoosh.codec.base import Segment
from whoosh.index import Index
from whoosh.writing import SegmentWriter

from index.embedded.whoosh_speed import TermPool


def segment_writer(ix: Index, limitmb: int) -> SegmentWriter:
    """A writer of one new segment of `ix` that does not take the index's
    lock: another process holds it and commits the segment (`commit`)."""
    return SegmentWriter(ix, _lk=False, limitmb=limitmb)


def finish(writer: SegmentWriter) -> Segment | None:
    """Write out the segment of `writer` (postings sorted, files assembled)
    without committing it; None when no document was added.

    The temporary folder Whoosh shares between the writers of one index is
    left for the committing writer to remove.
    """
    if not writer._added:
        writer._close_segment()
        return None
    return writer._finalize_segment()


def document_counts(writer: SegmentWriter, fieldname: str) -> dict[bytes, int] | None:
    """How many documents of the segment `writer` is writing hold each term
    of `fieldname` (what the segment's reader will say), read from its pool
    before it is written out; None when the pool cannot tell (it spilled
    postings to disk)."""
    pool = writer.pool
    if not isinstance(pool, TermPool) or pool.runs:
        return None
    return pool.document_counts(fieldname)


def abandon(writer: SegmentWriter) -> None:
    """Close `writer` without writing its segment (its files stay behind:
    the caller throws the whole new index away)."""
    writer._close_segment()


def commit(writer: SegmentWriter, segments: list[Segment | None]) -> None:
    """Commit `segments`, written by `finish` in other processes, through
    `writer`, the writer holding the index's lock: one new table of contents
    names them with the index's existing segments and whatever `writer`
    itself added."""
    final = writer._merge_segments(None, None, None)
    final += [s for s in segments if s is not None]
    if writer._added:
        final.append(writer._finalize_segment())
    else:
        writer._close_segment()
    writer._commit_toc(final)
    writer._finish()
