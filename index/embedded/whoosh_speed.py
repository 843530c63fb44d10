"""Repairs to Whoosh 2.7.4's segment writing, applied once on import.

Whoosh keeps a new segment's postings in a pool of (field, term, document,
weight, value) tuples, sorts them all, and writes them one at a time; for
every posting it asks the length of the document's field
(`W3PerDocReader.doc_field_length`) and, for every term, where its postings
file and its terms file stand (`tell()`). The repairs make that work
cheaper without changing a byte of what is written:

- The pool gathers postings per term as they come (`TermPool`): a flush
  sorts the terms and each term's postings (already in document order),
  not one list of every posting, and hands each term's postings to the
  postings writer a block at a time (`_flush_segment`). A pool that grew
  past its memory limit spills sorted runs to disk as before; they are
  merged back by Whoosh's own code, then grouped by term.
- A missing length column is remembered. Fields that keep no lengths
  (identifiers) have none, and the reader remembered only the columns it
  found: for a missing one it asked the file system again, posting after
  posting.
- A length column is read once, as one byte per document, the first time a
  length of that field is asked for, instead of once per posting.
- The postings and terms files count the bytes written to them, so `tell()`
  is an attribute read, not a system call (`lseek`) per term.

One repair changes bytes, not what they hold: a block of postings smaller
than `MIN_COMPRESSED` is written uncompressed (its block header says so,
and Whoosh's reader decompresses only blocks marked compressed). Whoosh
meant to (its comment says "If the pickle is less than 20 bytes, don't
bother compressing", and the next line compresses anyway); most blocks
hold one posting, zlib makes them longer, and each call costs more than
the pickling.

A per-document reader belongs to a segment whose files are complete (it is
only opened on a finished segment), so a column read or found missing once
stays so for that reader's life. This is the only place Archivist changes
Whoosh methods; each keeps its method's contract, and
`tests/test_whoosh_speed.py` checks that a segment written with them is the
one written without: byte for byte when every block is compressed, posting
for posting otherwise.
"""

from __future__ import annotations

import copy
import pickle
import sys
import zlib
from itertools import groupby
from operator import itemgetter

from whoosh import writing
from whoosh.codec import whoosh3
from whoosh.externalsort import SortingPool
from whoosh.filedb.structfile import StructFile
from whoosh.util.numeric import byte_to_length, length_to_byte

_ORIGINALS = {
    (whoosh3.W3PerDocReader, "_cached_reader"): whoosh3.W3PerDocReader._cached_reader,
    (whoosh3.W3PerDocReader, "doc_field_length"): whoosh3.W3PerDocReader.doc_field_length,
    (whoosh3.W3FieldWriter, "_create_file"): whoosh3.W3FieldWriter._create_file,
    (writing, "PostingPool"): writing.PostingPool,
    (writing.SegmentWriter, "_flush_segment"): writing.SegmentWriter._flush_segment,
    (whoosh3.W3PostingsWriter, "_write_block"): whoosh3.W3PostingsWriter._write_block,
}

#: Pickled postings blocks shorter than this (bytes) are not compressed.
MIN_COMPRESSED = 128


def _cached_reader(self, fieldname, column):
    readers = self._readers
    if fieldname in readers:
        return readers[fieldname]
    reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
    readers[fieldname] = reader
    return reader


def doc_field_length(self, docnum, fieldname, default=0):
    if docnum > self._doccount:
        raise IndexError(f"Asked for docnum {docnum!r} of {self._doccount}")
    table = _length_bytes(self, fieldname)
    if table is None:
        return default
    lbyte = table[docnum] if docnum < len(table) else 0
    # As Whoosh answers: None (not 0) for a document without this field.
    return byte_to_length(lbyte) if lbyte else None


def _length_bytes(reader, fieldname: str) -> bytes | None:
    """A `W3PerDocReader`'s length column of `fieldname`, one byte per
    document (None when the field keeps no lengths), read once."""
    # Kept with the reader's columns, under a key no column name can take.
    key = ("lengths", fieldname)
    readers = reader._readers
    if key not in readers:
        column = reader._cached_reader(whoosh3._lenfield(fieldname), whoosh3.LENGTHS_COLUMN)
        readers[key] = None if column is None else bytes(column.load())
    return readers[key]


class TermPool(writing.PostingPool):
    """Whoosh's pool of postings, gathered per term instead of in one list.

    `terms` maps (field name, term bytes) to the term's (document, weight,
    value) postings in the order they came. `items()` yields the same
    sorted tuples as Whoosh's pool; `_flush_segment` reads `terms` directly.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.terms: dict[tuple[str, bytes], list[tuple]] = {}

    def add(self, item):
        fieldname, tbytes, docnum, weight, vbytes = item
        self.fieldnames.add(fieldname)
        # Whoosh's own estimate of the memory a posting takes.
        self.currentsize += 150 + len(fieldname) + 2 * len(tbytes) + len(vbytes or "")
        postings = self.terms.get((fieldname, tbytes))
        if postings is None:
            self.terms[(fieldname, tbytes)] = [(docnum, weight, vbytes)]
        else:
            postings.append((docnum, weight, vbytes))
        if self.currentsize > self.limit:
            self.save()

    def document_counts(self, fieldname: str) -> dict[bytes, int]:
        """How many documents hold each term of `fieldname` (in memory)."""
        return {tbytes: len(postings) for (name, tbytes), postings in self.terms.items()
                if name == fieldname}

    def sorted_terms(self):
        """(field name, term bytes, postings) per term, in order; each
        term's postings sorted. With runs on disk, they are merged with the
        postings still in memory."""
        if self.runs:
            merged = super().items()  # saves what is in memory as one more run
            for (fieldname, tbytes), items in groupby(merged, key=itemgetter(0, 1)):
                yield fieldname, tbytes, [item[2:] for item in items]
            return
        terms = self.terms
        for key in sorted(terms):
            postings = terms[key]
            # They come sorted unless a caller added a document's postings
            # out of order; sorting sorted postings costs little.
            postings.sort()
            yield key[0], key[1], postings

    def _sorted_items(self):
        terms = self.terms
        for key in sorted(terms):
            postings = terms[key]
            postings.sort()
            for docnum, weight, vbytes in postings:
                yield key[0], key[1], docnum, weight, vbytes

    def save(self):
        # A run on disk is written as Whoosh writes it: sorted tuples.
        self.current = list(self._sorted_items())
        self.terms = {}
        super().save()

    def items(self, maxfiles=128):
        if not self.runs:
            return self._sorted_items()
        return super().items(maxfiles)

    def cleanup(self):
        # Runs go; the postings stay until the pool itself goes, so that a
        # process that ends right after its commit does not free them one
        # by one first.
        SortingPool.cleanup(self)


def _flush_segment(self):
    pool, fieldwriter = self.pool, self.fieldwriter
    if not isinstance(pool, TermPool) or type(fieldwriter) is not whoosh3.W3FieldWriter:
        return _ORIGINALS[(writing.SegmentWriter, "_flush_segment")](self)
    self.perdocwriter.close()
    lengths = self.per_document_reader() if self.codec.length_stats else None
    try:
        _write_terms(fieldwriter, self.schema, lengths, pool.sorted_terms())
        fieldwriter.close()
    finally:
        if lengths is not None:
            lengths.close()


def _write_terms(fieldwriter, schema, lengths, terms) -> None:
    """Whoosh's `FieldWriter.add_postings` for a `TermPool`'s terms: the
    same calls to the postings writer per term, its postings added a block
    at a time as `W3PostingsWriter.add_posting` adds them one by one."""
    lastfield = None
    table = None
    for fieldname, tbytes, postings in terms:
        if fieldname != lastfield:
            if lastfield is not None:
                fieldwriter.finish_field()
            fieldwriter.start_field(fieldname, schema[fieldname])
            lastfield = fieldname
            table = _length_bytes(lengths, fieldname) if lengths is not None else None
        if postings[0][0] == -1:
            # Whoosh's marker of a word for a spelling graph, never a posting.
            postings = [p for p in postings if p[0] != -1]
            if not postings:
                continue
        fieldwriter.start_term(tbytes)
        _add_postings(fieldwriter._postwriter, postings, table)
        fieldwriter.finish_term()
    if lastfield is not None:
        fieldwriter.finish_field()


def _add_postings(writer, postings: list[tuple], table: bytes | None) -> None:
    limit = writer._blocklimit
    for start in range(0, len(postings), limit):
        if start:
            writer._write_block()  # as add_posting does when a block is full
        block = postings[start:start + limit]
        ids = [p[0] for p in block]
        weights = [p[1] for p in block]
        writer._ids.extend(ids)
        writer._weights.extend(weights)
        writer._values.extend(p[2] for p in block if p[2])
        top = max(weights)
        if top > writer._maxweight:
            writer._maxweight = top
        if table is not None:
            size = len(table)
            known = [byte_to_length(table[d]) for d in ids if d < size and table[d]]
            if known:
                low = min(known)
                if writer._minlength is None or low < writer._minlength:
                    writer._minlength = low
                writer._maxlength = max(writer._maxlength, max(known))


class CountingFile(StructFile):
    """A file being written that knows its position without asking the OS.

    Every way a `StructFile` writes goes through `write` here (Whoosh's own
    `write_pickle` and `write_array` bypass it, so they are redone with the
    same bytes); a seek or a truncate asks the OS once and counts on.
    """

    def __init__(self, fileobj, name=None, onclose=None):
        super().__init__(fileobj, name=name, onclose=onclose)
        self._position = fileobj.tell()

    def write(self, data):
        self._position += len(data)
        return self.file.write(data)

    def tell(self):
        return self._position

    def seek(self, *args, **kwargs):
        result = self.file.seek(*args, **kwargs)
        self._position = self.file.tell()
        return result

    def truncate(self, *args, **kwargs):
        result = self.file.truncate(*args, **kwargs)
        self._position = self.file.tell()
        return result

    def write_pickle(self, obj, protocol=-1):
        self.write(pickle.dumps(obj, protocol))

    def write_array(self, arry):
        if sys.byteorder == "little":
            arry = copy.copy(arry)
            arry.byteswap()
        self.write(arry.tobytes())


def _write_block(self, last=False):
    # `W3PostingsWriter._write_block`, compressing only blocks worth it.
    if not self._blockcount:
        self._postfile.write(whoosh3.WHOOSH3_HEADER_MAGIC)
    self._terminfo.add_block(self)
    data = pickle.dumps((self._mini_ids(), self._mini_weights(), self._mini_values()), 2)
    comp = self._compression if len(data) >= MIN_COMPRESSED else 0
    if comp:
        data = zlib.compress(data, comp)
    ids = self._ids
    info = pickle.dumps((len(ids), ids[-1], self._maxweight, comp,
                         length_to_byte(self._minlength), length_to_byte(self._maxlength)), 2)
    postfile = self._postfile
    # The last block of a term says so by a negative length.
    postfile.write_int(-(len(info) + len(data)) if last else len(info) + len(data))
    postfile.write(info)
    postfile.write(data)
    self._blockcount += 1
    self._new_block()


def _create_file(self, ext):
    made = self._segment.create_file(self._storage, ext)
    return CountingFile(made.file, name=str(made), onclose=made.onclose)


_REPLACEMENTS = {
    (whoosh3.W3PerDocReader, "_cached_reader"): _cached_reader,
    (whoosh3.W3PerDocReader, "doc_field_length"): doc_field_length,
    (whoosh3.W3FieldWriter, "_create_file"): _create_file,
    (writing, "PostingPool"): TermPool,
    (writing.SegmentWriter, "_flush_segment"): _flush_segment,
    (whoosh3.W3PostingsWriter, "_write_block"): _write_block,
}


def install() -> None:
    """Replace the methods (idempotent)."""
    for (cls, name), method in _REPLACEMENTS.items():
        setattr(cls, name, method)


def uninstall() -> None:
    """Put Whoosh's own methods back (for tests comparing the two)."""
    for (cls, name), method in _ORIGINALS.items():
        setattr(cls, name, method)
